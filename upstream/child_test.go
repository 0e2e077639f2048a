package upstream

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestLineLimiter(t *testing.T) {
	tests := []struct {
		name  string
		input string
		max   int
		fail  bool
	}{
		{"short lines", "abc\ndef\n", 3, false},
		{"exactly max", strings.Repeat("x", 8) + "\n", 8, false},
		{"over max", strings.Repeat("x", 9) + "\n", 8, true},
		{"many short lines add up", strings.Repeat("xxxx\n", 100), 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// iotest-style: read in small chunks so lines span reads.
			l := &lineLimiter{r: &chunked{s: tt.input, n: 3}, max: tt.max}
			_, err := io.ReadAll(l)
			if got := errors.Is(err, ErrMessageTooLarge); got != tt.fail {
				t.Errorf("ReadAll(%q, max %d) error = %v; want too large: %v", tt.name, tt.max, err, tt.fail)
			}
		})
	}
}

// chunked reads s n bytes at a time.
type chunked struct {
	s string
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := min(c.n, len(p), len(c.s))
	copy(p, c.s[:k])
	c.s = c.s[k:]
	return k, nil
}
