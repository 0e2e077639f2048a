package detect

import (
	"net/url"
	"path"
	"strings"
)

// Path normalisation for the sensitive-file detector (pathname.go) and
// the gateway's guard: a path word spelled plainly — quotes, escapes,
// ~ and $HOME, file:// URLs, percent-encoding, backslashes, repeated
// separators and dot segments undone — in every form it may name.

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

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}
