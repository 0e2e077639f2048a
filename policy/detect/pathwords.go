package detect

import "strings"

// Path words for the sensitive-file detector (pathname.go): how a text is
// split into the words that may be paths, and the cheap checks that let
// a word through to the full match only when it could name a sensitive
// file (mayNameSensitive).

// pathWordEnd reports whether c ends a path word: a space, or a separator
// of the shell or of JSON.
func pathWordEnd(c byte) bool { return pathSeps[c] }

// pathSeps holds the bytes pathWordEnd reports.
var pathSeps = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isSpace(byte(c)) || strings.IndexByte(";|&()<>=,", byte(c)) >= 0
	}
	return t
}()

// nextPathWord returns the bounds of the first path word of t at or after
// i; start == len(t) when there is none. A colon ends a word unless it
// follows a drive letter or a scheme (file:) or comes before //; a comma
// inside braces does not ({credentials,config}); $IFS and ${IFS} do.
func nextPathWord(t string, i int) (start, end int) {
	for i < len(t) {
		if n := wordSep(t, i, 0, i); n > 0 {
			i += n
			continue
		}
		break
	}
	start = i
	depth := 0
	for i < len(t) && wordSep(t, i, depth, start) == 0 {
		switch t[i] {
		case '{':
			depth++
		case '}':
			depth = max(depth-1, 0)
		}
		i++
	}
	return start, i
}

// wordSep returns the length of the word separator at i (0 if none), in
// braces depth deep, in a word that started at start.
func wordSep(t string, i, depth, start int) int {
	c := t[i]
	if c != ':' && c != '$' && !pathSeps[c] {
		return 0
	}
	switch {
	case c == ',' && depth > 0:
		return 0
	case pathWordEnd(c):
		return 1
	case c == ':' && (i == start || !keepColon(t, start, i)):
		return 1
	case c == '$' && strings.HasPrefix(t[i:], "${IFS}"):
		return len("${IFS}")
	case c == '$' && strings.HasPrefix(t[i:], "$IFS") && (i+4 == len(t) || !isIdent(t[i+4])):
		return len("$IFS")
	}
	return 0
}

// keepColon reports whether the colon at i, in the word from start, is
// part of a path: a drive letter (C:), a URL scheme (file://) or
// PowerShell's $env: ($env:USERPROFILE\.ssh).
func keepColon(t string, start, i int) bool {
	word := strings.Trim(t[start:i], "\"'`")
	switch {
	case len(word) == 1 && isLetter(word[0]):
		return true
	case strings.HasPrefix(t[i:], "://"):
		return true
	}
	return strings.EqualFold(word, "file") || strings.EqualFold(word, "$env") || strings.EqualFold(word, "${env")
}

// The classes of bytes for the word pass of sensitivePaths.
const (
	pcSep     uint8 = 1 << iota // may separate words (see wordSep)
	pcSpecial                   // normalisation may change the word
	pcDot
	pcUnder
	pcSlash // a / (also special)
	pcQuote // a quote or backtick (also special)
)

// wordClasses is the union of the classes of the bytes of w.
func wordClasses(w string) uint8 {
	var flags uint8
	for i := 0; i < len(w); i++ {
		flags |= pathClass[w[i]]
	}
	return flags
}

// pathAnchors are the parts, in lower case, one of which every
// sensitive name holds however it is spelled: a path word holds one
// (after the quotes that normalisation removes) or it names no sensitive
// file — unless it holds a byte that can spell any of them (a wildcard, a
// brace, a percent sign, a backslash), which makes it a candidate as it
// is. TestPathAnchors checks the table against them.
var pathAnchors = []string{
	".ssh", ".gnupg", ".aws", ".azure", "gcloud", ".kube", ".docker", "netrc", ".npmrc", ".pypirc",
	".pgpass", "credential", ".htpasswd", ".env", "id_", ".pem", ".key", ".p12", ".pfx", ".jks",
	".kdbx", "passwd", "shadow", "sudoers", "/environ", "/mem", "/sam", "/system", "/security", "/protect",
}

// anchorIndex lists the pathAnchors by their first byte.
var anchorIndex = func() (t [256][]string) {
	for _, a := range pathAnchors {
		t[a[0]] = append(t[a[0]], a)
	}
	return t
}()

