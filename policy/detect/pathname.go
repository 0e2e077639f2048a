package detect

import (
	"bytes"
	"net/url"
	"path"
	"strings"
)

// Sensitive files named in any spelling. Every path-like word of a text is
// normalised (NormalizePath) and its segments are matched against the
// table of sensitive names below, so that ~/.aws//credentials,
// /root/./.ssh/, $HOME/.ssh, file:///etc/shadow, %2Fetc%2Fshadow,
// C:\Users\me\.aws\credentials and ~/.ss?/id_* all name what they name.
//
// Rules that decide the hard cases:
//   - A word is a run of bytes between spaces, $IFS and the shell's and
//     JSON's separators (; | & ( ) < > = , :), with quotes and backticks
//     inside it removed, as the shell joins 'a'"b"c, and a leading @ (curl
//     -d @file) dropped. A colon stays in a drive letter (C:) and a URL
//     scheme (file:); a comma stays inside braces, and each alternative of
//     a brace expansion (~/.{ssh,aws}/x) is a path of its own.
//   - A backslash is read both as a separator (C:\Users\me\.ssh) and as
//     the shell's escape (/etc/sha\dow); either reading may name the file.
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
//   - Key files (*.pem, *.key, *.p12, …) count by name, but a bare
//     NAME.key only with a directory part (./server.key, certs/tls.key):
//     event.key and item.key are code.
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
	// dir: the word must have a directory part (a / or \): a bare
	// event.key is code, not a file.
	dir bool
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
	{segs: []string{"*.key"}, examples: ex("server.key"), dir: true},
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

// NormalizePath returns the path a word names, spelled plainly: quotes
// removed, a file: URL's scheme and host removed, percent-encoding decoded
// (three times at most: %252e), ~, $HOME, ${HOME} and %USERPROFILE% at its
// start written ~, backslashes made slashes, and then cleaned as by
// path.Clean (repeated separators, . and .. segments, a trailing slash).
// Case is kept.
func NormalizePath(word string) string {
	return string(normalizePath(nil, word, false))
}

// PathForms returns every path a word may name, each normalised as by
// NormalizePath: with its backslashes read as separators (Windows) and,
// when it has any, as the shell's escapes (/etc/sha\dow); and with the
// alternatives of a brace expansion ({a,b}) taken one by one, up to
// three braces deep.
func PathForms(word string) []string {
	var out []string
	eachBraceForm(word, 0, func(w string) bool {
		out = append(out, NormalizePath(w))
		if strings.IndexByte(w, '\\') >= 0 {
			out = append(out, string(normalizePath(nil, w, true)))
		}
		return false
	})
	return out
}

// eachBraceForm calls f with w, or when w holds a brace expansion, with
// each of its forms, until f returns true; it reports whether f did.
func eachBraceForm(w string, depth int, f func(string) bool) bool {
	open := strings.IndexByte(w, '{')
	if open < 0 || depth >= 3 || open > 0 && w[open-1] == '$' {
		return f(w)
	}
	closeAt := strings.IndexByte(w[open:], '}')
	if closeAt < 0 || strings.IndexByte(w[open:open+closeAt], ',') < 0 {
		return f(w)
	}
	closeAt += open
	var buf [maxPathWord + 8]byte
	body := w[open+1 : closeAt]
	for {
		alt, rest, more := strings.Cut(body, ",")
		form := append(append(append(buf[:0], w[:open]...), alt...), w[closeAt+1:]...)
		if eachBraceForm(string(form), depth+1, f) {
			return true
		}
		if !more {
			break
		}
		body = rest
	}
	return false
}

// normalizePath appends the normalised word to dst; escapes reads a
// backslash as the shell's escape rather than as a separator. It
// allocates nothing when dst has room for the word.
func normalizePath(dst []byte, word string, escapes bool) []byte {
	n := len(dst)
	for i := 0; i < len(word); i++ {
		c := word[i]
		if escapes && c == '\\' && i+1 < len(word) {
			i++
			dst = append(dst, word[i])
			continue
		}
		if c != '"' && c != '\'' && c != '`' {
			dst = append(dst, c)
		}
	}
	b := dst[n:]
	if len(b) > 1 && b[0] == '@' {
		b = b[:copy(b, b[1:])] // curl -d @file
	}
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

// The classes of bytes for the word pass of sensitivePaths.
const (
	pcSep     uint8 = 1 << iota // may separate words (see wordSep)
	pcSpecial                   // normalisation may change the word
	pcDot
	pcUnder
	pcSlash // a / (also special)
	pcQuote // a quote or backtick (also special)
)

var pathClass = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		if pathSeps[b] || b == ':' || b == '$' {
			t[c] |= pcSep
		}
		if strings.IndexByte(specialBytes, b) >= 0 {
			t[c] |= pcSpecial
		}
		if b == '.' {
			t[c] |= pcDot
		}
		if b == '_' {
			t[c] |= pcUnder
		}
		if b == '/' {
			t[c] |= pcSlash
		}
		if b == '"' || b == '\'' || b == '`' {
			t[c] |= pcQuote
		}
	}
	return t
}()

