package policy

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// pattern is a compiled regular expression with a cheap test in front: a
// literal every match must contain. Most calls do not contain it, and
// strings.Contains is far cheaper than running the regexp.
type pattern struct {
	re *regexp.Regexp
	// lit is the longest ASCII literal every match contains; "" when the
	// expression has none.
	lit string
	// fold reports that lit is matched case-insensitively: lit is lower
	// case and is looked for in the lower-cased text.
	fold bool
	// lower is lit in lower case, for the bigram screen.
	lower string
}

// compilePattern compiles expr and works out its required literal.
func compilePattern(expr string) (*pattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	p := &pattern{re: re}
	if tree, err := syntax.Parse(expr, syntax.Perl); err == nil {
		p.lit, p.fold = requiredLiteral(tree.Simplify())
		if p.fold {
			p.lit = strings.ToLower(p.lit)
		}
		p.lower = strings.ToLower(p.lit)
	}
	return p, nil
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

// match reports whether the pattern matches text; lower returns text
// lower-cased (called only when needed, so a caller can cache it); grams,
// if not nil, returns the bigrams of the lower-cased text.
func (p *pattern) match(text string, lower func() string, grams func() *bigrams) bool {
	if p.lit != "" {
		if grams != nil && !grams().mayContain(p.lower) {
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
	return p.re.MatchString(text)
}

// bigrams is the set of adjacent byte pairs of a text: a literal whose
// pairs are not all in it cannot occur in the text. Testing a literal
// against it costs a few lookups, where a substring search reads the
// whole text, so it screens the keywords and required literals of many
// policies against one call's arguments cheaply.
type bigrams [1 << 16 / 64]uint64

var bigramPool = sync.Pool{New: func() any { return new(bigrams) }}

// fill makes b the set of pairs of s.
func (b *bigrams) fill(s string) {
	clear(b[:])
	for i := 0; i+1 < len(s); i++ {
		k := uint32(s[i])<<8 | uint32(s[i+1])
		b[k>>6] |= 1 << (k & 63)
	}
}

// mayContain reports whether lit may occur in the text b was filled from:
// false means it certainly does not.
func (b *bigrams) mayContain(lit string) bool {
	for i := 0; i+1 < len(lit); i++ {
		k := uint32(lit[i])<<8 | uint32(lit[i+1])
		if b[k>>6]&(1<<(k&63)) == 0 {
			return false
		}
	}
	return true
}