// mayNameSensitive reports whether the word w may name a sensitive file:
// whether it holds one of pathAnchors — quotes skipped, upper case
// folded, a backslash read as a separator or as an escape — or a byte
// that can spell one (a glob's wildcard or class, a brace expansion,
// percent-encoding). It reads w in place: it is on the path of every word.
func mayNameSensitive(w string) bool {
	backslash := false
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case '%':
			if i+2 < len(w) && isHex(w[i+1]) && isHex(w[i+2]) { // %2e, not %d
				return true
			}
		case '*', '?': // a glob may match any name
			return true
		case '[':
			// [.]env or [c]redentials; not []string, nor an index: os.Args[1]
			if j := strings.IndexByte(w[i+1:], ']'); j > 0 && strings.TrimLeft(w[i+1:i+1+j], "0123456789") != "" {
				return true
			}
		case '{':
			if strings.IndexByte(w[i+1:], ',') >= 0 { // ~/.{ssh,aws}
				return true
			}
		case '\\':
			backslash = true
		}
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c == '\\' {
			c = '/'
		}
		as := anchorIndex[lower(c)]
		if len(as) == 0 {
			continue
		}
		next := nextAnchorByte(w, i+1) // most anchors fail on their second byte
		for _, a := range as {
			if a[1] != next && !backslash {
				continue
			}
			if anchorAt(w, i, a, '/') || backslash && c != '/' && anchorAt(w, i, a, 0) {
				return true
			}
		}
	}
	return false
}

// nextAnchorByte is the byte of w at or after i that anchorAt would read
// next, folded to lower case; 0 at the end.
func nextAnchorByte(w string, i int) byte {
	for ; i < len(w); i++ {
		switch c := w[i]; c {
		case '"', '\'', '`':
		case '\\':
			return '/'
		default:
			return lower(c)
		}
	}
	return 0
}

// anchorAt reports whether w, from i on, reads as anchor a with quotes
// skipped, upper case folded and a backslash read as bs (0: skipped).
func anchorAt(w string, i int, a string, bs byte) bool {
	k := 0
	for j := i; j < len(w) && k < len(a); j++ {
		c := w[j]
		switch c {
		case '"', '\'', '`':
			continue
		case '\\':
			if bs == 0 {
				continue
			}
			c = bs
		}
		if lower(c) != a[k] {
			return false
		}
		k++
	}
	return k == len(a)
}

// plainWord reports whether w is one segment that normalisation leaves
// alone, and plainly not part of a sensitive name: most words of a text,
// which so cost no normalisation.
func plainWord(w string) bool {
	return len(w) < 2 || !strings.ContainsAny(w, specialBytes) && plainName(w)
}

// plainSegments reports whether w, whose bytes have the classes flags,
// is plainly no sensitive name without normalising it: nothing but
// slashes and quotes to normalise, and each segment a plainName (cleaning
// only drops segments; it makes no new ones).
func plainSegments(w string, flags uint8) bool {
	if flags&pcSpecial == 0 {
		return plainName(w)
	}
	if !onlySlashesAndQuotes(w) {
		return false
	}
	for len(w) > 0 {
		seg := w
		if j := strings.IndexByte(w, '/'); j >= 0 {
			seg, w = w[:j], w[j+1:]
		} else {
			w = ""
		}
		for len(seg) > 0 && pathClass[seg[0]]&pcQuote != 0 {
			seg = seg[1:]
		}
		for len(seg) > 0 && pathClass[seg[len(seg)-1]]&pcQuote != 0 {
			seg = seg[:len(seg)-1]
		}
		if seg != "" && seg != "." && seg != ".." && (strings.ContainsAny(seg, "\"'`") || !plainName(seg)) {
			return false
		}
	}
	return true
}

// onlySlashesAndQuotes reports whether the only bytes of w that
// normalisation acts on are slashes and quotes.
func onlySlashesAndQuotes(w string) bool {
	for i := 0; i < len(w); i++ {
		if cl := pathClass[w[i]]; cl&pcSpecial != 0 && cl&(pcSlash|pcQuote) == 0 {
			return false
		}
	}
	return true
}

// plainName is plainWord for a word known to hold nothing to normalise.
func plainName(w string) bool {
	if len(w) < 2 {
		return true
	}
	if w[0] == '.' || w[0] == '_' || hasPrefixFold(w, "id_") {
		return false
	}
	switch len(w) { // etc, proc, windows, appdata: the first segments of names
	case 3, 4, 7:
		if strings.EqualFold(w, "etc") || strings.EqualFold(w, "proc") || strings.EqualFold(w, "windows") || strings.EqualFold(w, "appdata") {
			return false
		}
	}
	if d := strings.LastIndexByte(w, '.'); d >= 0 {
		for _, ext := range []string{"pem", "key", "p12", "pfx", "jks", "keystore", "kdbx"} {
			if strings.EqualFold(w[d+1:], ext) {
				return false
			}
		}
	}
	return true
}

// trimSentenceEnd drops the full stop, ! or ? that ends a sentence after a
// word: "read .env." names .env.
func trimSentenceEnd(w string) string {
	if n := len(w); n > 1 && strings.IndexByte(".!?", w[n-1]) >= 0 && isAlnum(w[n-2]) {
		return w[:n-1]
	}
	return w
}

// PathWords returns the words of text that may be paths, split as the
// sensitive-file matcher splits them (see the rules at the top of this
// file), a sentence's full stop dropped.
func PathWords(text string) []string {
	var words []string
	for i := 0; i < len(text); {
		start, end := nextPathWord(text, i)
		i = end
		if start == end {
			break
		}
		words = append(words, trimSentenceEnd(text[start:end]))
	}
	return words
}
