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
//   - A word is a run of bytes between spaces, $IFS and the shell's and
//     JSON's separators (; | & ( ) < > = , :), with quotes and backticks
//     inside it removed, as the shell joins 'a'"b"c, and a leading @ (curl
//     -d @file) dropped. A colon stays in a drive letter (C:) and a URL
//     scheme (file:); a comma stays inside braces, and each alternative of
//     a brace expansion (~/.{ssh,aws}/x) is a path of its own.
//   - A backslash is read both as a separator (C:\Users\me\.ssh) and as
//     the shell's escape (/etc/sha\dow); either reading may name the file.
//   - Windows paths name what their POSIX counterparts name, on every
//     platform: a drive letter (C:\, c:/) and a drive's root (C:\..\x is
//     C:\x), device paths (\\?\C:\, \\.\C:\, \??\C:\, \\?\UNC\), the
//     administrative share (\\localhost\C$\), file:///C:/, the home
//     variables of cmd and PowerShell (%USERPROFILE%, %HOMEDRIVE%%HOMEPATH%,
//     $env:USERPROFILE; %APPDATA% is ~/AppData/Roaming), and a second
//     reading as Windows reads it: the trailing dots and spaces of a
//     segment (credentials., .ssh ) and an alternate data stream
//     (credentials::$DATA) dropped, a UNC share kept as a root. An 8.3
//     short name (CREDEN~1) is not read as the long name: that needs the
//     file system, which the guard asks and the detector does not.
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
//   - A word longer than maxPathWord bytes is looked at in its short form
//     (CollapsePath): padding with ./ or // hides no path.

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
	{segs: []string{"windows", "repair", "sam"}},
	{segs: []string{"appdata", "roaming", "gcloud"}, under: true},
	{segs: []string{"appdata", "roaming", "microsoft", "credentials"}, under: true},
	{segs: []string{"appdata", "local", "microsoft", "credentials"}, under: true},
	{segs: []string{"appdata", "roaming", "microsoft", "protect"}, under: true},
}

// ex is a list of one-segment examples.
func ex(names ...string) [][]string {
	out := make([][]string, len(names))
	for i, n := range names {
		out[i] = []string{n}
	}
	return out
}

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

// sensitiveWord reports whether the word w names a sensitive file in any
// of its forms (see PathForms).
func sensitiveWord(w string) bool {
	if open := strings.IndexByte(w, '{'); open >= 0 && strings.IndexByte(w[open:], ',') >= 0 {
		return eachBraceForm(w, 0, sensitiveForm)
	}
	return sensitiveForm(w)
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
	p := normalizePath(buf, w, false, false)
	lowerASCII(p)
	if namesSensitive(p, dir) {
		return true
	}
	if windowsReading(w) {
		p = normalizePath(buf, w, false, true)
		lowerASCII(p)
		if namesSensitive(p, dir) {
			return true
		}
	}
	if strings.IndexByte(w, '\\') < 0 {
		return false
	}
	p = normalizePath(buf, w, true, false)
	lowerASCII(p)
	return namesSensitive(p, dir)
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
// file, _netrc, id_…, a key file's extension, etc, proc, windows or
// appdata.
func mayBeSensitive(segs [][]byte) bool {
	for _, s := range segs {
		if len(s) < 2 {
			continue
		}
		if s[0] == '.' || s[0] == '_' || bytes.HasPrefix(s, []byte("id_")) {
			return true
		}
		switch string(s) {
		case "etc", "proc", "windows", "appdata":
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
