package policy

import (
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// GuardPolicy is the name of the built-in guard in verdicts: the deciding
// policy of every call it blocks.
const GuardPolicy = "gatehouse-self-protection"

// GuardSpec lists what a Guard protects and where relative paths lead.
// Paths are absolute; the caller adds the spellings with symbolic links
// resolved (GuardSpec does no I/O of its own).
type GuardSpec struct {
	// Files are the gateway's own files: its config, the workspace files,
	// the verdict database with its -wal, -shm and -journal.
	Files []string
	// Dirs are directories protected with everything under them
	// (workspaces_dir: a new file there is a new workspace; the verdict
	// database's journals of calls in flight).
	Dirs []string
	// Bases maps an upstream, keyed by UpstreamKey, to the directories a
	// relative path in its calls may be relative to: its working
	// directory and the roots it was started with.
	Bases map[string][]string
	// DefaultBases are those of an upstream Bases does not list: the
	// gateway's working directory.
	DefaultBases []string
	// Home is the directory ~ stands for; "" leaves ~ unexpanded.
	Home string
}

// UpstreamKey is the key of an upstream in GuardSpec.Bases.
func UpstreamKey(workspace, upstream string) string { return workspace + "/" + upstream }

// Guard is the built-in guard of DESIGN §7: no tool call may read or write
// the gateway's own files. No policy can switch it off; the Engine asks it
// before any policy.
//
// The rule: a call is blocked when a string in its arguments, read as a
// path — the whole string, and each word of it (except in free-text
// fields such as content, text or newText, whose words are a file's
// content, not paths) — names a protected file after normalisation
// (detect.PathForms: quotes, file://, %XX, ~, $HOME and the Windows
// home variables, \ both ways, drive letters, UNC and device paths,
// braces, //, ./, ../, a trailing /, and as Windows reads it: trailing
// dots and spaces and alternate data streams dropped), compared without
// regard to case, a segment shaped like an 8.3 short name matched as the
// long names it may stand for, relative paths resolved
// against every base of the upstream, symbolic links resolved where the
// path exists; or is a glob that matches one; or is a path under a
// protected directory. A directory that only holds a protected file is
// not protected — listing or searching the project root stays allowed —
// except for calls that move, copy, rename or delete (by the tool's name,
// or a word such as mv or rm in the string): moving the directory away,
// changing the file and moving it back would rewrite the config.
type Guard struct {
	files, dirs   []string // lower case, cleaned
	ancestors     []string // lower case: the directories above files and dirs
	baseNames     []string // lower case base names of files and dirs
	bases         map[string][]string
	defaultBases  []string
	home          string
	displayByName map[string]string // lower-case path → as configured
}

// NewGuard builds the guard of spec.
func NewGuard(spec GuardSpec) *Guard {
	g := &Guard{bases: map[string][]string{}, defaultBases: cleanAll(spec.DefaultBases), home: spec.Home, displayByName: map[string]string{}}
	add := func(list *[]string, p string) {
		c := slashPath(p)
		l := strings.ToLower(c)
		if slices.Contains(*list, l) {
			return
		}
		*list = append(*list, l)
		g.displayByName[l] = c
		g.baseNames = append(g.baseNames, path.Base(l))
		for d := path.Dir(l); ; d = path.Dir(d) {
			if !slices.Contains(g.ancestors, d) {
				g.ancestors = append(g.ancestors, d)
			}
			if d == "/" || d == "." {
				break
			}
		}
	}
	for _, f := range spec.Files {
		add(&g.files, f)
	}
	for _, d := range spec.Dirs {
		add(&g.dirs, d)
	}
	for k, bs := range spec.Bases {
		g.bases[k] = cleanAll(bs)
	}
	return g
}

func cleanAll(ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if c := slashPath(p); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// slashPath is the path p cleaned and written with slashes, a drive's
// root and a UNC share kept as roots: C:\Users\me is C:/Users/me on every
// platform, so that a guard of Windows paths reads the same everywhere.
func slashPath(p string) string {
	return detect.CleanPath(strings.ReplaceAll(filepath.Clean(p), `\`, "/"))
}

// maxGuardWord bounds the strings read as paths.
const maxGuardWord = 4096

// freeTextKeys are the fields whose words are text, not paths.
var freeTextKeys = []string{
	"content", "contents", "text", "body", "message", "description", "comment", "title", "summary",
	"newtext", "oldtext", "new_text", "old_text", "new_string", "old_string", "data",
}

// moveWords are the tool-name parts and shell commands of calls that move,
// copy or delete what they name.
var moveWords = []string{"move", "mv", "rename", "copy", "cp", "delete", "remove", "rm", "unlink", "trash", "archive", "zip", "tar", "rsync", "sync"}

// Check reports whether call, whose arguments have the leaves given, names
// a protected file; what says which, for the verdict. A nil Guard
// protects nothing.
func (g *Guard) Check(call Call, leaves []Leaf) (what string, blocked bool) {
	if g == nil || len(g.files)+len(g.dirs) == 0 {
		return "", false
	}
	bases, ok := g.bases[UpstreamKey(call.Workspace, call.Upstream)]
	if !ok {
		bases = g.defaultBases
	}
	moving := movesByName(call.Tool)
	for _, l := range leaves {
		if l.Kind != LeafString && l.Kind != LeafKey { // a map of path → content names its paths by key
			continue
		}
		words := []string{strings.TrimSpace(l.Text)}
		if !freeText(l.Path) {
			for _, w := range detect.PathWords(l.Text) {
				if w != words[0] {
					words = append(words, w)
				}
			}
		}
		leafMoves := moving || slices.ContainsFunc(words[1:], func(w string) bool { return slices.Contains(moveWords, strings.ToLower(w)) })
		for _, w := range words {
			if len(w) > maxGuardWord {
				// Padding (./././…, //…, a/../…) must not hide a path past
				// the bound: the server reads the short form.
				w = detect.CollapsePath(w)
			}
			if w == "" || len(w) > maxGuardWord || strings.IndexByte(w, 0) >= 0 {
				continue // a longer path names none of the gateway's files; no file name holds NUL
			}
			if what, hit := g.names(w, bases, leafMoves); hit {
				return what, true
			}
		}
	}
	return "", false
}

// names reports whether the word w names a protected file in any of its
// forms (detect.PathForms).
func (g *Guard) names(w string, bases []string, moving bool) (string, bool) {
	for _, p := range detect.PathForms(w) {
		if what, hit := g.namesForm(p, bases, moving); hit {
			return what, true
		}
		if sg := shortNameGlob(p); sg != "" {
			if what, hit := g.namesForm(sg, bases, moving); hit {
				return what, true
			}
		}
	}
	return "", false
}

// shortNameGlob returns the normalised path p with each segment that has
// the shape of a Windows 8.3 short name (GATEHO~1.YAM, PROGRA~2) written
// as a glob of the long names it may stand for (*gateho*.yam*), or ""
// when no segment has that shape. Where the path exists, RealPath reads
// the long name from the file system; the glob covers a path that does
// not exist yet and a gateway that is not on Windows.
func shortNameGlob(p string) string {
	if !strings.Contains(p, "~") {
		return ""
	}
	segs := strings.Split(p, "/")
	found := false
	for i, seg := range segs {
		base, ext, _ := strings.Cut(seg, ".")
		tilde := strings.IndexByte(base, '~')
		if tilde < 1 || tilde > 6 || tilde == len(base)-1 || len(ext) > 3 || strings.ContainsAny(base[:tilde], "*?[") ||
			strings.Trim(base[tilde+1:], "0123456789") != "" || strings.ContainsAny(ext, ".*?[") {
			continue
		}
		g := "*" + base[:tilde] + "*"
		if ext != "" {
			g += "." + ext + "*"
		}
		segs[i], found = g, true
	}
	if !found {
		return ""
	}
	return strings.Join(segs, "/")
}

// namesForm is names for one normalised form p.
func (g *Guard) namesForm(p string, bases []string, moving bool) (string, bool) {
	if p == "" || p == "." {
		return "", false
	}
	if g.home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		p = slashPath(g.home) + p[1:]
	}
	lp := strings.ToLower(p)
	glob := strings.ContainsAny(lp, "*?[")
	if glob && !moving && !hasAlnum(path.Base(lp)) {
		return "", false // *, *.*: every file, as a listing names them
	}
	named := glob || moving || g.mentionsName(lp)
	// A path through a symbolic link need not spell a protected name: a
	// path-like word (a /, a dot or ~ in it) is resolved if it exists.
	links := !glob && (named || strings.ContainsAny(lp, "/.~"))
	if !named && !links {
		return "", false
	}
	spelled := []string{detect.CleanPath(p)} // the candidates, as spelled
	if !detect.IsAbsPath(p) {
		spelled = spelled[:0]
		for _, b := range bases {
			spelled = append(spelled, detect.CleanPath(b+"/"+p))
		}
	}
	for _, sp := range spelled {
		c := strings.ToLower(sp)
		if named {
			if what, hit := g.protects(c, glob, moving); hit {
				return what, true
			}
		}
		if !links {
			continue
		}
		if r, ok := resolve(sp); ok && r != c {
			if what, hit := g.protects(r, false, moving); hit {
				return what, true
			}
		}
	}
	return "", false
}

// mentionsName reports whether the lower-case path lp holds the base name
// of a protected file or directory.
func (g *Guard) mentionsName(lp string) bool {
	for _, n := range g.baseNames {
		if strings.Contains(lp, n) {
			return true
		}
	}
	return false
}

func hasAlnum(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' })
}

// protects reports whether the lower-case absolute path c (a glob when
// glob) is, or may match, a protected file.
func (g *Guard) protects(c string, glob, moving bool) (string, bool) {
	match := func(target string) bool {
		if glob {
			ok, _ := path.Match(c, target)
			return ok
		}
		return c == target
	}
	for _, f := range g.files {
		if match(f) {
			return g.displayByName[f], true
		}
	}
	for _, d := range g.dirs {
		if match(d) || (!glob && strings.HasPrefix(c, d+"/")) || (glob && globUnder(c, d)) {
			return g.displayByName[d], true
		}
	}
	if moving {
		for _, a := range g.ancestors {
			if a != "/" && a != "." && !driveRoot(a) && match(a) {
				return a + " (which holds the gateway's files)", true
			}
		}
	}
	return "", false
}

// driveRoot reports whether the lower-case path a is a drive (c:) or its
// root (c:/), which, like /, is above everything.
func driveRoot(a string) bool {
	return (len(a) == 2 || len(a) == 3 && a[2] == '/') && a[1] == ':'
}

// globUnder reports whether the glob c could match something under d.
func globUnder(c, d string) bool {
	for p := c; p != "/" && p != "."; p = path.Dir(p) {
		if ok, _ := path.Match(p, d); ok {
			return true
		}
	}
	return false
}

// resolve returns sp, a candidate path as spelled, with symbolic links
// resolved (see RealPath), in lower case.
func resolve(sp string) (string, bool) {
	r, ok := RealPath(filepath.FromSlash(sp))
	return strings.ToLower(filepath.ToSlash(r)), ok
}

// RealPath returns the absolute path p with the symbolic links of its
// longest existing part resolved (a file that does not exist yet, in a
// directory reached through a link, resolves too); ok is false when no
// part of it exists.
func RealPath(p string) (string, bool) {
	rest := ""
	for d := filepath.Clean(p); ; d = filepath.Dir(d) {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			return filepath.Join(r, rest), true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		rest = filepath.Join(filepath.Base(d), rest)
	}
}

// movesByName reports whether a tool's name says it moves, copies or
// deletes: move_file, deleteFile, rename.
func movesByName(tool string) bool {
	parts := strings.FieldsFunc(strings.ToLower(tool), func(r rune) bool { return r < 'a' || r > 'z' })
	for _, p := range parts {
		for _, m := range moveWords {
			if len(m) > 2 && strings.HasPrefix(p, m) || p == m {
				return true
			}
		}
	}
	return false
}

// freeText reports whether the leaf at path is a free-text field.
func freeText(p string) bool {
	i := strings.LastIndexAny(p, ".[#")
	for i >= 0 && p[i] == '[' {
		// an array element: the key of the array
		p = p[:i]
		i = strings.LastIndexAny(p, ".[#")
	}
	if i < 0 {
		return false
	}
	return slices.Contains(freeTextKeys, strings.ToLower(p[i+1:]))
}

// block is the verdict on a call the guard stops: what names the file.
func (g *Guard) block(v Verdict, what string) Verdict {
	v.Decision = DecisionBlock
	v.Policy = GuardPolicy
	v.Layer = LayerGlobal
	v.Reason = "the arguments name " + what + ", one of the gateway's own files (its config, workspace files or verdict database), which no tool call may read or write"
	v.Message = violationMessage(v.Decision, v.Policy, v.Reason)
	v.Results = append(v.Results, Result{
		Policy: GuardPolicy, Layer: LayerGlobal, Kind: string(ActionBlock), Outcome: OutcomeBlock,
		Why: v.Reason, Source: "built-in",
	})
	return v
}
