package detect

import (
	"strings"
	"unicode/utf8"
)

// Folded views: a text is scanned again, by some detectors, as an
// interpreter would read it, when it holds what makes the two differ.
//
// A shell reads 'rm', r''m, "r"m, \rm and r\m as rm, ${IFS} and $IFS$9 as
// a blank, {rm,-rf,/} as rm -rf /, and, on a case-insensitive file system
// (macOS, Windows), RM as rm: shell_injection also scans the text with
// those undone. A model reads "ignоre" with a Cyrillic о, or with a
// variation selector between two letters, as "ignore": prompt_injection,
// shell_injection and sql_destructive also scan the text with Latin
// look-alikes folded to the letters they imitate. A finding of a folded
// view spans the bytes of the text it was read from.

// scanFolded scans the folded views of the text that differ from it.
func (s *scanner) scanFolded() {
	t := s.text
	if s.want&setShell != 0 && (s.shellFold || needShellFold(t)) {
		if v, off, ok := shellFolded(t); ok {
			s.rescan(v, off, setShell)
		}
	}
	if want := s.want & (setPrompt | setShell | setSQL); want != 0 && s.nonASCII {
		if v, off, ok := confusablesFolded(t); ok {
			s.rescan(v, off, want)
		}
	}
}

// rescan adds what the detectors of want find in the view v of the text,
// whose byte i came from byte off[i] of the text.
func (s *scanner) rescan(v string, off []int32, want threatSet) {
	t := s.text
	for _, f := range scan(nil, v, want, startBytesIn(v), false) {
		// A span takes in what the view left out around it: the quotes of
		// 'rm', a variation selector.
		start, end := 0, len(t)
		if f.Start > 0 {
			start = int(off[f.Start])
			p := int(off[f.Start-1])
			_, n := utf8.DecodeRuneInString(t[p:])
			start = min(start, p+n)
		}
		if f.End < len(v) {
			end = int(off[f.End])
		}
		f.Start, f.End = start, end
		s.out = append(s.out, f)
	}
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if le64(s[i:i+8])&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldNames are the command names a shell fold may bring out.
var foldNames = append(append([]string{"sudo", "find", "xargs"}, dangerousCommands...), interpreters...)

// needShellFold reports whether the shell view of t may differ from it
// where it matters: $IFS, or a command's name split or wrapped by quotes
// or backslashes ("r"m, r\m, r and m with empty quotes between) at the
// start of the text or after a line break, ;, |, &, ( or a backtick (a
// command substitution or a subshell). (A name right after
// a quote, a backslash or a brace, and a name in capitals, are seen by the
// word pass, which sets shellFold.)
func needShellFold(t string) bool {
	if strings.Contains(t, "IFS") || quotedName(t, 0) {
		return true
	}
	for _, c := range []byte{'\n', ';', '|', '&', '(', '`'} {
		for i := indexByte(t, 0, c); i >= 0; i = indexByte(t, i+1, c) {
			if quotedName(t, i+1) {
				return true
			}
		}
	}
	return false
}

// quotedName reports whether the command at p (after blanks, and after
// sudo, env, exec, nohup or a NAME=value) has a name that holds quotes or
// backslashes and reads, without them, as a command's name.
func quotedName(t string, p int) bool {
	for range 4 {
		p = skipBlanks(t, p)
		e, quoted, assign := p, false, false
		for ; e < len(t) && e-p < 24; e++ {
			switch c := t[e]; {
			case isAlnum(c):
			case c == '\'' || c == '"' || c == '\\':
				quoted = true
			case c == '=':
				assign = true
			default:
				goto end
			}
		}
	end:
		switch {
		case quoted:
			return joinsCommand(t, e-1) || joinsCommand(t, p)
		case e == p || e >= len(t) || !isBlank(t[e]):
			return false // a prefix is followed by a blank
		case !assign && !oneOfFold(t[p:e], "sudo", "env", "exec", "nohup", "nice", "time", "command"):
			return false
		}
		p = e
	}
	return false
}

// foldPrefix holds the prefixKey of the first two letters of every name
// of foldNames.
var foldPrefix = func() (p [26*26 + 1]bool) {
	for _, n := range foldNames {
		p[prefixKey(n[0], n[1])] = true
	}
	return p
}()

// joinsCommand reports whether the quote, backslash or brace at i is in a
// word that reads, without its quotes and backslashes, as a command name.
func joinsCommand(t string, i int) bool {
	quoting := func(c byte) bool { return c == '\'' || c == '"' || c == '\\' || c == '{' || c == ',' }
	a := i
	for a > 0 && i-a < 12 && (isAlnum(t[a-1]) || quoting(t[a-1])) {
		a--
	}
	var buf [8]byte
	n := 0
	for j := a; j < len(t) && j-i < 12 && (isAlnum(t[j]) || quoting(t[j])); j++ {
		if t[j] == ',' {
			break // {rm,-rf,/}
		}
		if isAlnum(t[j]) {
			if n == len(buf) {
				return false
			}
			buf[n] = lower(t[j])
			n++
		}
	}
	if n < 2 || !isLetter(buf[0]) || !isLetter(buf[1]) || !foldPrefix[prefixKey(buf[0], buf[1])] {
		return false
	}
	for _, name := range foldNames {
		if string(buf[:n]) == name {
			return true
		}
	}
	return false
}

// shellFolded returns the shell view of t and where each of its bytes
// came from, and whether it differs from t.
func shellFolded(t string) (string, []int32, bool) {
	var b strings.Builder
	b.Grow(len(t))
	off := make([]int32, 0, len(t))
	emit := func(c byte, from int) {
		b.WriteByte(c)
		off = append(off, int32(from))
	}
	changed := false
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case c == '\\' && i+1 < len(t) && (isAlnum(t[i+1]) || t[i+1] == '-' || t[i+1] == '/'):
			i++ // \rm, r\m
			changed = true
			continue
		case c == '\'' || c == '"':
			k := i + 1
			for k < len(t) && k-i <= 64 && t[k] != c && !isSpace(t[k]) && t[k] != '\'' && t[k] != '"' {
				k++
			}
			if k < len(t) && t[k] == c && k-i <= 64 {
				for j := i + 1; j < k; j++ {
					emit(t[j], j)
				}
				i = k + 1
				changed = true
				continue
			}
		case c == '$' && strings.HasPrefix(t[i:], "${IFS}"), c == '$' && strings.HasPrefix(t[i:], "$IFS") && wordEnds(t, i+4):
			emit(' ', i)
			if t[i+1] == '{' {
				i += len("${IFS}")
			} else {
				i += len("$IFS")
			}
			// $IFS$9: an empty positional parameter glues what follows.
			if i+1 < len(t) && t[i] == '$' && (isDigit(t[i+1]) || t[i+1] == '@' || t[i+1] == '*') {
				i += 2
			}
			changed = true
			continue
		case c == '{':
			k := i + 1
			for k < len(t) && k-i <= 128 && t[k] != '}' && !isSpace(t[k]) && t[k] != '{' {
				k++
			}
			if k < len(t) && t[k] == '}' && strings.IndexByte(t[i:k], ',') > 0 && isLetter(t[i+1]) {
				for j := i + 1; j < k; j++ {
					if t[j] == ',' {
						emit(' ', j)
					} else {
						emit(t[j], j)
					}
				}
				i = k + 1
				changed = true
				continue
			}
		case isLetter(c) && (i == 0 || !isIdent(t[i-1])):
			e := run(t, i, clsAlpha|clsDigit, 16)
			if e-i < 16 && wordEnds(t, e) {
				w := t[i:e]
				for _, name := range foldNames {
					if w != name && equalFold(w, name) {
						for j := i; j < e; j++ {
							emit(lower(t[j]), j)
						}
						changed = true
						i = e
						break
					}
				}
				if i == e {
					continue
				}
			}
			for ; i < e; i++ {
				emit(t[i], i)
			}
			continue
		}
		emit(c, i)
		i++
	}
	return b.String(), off, changed
}

