package llmjudge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// hidden reports whether r is a character the judge's copy of the call's
// data shows as an escape, [U+XXXX], rather than as itself: characters
// that render as nothing or that change how the text around them reads,
// and so can carry text a person (or the model) does not see as such.
// They are the format characters (Cf: Unicode tag characters
// U+E0000–U+E007F, zero-width space and joiners U+200B–U+200D, direction
// marks U+200E and U+200F, bidi embeddings, overrides and isolates
// U+202A–U+202E and U+2066–U+2069, U+2060–U+2064, U+FEFF, U+00AD,
// U+061C, …), the variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF)
// and Mongolian ones (U+180B–U+180F), the fillers and other characters
// that print as blank space without being space (U+034F, U+115F, U+1160,
// U+17B4, U+17B5, U+2800, U+3164, U+FFA0, U+1D173–U+1D17A), line and
// paragraph separators, C1 controls (U+0080–U+009F), private-use,
// unassigned and invalid code points.
func hidden(r rune) bool {
	switch {
	case r < 0x80:
		return false
	case r < 0xA0, r == utf8.RuneError: // C1 controls (U+0085 breaks lines)
		return true
	case 0xFE00 <= r && r <= 0xFE0F, 0xE0100 <= r && r <= 0xE01EF, 0x180B <= r && r <= 0x180F,
		r == 0x34F, r == 0x115F, r == 0x1160, r == 0x17B4, r == 0x17B5, r == 0x2800,
		r == 0x3164, r == 0xFFA0, 0x1D173 <= r && r <= 0x1D17A, r == 0x2028, r == 0x2029:
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs) || !unicode.Is(unicode.L, r) && !unicode.In(r, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc)
}

// escapeHidden returns s with every hidden character written as
// [U+XXXX], and how many there were. It returns s itself when there are
// none.
func escapeHidden(s string) (string, int) {
	i := 0
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if hidden(r) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s, 0
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	n := 0
	for _, r := range s[i:] {
		if hidden(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
			n++
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), n
}

// countHidden is how many hidden characters s holds.
func countHidden(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if hidden(r) {
			n++
		}
		i += size
	}
	return n
}

// hiddenByPath counts the hidden characters in the keys and strings of
// raw, a JSON object, by the path of each string or scalar field (keys
// counted on the path of their value), written as policy.Leaf paths are,
// keys normalised. The judge is shown the normalised arguments, from
// which policy.Normalize has removed some of these (zero-width
// characters); the count says they were there.
func hiddenByPath(raw []byte) map[string]int {
	if isASCIIBytes(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out := map[string]int{}
	var walk func(path []byte, keyHidden int) error
	walk = func(path []byte, keyHidden int) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			if keyHidden > 0 {
				out[string(path)] += keyHidden
			}
			switch t {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					key, _ := k.(string)
					if err := walk(appendKeyPath(path, policy.Normalize(key)), countHidden(key)); err != nil {
						return err
					}
				}
			case '[':
				for i := 0; dec.More(); i++ {
					if err := walk(append(append(append(path, '['), strconv.Itoa(i)...), ']'), 0); err != nil {
						return err
					}
				}
			}
			_, err := dec.Token()
			return err
		case string:
			if n := keyHidden + countHidden(t); n > 0 {
				out[string(path)] += n
			}
		default:
			if keyHidden > 0 {
				out[string(path)] += keyHidden
			}
		}
		return nil
	}
	if err := walk([]byte("$"), 0); err != nil {
		return nil
	}
	return out
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
