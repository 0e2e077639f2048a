package detect

import (
	"bytes"
	"net/url"
	"strings"
)

// Path normalisation for the sensitive-file detector (pathname.go) and
// the gateway's guard: a path word spelled plainly — quotes, escapes,
// ~, $HOME and the Windows home variables, file:// URLs,
// percent-encoding, backslashes, Windows roots (drive letters, UNC and
// device paths), repeated separators and dot segments undone — in every
// form it may name.
//
// Windows roots are read on every platform: the file an argument names
// may be on a Windows machine whatever the gateway runs on, and no POSIX
// path starts with C:/ or \\?\. A drive's root and a UNC path's share
// are roots: C:/../x is C:/x.

// NormalizePath returns the path a word names, spelled plainly: quotes
// removed, a file: URL's scheme and host removed, percent-encoding decoded
// (three times at most: %252e), a home directory at its start written ~
// ($HOME, ${HOME}, %USERPROFILE%, %HOMEPATH%, $env:USERPROFILE, …; see
// homeVars: %APPDATA% is ~/AppData/Roaming), backslashes made slashes,
// a Windows device path (\\?\C:\, \\.\C:\, \??\C:\, \\?\UNC\) or administrative
// share (\\localhost\C$\) written as the path it names, /C:/ (from
// file:///C:/) written C:/, and then cleaned as by path.Clean (repeated
// separators, . and .. segments, a trailing slash) with a drive's root
// kept as a root. Case is kept.
func NormalizePath(word string) string {
	return string(normalizePath(nil, word, false, false))
}

// CleanPath is path.Clean with a drive's root (C:/) and a UNC path's
// share (//server/share) kept as roots: the cleaning of NormalizePath for
// a path spelled with slashes already.
func CleanPath(p string) string {
	if p == "" {
		return "."
	}
	return string(cleanRooted([]byte(p), true))
}

// IsAbsPath reports whether the slash-separated path p is absolute on
// some platform: /x, C:/x or //server/share.
func IsAbsPath(p string) bool {
	return strings.HasPrefix(p, "/") || len(p) >= 3 && p[1] == ':' && isLetter(p[0]) && p[2] == '/'
}

// PathForms returns every path a word may name, each normalised as by
// NormalizePath: with its backslashes read as separators (Windows) and,
// when it has any, as the shell's escapes (/etc/sha\dow); read as Windows
// reads it when that differs (see windowsForm: trailing dots and spaces
// and alternate data streams dropped, a UNC share kept as a root); and
// with the alternatives of a brace expansion ({a,b}) taken one by one, up
// to three braces deep.
func PathForms(word string) []string {
	var out []string
	eachBraceForm(word, 0, func(w string) bool {
		p := NormalizePath(w)
		out = append(out, p)
		if windowsReading(w) {
			if wp := string(normalizePath(nil, w, false, true)); wp != p {
				out = append(out, wp)
			}
		}
		if strings.IndexByte(w, '\\') >= 0 {
			out = append(out, string(normalizePath(nil, w, true, false)))
		}
		return false
	})
	return out
}

// windowsReading reports whether Windows may read the word w as another
// path than NormalizePath does: a segment ends in a dot or a space
// (credentials., .ssh ), which Windows drops; a colon past a drive letter
// (an alternate data stream: file:stream, file::$DATA); a drive-relative
// path (C:name); or it starts with two separators (a UNC path, whose
// share is a root).
func windowsReading(w string) bool {
	if len(w) > 1 && isSep(w[0]) && isSep(w[1]) || len(w) > 2 && w[1] == ':' && !isSep(w[2]) {
		return true // \\server\share; C:name
	}
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c == ':' && i > 1:
			return true
		case (c == '.' || c == ' ') && (i+1 == len(w) || isSep(w[i+1])):
			j := i
			for j > 0 && (w[j-1] == '.' || w[j-1] == ' ') {
				j--
			}
			if j > 0 && !isSep(w[j-1]) || strings.IndexByte(w[j:i+1], ' ') >= 0 {
				return true // name. or name  or ..  — not . or ..
			}
		}
	}
	return false
}

func isSep(c byte) bool { return c == '/' || c == '\\' }

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
// backslash as the shell's escape rather than as a separator; win reads
// the word as Windows does (windowsForm). It allocates nothing when dst
// has room for the word and for a home variable's expansion (8 bytes).
func normalizePath(dst []byte, word string, escapes, win bool) []byte {
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
	b, moved := homePrefix(b)
	for i, c := range b {
		if c == '\\' {
			b[i] = '/'
		}
	}
	b = windowsRoot(b)
	if win {
		b = windowsForm(b)
	}
	b = cleanRooted(b, win)
	if moved {
		return append(dst[:n], b...)
	}
	return dst[:n+len(b)]
}

