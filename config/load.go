package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-mcp/gatehouse/policy"
	"go.yaml.in/yaml/v3"
)

var (
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// envRefRE is a reference to a variable where its name belongs.
	envRefRE  = regexp.MustCompile(`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`)
	yamlErrRE = regexp.MustCompile(`^yaml: line ([0-9]+): `)
)

// maxNodes bounds the YAML nodes one load visits, aliases expanded.
const maxNodes = 1 << 20

// Load reads, expands, decodes strictly and validates the config file at
// path, plus every workspaces_dir/NAME.yaml file and the templates it
// includes. Relative paths in the config (audit.database, workspaces_dir,
// upstream dir) are resolved against the config file's directory. A
// missing file is ErrNotFound; an invalid one is Errors listing every
// problem. Load reads files only; ${VAR} reads the process environment.
func Load(path string) (*Config, error) {
	return load(path, os.LookupEnv)
}

// fieldPos addresses a field of a file (by the file's display name).
type fieldPos struct{ file, field string }

// loader holds the state of one Load call.
type loader struct {
	lookupEnv func(string) (string, bool)
	mainFile  string            // the config file as the caller named it
	root      string            // absolute directory of the config file
	display   map[string]string // absolute file path → name used in errors
	nodes     map[fieldPos]*yaml.Node
	bad       map[fieldPos]bool // fields that failed to decode: no further errors about them
	budget    int               // YAML nodes visited, bounded against alias bombs
	errs      Errors
	warnings  []string
}

func newLoader(lookupEnv func(string) (string, bool)) *loader {
	return &loader{
		lookupEnv: lookupEnv,
		display:   map[string]string{},
		nodes:     map[fieldPos]*yaml.Node{},
		bad:       map[fieldPos]bool{},
	}
}

// load is Load with the environment given by lookupEnv.
func load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load config: %w: %w", ErrNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	l := newLoader(lookupEnv)
	l.mainFile, l.root = path, filepath.Dir(abs)
	l.display[abs] = path
	cfg := defaults()
	cfg.File = abs
	if doc, ok := l.parse(path, data); ok {
		d := &decoder{l: l, file: path, abs: abs}
		l.nodes[fieldPos{path, ""}] = doc
		d.into(doc, "", cfg)
		l.resolvePaths(cfg)
		l.loadWorkspacesDir(cfg)
		l.validate(cfg)
	}
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *Error) int {
			if c := strings.Compare(a.File, b.File); c != 0 {
				return c
			}
			return a.Line - b.Line
		})
		return nil, l.errs
	}
	cfg.Warnings = l.warnings
	return cfg, nil
}

// parse reads one YAML document; ok is false after a syntax error. An
// empty file is an empty mapping.
func (l *loader) parse(file string, data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, true
	}
	if err == nil {
		var extra yaml.Node
		if err2 := dec.Decode(&extra); !errors.Is(err2, io.EOF) {
			line := extra.Line
			if err2 != nil {
				line = 0
			}
			l.errs = append(l.errs, &Error{File: file, Line: line, Err: errors.New("a config file holds one YAML document")})
			return nil, false
		}
	}
	if err != nil {
		ce := &Error{File: file, Err: err}
		if m := yamlErrRE.FindStringSubmatch(err.Error()); m != nil {
			ce.Line, _ = strconv.Atoi(m[1])
			ce.Err = errors.New(strings.TrimPrefix(err.Error(), m[0]))
		} else {
			ce.Err = errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
		}
		l.errs = append(l.errs, ce)
		return nil, false
	}
	if len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1}, true
	}
	return doc.Content[0], true
}