// specialBytes are those normalisation may act on.
const specialBytes = "/\\%~$*?[{\"'`@"

// sensitivePaths finds the words of the text (split as nextPathWord
// splits them) that name a sensitive file, and adds those that no
// sensitive_file finding from s.out[from:] on covers. Only a word that
// holds a dot, an _ or a byte normalisation acts on can name one: the pass
// jumps from one such byte to the next, and splits the text into words
// only around it, from the last space or separator before it.
func (s *scanner) sensitivePaths(from int) {
	t := s.text
	for lo := 0; lo < len(t); {
		j := lo
		for j < len(t) && pathClass[t[j]]&(pcSpecial|pcDot|pcUnder) == 0 {
			j++
		}
		if j == len(t) {
			return
		}
		st := j
		for st > lo && !pathSeps[t[st-1]] || st > lo && t[st-1] == ',' {
			st--
		}
		for i := st; ; {
			ws, we := nextPathWord(t, i)
			if ws == we {
				return
			}
			if we > j {
				s.pathWord(from, ws, we, wordClasses(t[ws:we]))
				lo = we
				break
			}
			i = we
		}
	}
}

// wordClasses is the union of the classes of the bytes of w.
func wordClasses(w string) uint8 {
	var flags uint8
	for i := 0; i < len(w); i++ {
		flags |= pathClass[w[i]]
	}
	return flags
}