// confusables maps the Cyrillic, Greek, Armenian and Latin letters that
// look like ASCII letters to them: the entries of Unicode's confusables.txt
// (UTS #39, the skeleton data) whose target is one ASCII letter, for the
// scripts that are used to disguise English. NFKC has already folded the
// fullwidth, mathematical and other compatibility forms.
var confusables = map[rune]byte{
	// Cyrillic
	'а': 'a', 'в': 'b', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'һ': 'h', 'і': 'i', 'ј': 'j', 'к': 'k', 'ӏ': 'l', 'м': 'm',
	'о': 'o', 'р': 'p', 'ԛ': 'q', 'ѕ': 's', 'т': 't', 'υ': 'u', 'ѵ': 'v', 'ԝ': 'w', 'х': 'x', 'у': 'y',
	'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Н': 'H', 'І': 'I', 'Ј': 'J', 'К': 'K', 'М': 'M', 'О': 'O', 'Р': 'P',
	'Ԛ': 'Q', 'Ѕ': 'S', 'Т': 'T', 'Ѵ': 'V', 'Ԝ': 'W', 'Х': 'X', 'У': 'Y', 'Ү': 'Y', 'Ӏ': 'I',
	// Greek
	'α': 'a', 'β': 'b', 'ϲ': 'c', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't',
	'χ': 'x', 'γ': 'y', 'ϳ': 'j',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O', 'Ρ': 'P',
	'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'Ϲ': 'C',
	// Armenian
	'օ': 'o', 'ս': 'u', 'հ': 'h', 'ո': 'n', 'ց': 'g', 'զ': 'q',
	// Latin
	'ı': 'i', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ʋ': 'u', 'ȷ': 'j', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ꮃ': 'w',
}

// foldAway reports whether the model reads r as nothing between letters:
// a variation selector (U+FE00–U+FE0F, U+E0100–U+E01EF), or an invisible
// character that normalisation removes when it runs (U+00AD, U+180E,
// U+200B–U+200D, U+2060, U+FEFF).
func foldAway(r rune) bool {
	return 0xFE00 <= r && r <= 0xFE0F || 0xE0100 <= r && r <= 0xE01EF || r == 0xAD || r == 0x180E ||
		0x200B <= r && r <= 0x200D || r == 0x2060 || r == 0xFEFF
}

// confusablesFolded returns the view of t with look-alike letters folded
// to ASCII and variation selectors removed, where each of its bytes came
// from, and whether it differs from t.
func confusablesFolded(t string) (string, []int32, bool) {
	i := 0
	for i < len(t) {
		if t[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if _, ok := confusables[r]; ok || foldAway(r) {
			break
		}
		i += n
	}
	if i == len(t) {
		return "", nil, false
	}
	var b strings.Builder
	b.Grow(len(t))
	off := make([]int32, 0, len(t))
	for j := 0; j < i; j++ {
		off = append(off, int32(j))
	}
	b.WriteString(t[:i])
	for i < len(t) {
		if t[i] < utf8.RuneSelf {
			b.WriteByte(t[i])
			off = append(off, int32(i))
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if c, ok := confusables[r]; ok {
			b.WriteByte(c)
			off = append(off, int32(i))
		} else if !foldAway(r) {
			b.WriteString(t[i : i+n])
			for k := range n {
				off = append(off, int32(i+k))
			}
		}
		i += n
	}
	return b.String(), off, true
}
