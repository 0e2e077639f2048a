package detect

import (
	"slices"
	"strings"
)

// The shell_injection detector: destructive commands, disk wipes, fork
// bombs, reverse shells, pipes into a shell, chains, command substitution
// and sudo, at a command position.
//
// Rules that decide the hard cases:
// A command counts only at a command position: the start of the text or of
// a line, or after ;, &, &&, ||, |, (, {, $(, an opening backtick, or the
// opening quote of a -c or eval argument, possibly after sudo, env, exec,
// nohup, nice, time, then, do and NAME=value assignments. Separators inside
// a quoted string do not count, so a command quoted in prose ("rm -rf /")
// is not at a command position. Command names are matched case-sensitively,
// and a name followed by = or != is a variable. A chain (chained_command,
// pipe_to_shell, and sudo after a separator) also needs a shell context: a
// line that reads as shell (its first word is a shell command, an
// assignment or a program's path; not if, for or while, which start lines
// of code too), or the inside of a -c argument or a backtick substitution;
// "a || sh" in a build constraint is not one. A backtick pair is a command
// substitution only on a line that reads as shell and when it starts with a
// common command (`id`, `cat …`); elsewhere it is Markdown inline code or a
// raw string. $( counts when a command's name follows: a path, a lower-case
// name with arguments, or a common command alone ($(whoami)); not $(this),
// $(opts.el), $(CC) or $((1 + 2)).

// shellTriggers are the words that start the shell_injection matchers.
var shellTriggers = slices.Concat(
	exact(setShell, actCommand, "rm", "curl", "wget", "sh", "bash", "zsh", "dash", "ksh", "mkfs", "dd",
		"nc", "ncat", "netcat", "socat", "telnet", "chmod", "chown", "sudo", "shutdown", "reboot",
		"poweroff", "halt", "killall", "eval", "python", "python2", "python3", "perl", "ruby", "node", "nodejs",
		"php", "find", "xargs"),
	exact(setShell, actDev, "dev"),
)

// interpreters run code given on their command line (-c, -e, -r) or read
// from a pipe.
var interpreters = []string{"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php"}

// inlineFlag is the flag with which an interpreter (or a shell) runs the
// code that follows it.
func inlineFlag(name string) byte {
	switch name {
	case "python", "python2", "python3", "sh", "bash", "zsh", "dash", "ksh":
		return 'c'
	case "php":
		return 'r'
	}
	return 'e'
}

// dangerous commands: at a command position after ;, &&, || or | they are
// a chained_command.
var dangerousCommands = []string{"rm", "curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "bash", "sh",
	"zsh", "dash", "ksh", "chmod", "chown", "mkfs", "dd", "shutdown", "reboot", "poweroff", "halt", "killall", "eval"}

// command matches the shell commands that are findings at a command
// position.
func (s *scanner) command(w int, name string) {
	t := s.text
	e := w + len(name)
	start, ok := commandStart(t, w, e, name)
	if !ok {
		return
	}
	sep, sepAt, ok := s.sh.commandAt(t, start)
	if !ok {
		return
	}
	if name == "mkfs" {
		e = run(t, e, clsAlnum, 16) // mkfs.ext4
		for e < len(t) && t[e] == '.' {
			e = run(t, e+1, clsAlnum, 16)
		}
	}
	args := argsEnd(t, e, s.sh.cmdQuote)
	a := t[e:args]
	if f := strings.TrimLeft(a, " \t"); f != "" && (f[0] == '=' || strings.HasPrefix(f, "!=") || strings.HasPrefix(f, ":=") || strings.HasPrefix(f, "+=")) {
		return // a variable in code: nc != '/', sh := …
	}
	switch name {
	case "rm":
		if destructiveRM(a) {
			s.add(kDestructiveRM, w, args)
			return
		}
	case "mkfs":
		s.add(kDiskWipe, w, args)
		return
	case "nc", "ncat", "netcat":
		if hasFlag(a, 'e') || hasFlag(a, 'c') {
			s.add(kReverseShell, w, args)
			return
		}
	case "sh", "bash", "zsh", "dash", "ksh":
		if sep == '|' && s.sh.shellContext(t) {
			s.add(kPipeToShell, sepAt, e)
			return
		}
		if hasFlag(a, 'i') && (strings.Contains(a, ">&") || strings.Contains(a, "&>")) {
			s.add(kReverseShell, w, args)
			return
		}
		if hasFlag(a, 'c') {
			s.add(kInlineCode, w, args)
			return
		}
	case "python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php":
		if sep == '|' && s.sh.shellContext(t) && !hasFlag(a, 'm') && !strings.Contains(a, ".py") {
			s.add(kPipeToShell, sepAt, e)
			return
		}
		if hasFlag(a, inlineFlag(name)) {
			s.add(kInlineCode, w, args)
			return
		}
	case "eval":
		// Code to run: a quoted string, a variable or a substitution, not
		// prose ("eval the model on the test set").
		if f := strings.TrimLeft(a, " \t"); f != "" && strings.IndexByte("\"'$`", f[0]) >= 0 && (start == w && sep == '\n' || s.sh.shellContext(t)) {
			s.add(kInlineCode, w, args)
			return
		}
	case "find":
		if findDeletes(a) {
			s.add(kDestructiveRM, w, args)
			return
		}
	case "xargs":
		if f := firstNonOption(a); f == "rm" || f == "shred" {
			if sep == '|' && s.sh.shellContext(t) {
				s.add(kChainedCommand, sepAt, e)
				return
			}
		}
	case "chmod":
		if worldWritable(a) {
			s.add(kWorldWritable, w, args)
			return
		}
	case "sudo":
		if start == w && (sep == '\n' || s.sh.shellContext(t)) {
			s.add(kSudo, w, e)
		}
		return
	}
	if (sep == ';' || sep == '&' || sep == 'o' || sep == '|') && s.sh.shellContext(t) {
		for _, d := range dangerousCommands {
			if name == d {
				s.add(kChainedCommand, sepAt, e)
				return
			}
		}
	}
}

