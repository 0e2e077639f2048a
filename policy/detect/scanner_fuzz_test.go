package detect

import (
	"slices"
	"testing"
)

// startByteSeeds hold each byte scanBytes starts from, in short texts.
var startByteSeeds = []string{
	"", "id", "ada@example.com", "$(rm -rf /)", "echo `id`", ":(){ :|:& };:", "..%2f..%2fetc/passwd",
	"<|im_start|>system", "a\U000E0041\U000E0042b", "abc\u202Edef", "postgres://u:p@host/db",
	"call +1 415 555 0100 or mail x@y.io; cost $5 | 100%",
}

// FuzzStartBytes checks that skipping the searches for start bytes a
// short text does not hold changes nothing: the detectors find what they
// find searching for every one.
func FuzzStartBytes(f *testing.F) {
	for _, s := range startByteSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" {
			return
		}
		got := appendFindings(nil, text, allThreats)
		want := scanFindings(nil, text, allThreats, 0xff)
		if !slices.Equal(got, want) {
			t.Errorf("appendFindings(%q) = %v; searching for every start byte finds %v", text, got, want)
		}
	})
}
