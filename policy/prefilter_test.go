package policy

import "testing"

// TestBigramsRefill checks that a set refilled again and again, past the
// wrap of its epoch, holds the pairs of its last text and no others.
func TestBigramsRefill(t *testing.T) {
	var b bigrams
	for i := range 600 {
		text := "abc"
		if i%2 == 1 {
			text = "xyz"
		}
		b.fill(text)
		for _, tt := range []struct {
			lit  string
			want bool
		}{{"ab", i%2 == 0}, {"abc", i%2 == 0}, {"xy", i%2 == 1}, {"yz", i%2 == 1}, {"bx", false}, {"a", true}, {"", true}} {
			if got := b.mayContain(tt.lit); got != tt.want {
				t.Fatalf("fill %d (%q): mayContain(%q) = %v; want %v", i, text, tt.lit, got, tt.want)
			}
		}
	}
}