// pathWord looks at the word t[start:end], whose bytes have the classes
// flags.
func (s *scanner) pathWord(from, start, end int, flags uint8) {
	if flags&(pcSpecial|pcDot|pcUnder) == 0 {
		return
	}
	w := trimSentenceEnd(s.text[start:end])
	if len(w) > maxPathWord {
		// Padding (./././…, //…, a/../…) must not hide a path past the
		// bound: its short form is what a server opens.
		if c := CollapsePath(w); len(c) <= maxPathWord && !s.covered(from, start, end) && sensitiveWord(c) {
			s.add(kSensitiveFile, start, start+len(w))
		}
		return
	}
	if !mayNameSensitive(w) || plainSegments(w, flags) || s.covered(from, start, end) {
		return
	}
	if sensitiveWord(w) {
		s.add(kSensitiveFile, start, start+len(w))
	}
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
	".kdbx", "passwd", "shadow", "sudoers", "/environ", "/mem", "/sam", "/system", "/security",
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

// CollapsePath is the short form of a path word w: backslashes read as
// slashes, percent-escapes decoded, and repeated slashes and dot segments
// removed (path.Clean). A path padded past a length bound (./././…) is
// looked at in this form.
func CollapsePath(w string) string {
	w = strings.ReplaceAll(w, `\`, "/")
	if strings.IndexByte(w, '%') >= 0 {
		if d, err := url.PathUnescape(w); err == nil {
			w = d
		}
	}
	return path.Clean(w)
}

// sensitiveWord reports whether the word w names a sensitive file in any
// of its forms (see PathForms).
func sensitiveWord(w string) bool {
	if open := strings.IndexByte(w, '{'); open >= 0 && strings.IndexByte(w[open:], ',') >= 0 {
		return eachBraceForm(w, 0, sensitiveForm)
	}
	return sensitiveForm(w)
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
	switch {
	case strings.EqualFold(w, "etc"), strings.EqualFold(w, "proc"), strings.EqualFold(w, "windows"):
		return false
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

// sensitiveForm is sensitiveWord for one form, without braces.
func sensitiveForm(w string) bool {
	switch {
	case plainWord(w):
		return false
	case len(w) <= 120:
		var buf [128]byte // most words: no maxPathWord bytes to clear
		return sensitiveIn(buf[:0], w)
	}
	var buf [maxPathWord + 8]byte
	return sensitiveIn(buf[:0], w)
}

// sensitiveIn is sensitiveForm normalising in buf, which has room for w.
func sensitiveIn(buf []byte, w string) bool {
	dir := strings.ContainsAny(w, "/\\")
	p := normalizePath(buf, w, false)
	lowerASCII(p)
	if namesSensitive(p, dir) {
		return true
	}
	if strings.IndexByte(w, '\\') < 0 {
		return false
	}
	p = normalizePath(buf, w, true)
	lowerASCII(p)
	return namesSensitive(p, dir)
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
// sensitive file (see the rules at the top of this file); dir says the word
// had a directory part.
func namesSensitive(p []byte, dir bool) bool {
	// The last maxSegs segments are kept; a directory such as .ssh
	// among those before them is looked for on the way.
	skip := bytes.Count(p, []byte("/")) + 1 - maxSegs
	var buf [maxSegs][]byte
	var globs uint64 // bit i: segment i is a glob
	n := 0
	for len(p) > 0 && n < maxSegs {
		j := bytes.IndexByte(p, '/')
		seg := p
		if j >= 0 {
			seg, p = p[:j], p[j+1:]
		} else {
			p = nil
		}
		glob := isGlob(seg)
		if skip > 0 {
			skip--
			if sensitiveDir(seg, glob) {
				return true
			}
			continue
		}
		if glob {
			globs |= 1 << n
		}
		buf[n] = seg
		n++
	}
	if globs == 0 && !mayBeSensitive(buf[:n]) {
		return false
	}
	for k := range sensitiveNames {
		if name := &sensitiveNames[k]; (dir || !name.dir) && matchesAt(name, buf[:n], globs) {
			return true
		}
	}
	return false
}

// isGlob reports whether seg has a wildcard: * or ?, or a [class]. A [
// with no ] after it (["a", in JSON) is a plain byte.
func isGlob(seg []byte) bool {
	if bytes.ContainsAny(seg, "*?") {
		return true
	}
	o := bytes.IndexByte(seg, '[')
	return o >= 0 && bytes.IndexByte(seg[o+1:], ']') >= 0
}

// sensitiveDir reports whether seg alone is a sensitive directory (.ssh),
// anything below which is sensitive.
func sensitiveDir(seg []byte, glob bool) bool {
	win := [1][]byte{seg}
	for k := range sensitiveNames {
		if name := &sensitiveNames[k]; name.under && len(name.segs) == 1 && !name.rooted && matchWindow(name, win[:], nil, glob) {
			return true
		}
	}
	return false
}

// mayBeSensitive reports whether some segment of a path without globs
// could be part of a sensitive name (a quick test before the table): a dot
// file, _netrc, id_…, a key file's extension, etc, proc or windows.
func mayBeSensitive(segs [][]byte) bool {
	for _, s := range segs {
		if len(s) < 2 {
			continue
		}
		if s[0] == '.' || s[0] == '_' || bytes.HasPrefix(s, []byte("id_")) {
			return true
		}
		switch string(s) {
		case "etc", "proc", "windows":
			return true
		}
		if d := bytes.LastIndexByte(s, '.'); d >= 0 {
			switch string(s[d+1:]) {
			case "pem", "key", "p12", "pfx", "jks", "keystore", "kdbx":
				return true
			}
		}
	}
	return false
}

// matchesAt reports whether name matches segs at some position; bit i of
// globs says segment i is a glob.
func matchesAt(name *sensitiveName, segs [][]byte, globs uint64) bool {
	k := len(name.segs)
	for i := 0; i+k <= len(segs); i++ {
		if !name.under && i+k != len(segs) {
			continue
		}
		if name.rooted && !rootedAt(segs[:i]) {
			continue
		}
		if matchWindow(name, segs[i:i+k], segs[i+k:], globs>>i&(1<<k-1) != 0) {
			return true
		}
	}
	return false
}

// rootedAt reports whether the segments before a name make it start at the
// root: nothing, the root, .. or a drive letter before it (a home, ~, is
// not the root).
func rootedAt(before [][]byte) bool {
	// Nothing before: etc/passwd from /, or a relative path that starts
	// there (src/etc/passwd.go does not).
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
// against its patterns, or, when glob, as globs against its examples;
// below are the segments after the window (~/.*/credentials is no mere
// .*).
func matchWindow(name *sensitiveName, win, below [][]byte, glob bool) bool {
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
