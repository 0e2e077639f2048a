package detect

import (
	"slices"
	"strings"
)

// The shell lexer of the shell_injection detector (shell.go): it follows
// a text's shell structure — quotes, separators, substitutions, command
// prefixes — to tell whether an offset is at a command position.

// shellLexer follows the shell structure of the text, lazily and forward
// only, to tell whether an offset is at a command position.
type shellLexer struct {
	pos      int  // the text before pos has been lexed
	quote    byte // the open plain quote: 0, '\'' or '"'
	cmdQuote byte // the open quote of a -c or eval argument, which holds a command line
	inTick   bool // inside `…` on a shell line
	line     int  // start of the current line
	lineShl  int8 // whether the line reads as shell: 0 unknown, 1 yes, -1 no

	cmdOK    bool // cmdStart is at a command position
	cmdStart int  // just after the last separator
	sep      byte // the last separator: '\n' (or start), ';', '&', 'o' (||), '|', '(', '{', '`', 'q' (-c quote)
	sepAt    int  // where it starts

	// The first field after cmdStart that is not a command prefix, once
	// found (badFor is the cmdStart it belongs to).
	badFor, badAt int
}

// commandAt reports whether c is at a command position, with the
// separator that put it there and where that starts.
func (l *shellLexer) commandAt(t string, c int) (sep byte, sepAt int, ok bool) {
	l.advance(t, c)
	if l.quote != 0 || !l.cmdOK {
		return 0, 0, false
	}
	if l.badFor == l.cmdStart && l.badAt < c {
		return 0, 0, false
	}
	if c-l.cmdStart > 256 {
		return 0, 0, false
	}
	if n := prefixesEnd(t[l.cmdStart:c]); n >= 0 {
		l.badFor, l.badAt = l.cmdStart, l.cmdStart+n
		return 0, 0, false
	}
	return l.sep, l.sepAt, true
}

// shellContext reports whether the current command is in shell for sure:
// inside a -c argument or a substitution, or on a line that reads as
// shell. A chain (;, &&, ||, |) elsewhere is as likely code or prose:
// "a || sh" in a build constraint.
func (l *shellLexer) shellContext(t string) bool {
	return l.cmdQuote != 0 || l.inTick || l.lineIsShell(t)
}

// lineIsShell is shellLine for the current line, remembered.
func (l *shellLexer) lineIsShell(t string) bool {
	if l.lineShl == 0 {
		l.lineShl = -1
		if shellLine(t, l.line) {
			l.lineShl = 1
		}
	}
	return l.lineShl > 0
}

func (l *shellLexer) reset(from int) {
	*l = shellLexer{pos: from, line: from, cmdOK: true, cmdStart: from, sep: '\n', sepAt: max(from-1, 0), badFor: -1}
}

func (l *shellLexer) separate(kind byte, at, next int) {
	l.cmdOK, l.sep, l.sepAt, l.cmdStart = true, kind, at, next
}

// advance lexes the text up to c. The state starts afresh on every line,
// so it skips to the last line break before c, and lexes at most the 4096
// bytes before c: the work stays linear in the text.
func (l *shellLexer) advance(t string, c int) {
	for p := l.pos; p < c; {
		k := strings.IndexByte(t[p:c], '\n')
		if k < 0 {
			break
		}
		p += k + 1
		l.reset(p)
	}
	if c-l.pos > 4096 {
		l.reset(c - 4096)
	}
	i := l.pos
	for ; i < c; i++ {
		b := t[i]
		switch {
		case b == '\n':
			l.reset(i + 1)
			continue
		case l.quote == '\'':
			if b == '\'' {
				l.quote = 0
			}
		case l.quote == '"':
			if b == '\\' {
				i++
			} else if b == '"' {
				l.quote = 0
			}
		case b == '\\':
			i++
		case l.cmdQuote != 0 && b == l.cmdQuote:
			l.cmdQuote = 0
			l.cmdOK = false
		case b == '"' || b == '\'':
			if l.cmdQuote == 0 && commandArgument(t, i) {
				l.cmdQuote = b
				l.separate('q', i, i+1)
			} else {
				l.quote = b
			}
		case b == ';':
			l.separate(';', i, i+1)
		case b == '&':
			switch {
			case i+1 < len(t) && t[i+1] == '&':
				l.separate('&', i, i+2)
				i++
			case i > 0 && (t[i-1] == '>' || t[i-1] == '<'), i+1 < len(t) && t[i+1] == '>':
				// a redirect: >&, <&, &>
			default:
				l.separate('&', i, i+1)
			}
		case b == '|':
			if i+1 < len(t) && t[i+1] == '|' {
				l.separate('o', i, i+2)
				i++
			} else {
				l.separate('|', i, i+1)
			}
		case b == '(' || b == '{':
			l.separate(b, i, i+1)
		case b == ')':
			l.cmdOK = false
		case b == '`':
			if l.inTick {
				l.inTick = false
				l.cmdOK = false
			} else if l.lineIsShell(t) {
				l.inTick = true
				l.separate('`', i, i+1)
			}
		}
	}
	l.pos = max(l.pos, i)
}

// commandArgument reports whether the quote at i opens the argument of -c
// (sh -c, bash -lc, su -c) or eval.
func commandArgument(t string, i int) bool {
	j := i
	for j > 0 && isBlank(t[j-1]) {
		j--
	}
	if j == i {
		return false
	}
	k := j
	for k > 0 && j-k < 16 && !isSpace(t[k-1]) {
		k--
	}
	f := t[k:j]
	return f == "eval" || (len(f) >= 2 && f[0] == '-' && f[1] != '-' && f[len(f)-1] == 'c')
}

// mayBeCommand is a quick look back from c for a command position: only
// command prefixes, their options and assignments may stand between c and
// the start, a line break, a separator or a quote. It spares the lexer
// every command word used in prose ("add a dd element").
func mayBeCommand(t string, c int) bool {
	j := c
	for range 8 {
		for j > 0 && isBlank(t[j-1]) {
			j--
		}
		if j == 0 || strings.IndexByte("\n\r;&|({`\"'", t[j-1]) >= 0 {
			return true
		}
		k := j
		for k > 0 && j-k < 128 && !isSpace(t[k-1]) {
			k--
		}
		if f := t[k:j]; f == "" || !slices.Contains(commandPrefixes, f) && f[0] != '-' && !assignment(f) {
			return false // "" after a form feed
		}
		j = k
	}
	return false
}

// commandPrefixes may stand before a command at a command position.
var commandPrefixes = []string{"sudo", "doas", "env", "exec", "nohup", "nice", "time", "command", "builtin",
	"then", "do", "else", "elif", "if", "while", "until", "!", "$", "xargs", "{"}

// prefixesEnd returns the offset in seg of the first field that is not a
// command prefix, an option after one or a NAME=value assignment, or -1
// when there is none.
func prefixesEnd(seg string) int {
	afterPrefix := false
	for i := 0; i < len(seg); {
		if isBlank(seg[i]) {
			i++
			continue
		}
		j := i
		for j < len(seg) && !isBlank(seg[j]) {
			j++
		}
		f := seg[i:j]
		switch {
		case slices.Contains(commandPrefixes, f):
			afterPrefix = true
		case afterPrefix && f[0] == '-':
		case assignment(f):
		default:
			return i
		}
		i = j
	}
	return -1
}

func assignment(f string) bool {
	eq := strings.IndexByte(f, '=')
	return eq > 0 && !isDigit(f[0]) && run(f, 0, clsAlnum|clsUnder, 64) == eq
}
