package upstream

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// defaultPathExt is what Windows tries when PATHEXT is not set.
const defaultPathExt = ".COM;.EXE;.BAT;.CMD"

// errNotFound says a command is in none of the PATH directories.
var errNotFound = errors.New("executable file not found in PATH")

// lookCommand finds the file Windows runs for the command name, given the
// child's working directory dir, the directories of PATH and the value of
// PATHEXT (the extensions a command may leave off; empty means
// defaultPathExt), with isFile telling whether a file exists. It is plain
// string work, so it is tested on any platform:
//
//   - a name with an extension is tried as it is first, then with each
//     extension added (a file "x.y.cmd" is found as "x.y");
//   - a name with a directory in it (\, / or a drive's :) is looked up
//     there only, never in PATH; a relative one is relative to dir (and
//     returned relative, as exec resolves it against the child's
//     directory);
//   - otherwise each absolute directory of PATH is tried in order, the
//     name and then the name with each PATHEXT extension in turn: "npx"
//     finds npx.cmd. Neither the current directory nor a relative PATH
//     entry is searched (as Go does not), so a file dropped in the working
//     directory cannot stand in for a command.
func lookCommand(name, dir string, path []string, pathext string, isFile func(string) bool) (string, error) {
	if name == "" {
		return "", errors.New("empty command")
	}
	exts := pathExts(pathext)
	if strings.ContainsAny(name, `\/:`) {
		at := func(f string) bool { return isFile(f) }
		if !filepath.IsAbs(name) && dir != "" {
			at = func(f string) bool { return isFile(filepath.Join(dir, f)) }
		}
		if f, ok := withExts(name, exts, at); ok {
			return f, nil
		}
		return "", fmt.Errorf("%s: no such executable (tried the extensions of PATHEXT %s)", name, strings.Join(exts, ";"))
	}
	for _, d := range path {
		if !filepath.IsAbs(d) {
			continue
		}
		if f, ok := withExts(filepath.Join(d, name), exts, isFile); ok {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s: %w (with the extensions of PATHEXT %s)", name, errNotFound, strings.Join(exts, ";"))
}

// withExts tries file as it is when it already has an extension, then
// file with each of exts.
func withExts(file string, exts []string, isFile func(string) bool) (string, bool) {
	base := file[strings.LastIndexAny(file, `\/:`)+1:]
	if strings.Contains(base, ".") && isFile(file) {
		return file, true
	}
	for _, ext := range exts {
		if f := file + ext; isFile(f) {
			return f, true
		}
	}
	return "", false
}

// pathExts splits a PATHEXT value into lower-case extensions, each with
// its dot; an empty value means defaultPathExt.
func pathExts(pathext string) []string {
	if strings.TrimSpace(pathext) == "" {
		pathext = defaultPathExt
	}
	var exts []string
	for _, e := range strings.Split(pathext, ";") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		exts = append(exts, e)
	}
	return exts
}

// windowsPathList splits a Windows PATH value into its directories: ';'
// separates them, except inside double quotes, which are removed; empty
// entries are left out.
func windowsPathList(path string) []string {
	var dirs []string
	var cur strings.Builder
	quoted := false
	flush := func() {
		if d := cur.String(); d != "" {
			dirs = append(dirs, d)
		}
		cur.Reset()
	}
	for _, r := range path {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ';' && !quoted:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return dirs
}

// envValue returns the value of the last entry named name in env (KEY=VALUE
// entries), the name compared without regard to case as Windows does: the
// Spec's own "Path=…" overrides the inherited "PATH=…".
func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, name) {
			v = val
		}
	}
	return v
}
