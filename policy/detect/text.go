package detect

// Byte classes and small helpers over ASCII, shared by the detectors.

const (
	clsLower uint8 = 1 << iota
	clsUpper
	clsDigit
	clsUnder
	clsDash
	clsPlusSlash

	clsAlpha  = clsLower | clsUpper
	clsAlnum  = clsAlpha | clsDigit
	clsB64URL = clsAlnum | clsUnder | clsDash
	clsB64    = clsAlnum | clsPlusSlash
)

var class = func() (c [256]uint8) {
	for b := 'a'; b <= 'z'; b++ {
		c[b] = clsLower
		c[b-32] = clsUpper
	}
	for b := '0'; b <= '9'; b++ {
		c[b] = clsDigit
	}
	c['_'], c['-'], c['+'], c['/'] = clsUnder, clsDash, clsPlusSlash, clsPlusSlash
	return c
}()

func is(c byte, cls uint8) bool { return class[c]&cls != 0 }
func isLetter(c byte) bool      { return class[c]&clsAlpha != 0 }
func isDigit(c byte) bool       { return c-'0' < 10 }
func isAlnum(c byte) bool       { return class[c]&clsAlnum != 0 }
func isIdent(c byte) bool       { return class[c]&(clsAlnum|clsUnder) != 0 }
func isBlank(c byte) bool       { return c == ' ' || c == '\t' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s begins with the lower-case word, ignoring
// ASCII case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		if lower(s[i]) != word[i] {
			return false
		}
	}
	return true
}

// equalFold reports whether s is the lower-case word, ignoring ASCII case.
func equalFold(s, word string) bool {
	return len(s) == len(word) && hasPrefixFold(s, word)
}

func hasSuffixFold(s, word string) bool {
	return len(s) >= len(word) && hasPrefixFold(s[len(s)-len(word):], word)
}

func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if hasPrefixFold(s[i:], word) {
			return true
		}
	}
	return false
}

func oneOfFold(s string, words ...string) bool {
	for _, w := range words {
		if equalFold(s, w) {
			return true
		}
	}
	return false
}

// run returns the end of the run of bytes of class cls that starts at i,
// looking at most max bytes ahead.
func run(t string, i int, cls uint8, max int) int {
	j := i
	for j < len(t) && j-i < max && class[t[j]]&cls != 0 {
		j++
	}
	return j
}

func skipBlanks(t string, i int) int {
	for i < len(t) && isBlank(t[i]) {
		i++
	}
	return i
}

// wordEnds reports whether no letter or digit follows at i.
func wordEnds(t string, i int) bool {
	return i >= len(t) || !isIdent(t[i])
}
