package detect

import (
	"bytes"
	"strings"
)

// Sensitive files named in any spelling. Every path-like word of a text is
// normalised (NormalizePath) and its segments are matched against the
// table of sensitive names below, so that ~/.aws//credentials,
// /root/./.ssh/, $HOME/.ssh, file:///etc/shadow, %2Fetc%2Fshadow,
// C:\Users\me\.aws\credentials and ~/.ss?/id_* all name what they name.
//
// Rules that decide the hard cases:
//   - A word is a run of bytes between spaces and the shell's and JSON's
//     separators (; | & ( ) < > = , :), with quotes and backticks inside it
//     removed, as the shell joins 'a'"b"c. A colon stays in a drive letter
//     (C:) and a URL scheme (file:).
//   - Names are compared in lower case: .SSH/ID_RSA costs nothing to flag.
//   - A directory that holds credentials (.ssh, .gnupg, .aws, .azure,
//     .config/gcloud) is sensitive itself and with everything under it.
//   - .env and .env.<anything> are sensitive, but not the templates that are
//     meant to be committed: .env.example, .env.sample, .env.template,
//     .env.dist, .env.defaults, .env.schema. direnv's .envrc is a script
//     that is usually committed, not a store of secrets: it is not.
//   - id_rsa and the other SSH private key names are sensitive with any
//     suffix (id_rsa.bak, id_ed25519_sk) but the public key, *.pub, is not.
//   - /etc/… and /proc/… count from the root (or after ../), not inside a
//     project (src/etc/passwd.go is not /etc/passwd).
//   - A glob counts as naming a sensitive file when it could match one:
//     ~/.ss?/id_*, ~/.aws/cred*, [.]env. The shell's rule holds: a wildcard
//     does not match a leading dot. A glob made only of wildcards and dots
//     (*, *.*, .*) names every file rather than a sensitive one and does not
//     count.
//   - A word longer than maxPathWord bytes is not looked at: no path is.

// maxPathWord bounds the words looked at as paths.
const maxPathWord = 1024

// sensitiveName is a sensitive file or directory: the last segments of a
// normalised, lower-case path, each a path.Match pattern.
type sensitiveName struct {
	segs []string
	// under: the path may go on below the name (a directory).
	under bool
	// rooted: the name must start at the root, after ../ or after a drive.
	rooted bool
	// examples are concrete names the pattern matches, for globs to be
	// matched against; nil when segs hold no wildcard.
	examples [][]string
	// except lists suffixes of the last segment that are not sensitive.
	except []string
}

// sensitiveNames is the table of sensitive files.
var sensitiveNames = []sensitiveName{
	{segs: []string{".ssh"}, under: true},
	{segs: []string{".gnupg"}, under: true},
	{segs: []string{".aws"}, under: true},
	{segs: []string{".azure"}, under: true},
	{segs: []string{".config", "gcloud"}, under: true},
	{segs: []string{".kube", "config"}},
	{segs: []string{".docker", "config.json"}},
	{segs: []string{".netrc"}},
	{segs: []string{"_netrc"}},
	{segs: []string{".npmrc"}},
	{segs: []string{".pypirc"}},
	{segs: []string{".pgpass"}},
	{segs: []string{".git-credentials"}},
	{segs: []string{".htpasswd"}},
	{segs: []string{".env"}},
	{segs: []string{".env.*"}, examples: ex(".env.local", ".env.production", ".env.production.local", ".env.development"),
		except: []string{".example", ".sample", ".template", ".dist", ".defaults", ".schema"}},
	{segs: []string{"id_rsa*"}, examples: ex("id_rsa"), except: []string{".pub"}},
	{segs: []string{"id_dsa*"}, examples: ex("id_dsa"), except: []string{".pub"}},
	{segs: []string{"id_ecdsa*"}, examples: ex("id_ecdsa"), except: []string{".pub"}},
	{segs: []string{"id_ed25519*"}, examples: ex("id_ed25519"), except: []string{".pub"}},
	{segs: []string{"*.pem"}, examples: ex("server.pem")},
	{segs: []string{"*.key"}, examples: ex("server.key")},
	{segs: []string{"*.p12"}, examples: ex("cert.p12")},
	{segs: []string{"*.pfx"}, examples: ex("cert.pfx")},
	{segs: []string{"*.jks"}, examples: ex("store.jks")},
	{segs: []string{"*.keystore"}, examples: ex("release.keystore")},
	{segs: []string{"*.kdbx"}, examples: ex("passwords.kdbx")},
	{segs: []string{"etc", "passwd"}, rooted: true},
	{segs: []string{"etc", "master.passwd"}, rooted: true},
	{segs: []string{"etc", "shadow"}, rooted: true},
	{segs: []string{"etc", "gshadow"}, rooted: true},
	{segs: []string{"etc", "sudoers"}, rooted: true},
	{segs: []string{"etc", "sudoers.d"}, rooted: true, under: true},
	{segs: []string{"proc", "*", "environ"}, rooted: true, examples: [][]string{{"proc", "self", "environ"}, {"proc", "1", "environ"}}},
	{segs: []string{"proc", "*", "mem"}, rooted: true, examples: [][]string{{"proc", "self", "mem"}, {"proc", "1", "mem"}}},
	{segs: []string{"windows", "system32", "config", "sam"}},
	{segs: []string{"windows", "system32", "config", "system"}},
	{segs: []string{"windows", "system32", "config", "security"}},
}