// commandStart reports whether the command name at w (ending at e) stands
// as a command's name, and where the command starts: at w, or at the
// start of its path (/bin/rm).
func commandStart(t string, w, e int, name string) (int, bool) {
	if e < len(t) {
		c := t[e]
		if !(isSpace(c) || strings.IndexByte(";|&)`'\"", c) >= 0 || (name == "mkfs" && c == '.')) {
			return 0, false
		}
	}
	start := w
	if w > 0 {
		switch c := t[w-1]; {
		case c == '/':
			// /bin/rm: the command position is that of the path.
			for start > 0 && w-start < 64 && (isIdent(t[start-1]) || strings.IndexByte("/.-", t[start-1]) >= 0) {
				start--
			}
			if t[start] != '/' {
				return 0, false
			}
		case isIdent(c) || c == '.' || c == '-' || c == '$' || c == '=':
			return 0, false
		}
	}
	return start, mayBeCommand(t, start)
}

// argsEnd returns the end of the arguments of a command whose name ends at
// e: the next ;, &, |, newline, backtick or ) outside quotes, or the
// closing quote of the -c argument the command is in, without trailing
// blanks.
func argsEnd(t string, e int, cmdQuote byte) int {
	i := e
	var q byte
loop:
	for ; i < len(t) && i-e < 1024; i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			} else if c == '\n' {
				break loop
			}
		case cmdQuote != 0 && c == cmdQuote:
			break loop
		case c == '"' || c == '\'':
			q = c
		case c == '&' && i > e && (t[i-1] == '>' || t[i-1] == '<'):
			// >& and <& redirect
		case c == '&' && i+1 < len(t) && t[i+1] == '>':
			// &> redirect
		case strings.IndexByte(";&|\n`)", c) >= 0:
			break loop
		}
	}
	for i > e && isSpace(t[i-1]) {
		i--
	}
	return i
}

// fields calls f with each blank-separated field of a, quotes removed.
func eachField(a string, f func(string) bool) {
	for len(a) > 0 {
		a = strings.TrimLeft(a, " \t")
		if a == "" {
			return
		}
		i := strings.IndexAny(a, " \t")
		if i < 0 {
			i = len(a)
		}
		field := strings.Trim(a[:i], `"'`)
		a = a[i:]
		if field != "" && !f(field) {
			return
		}
	}
}

func hasFlag(a string, flag byte) bool {
	found := false
	eachField(a, func(f string) bool {
		if len(f) > 1 && f[0] == '-' && f[1] != '-' && strings.IndexByte(f[1:], flag) >= 0 {
			found = true
		}
		return !found
	})
	return found
}

