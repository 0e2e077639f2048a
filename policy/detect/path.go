package detect

import (
	"slices"
	"strings"
)

// The path_traversal detector: .. path segments, their percent-encoded
// forms and sensitive files.
//
// Rules that decide the hard cases:
// ".." counts only as a whole path segment next to a / or \ (so "wait..
// what", "1..3" and the regular expression \..* do not).

// pathTriggers are the words that start the path_traversal matchers.
var pathTriggers = slices.Concat(
	exact(setPath, actEtc, "etc"),
	exact(setPath, actSSH, "ssh"),
	exact(setPath, actIDKey, "id"),
	exact(setPath, actProc, "proc"),
	exact(setPath, actAWSDir, "aws"),
	folded(setPath, actWindows, "windows"),
)

// pathByte reports whether c can be part of a file name.
func pathByte(c byte) bool {
	return isIdent(c) || c == '.' || c == '-' || c == '~' || c >= 0x80
}

// dotdot matches a ".." path segment at p next to a / or \, and the run of
// ../ that follows it.
func (s *scanner) dotdot(p int) {
	t := s.text
	if p < s.dotNext || p+2 > len(t) || (p > 0 && t[p-1] == '.') || (p+2 < len(t) && t[p+2] == '.') {
		return
	}
	var prev, next byte
	if p > 0 {
		prev = t[p-1]
	}
	if p+2 < len(t) {
		next = t[p+2]
	}
	sepBefore := prev == '/' || prev == '\\'
	sepAfter := next == '/' || next == '\\'
	if !sepBefore && !sepAfter || (!sepBefore && p > 0 && pathByte(prev)) || (!sepAfter && p+2 < len(t) && pathByte(next)) {
		return
	}
	if n, enc := traversalUnit(t, p); n > 0 && enc {
		return // ..%2f: an encoded_dotdot
	}
	if prev == '\\' && !sepAfter && p+2 < len(t) && !isSpace(next) && strings.IndexByte("\"'`,;", next) < 0 {
		return // \..* in a regular expression
	}
	e := p + 2
	if sepAfter {
		e++
		for e+3 <= len(t) && t[e] == '.' && t[e+1] == '.' && (t[e+2] == '/' || t[e+2] == '\\') {
			e += 3
		}
	}
	s.dotNext = e
	s.add(kDotDot, p, e)
}

// encodedDot returns the length of a dot at i, literal or percent-encoded
// (%2e, %252e, %c0%ae, %u002e), and whether it was encoded.
func encodedDot(t string, i int) (int, bool) {
	switch {
	case i >= len(t):
		return 0, false
	case t[i] == '.':
		return 1, false
	case hasPrefixFold(t[i:], "%2e"):
		return 3, true
	case hasPrefixFold(t[i:], "%252e"):
		return 5, true
	case hasPrefixFold(t[i:], "%c0%ae"):
		return 6, true
	case hasPrefixFold(t[i:], "%u002e"):
		return 6, true
	}
	return 0, false
}

// encodedSlash is encodedDot for / and \.
func encodedSlash(t string, i int) (int, bool) {
	switch {
	case i >= len(t):
		return 0, false
	case t[i] == '/' || t[i] == '\\':
		return 1, false
	case hasPrefixFold(t[i:], "%2f"), hasPrefixFold(t[i:], "%5c"):
		return 3, true
	case hasPrefixFold(t[i:], "%252f"), hasPrefixFold(t[i:], "%255c"):
		return 5, true
	case hasPrefixFold(t[i:], "%c0%af"), hasPrefixFold(t[i:], "%c1%9c"):
		return 6, true
	case hasPrefixFold(t[i:], "%u2215"), hasPrefixFold(t[i:], "%u002f"):
		return 6, true
	}
	return 0, false
}

// traversalUnit returns the length of dot, dot, slash at i (each literal or
// encoded), and whether any part was encoded.
func traversalUnit(t string, i int) (int, bool) {
	a, ea := encodedDot(t, i)
	if a == 0 {
		return 0, false
	}
	b, eb := encodedDot(t, i+a)
	if b == 0 {
		return 0, false
	}
	c, ec := encodedSlash(t, i+a+b)
	if c == 0 {
		return 0, false
	}
	return a + b + c, ea || eb || ec
}

// encodedDotDot matches a percent-encoded ../ that involves the '%' at q.
func (s *scanner) encodedDotDot(q int) {
	t := s.text
	for st := max(q-2, s.pctNext, 0); st <= q; st++ {
		if st > 0 && (isAlnum(t[st-1]) || t[st-1] == '.') && t[st] == '.' {
			continue
		}
		n, enc := traversalUnit(t, st)
		if n == 0 || !enc {
			continue
		}
		e := st + n
		for {
			m, _ := traversalUnit(t, e)
			if m == 0 {
				break
			}
			e += m
		}
		s.pctNext = e
		s.add(kEncodedDotDot, st, e)
		return
	}
}

