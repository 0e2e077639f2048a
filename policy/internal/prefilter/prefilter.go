// Package prefilter puts a cheap screen in front of the regular
// expressions of policies: the literals every match must contain, tested
// with strings.Contains and, across many policies, against the set of
// byte pairs (Bigrams) of one call's arguments, so that most patterns are
// ruled out without running the regexp.
package prefilter

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"
)

// Pattern is a compiled regular expression with a cheap test in front: a
// literal every match must contain. Most calls do not contain it, and
// strings.Contains is far cheaper than running the regexp.
type Pattern struct {
	re *regexp.Regexp
	// lit is the longest ASCII literal every match contains; "" when the
	// expression has none.
	lit string
	// fold reports that lit is matched case-insensitively: lit is lower
	// case and is looked for in the lower-cased text.
	fold bool
	// lower is lit in lower case, for the bigram screen.
	lower string
	// anyOf, when there is no single required literal, are literals of
	// which every match contains at least one (an alternation's); empty
	// when the expression has no such set.
	anyOf []literal
}

// literal is one literal of a pattern's screen.
type literal struct {
	text  string // lower case when fold
	fold  bool   // looked for in the lower-cased text
	lower string // text in lower case, for the bigram screen
}

// Regexp is the pattern's regular expression.
func (p *Pattern) Regexp() *regexp.Regexp { return p.re }

// maxAnyOf bounds a pattern's set of alternative literals: past it, the
// screen would cost more than it saves.
const maxAnyOf = 32

// Compile compiles expr and works out its required literal.
func Compile(expr string) (*Pattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	p := &Pattern{re: re}
	if tree, err := syntax.Parse(expr, syntax.Perl); err == nil {
		simple := tree.Simplify()
		p.lit, p.fold = requiredLiteral(simple)
		if p.fold {
			p.lit = strings.ToLower(p.lit)
		}
		p.lower = strings.ToLower(p.lit)
		if p.lit == "" {
			p.anyOf, _ = anyOfLiterals(simple)
			for i, l := range p.anyOf {
				if l.fold {
					p.anyOf[i].text = strings.ToLower(l.text)
				}
				p.anyOf[i].lower = strings.ToLower(l.text)
			}
		}
	}
	return p, nil
}

// anyOfLiterals is a set of ASCII literals of which every match of re
// contains at least one, and whether there is such a set: an alternation's
// is the union of its branches' (each branch must have one); a
// concatenation's is the most selective of its parts' (a single literal
// when a part has one, else the set whose shortest literal is longest).
func anyOfLiterals(re *syntax.Regexp) ([]literal, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if s := string(re.Rune); isASCII(s) {
			return []literal{{text: s, fold: re.Flags&syntax.FoldCase != 0}}, true
		}
	case syntax.OpCapture, syntax.OpPlus:
		return anyOfLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return anyOfLiterals(re.Sub[0])
		}
	case syntax.OpAlternate:
		var set []literal
		for _, sub := range re.Sub {
			lits, ok := anyOfLiterals(sub)
			if !ok || len(set)+len(lits) > maxAnyOf {
				return nil, false
			}
			set = append(set, lits...)
		}
		return set, true
	case syntax.OpConcat:
		var best []literal
		for _, sub := range re.Sub {
			if lits, ok := anyOfLiterals(sub); ok && (best == nil || selective(lits) > selective(best)) {
				best = lits
			}
		}
		return best, best != nil
	}
	return nil, false
}

// selective rates a set of alternative literals: the length of its
// shortest, a set of one ahead of a larger set with as short a literal.
func selective(lits []literal) int {
	shortest := len(lits[0].text)
	for _, l := range lits[1:] {
		shortest = min(shortest, len(l.text))
	}
	if len(lits) == 1 {
		return 2*shortest + 1
	}
	return 2 * shortest
}

// requiredLiteral is the longest ASCII literal that every match of re
// contains. Only literals that are plainly required are found: a
// concatenation's parts, a capture's contents, a repeat of at least one.
// Non-ASCII literals are left out: case folding beyond ASCII (and
// normalisation) would make a substring test unsound. The text a pattern
// runs on is NFKC-normalised, which folds the compatibility letters
// (U+212A KELVIN SIGN, U+017F LONG S) that case-fold to ASCII.
func requiredLiteral(re *syntax.Regexp) (lit string, fold bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if !isASCII(s) {
			return "", false
		}
		return s, re.Flags&syntax.FoldCase != 0
	case syntax.OpCapture:
		return requiredLiteral(re.Sub[0])
	case syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if l, f := requiredLiteral(sub); len(l) > len(lit) {
				lit, fold = l, f
			}
		}
		return lit, fold
	}
	return "", false
}

// Match reports whether the pattern matches text; lower returns text
// lower-cased (called only when needed, so a caller can cache it); grams,
// if not nil, returns the Bigrams of the lower-cased text.
func (p *Pattern) Match(text string, lower func() string, grams func() *Bigrams) bool {
	if p.lit != "" {
		if grams != nil && !grams().MayContain(p.lower) {
			return false
		}
		t := text
		if p.fold {
			t = lower()
		}
		if !strings.Contains(t, p.lit) {
			return false
		}
	}
	if len(p.anyOf) > 0 && !p.mayMatchAnyOf(text, lower, grams) {
		return false
	}
	return p.re.MatchString(text)
}