// destructiveRM reports whether rm's arguments a are recursive and name a
// root-like target, or pass --no-preserve-root.
func destructiveRM(a string) bool {
	recursive, noPreserve, target := false, false, false
	eachField(a, func(f string) bool {
		switch {
		case f == "--recursive":
			recursive = true
		case f == "--no-preserve-root":
			noPreserve = true
		case strings.HasPrefix(f, "--"):
		case len(f) > 1 && f[0] == '-':
			if strings.ContainsAny(f[1:], "rR") {
				recursive = true
			}
		case rootLike(f):
			target = true
		}
		return true
	})
	return recursive && (target || noPreserve)
}

// findDeletes reports whether find's arguments a delete what they find
// (-delete, or -exec/-execdir/-ok rm, shred, unlink) under a root-like
// starting point (/, ~, ., $HOME, a top-level system directory).
func findDeletes(a string) bool {
	root, starts, del := false, true, false
	prev := ""
	eachField(a, func(f string) bool {
		switch {
		case f == "-delete":
			del = true
		case oneOfFold(prev, "-exec", "-execdir", "-ok", "-okdir") && (f == "rm" || f == "shred" || f == "unlink" || strings.HasSuffix(f, "/rm")):
			del = true
		case f[0] == '-' || f[0] == '(' || f[0] == '!':
			starts = false
		case starts && rootLike(f):
			root = true
		}
		prev = f
		return true
	})
	return root && del
}

// firstNonOption returns the first field of a that is not an option.
func firstNonOption(a string) string {
	first := ""
	eachField(a, func(f string) bool {
		if f[0] == '-' {
			return true
		}
		first = f
		return false
	})
	return first
}

// rootLike reports whether a path names /, ~, *, $HOME or a top-level
// system directory (or everything in one).
func rootLike(p string) bool {
	p = strings.TrimSuffix(strings.TrimSuffix(p, "*"), "/")
	switch p {
	case "", "~", ".", "..", "$HOME", "${HOME}", ".*":
		return true
	}
	if p[0] != '/' || strings.Count(p, "/") != 1 {
		return false
	}
	switch p[1:] {
	case "bin", "boot", "dev", "etc", "home", "lib", "lib64", "opt", "proc", "root", "sbin", "srv", "sys", "usr", "var":
		return true
	}
	return false
}

// worldWritable reports whether chmod's arguments a give everyone every
// permission on a root-like target.
func worldWritable(a string) bool {
	mode, target := false, false
	eachField(a, func(f string) bool {
		switch {
		case f == "777" || f == "0777" || f == "a+rwx" || f == "ugo+rwx" || f == "a=rwx" || f == "o+rwx":
			mode = true
		case f[0] == '-':
		case rootLike(f):
			target = true
		}
		return true
	})
	return mode && target
}

// dev matches /dev/tcp/ and /dev/udp/ (reverse shells) and a redirect or
// dd of= into a disk device.
func (s *scanner) dev(w int) {
	t := s.text
	if w == 0 || t[w-1] != '/' || w+4 > len(t) || t[w+3] != '/' {
		return
	}
	slash := w - 1
	rest := t[w+4:]
	if strings.HasPrefix(rest, "tcp/") || strings.HasPrefix(rest, "udp/") {
		e := w + 8
		e = run(t, e, clsAlnum|clsDash|clsPlusSlash, 256)
		for e < len(t) && (t[e] == '.' || t[e] == ':' || isAlnum(t[e]) || t[e] == '/') && e-w < 256 {
			e++
		}
		s.add(kReverseShell, slash, e)
		return
	}
	n := diskDevice(rest)
	if n == 0 {
		return
	}
	e := w + 4 + n
	j := slash
	for j > 0 && isBlank(t[j-1]) {
		j--
	}
	switch {
	case j > 0 && t[j-1] == '>':
		s.add(kDiskWipe, j-1, e)
	case slash >= 3 && t[slash-3:slash] == "of=":
		s.add(kDiskWipe, slash-3, e)
	}
}

// diskDevice returns the length of the disk device name at the start of d
// (sda, nvme0n1, mmcblk0, …), or 0.
func diskDevice(d string) int {
	for _, p := range []string{"sd", "hd", "vd", "xvd"} {
		if strings.HasPrefix(d, p) && len(d) > len(p) && d[len(p)]-'a' < 26 {
			return run(d, 0, clsAlnum, 32)
		}
	}
	for _, p := range []string{"nvme", "mmcblk", "disk"} {
		if strings.HasPrefix(d, p) && len(d) > len(p) && isDigit(d[len(p)]) {
			return run(d, 0, clsAlnum, 32)
		}
	}
	return 0
}