// sensitiveFile matches the sensitive system files named after a trigger
// word: /etc/passwd, ~/.ssh/…, id_rsa, /proc/self/environ, ~/.aws/credentials,
// \Windows\System32\config\SAM.
func (s *scanner) sensitiveFile(act action, w int) {
	var prev byte
	if w > 0 {
		prev = s.text[w-1]
	}
	switch act {
	case actEtc:
		s.etcFile(w, prev)
	case actSSH:
		s.dotDir(w, prev, "ssh")
	case actAWSDir:
		s.dotDir(w, prev, "aws")
	case actIDKey:
		s.idKey(w, prev)
	case actProc:
		s.procFile(w, prev)
	case actWindows:
		s.windowsHive(w, prev)
	}
}

// pathEnd returns the end of the rest of the path at i, up to 256 bytes.
func pathEnd(t string, i int) int {
	j := i
	for j < len(t) && j-i < 256 && (pathByte(t[j]) || t[j] == '/') && t[j] < 0x80 {
		j++
	}
	return j
}

// etcFile matches /etc/passwd, /etc/shadow and the like; w is at "etc".
func (s *scanner) etcFile(w int, prev byte) {
	t := s.text
	if prev != '/' || !strings.HasPrefix(t[w+3:], "/") {
		return
	}
	for _, f := range []string{"passwd", "shadow", "gshadow", "sudoers", "master.passwd"} {
		if e := w + 4 + len(f); strings.HasPrefix(t[w+4:], f) && (e == len(t) || !pathByte(t[e])) {
			s.add(kSensitiveFile, w-1, e)
			return
		}
	}
}

// dotDir matches ~/.ssh/… and ~/.aws/credentials or config; w is at name,
// "ssh" or "aws".
func (s *scanner) dotDir(w int, prev byte, name string) {
	t := s.text
	e := w + len(name)
	if prev != '.' || e >= len(t) || t[e] != '/' {
		return
	}
	if name == "aws" && !strings.HasPrefix(t[e+1:], "credentials") && !strings.HasPrefix(t[e+1:], "config") {
		return
	}
	start := w - 1
	if start >= 2 && t[start-2:start] == "~/" {
		start -= 2
	} else if start >= 1 && t[start-1] != '/' && pathByte(t[start-1]) {
		return // name.ssh/
	}
	s.add(kSensitiveFile, start, pathEnd(t, e+1))
}

// idKey matches an SSH private key's file name, id_rsa and the like; w is
// at "id".
func (s *scanner) idKey(w int, prev byte) {
	t := s.text
	if w > 0 && (isAlnum(prev) || prev == '.') || !strings.HasPrefix(t[w:], "id_") {
		return
	}
	for _, k := range []string{"rsa", "dsa", "ecdsa", "ed25519"} {
		e := w + 3 + len(k)
		if strings.HasPrefix(t[w+3:], k) && (e == len(t) || !(isIdent(t[e]) || t[e] == '.' || t[e] == '-')) {
			s.add(kSensitiveFile, w, e)
			return
		}
	}
}

// procFile matches /proc/self/environ, /proc/PID/mem and the like; w is at
// "proc".
func (s *scanner) procFile(w int, prev byte) {
	t := s.text
	if prev != '/' || !strings.HasPrefix(t[w+4:], "/") {
		return
	}
	p := w + 5
	switch {
	case strings.HasPrefix(t[p:], "self/"):
		p += 5
	case digitsAt(t, p, 1):
		p = run(t, p, clsDigit, 12)
		if p >= len(t) || t[p] != '/' {
			return
		}
		p++
	default:
		return
	}
	for _, f := range []string{"environ", "mem", "cmdline"} {
		if e := p + len(f); strings.HasPrefix(t[p:], f) && wordEnds(t, e) {
			s.add(kSensitiveFile, w-1, e)
			return
		}
	}
}

// windowsHive matches \Windows\System32\config\SAM, SYSTEM or SECURITY
// (with either slash, in any case, after a drive letter or not); w is at
// "windows".
func (s *scanner) windowsHive(w int, prev byte) {
	t := s.text
	if prev != '\\' && prev != '/' {
		return
	}
	p := w + len("windows")
	for _, part := range []string{"system32", "config"} {
		if p >= len(t) || (t[p] != '\\' && t[p] != '/') || !hasPrefixFold(t[p+1:], part) {
			return
		}
		p += 1 + len(part)
	}
	if p >= len(t) || (t[p] != '\\' && t[p] != '/') {
		return
	}
	p++
	for _, f := range []string{"sam", "system", "security"} {
		if e := p + len(f); hasPrefixFold(t[p:], f) && (e == len(t) || !pathByte(t[e])) {
			start := w - 1
			if start >= 2 && t[start-1] == ':' && isLetter(t[start-2]) {
				start -= 2
			}
			s.add(kSensitiveFile, start, e)
			return
		}
	}
}