// mayMatchAnyOf reports whether text holds one of the pattern's
// alternative literals.
func (p *Pattern) mayMatchAnyOf(text string, lower func() string, grams func() *Bigrams) bool {
	var g *Bigrams
	if grams != nil {
		g = grams()
	}
	for _, l := range p.anyOf {
		if g != nil && !g.MayContain(l.lower) {
			continue
		}
		t := text
		if l.fold {
			t = lower()
		}
		if strings.Contains(t, l.text) {
			return true
		}
	}
	return false
}

// Bigrams is the set of adjacent byte pairs of a text: a literal whose
// pairs are not all in it cannot occur in the text. Testing a literal
// against it costs a few lookups, where a substring search reads the
// whole text, so it screens the keywords and required literals of many
// policies against one call's arguments cheaply.
//
// A pair is in the set when its entry holds the set's epoch: a set is
// refilled without clearing it (but once every 255 fills), and adding a
// pair is one store, without reading what was there.
type Bigrams struct {
	seen  [1 << 16]uint8
	epoch uint8
}

// bigramPool holds the sets GetBigrams hands out.
var bigramPool = sync.Pool{New: func() any { return new(Bigrams) }}

// GetBigrams returns a set from a pool, holding what it last held: fill it
// before use, and give it back with PutBigrams.
func GetBigrams() *Bigrams { return bigramPool.Get().(*Bigrams) }

// PutBigrams gives b back to the pool.
func PutBigrams(b *Bigrams) { bigramPool.Put(b) }

// The byte maps fill and fillLower read the text through.
var (
	identityByte [256]byte
	lowerByte    [256]byte // ASCII upper case to lower, the rest as is
)

func init() {
	for c := range 256 {
		identityByte[c], lowerByte[c] = byte(c), lower(byte(c))
	}
}

// Fill makes b the set of pairs of s.
func (b *Bigrams) Fill(s string) { b.add(s, &identityByte) }

// FillLower makes b the set of pairs of strings.ToLower(s) and reports
// true when s is ASCII, where lower-casing is byte by byte; otherwise it
// reports false and b must be filled from the lower-cased text. It spares
// the lower-cased copy when the screen alone answers.
func (b *Bigrams) FillLower(s string) bool {
	return b.add(s, &lowerByte) < utf8.RuneSelf
}

// add empties b and adds the pairs of s read through m; it returns every
// byte of s or-ed together.
func (b *Bigrams) add(s string, m *[256]byte) byte {
	b.epoch++
	if b.epoch == 0 {
		clear(b.seen[:])
		b.epoch = 1
	}
	if len(s) == 0 {
		return 0
	}
	e, all := b.epoch, s[0]
	prev := uint16(m[s[0]])
	for i := 1; i < len(s); i++ {
		all |= s[i]
		c := uint16(m[s[i]])
		b.seen[prev<<8|c] = e
		prev = c
	}
	return all
}

// MayContain reports whether lit may occur in the text b was filled from:
// false means it certainly does not.
func (b *Bigrams) MayContain(lit string) bool {
	for i := 0; i+1 < len(lit); i++ {
		if b.seen[uint16(lit[i])<<8|uint16(lit[i+1])] != b.epoch {
			return false
		}
	}
	return true
}

// ToLower is strings.ToLower(s), eight bytes at a time on ASCII text (the
// common case: canonical JSON, field values); other text goes to
// strings.ToLower. Like it, it returns s itself when nothing changes.
func ToLower(s string) string {
	var b strings.Builder
	done := 0 // s[:done] is written to b
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := le64(s[i : i+8])
		if x&highs != 0 {
			return strings.ToLower(s)
		}
		upper := inRange(x, 'A', 'Z')
		if upper == 0 {
			continue
		}
		if done == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[done:i])
		x |= upper >> 2 // 0x80 of an upper-case byte becomes its 0x20
		w := [8]byte{byte(x), byte(x >> 8), byte(x >> 16), byte(x >> 24), byte(x >> 32), byte(x >> 40), byte(x >> 48), byte(x >> 56)}
		b.Write(w[:])
		done = i + 8
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			if done == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[done:i])
			b.WriteByte(c + 'a' - 'A')
			done = i + 1
		}
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// Bytes of eight, for SWAR ("SIMD within a register") tests of eight text
// bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// inRange sets the high bit of each byte of x that is in [lo, hi] (ASCII)
// and clears every other bit.
func inRange(x uint64, lo, hi byte) uint64 {
	t := x & lows
	a := t + (0x80-uint64(lo))*ones
	b := t + (0x7f-uint64(hi))*ones
	return (a &^ b) &^ x & highs
}

// le64 is the eight bytes of b, little-endian.
func le64(b string) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// lower is c in lower case when it is an ASCII letter.
func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
