package linelimit_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gatehouse-mcp/gatehouse/gateway/internal/linelimit"
)

// keep is what a Reader with limit max makes of input: the lines kept, and
// the heads of those dropped.
func keep(t *testing.T, input string, max int) (kept string, heads []string) {
	t.Helper()
	r := linelimit.NewReader(iotest.OneByteReader(strings.NewReader(input)), max, func(head []byte) {
		heads = append(heads, string(head))
	})
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return string(b), heads
}

// want is what keep should return, worked out line by line.
func want(input string, max int) (kept string, heads []string) {
	var b strings.Builder
	for _, line := range strings.SplitAfter(input, "\n") {
		if len(strings.TrimSuffix(line, "\n")) > max {
			heads = append(heads, line[:min(len(line), linelimit.HeadBytes)])
			continue
		}
		b.WriteString(line)
	}
	return b.String(), heads
}

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	for _, tc := range []struct {
		name, input string
		max         int
	}{
		{"short lines", "a\nbb\nccc\n", 3},
		{"one too long", "a\nbbbb\nc\n", 3},
		{"exactly the limit", "abc\n", 3},
		{"last line without newline", "a\nbbbbbb", 3},
		{"longer than the buffer, kept", long + "\nok\n", len(long)},
		{"longer than the buffer, dropped", "ok\n" + long + "\nok\n", len(long) - 1},
		{"empty lines", "\n\n\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept, heads := keep(t, tc.input, tc.max)
			wk, wh := want(tc.input, tc.max)
			if kept != wk || strings.Join(heads, "|") != strings.Join(wh, "|") {
				t.Errorf("Reader(%.40q, %d) kept %.40q dropped %d; want %.40q and %d", tc.input, tc.max, kept, len(heads), wk, len(wh))
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add("a\nbbbb\nc\n", 3)
	f.Add(strings.Repeat("y", 70<<10)+"\n{}\n", 100)
	f.Fuzz(func(t *testing.T, input string, max int) {
		if max <= 0 || max > 1<<20 {
			return
		}
		kept, heads := keep(t, input, max)
		wk, wh := want(input, max)
		if kept != wk || len(heads) != len(wh) {
			t.Errorf("Reader(%q, %d) kept %q dropped %d; want %q and %d", input, max, kept, len(heads), wk, len(wh))
		}
	})
}

func TestRequestID(t *testing.T) {
	for _, tc := range []struct{ head, want string }{
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"a":"AAAA`, `7`},
		{`{"id":"abc","jsonrpc":"2.0","method":"tools/call","params":{"a":"AAAA`, `"abc"`},
		{`{"jsonrpc":"2.0","method":"tools/call","params":{"a":"AAAA`, ``},     // the id comes later
		{`{"jsonrpc":"2.0","id":7,"params":{"a":"AAAA`, ``},                    // no method seen: maybe a response
		{`{"jsonrpc":"2.0","id":7,"result":{"a":"AAAA`, ``},                    // a response
		{`{"jsonrpc":"2.0","id":{"x":1},"method":"m","params":{"a":"AAAA`, ``}, // not an id
		{`{"jsonrpc":"2.0","id":null,"method":"m","params":{"a":"AAAA`, ``},    // null
		{`[{"jsonrpc":"2.0","id":7,"method":"m"`, ``},                          // a batch
		{`not json at all`, ``},
	} {
		if got := linelimit.RequestID([]byte(tc.head)); !bytes.Equal(got, []byte(tc.want)) {
			t.Errorf("RequestID(%s) = %s; want %q", tc.head, got, tc.want)
		}
	}
}

func FuzzRequestID(f *testing.F) {
	f.Add(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x":"`)
	f.Fuzz(func(t *testing.T, head string) {
		id := linelimit.RequestID([]byte(head))
		if id != nil && id[0] != '"' && id[0] != '-' && (id[0] < '0' || id[0] > '9') {
			t.Errorf("RequestID(%q) = %s; want a string, a number or nil", head, id)
		}
	})
}