// windowsRoot writes a Windows device path (//?/, //./, /??/; with UNC/
// a UNC path), an administrative share (//localhost/c$/,
// //127.0.0.1/c$/) and /C:/ (file:///C:/) as the path they name, in
// place.
func windowsRoot(b []byte) []byte {
	if len(b) < 3 || b[0] != '/' {
		return b
	}
	if len(b) >= 4 && b[3] == '/' && (b[0] == '/' && b[1] == '/' && (b[2] == '?' || b[2] == '.') || b[0] == '/' && b[1] == '?' && b[2] == '?') {
		if rest := b[4:]; len(rest) >= 4 && hasPrefixFold(string(rest[:4]), "unc/") {
			b = b[:2+copy(b[2:], rest[4:])] // //server/share
		} else {
			b = b[:copy(b, rest)]
		}
	}
	for _, host := range []string{"//localhost/", "//127.0.0.1/", "//./"} {
		if k := len(host); len(b) >= k+2 && hasPrefixFold(string(b[:k]), host) && isLetter(b[k]) && b[k+1] == '$' && (len(b) == k+2 || b[k+2] == '/') {
			b[0], b[1] = b[k], ':'
			b = b[:2+copy(b[2:], b[k+2:])]
			break
		}
	}
	if len(b) >= 3 && b[0] == '/' && isLetter(b[1]) && b[2] == ':' && (len(b) == 3 || b[3] == '/') {
		b = b[:copy(b, b[1:])]
	}
	return b
}

// windowsForm drops, in place, what Windows ignores in each segment of b:
// an alternate data stream (name:stream, name::$DATA) and trailing dots
// and spaces (credentials., .ssh ); . and .. stay. A drive-relative path
// (C:name) loses its drive.
func windowsForm(b []byte) []byte {
	w, i := 0, 0
	if len(b) >= 2 && b[1] == ':' && isLetter(b[0]) {
		if len(b) > 2 && b[2] != '/' {
			b = b[:copy(b, b[2:])] // C:name: relative to the drive's directory
		} else {
			w, i = 2, 2
		}
	}
	for i <= len(b) {
		j := i
		for j < len(b) && b[j] != '/' {
			j++
		}
		seg := b[i:j]
		if k := bytes.IndexByte(seg, ':'); k >= 0 {
			seg = seg[:k]
		}
		t := len(seg)
		for t > 0 && (seg[t-1] == '.' || seg[t-1] == ' ') {
			t--
		}
		if t == 0 { // only dots and spaces: . and .. without their spaces
			for t = len(seg); t > 0 && seg[t-1] == ' '; t-- {
			}
		}
		w += copy(b[w:], seg[:t])
		if j < len(b) {
			b[w] = '/'
			w++
		}
		i = j + 1
	}
	return b[:w]
}

// cleanRooted is cleanPath with a drive's root (C:/) kept as a root, and
// when unc a UNC path's share (//server/share) too.
func cleanRooted(b []byte, unc bool) []byte {
	if len(b) >= 3 && b[1] == ':' && isLetter(b[0]) && b[2] == '/' {
		return b[:2+len(cleanPath(b[2:]))]
	}
	if unc && len(b) > 2 && b[0] == '/' && b[1] == '/' && b[2] != '/' {
		k, slashes := 2, 0
		for ; k < len(b); k++ {
			if b[k] == '/' {
				if slashes++; slashes == 2 {
					break
				}
			}
		}
		if k < len(b) {
			rest := cleanPath(b[k:])
			if len(rest) == 1 {
				return b[:k]
			}
			return b[:k+len(rest)]
		}
		return b
	}
	return cleanPath(b)
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

// homeVars are the variables that may start a path, in the shell's,
// cmd's and PowerShell's spelling (compared without regard to case), and
// the path each stands for, written from ~: the Windows defaults for
// %APPDATA% and the like.
var homeVars = []struct{ name, path string }{
	{"${HOME}", "~"}, {"$HOME", "~"}, {"%HOME%", "~"},
	{"%USERPROFILE%", "~"}, {"%HOMEPATH%", "~"}, {"%HOMEDRIVE%%HOMEPATH%", "~"},
	{"$env:USERPROFILE", "~"}, {"${env:USERPROFILE}", "~"}, {"$env:HOME", "~"}, {"$env:HOMEPATH", "~"},
	{"%APPDATA%", "~/AppData/Roaming"}, {"$env:APPDATA", "~/AppData/Roaming"}, {"${env:APPDATA}", "~/AppData/Roaming"},
	{"%LOCALAPPDATA%", "~/AppData/Local"}, {"$env:LOCALAPPDATA", "~/AppData/Local"}, {"${env:LOCALAPPDATA}", "~/AppData/Local"},
	{"%SystemRoot%", "C:/Windows"}, {"%windir%", "C:/Windows"}, {"$env:SystemRoot", "C:/Windows"}, {"$env:windir", "C:/Windows"},
	{"%ProgramData%", "C:/ProgramData"}, {"$env:ProgramData", "C:/ProgramData"},
}

// homePrefix writes a variable of homeVars at the start of b as the path
// it stands for: in place, or in a new slice (moved) when b has no room.
func homePrefix(b []byte) (_ []byte, moved bool) {
	if len(b) < 2 || b[0] != '$' && b[0] != '%' {
		return b, false
	}
	for _, v := range homeVars {
		p := v.name
		if len(b) < len(p) || !strings.EqualFold(string(b[:len(p)]), p) || len(b) > len(p) && b[len(p)] != '/' && b[len(p)] != '\\' {
			continue
		}
		n := len(v.path) + len(b) - len(p)
		if n > cap(b) {
			return append([]byte(v.path), b[len(p):]...), true
		}
		rest := b[len(p):]
		b = b[:max(n, len(b))]
		copy(b[len(v.path):], rest)
		copy(b, v.path)
		return b[:n], false
	}
	return b, false
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
	if w == "" {
		return "."
	}
	return string(cleanRooted([]byte(w), false))
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