// report records a validation problem of field in file. Its line and
// value come from the field's node when decoding saw one (the value as
// written), else from the nearest enclosing field and value. A field that
// failed to decode, or lies under one, gets no further problems.
func (l *loader) report(file, field, value string, err error) {
	for f := field; ; f = parentField(f) {
		if l.bad[fieldPos{file, f}] {
			return
		}
		if f == "" {
			break
		}
	}
	ce := &Error{File: file, Field: field, Value: value, Err: err}
	for f := field; ; f = parentField(f) {
		if f == "" && field != "" {
			break // the file's first line says nothing about a missing top-level key
		}
		if n, ok := l.nodes[fieldPos{file, f}]; ok {
			ce.Line = n.Line
			if f == field {
				if r := resolveAlias(n); r.Kind == yaml.ScalarNode && r.ShortTag() != "!!null" {
					ce.Value = r.Value
				}
			}
			break
		}
		if f == "" {
			break
		}
	}
	var hidden hiddenValue
	switch {
	case !errors.As(err, &hidden):
		ce.Value, _ = policy.RedactSecrets(ce.Value) // a key pasted anywhere is not printed
	case envRefRE.MatchString(ce.Value): // ${VAR} where its name belongs: safe to show
		ce.Err = hidden.error
	default:
		ce.Value = ""
		ce.Err = fmt.Errorf("%w (the value is not shown: if it is a key, take it out of this file and rotate it)", hidden.error)
	}
	l.errs = append(l.errs, ce)
}

// hiddenValue is an error whose value is not shown, unless it is a
// ${VAR} reference as written: a wrong value there is likely the secret
// itself.
type hiddenValue struct{ error }

// present reports whether file sets field to a non-null value.
func (l *loader) present(file, field string) bool {
	n, ok := l.nodes[fieldPos{file, field}]
	return ok && !isNullNode(n)
}

// parentField strips the last .key or [i] of a field path.
func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i < 0 {
		return ""
	}
	return f[:i]
}

// expand replaces ${VAR} and ${VAR:-default} with the environment's value;
// $${ is a literal ${. A variable that is unset (and has no default) is an
// error — a gateway must not send "Bearer " with an empty token — except
// in an entry of an upstream's env or headers, which is then left out with
// a warning (see decoder.scalar).
func (l *loader) expand(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ (write $${ for a literal ${)")
		}
		inner := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDefault := strings.Cut(inner, ":-")
		if !envNameRE.MatchString(name) {
			return "", fmt.Errorf("invalid variable name %q in ${%s}", name, inner)
		}
		if strings.Contains(def, "${") {
			return "", fmt.Errorf("nested ${ in the default of ${%s}", name)
		}
		v, ok := l.lookupEnv(name)
		switch {
		case hasDefault && v == "":
			v = def
		case !ok:
			return "", unsetError{name}
		}
		b.WriteString(v)
	}
}

// unsetError is a ${VAR} whose variable is not set and has no default.
type unsetError struct{ name string }

func (e unsetError) Error() string {
	return fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for a default)", e.name, e.name)
}

// upstreamEnvEntry matches the field of an entry of an upstream's env or
// headers.
var upstreamEnvEntry = regexp.MustCompile(`(^|\.)upstreams\[\d+\]\.(env|headers)\[\d+\]$`)

// resolvePaths makes the config's relative paths absolute against the
// config file's directory (a rooted path, \x on Windows, stays as written), and gives stdio upstreams without dir that
// directory as their working directory.
func (l *loader) resolvePaths(cfg *Config) {
	abs := func(p string) string {
		if p == "" || rooted(p) {
			return p
		}
		return filepath.Join(l.root, p)
	}
	cfg.Audit.Database = abs(cfg.Audit.Database)
	cfg.WorkspacesDir = abs(cfg.WorkspacesDir)
	for i := range cfg.Workspaces {
		l.resolveUpstreamDirs(&cfg.Workspaces[i])
	}
}

// resolveUpstreamDirs resolves the dir of w's stdio upstreams.
func (l *loader) resolveUpstreamDirs(w *Workspace) {
	for i := range w.Upstreams {
		u := &w.Upstreams[i]
		switch {
		case u.Command == "":
		case u.Dir == "":
			u.Dir = l.root
		case !rooted(u.Dir):
			u.Dir = filepath.Join(l.root, u.Dir)
		}
	}
}