// ex is a list of one-segment examples.
func ex(names ...string) [][]string {
	out := make([][]string, len(names))
	for i, n := range names {
		out[i] = []string{n}
	}
	return out
}

// pathWordEnd reports whether c ends a path word: a space, or a separator
// of the shell or of JSON.
func pathWordEnd(c byte) bool {
	return isSpace(c) || strings.IndexByte(";|&()<>=,", c) >= 0
}

// nextPathWord returns the bounds of the first path word of t at or after
// i; start == len(t) when there is none. A colon ends a word unless it
// follows a drive letter or a scheme (file:) or comes before //.
func nextPathWord(t string, i int) (start, end int) {
	for i < len(t) && (pathWordEnd(t[i]) || t[i] == ':') {
		i++
	}
	start = i
	for i < len(t) && !pathWordEnd(t[i]) {
		if t[i] == ':' && !keepColon(t, start, i) {
			break
		}
		i++
	}
	return start, i
}

// keepColon reports whether the colon at i, in the word from start, is
// part of a path: a drive letter (C:) or a URL scheme (file://).
func keepColon(t string, start, i int) bool {
	word := strings.Trim(t[start:i], "\"'`")
	switch {
	case len(word) == 1 && isLetter(word[0]):
		return true
	case strings.HasPrefix(t[i:], "://"):
		return true
	}
	return strings.EqualFold(word, "file")
}

// maybePath reports whether a word is worth normalising: one that holds a
// separator, a wildcard, a % or a dot inside it, or starts with ~ or $.
func maybePath(w string) bool {
	if w == "" {
		return false
	}
	if w[0] == '~' || w[0] == '$' || strings.ContainsAny(w, "/\\*?[%") || hasPrefixFold(w, "id_") || hasPrefixFold(w, "_netrc") {
		return true
	}
	d := strings.IndexByte(w, '.')
	return d >= 0 && d < len(w)-1
}

// NormalizePath returns the path a word names, spelled plainly: quotes
// removed, a file: URL's scheme and host removed, percent-encoding decoded
// (three times at most: %252e), ~, $HOME, ${HOME} and %USERPROFILE% at its
// start written ~, backslashes made slashes, and then cleaned as by
// path.Clean (repeated separators, . and .. segments, a trailing slash).
// Case is kept.
func NormalizePath(word string) string {
	return string(normalizePath(nil, word))
}

// normalizePath appends the normalised word to dst. It allocates nothing
// when dst has room for the word.
func normalizePath(dst []byte, word string) []byte {
	n := len(dst)
	for i := 0; i < len(word); i++ {
		if c := word[i]; c != '"' && c != '\'' && c != '`' {
			dst = append(dst, c)
		}
	}
	b := dst[n:]
	b = cutScheme(b)
	for range 3 {
		var decoded bool
		b, decoded = percentDecode(b)
		if !decoded {
			break
		}
	}
	b = homePrefix(b)
	for i, c := range b {
		if c == '\\' {
			b[i] = '/'
		}
	}
	b = cleanPath(b)
	return dst[:n+len(b)]
}

// cutScheme removes file://localhost, file:// or file: from the start of b
// (in place).
func cutScheme(b []byte) []byte {
	for _, p := range []string{"file://localhost/", "file://", "file:"} {
		if len(b) >= len(p) && strings.EqualFold(string(b[:len(p)]), p) {
			if p == "file://localhost/" {
				p = "file://localhost"
			}
			return b[:copy(b, b[len(p):])]
		}
	}
	return b
}