// dollarParen matches a command substitution $(command).
func (s *scanner) dollarParen(i int) {
	t := s.text
	if i+2 >= len(t) || t[i+1] != '(' {
		return
	}
	end := commandName(t, skipBlanks(t, i+2))
	if end < 0 {
		return // $((arithmetic)), $(), jQuery's $(this) and $("#id"), …
	}
	// The span runs to the matching parenthesis, when it closes within 256
	// bytes on the same line, else over the command's name.
	for depth, e := 1, i+2; e < len(t) && e-i < 256 && t[e] != '\n'; e++ {
		if t[e] == '(' {
			depth++
		} else if t[e] == ')' {
			if depth--; depth == 0 {
				end = e + 1
				break
			}
		}
	}
	if i >= s.dollarNext {
		s.add(kCommandSubstitution, i, end)
		s.dollarNext = end // a substitution nested in this one is part of it
	}
}

// commandName returns the end of the name of a command at b, or -1 when
// what is at b does not look like one: a path, or lower-case letters,
// digits, - and _ followed by arguments, or a common command alone.
func commandName(t string, b int) int {
	e := b
	for e < len(t) && e-b < 64 && (class[t[e]]&(clsLower|clsDigit|clsUnder|clsDash) != 0 || t[e] == '/' || t[e] == '.' || t[e] == '~') {
		e++
	}
	if e == b || (e < len(t) && !isBlank(t[e]) && t[e] != ')') {
		return -1
	}
	name := t[b:e]
	switch {
	case name[0] == '/' || name[0] == '.' || name[0] == '~':
		return e // a path
	case !isLetter(name[0]) || strings.ContainsAny(name, "./"):
		return -1 // opts.codeEl, imm/2
	case e < len(t) && t[e] != ')' || slices.Contains(substitutionCommands, name):
		// A lone word, $(name), is as likely jQuery's $(output): it must
		// be a common command.
		return e
	}
	return -1
}

// backtick matches a command substitution `command` on a line that reads
// as shell, and returns the offset to go on from.
func (s *scanner) backtick(i int) int {
	t := s.text
	if i+1 < len(t) && t[i+1] == '`' {
		// `` or ```: Markdown code, skip the run.
		j := i
		for j < len(t) && t[j] == '`' {
			j++
		}
		return j - 1
	}
	j := indexByte(t, i+1, '`')
	if j < 0 {
		return len(t)
	}
	if nl := strings.IndexByte(t[i:j], '\n'); nl >= 0 {
		return i + nl // not on one line: start again on the next
	}
	if !slices.Contains(substitutionCommands, firstField(t[i+1:j])) {
		return j
	}
	if s.tickLineIsShell(i) {
		s.add(kCommandSubstitution, i, j+1)
	}
	return j
}

// firstField returns the text of a up to the first blank or ).
func firstField(a string) string {
	a = strings.TrimLeft(a, " \t")
	if i := strings.IndexAny(a, " \t)"); i >= 0 {
		return a[:i]
	}
	return a
}

// tickLineIsShell is shellLine for the line holding the backtick at i;
// backticks come in order, so it remembers the line it last looked at.
func (s *scanner) tickLineIsShell(i int) bool {
	t := s.text
	if i < s.tickSeen {
		return shellLine(t, lineStart(t, i))
	}
	if k := strings.LastIndexByte(t[s.tickSeen:i], '\n'); k >= 0 || s.tickSeen == 0 {
		s.tickLine = s.tickSeen + k + 1
		s.tickShell = 0
	}
	s.tickSeen = i
	if s.tickShell == 0 {
		s.tickShell = -1
		if shellLine(t, s.tickLine) {
			s.tickShell = 1
		}
	}
	return s.tickShell > 0
}

// lineStart returns the start of the line holding i, looking back at most
// 4096 bytes.
func lineStart(t string, i int) int {
	lo := max(0, i-4096)
	if k := strings.LastIndexByte(t[lo:i], '\n'); k >= 0 {
		return lo + k + 1
	}
	return lo
}

