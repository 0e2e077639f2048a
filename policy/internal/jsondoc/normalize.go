package jsondoc

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize is the normalisation every string of the arguments gets:
// invalid UTF-8 becomes U+FFFD, then NFKC, and every invisible character
// that can hide inside a word is removed: U+00AD soft hyphen, U+034F
// combining grapheme joiner, U+061C, U+200E and U+200F direction marks,
// U+115F, U+1160, U+3164 and U+FFA0 Hangul fillers, U+17B4 and U+17B5,
// U+180B–U+180F Mongolian selectors and vowel separator, U+200B–U+200D
// zero-width space and joiners, U+2060–U+2065 word joiner and invisible
// operators, U+206A–U+206F, U+FEFF, U+1BCA0–U+1BCA3 and U+1D173–U+1D17A.
// Kept, for detectors to see: Unicode tag characters (U+E0000–U+E007F),
// the bidi embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) and variation selectors, which can all carry hidden text.
// "ｐｒｏｄ" and "pr\u200bod" both become "prod". The result is its own
// normalisation; ASCII comes back as it is, without allocating.
func Normalize(s string) string {
	if isASCII(s) {
		return s
	}
	// NFKC can bring back what was removed (U+3164 becomes U+1160; a run
	// of more than 30 combining marks gets a U+034F), and removing can
	// leave text that NFKC changes again: go round until nothing changes.
	for range 4 {
		t := stripInvisible(norm.NFKC.String(stripInvisible(s)))
		if t == s {
			break
		}
		s = t
	}
	return s
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (s[i]|s[i+1]|s[i+2]|s[i+3]|s[i+4]|s[i+5]|s[i+6]|s[i+7])&0x80 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// invisible reports whether Normalize removes r.
func invisible(r rune) bool {
	switch {
	case r < 0xAD:
		return false
	case r == 0xAD, r == 0x34F, r == 0x61C, r == 0x115F, r == 0x1160,
		r == 0x17B4, r == 0x17B5, 0x180B <= r && r <= 0x180F,
		0x200B <= r && r <= 0x200F, 0x2060 <= r && r <= 0x2065,
		0x206A <= r && r <= 0x206F, r == 0x3164, r == 0xFEFF, r == 0xFFA0,
		0x1BCA0 <= r && r <= 0x1BCA3, 0x1D173 <= r && r <= 0x1D17A:
		return true
	}
	return false
}

// stripInvisible removes the invisible characters of s and replaces
// invalid UTF-8 with U+FFFD; it returns s itself when there is nothing to
// do.
func stripInvisible(s string) string {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || invisible(r) {
			return stripFrom(s, i)
		}
		i += size
	}
	return s
}

func stripFrom(s string, i int) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			b.WriteByte(s[i])
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString("\uFFFD")
		case !invisible(r):
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// SpacedViews are the leaves' texts as a reader who sees an invisible
// character as a break between words would read them: for each string or
// key whose value (as the upstream reads it) holds a character Normalize
// removes, that value with each such character replaced by a space, then
// normalised; "" for every other leaf. It is nil when no leaf has one —
// at once when the arguments are ASCII without \u escapes.
//
// Normalize glues the words an invisible character separates
// ("token\u200bghp_…" reads "tokenghp_…"), which hides a token from a
// detector that wants it to stand alone: the detectors read these views
// too.
func (a *Arguments) SpacedViews() []string {
	if isASCII(string(a.raw)) && !bytes.Contains(a.raw, []byte(`\u`)) {
		return nil
	}
	refs := a.leafNodes()
	var out []string
	for i, k := range refs {
		n := &k.doc.nodes[k.node]
		if n.kind != kindString && n.kind != kindKey || n.flags&(flagNonASCII|flagEscapedUnicode) == 0 {
			continue // ASCII only: nothing invisible
		}
		found := false
		view := strings.Map(func(r rune) rune {
			if invisible(r) {
				found = true
				return ' '
			}
			return r
		}, k.doc.raw(k.node))
		if !found {
			continue
		}
		if out == nil {
			out = make([]string, len(refs))
		}
		out[i] = Normalize(view)
	}
	return out
}