// percentDecode decodes every %XX of b in place, and says whether there
// was one.
func percentDecode(b []byte) ([]byte, bool) {
	w, decoded := 0, false
	for r := 0; r < len(b); r++ {
		if b[r] == '%' && r+2 < len(b) && isHex(b[r+1]) && isHex(b[r+2]) {
			b[w] = unhex(b[r+1])<<4 | unhex(b[r+2])
			w++
			r += 2
			decoded = true
			continue
		}
		b[w] = b[r]
		w++
	}
	return b[:w], decoded
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// homePrefix writes a home directory at the start of b ($HOME, ${HOME},
// %USERPROFILE%, %HOMEPATH%) as ~ (in place).
func homePrefix(b []byte) []byte {
	for _, p := range []string{"${HOME}", "$HOME", "%USERPROFILE%", "%HOMEPATH%"} {
		if len(b) >= len(p) && strings.EqualFold(string(b[:len(p)]), p) && (len(b) == len(p) || b[len(p)] == '/' || b[len(p)] == '\\') {
			b[0] = '~'
			return b[:1+copy(b[1:], b[len(p):])]
		}
	}
	return b
}

// cleanPath is path.Clean in place.
func cleanPath(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	rooted := b[0] == '/'
	w, r, dotdot := 0, 0, 0
	if rooted {
		w, r, dotdot = 1, 1, 1
	}
	for r < len(b) {
		switch {
		case b[r] == '/':
			r++
		case b[r] == '.' && (r+1 == len(b) || b[r+1] == '/'):
			r++
		case b[r] == '.' && b[r+1] == '.' && (r+2 == len(b) || b[r+2] == '/'):
			r += 2
			switch {
			case w > dotdot:
				w--
				for w > dotdot && b[w] != '/' {
					w--
				}
			case !rooted:
				if w > 0 {
					b[w] = '/'
					w++
				}
				b[w], b[w+1] = '.', '.'
				w += 2
				dotdot = w
			}
		default:
			if rooted && w != 1 || !rooted && w != 0 {
				b[w] = '/'
				w++
			}
			for ; r < len(b) && b[r] != '/'; r++ {
				b[w] = b[r]
				w++
			}
		}
	}
	if w == 0 {
		b = append(b[:0], '.')
		return b
	}
	return b[:w]
}

// sensitivePaths finds the words of the text, from offset from of s.out on,
// that name a sensitive file, and adds those that no other sensitive_file
// finding covers.
func (s *scanner) sensitivePaths(from int) {
	t := s.text
	var buf [maxPathWord + 8]byte
	for i := 0; i < len(t); {
		start, end := nextPathWord(t, i)
		i = end
		if start == end {
			break
		}
		w := trimSentenceEnd(t[start:end])
		if len(w) > maxPathWord || !maybePath(w) || s.covered(from, start, end) {
			continue
		}
		p := normalizePath(buf[:0], w)
		lowerASCII(p)
		if namesSensitive(p) {
			s.add(kSensitiveFile, start, start+len(w))
		}
	}
}

// trimSentenceEnd drops the full stop, ! or ? that ends a sentence after a
// word: "read .env." names .env.
func trimSentenceEnd(w string) string {
	if n := len(w); n > 1 && strings.IndexByte(".!?", w[n-1]) >= 0 && isAlnum(w[n-2]) {
		return w[:n-1]
	}
	return w
}

// covered reports whether a sensitive_file finding from s.out[from:]
// overlaps start..end.
func (s *scanner) covered(from, start, end int) bool {
	for _, f := range s.out[from:] {
		if f.Kind == "sensitive_file" && f.Start < end && start < f.End {
			return true
		}
	}
	return false
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// maxSegs bounds the segments of a path looked at.
const maxSegs = 64

// namesSensitive reports whether the normalised, lower-case path p names a
// sensitive file (see the rules at the top of this file).
func namesSensitive(p []byte) bool {
	var buf [maxSegs][]byte
	n := 0
	for len(p) > 0 && n < maxSegs {
		j := bytes.IndexByte(p, '/')
		if j < 0 {
			buf[n] = p
			n++
			break
		}
		buf[n] = p[:j]
		n++
		p = p[j+1:]
	}
	for k := range sensitiveNames {
		if matchesAt(&sensitiveNames[k], buf[:n]) {
			return true
		}
	}
	return false
}

// matchesAt reports whether name matches segs at some position.
func matchesAt(name *sensitiveName, segs [][]byte) bool {
	k := len(name.segs)
	for i := 0; i+k <= len(segs); i++ {
		if !name.under && i+k != len(segs) {
			continue
		}
		if name.rooted && !rootedAt(segs[:i]) {
			continue
		}
		if matchWindow(name, segs[i:i+k], segs[i+k:]) {
			return true
		}
	}
	return false
}

// rootedAt reports whether the segments before a name make it start at the
// root: nothing but the root, .. or a drive letter before it (a home, ~,
// is not the root).
func rootedAt(before [][]byte) bool {
	if len(before) == 0 {
		return false // relative: etc/passwd inside a project
	}
	for i, s := range before {
		switch {
		case len(s) == 0 && i == 0, string(s) == "..":
		case i == 0 && len(s) == 2 && s[1] == ':' && isLetter(s[0]):
		default:
			return false
		}
	}
	return true
}

// matchWindow matches a window of segments, as long as name's, literally
// against its patterns, or as globs against its examples; below are the
// segments after the window (~/.*/credentials is no mere .*).
func matchWindow(name *sensitiveName, win, below [][]byte) bool {
	glob := false
	for _, s := range win {
		glob = glob || bytes.ContainsAny(s, "*?[")
	}
	if !glob {
		for j, pat := range name.segs {
			if !globMatch(pat, win[j]) {
				return false
			}
		}
		return !excepted(name, win[len(win)-1])
	}
	if !holdsLiteral(win) && !holdsLiteral(below) {
		return false
	}
	examples := name.examples
	if examples == nil {
		examples = [][]string{name.segs}
	}
	for _, e := range examples {
		if globsMatch(win, e) {
			return true
		}
	}
	return false
}

// globsMatch matches each segment of win, a glob, against the example's,
// with the shell's rule that a wildcard does not match a leading dot.
func globsMatch(win [][]byte, example []string) bool {
	for j, g := range win {
		e := example[j]
		if strings.HasPrefix(e, ".") && !bytes.HasPrefix(g, []byte(".")) && !bytes.HasPrefix(g, []byte("[.")) {
			return false
		}
		if !globMatch(g, e) {
			return false
		}
	}
	return true
}

// excepted reports whether last, the last segment of a match, ends with a
// suffix the name exempts.
func excepted(name *sensitiveName, last []byte) bool {
	for _, x := range name.except {
		if len(last) >= len(x) && string(last[len(last)-len(x):]) == x {
			return true
		}
	}
	return false
}

// holdsLiteral reports whether a window of globs holds a letter or digit
// outside its brackets: *, .* and *.* name everything, not a file.
func holdsLiteral(win [][]byte) bool {
	for _, s := range win {
		inClass := false
		for _, c := range s {
			switch {
			case c == '[':
				inClass = true
			case c == ']':
				inClass = false
			case !inClass && isAlnum(c):
				return true
			}
		}
	}
	return false
}

// globMatch reports whether name matches pattern as path.Match would
// (*, ?, [class], [!class] or [^class], ranges, \ escapes), without
// allocating; a malformed pattern matches nothing.
func globMatch[P, N []byte | string](pattern P, name N) bool {
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pattern) {
			switch c := pattern[p]; c {
			case '*':
				starP, starN = p, n
				p++
				continue
			case '?':
				p++
				n++
				continue
			case '[':
				if end, ok := matchClass(pattern, p, name[n]); end > 0 {
					if ok {
						p, n = end, n+1
						continue
					}
				} else {
					return false
				}
			case '\\':
				if p+1 < len(pattern) && pattern[p+1] == name[n] {
					p, n = p+2, n+1
					continue
				}
			default:
				if c == name[n] {
					p++
					n++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// matchClass matches c against the bracket class at pattern[p]; end is
// the index after the class, 0 when it is malformed.
func matchClass[P []byte | string](pattern P, p int, c byte) (end int, ok bool) {
	i := p + 1
	negate := i < len(pattern) && (pattern[i] == '!' || pattern[i] == '^')
	if negate {
		i++
	}
	for first := true; ; first = false {
		if i >= len(pattern) {
			return 0, false
		}
		if pattern[i] == ']' && !first {
			return i + 1, ok != negate
		}
		lo := pattern[i]
		if lo == '\\' && i+1 < len(pattern) {
			i++
			lo = pattern[i]
		}
		i++
		hi := lo
		if i+1 < len(pattern) && pattern[i] == '-' && pattern[i+1] != ']' {
			hi = pattern[i+1]
			i += 2
		}
		if lo <= c && c <= hi {
			ok = true
		}
	}
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