// rooted reports whether the path p starts from a root rather than from
// the config's directory: an absolute path, or on Windows one that starts
// with a separator (\ProgramData\gatehouse, /var/lib/gatehouse), which
// Windows reads from the root of the current drive.
func rooted(p string) bool {
	return filepath.IsAbs(p) || p != "" && os.IsPathSeparator(p[0])
}

// loadWorkspacesDir appends the workspaces of cfg.WorkspacesDir: each
// NAME.yaml or NAME.yml file (dot files and other files are ignored),
// sorted by file name.
func (l *loader) loadWorkspacesDir(cfg *Config) {
	if cfg.WorkspacesDir == "" {
		return
	}
	entries, ok := l.readWorkspacesDir(cfg.WorkspacesDir)
	if !ok {
		return
	}
	defined := map[string]string{} // workspace name → where it is defined
	for _, w := range cfg.Workspaces {
		line := 0
		if n, ok := l.nodes[fieldPos{l.mainFile, "workspaces." + w.Name}]; ok {
			line = n.Line
		}
		defined[w.Name] = fmt.Sprintf("%s:%d", l.mainFile, line)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		absFile := filepath.Join(cfg.WorkspacesDir, e.Name())
		if info, err := os.Stat(absFile); err != nil || info.IsDir() || absFile == cfg.File {
			continue // workspaces_dir: . must not read the config itself as a workspace
		}
		file := l.dirDisplayName(absFile)
		l.display[absFile] = file
		name := strings.TrimSuffix(e.Name(), ext)
		if where, dup := defined[name]; dup {
			l.errs = append(l.errs, &Error{File: file, Field: "workspaces." + name,
				Err: fmt.Errorf("workspace is already defined in %s", where)})
			continue
		}
		defined[name] = file
		if w, ok := l.workspaceFile(absFile, file, name); ok {
			cfg.Workspaces = append(cfg.Workspaces, w)
		}
	}
}

// readWorkspacesDir lists dir, reporting on workspaces_dir why it cannot.
func (l *loader) readWorkspacesDir(dir string) ([]os.DirEntry, bool) {
	const field = "workspaces_dir"
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.report(l.mainFile, field, dir, errors.New("directory does not exist"))
		return nil, false
	case err != nil:
		l.report(l.mainFile, field, dir, err)
		return nil, false
	case !info.IsDir():
		l.report(l.mainFile, field, dir, errors.New("not a directory"))
		return nil, false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		l.report(l.mainFile, field, dir, err)
		return nil, false
	}
	return entries, true
}

// workspaceFile decodes the workspace name defined by the file absFile
// (file in errors); ok is false when the file cannot be read or parsed.
func (l *loader) workspaceFile(absFile, file, name string) (Workspace, bool) {
	data, err := os.ReadFile(absFile)
	if err != nil {
		l.errs = append(l.errs, &Error{File: file, Err: err})
		return Workspace{}, false
	}
	doc, ok := l.parse(file, data)
	if !ok {
		return Workspace{}, false
	}
	d := &decoder{l: l, file: file, abs: absFile}
	w := Workspace{Name: name, File: absFile}
	d.into(doc, "workspaces."+name, &w)
	l.resolveUpstreamDirs(&w)
	return w, true
}

// dirDisplayName names a workspaces_dir file in errors: joined to the
// config file's name as the caller gave it when workspaces_dir is
// relative, so errors read like the caller's own paths.
func (l *loader) dirDisplayName(absFile string) string {
	rel, err := filepath.Rel(l.root, absFile)
	if err != nil || strings.HasPrefix(rel, "..") {
		return absFile
	}
	return joinAsWritten(l.mainFile, filepath.Dir(l.mainFile), rel)
}

// joinAsWritten joins rel to dir with the separator the user wrote in
// written: on Windows, a config named with slashes (testdata/gatehouse.yaml)
// has its workspace files named with slashes too.
func joinAsWritten(written, dir, rel string) string {
	if filepath.Separator != '/' && strings.Contains(written, "/") && !strings.ContainsRune(written, filepath.Separator) {
		return path.Join(filepath.ToSlash(dir), filepath.ToSlash(rel))
	}
	return filepath.Join(dir, rel)
}