// shellWords begin a line that reads as shell. Control keywords (if, for,
// while) are left out: lines of code begin with them too.
var shellWords = []string{"echo", "printf", "cat", "ls", "cd", "export", "eval", "exec", "do", "then", "set",
	"unset", "local", "readonly", "declare", "test", "source", "alias", "exit", "sudo", "doas", "su", "env", "nohup", "nice", "time", "watch", "xargs",
	"sh", "bash", "zsh", "dash", "ksh", "fish", "rm", "cp", "mv", "ln", "mkdir", "rmdir", "touch", "chmod",
	"chown", "chgrp", "dd", "mkfs", "mount", "umount", "tar", "zip", "unzip", "gzip", "gunzip", "rsync",
	"curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "ftp", "ping", "dig",
	"nslookup", "host", "whoami", "id", "uname", "hostname", "ps", "kill", "killall", "pkill", "grep", "sed",
	"awk", "find", "head", "tail", "tee", "wc", "base64", "openssl", "gpg", "jq", "xxd", "od", "uudecode", "crontab", "systemctl",
	"service", "shutdown", "reboot", "python", "python3", "perl", "ruby", "node", "php", "git", "docker",
	"kubectl", "make", "go", "npm", "npx", "yarn", "pip", "pip3", "apt", "apt-get", "yum", "dnf", "apk",
	"brew", "cargo", "mysql", "psql", "sqlite3", "printenv", "which"}

// substitutionCommands start the commands commonly run in a `…` command
// substitution (and rarely a Go raw string or a Markdown code span).
var substitutionCommands = []string{"id", "whoami", "uname", "hostname", "cat", "ls", "pwd", "date", "echo",
	"printf", "which", "curl", "wget", "nc", "bash", "sh", "python", "python3", "perl", "ruby", "php", "node",
	"base64", "head", "tail", "grep", "sed", "awk", "cut", "tr", "find", "env", "printenv", "ps", "git",
	"dig", "nslookup", "ifconfig", "ip", "rm", "cp", "mv", "chmod", "sudo", "expr", "eval", "sleep", "xargs",
	"openssl", "xxd", "od", "dirname", "basename", "mktemp", "nproc", "getent", "tee", "wc", "sort"}

// shellLine reports whether the line starting at ls reads as shell: its
// first word (after a "$ " prompt) is a shell command or keyword, an
// assignment or the path of a program.
func shellLine(t string, ls int) bool {
	p := skipBlanks(t, ls)
	if strings.HasPrefix(t[p:], "$ ") {
		p = skipBlanks(t, p+2)
	}
	e := p
	for e < len(t) && e-p < 64 && !isSpace(t[e]) && strings.IndexByte("`;|&()", t[e]) < 0 {
		e++
	}
	first := t[p:e]
	switch {
	case first == "":
		return false
	case strings.HasPrefix(first, "./"), len(first) > 1 && first[0] == '/' && isLetter(first[1]):
		return true
	case assignment(first):
		return true
	}
	return slices.Contains(shellWords, first)
}

// forkBomb matches NAME(){ NAME|NAME& };NAME around the '|' at i.
func (s *scanner) forkBomb(i int) {
	t := s.text
	// NAME|NAME&, blanks allowed around the bar.
	a := i
	for a > 0 && isBlank(t[a-1]) {
		a--
	}
	ns := a
	for ns > 0 && a-ns < 32 && (t[ns-1] == ':' || isIdent(t[ns-1])) {
		ns--
	}
	name := t[ns:a]
	if name == "" {
		return
	}
	b := skipBlanks(t, i+1)
	if !strings.HasPrefix(t[b:], name) {
		return
	}
	b = skipBlanks(t, b+len(name))
	if b >= len(t) || t[b] != '&' {
		return
	}
	// NAME(){ or NAME() { before, within 16 bytes.
	lo := max(0, ns-16-len(name))
	def := strings.LastIndex(t[lo:ns], "()")
	if def < 0 || lo+def < len(name) || t[lo+def-len(name):lo+def] != name {
		return
	}
	start := lo + def - len(name)
	if start > 0 && (isIdent(t[start-1]) || t[start-1] == ':') {
		return
	}
	brace := skipBlanks(t, start+len(name)+2)
	if brace >= ns || t[brace] != '{' {
		return
	}
	end := b + 1
	// The optional "};NAME" that runs it.
	if k := skipBlanks(t, end); k < len(t) && t[k] == '}' {
		end = k + 1
		if k = skipBlanks(t, end); k < len(t) && t[k] == ';' {
			end = k + 1
			if k = skipBlanks(t, end); strings.HasPrefix(t[k:], name) {
				end = k + len(name)
			}
		}
	}
	s.add(kForkBomb, start, end)
}
