package main

// This file is the config configLoader: it reads gatehouse.yaml and the files of
// its workspaces_dir into a Config, in three steps — decode (strict: every
// key known, every value of the right type, ${VAR} expanded), resolve
// (relative paths against the config file's directory) and validate (every
// rule of DESIGN §3 and §4 that can be checked without connecting anywhere).
// Every step keeps going after a problem, so one run reports them all.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // when.time.tz must load the same on every host, including minimal containers

	"github.com/gobwas/glob"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// ErrConfigNotFound is returned, wrapped, when the config file does not
// exist. An invalid file yields ConfigErrors instead.
var ErrConfigNotFound = errors.New("config file not found")

// The defaults of the config file, applied by defaultConfig.
const (
	defaultVersion         = 1
	defaultListen          = "127.0.0.1:8080"
	defaultMaxRequestBytes = 4 << 20
	defaultAuditDatabase   = "gatehouse.db"
	defaultAuditArguments  = "masked"
	defaultAuditRetention  = Duration(90 * 24 * time.Hour)
	defaultApprovalTimeout = Duration(2 * time.Minute)
	defaultJudgeTimeout    = Duration(5 * time.Second)
	defaultJudgeCacheTTL   = Duration(10 * time.Minute)
	defaultStrict          = true
	defaultRateLimitKey    = "user"
)

// knownTemplates are the built-in policy templates that include may name.
var knownTemplates = []string{"strict-production", "development-permissive", "code-assistant", "financial-compliance"}

// The enumerations of the config file.
var (
	auditArgumentModes = []string{"masked", "hash", "none"}
	judgeProviders     = []string{"openai", "anthropic", "ollama"}
	upstreamTransports = []string{"http", "sse"}
	upstreamProtocols  = []string{upstream.ProtocolLegacy, upstream.ProtocolModern}
	policyActions      = []string{"allow", "block", "require_approval", "rate_limit", "redact", "warn"}
	rateLimitKeys      = []string{"user", "workspace", "global"}
	threatNames        = []string{"secret", "pii", "prompt_injection", "shell_injection", "path_traversal", "sql_destructive"}
	weekdays           = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

var (
	nameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	clockRE   = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	yamlErrRE = regexp.MustCompile(`^yaml: line ([0-9]+): `)
)

// Config is a loaded, valid gatehouse.yaml (DESIGN §3). Paths in it are
// absolute.
type Config struct {
	// File is the absolute path of the file loaded.
	File    string
	Version int
	// Listen is the address of `serve --http` when none is given.
	Listen   string
	HTTP     HTTPConfig
	Audit    AuditConfig
	Approval ApprovalConfig
	Judge    JudgeConfig
	// Strict is the default of every policy: fail closed when a policy
	// cannot be decided.
	Strict bool
	// Include names built-in policy templates added to the global policies.
	Include []string
	// Policies are the global policies, in file order.
	Policies []PolicyConfig
	// WorkspacesDir is the absolute path of workspaces_dir, or "" if unset.
	WorkspacesDir string
	// Workspaces are the inline workspaces in file order, then those of
	// WorkspacesDir sorted by file name.
	Workspaces []WorkspaceConfig
}

// HTTPConfig is the `http:` section: limits of the streamable HTTP face.
type HTTPConfig struct {
	// AllowedOrigins are the Origin values accepted besides loopback ones,
	// each scheme://host[:port].
	AllowedOrigins []string
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes int64
}

// AuditConfig is the `audit:` section: the verdict log.
type AuditConfig struct {
	// Database is the absolute path of the SQLite file.
	Database string
	// Arguments is what the log keeps of a call's arguments: masked, hash
	// or none.
	Arguments string
	// Required refuses calls that cannot be recorded. Nil means unset.
	Required *bool
	// Retention is how long verdicts are kept.
	Retention Duration
}

// ApprovalConfig is the `approval:` section.
type ApprovalConfig struct {
	// Timeout is how long a person has to answer an approval request.
	Timeout Duration
}

// JudgeConfig is the `judge:` section: the LLM that judges plain-English
// policies.
type JudgeConfig struct {
	// Provider is openai, anthropic or ollama; "" means no judge.
	Provider string
	Model    string
	// BaseURL overrides the provider's endpoint (an OpenAI-compatible
	// server, a local ollama).
	BaseURL string
	// APIKeyEnv is the name of the environment variable holding the key.
	APIKeyEnv string
	Timeout   Duration
	CacheTTL  Duration
}

// WorkspaceConfig is one workspace, defined under `workspaces:` or by a
// file of workspaces_dir.
type WorkspaceConfig struct {
	// Name is the key under `workspaces:` or the file's name without
	// extension; it keeps its case.
	Name string
	// File is the absolute path of the file that defines the workspace.
	File string
	// Strict overrides Config.Strict for this workspace's policies; nil
	// means unset.
	Strict    *bool
	Upstreams []UpstreamConfig
	Policies  []PolicyConfig
}

// UpstreamConfig is one upstream MCP server of a workspace: a stdio child
// (Command) or an HTTP endpoint (URL), never both.
type UpstreamConfig struct {
	Name    string
	Command string
	Args    []string
	// Env holds NAME=VALUE entries; the child gets only these plus PATH
	// and HOME.
	Env []string
	// Dir is the child's working directory, absolute; it defaults to the
	// directory of the main config file. Empty for URL upstreams.
	Dir string
	URL string
	// Transport is "" (streamable HTTP), "http" or "sse"; only with URL.
	Transport string
	// Headers holds Name=Value entries sent with every HTTP request.
	Headers []string
	// Prefix exposes names as upstream__name; nil means true.
	Prefix *bool
	// Timeout bounds connecting and listing; zero means
	// upstream.DefaultTimeout.
	Timeout Duration
	// Protocol is the MCP protocol generation to speak to the upstream:
	// "" or "2025-11-25" (the default), or "2026-07-28".
	Protocol string
}

// PolicyConfig is one policy (DESIGN §4): plain-English (Rules) or
// deterministic (Action), never both.
type PolicyConfig struct {
	Name        string
	Description string
	// Enabled is nil when unset (enabled).
	Enabled *bool
	// Strict is nil when unset (the workspace's, then the top level's).
	Strict   *bool
	Priority int
	Rules    string
	Action   string
	// Tools are globs matched against original and exposed tool names.
	Tools     []string
	Upstreams []string
	// When holds the deterministic conditions; nil means none.
	When *WhenConfig
	// RateLimit is set exactly when Action is rate_limit.
	RateLimit *RateLimitConfig
	// Message is shown to the person when the policy blocks.
	Message string
	// File and Line say where the policy is defined (File is absolute).
	File string
	Line int
}

// WhenConfig holds the conditions of a deterministic policy; all must hold.
type WhenConfig struct {
	// Args is nil, a string (a regex over the canonical JSON of the
	// arguments) or a map[string]string (argument field → regex).
	Args     any
	Keywords []string
	Threats  []string
	// RiskMin and RiskMax bound the call's risk score; nil means unset.
	RiskMin, RiskMax *float64
	// Users and Clients are globs.
	Users, Clients []string
	Time           *TimeWindowConfig
}

// TimeWindowConfig is a weekly time window; it may cross midnight.
type TimeWindowConfig struct {
	// Days are normalised to three lower-case letters: mon … sun.
	Days []string
	// From and To are HH:MM (24-hour); both or neither are set.
	From, To string
	// TZ is an IANA zone name; "" means the gateway's local zone.
	TZ string
}

// RateLimitConfig is the `rate_limit:` section of a rate_limit policy.
type RateLimitConfig struct {
	Requests int
	Per      Duration
	// Key is user, workspace or global (the default is user).
	Key string
}

// Duration is a time.Duration written as a Go duration ("90s", "2m",
// "1h30m") or with days ("90d", "1d12h").
type Duration time.Duration

// ParseDuration parses a Go duration that may also use the unit d (24h).
func ParseDuration(s string) (Duration, error) {
	if !strings.Contains(s, "d") {
		d, err := time.ParseDuration(s)
		return Duration(d), err
	}
	rest, neg := s, false
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		rest, neg = r, true
	} else {
		rest = strings.TrimPrefix(rest, "+")
	}
	if rest == "" {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var total time.Duration
	add := func(d time.Duration) bool {
		if d < 0 || total > math.MaxInt64-d {
			return false
		}
		total += d
		return true
	}
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		j := strings.IndexFunc(rest[i:], func(r rune) bool { return (r >= '0' && r <= '9') || r == '.' })
		if j < 0 {
			j = len(rest) - i
		}
		num, unit := rest[:i], rest[i:i+j]
		rest = rest[i+j:]
		if unit == "d" {
			days, err := strconv.ParseFloat(num, 64)
			if err != nil || days*float64(24*time.Hour) >= math.MaxInt64 || !add(time.Duration(days*float64(24*time.Hour))) {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			continue
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil || !add(d) {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// String formats d as whole days ("90d") when it is a multiple of a day,
// as a Go duration otherwise. ParseDuration reads it back.
func (d Duration) String() string {
	const day = 24 * time.Hour
	if td := time.Duration(d); td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return time.Duration(d).String()
}

// MarshalText writes d as String does, so d is a scalar in YAML and JSON.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what ParseDuration accepts.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ConfigError is one problem of a config file, addressed by file, line and
// field path (e.g. workspaces.dev.upstreams[1].url; indexes count from 0).
type ConfigError struct {
	// File is the file as named by the caller of LoadConfig (or joined to
	// workspaces_dir as written).
	File string
	// Field is the path of the offending key; "" for the file as a whole.
	Field string
	// Value is the value as written in the file, before ${VAR} expansion,
	// so an error never shows a secret taken from the environment.
	Value string
	// Line is 1-based; 0 when the problem has no line (a missing key).
	Line int
	Err  error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	if e.Value != "" {
		b.WriteString(": " + quoteValue(e.Value))
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the underlying problem.
func (e *ConfigError) Unwrap() error { return e.Err }

// quoteValue quotes v for an error message, shortened when long.
func quoteValue(v string) string {
	const maxRunes = 60
	if r := []rune(v); len(r) > maxRunes {
		return strconv.Quote(string(r[:maxRunes])) + "…"
	}
	return strconv.Quote(v)
}

// ConfigErrors are all the problems of a config, sorted by file and line.
// LoadConfig returns it (even for a single problem) when a config is
// invalid; errors.As finds a *ConfigError in it.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns every problem, for errors.Is and errors.As.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Workspace returns the workspace called name (case-sensitive).
func (c *Config) Workspace(name string) (*WorkspaceConfig, bool) {
	for i := range c.Workspaces {
		if c.Workspaces[i].Name == name {
			return &c.Workspaces[i], true
		}
	}
	return nil, false
}

// WorkspaceSpecs turns the workspaces into the specs the workspace package
// runs, in config order. The specs share no memory with c.
func (c *Config) WorkspaceSpecs() []workspace.Spec {
	specs := make([]workspace.Spec, 0, len(c.Workspaces))
	for _, w := range c.Workspaces {
		s := workspace.Spec{Name: w.Name, Upstreams: make([]upstream.Spec, 0, len(w.Upstreams))}
		if w.Strict != nil {
			strict := *w.Strict
			s.Strict = &strict
		}
		for _, u := range w.Upstreams {
			s.Upstreams = append(s.Upstreams, upstreamSpec(u))
		}
		specs = append(specs, s)
	}
	return specs
}

// upstreamSpec applies the upstream defaults: prefix true; transport stdio
// with a command, otherwise http unless sse is asked for.
func upstreamSpec(u UpstreamConfig) upstream.Spec {
	s := upstream.Spec{
		Name:     u.Name,
		Command:  u.Command,
		Args:     slices.Clone(u.Args),
		Env:      slices.Clone(u.Env),
		Dir:      u.Dir,
		URL:      u.URL,
		Headers:  slices.Clone(u.Headers),
		Prefix:   u.Prefix == nil || *u.Prefix,
		Timeout:  time.Duration(u.Timeout),
		Protocol: u.Protocol,
	}
	switch {
	case u.Command != "":
		s.Transport = upstream.TransportStdio
	case u.Transport == string(upstream.TransportSSE):
		s.Transport = upstream.TransportSSE
	default:
		s.Transport = upstream.TransportHTTP
	}
	return s
}

// LoadConfig reads, expands, decodes strictly and validates the config file
// at path, plus every workspaces_dir/NAME.yaml file. Relative paths in the
// config (audit.database, workspaces_dir, upstream dir) are resolved
// against the config file's directory. A missing file is ErrConfigNotFound;
// an invalid one is ConfigErrors listing every problem. LoadConfig reads
// files only.
func LoadConfig(path string) (*Config, error) {
	return loadConfig(path, os.LookupEnv)
}

// loadConfig is LoadConfig with the environment given by lookupEnv.
func loadConfig(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load config: %w: %w", ErrConfigNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	l := &configLoader{
		lookupEnv: lookupEnv,
		mainFile:  path,
		root:      filepath.Dir(abs),
		display:   map[string]string{abs: path},
		nodes:     map[fieldPos]*yaml.Node{},
		bad:       map[fieldPos]bool{},
	}
	cfg := defaultConfig()
	cfg.File = abs
	if doc, ok := l.parse(path, data); ok {
		(&configDecoder{l: l, file: path, abs: abs}).config(doc, cfg)
		l.resolvePaths(cfg)
		l.loadWorkspacesDir(cfg)
		l.validate(cfg)
	}
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *ConfigError) int {
			if c := strings.Compare(a.File, b.File); c != 0 {
				return c
			}
			return a.Line - b.Line
		})
		return nil, l.errs
	}
	return cfg, nil
}

// defaultConfig is a Config holding every top-level default; decoding
// overwrites what the file sets.
func defaultConfig() *Config {
	return &Config{
		Version: defaultVersion,
		Listen:  defaultListen,
		HTTP:    HTTPConfig{MaxRequestBytes: defaultMaxRequestBytes},
		Audit: AuditConfig{
			Database:  defaultAuditDatabase,
			Arguments: defaultAuditArguments,
			Retention: defaultAuditRetention,
		},
		Approval: ApprovalConfig{Timeout: defaultApprovalTimeout},
		Judge:    JudgeConfig{Timeout: defaultJudgeTimeout, CacheTTL: defaultJudgeCacheTTL},
		Strict:   defaultStrict,
	}
}

// fieldPos addresses a field of a file (by the file's display name).
type fieldPos struct{ file, field string }

// configLoader holds the state of one LoadConfig call.
type configLoader struct {
	lookupEnv func(string) (string, bool)
	mainFile  string            // the config file as the caller named it
	root      string            // absolute directory of the config file
	display   map[string]string // absolute file path → name used in errors
	nodes     map[fieldPos]*yaml.Node
	bad       map[fieldPos]bool // fields that failed to decode: no further errors about them
	budget    int               // YAML nodes visited, bounded against alias bombs
	errs      ConfigErrors
}

// maxConfigNodes bounds the YAML nodes one load visits, aliases expanded.
const maxConfigNodes = 1 << 20

// parse reads one YAML document; ok is false after a syntax error. An
// empty file is an empty mapping.
func (l *configLoader) parse(file string, data []byte) (*yaml.Node, bool) {
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
			l.errs = append(l.errs, &ConfigError{File: file, Line: line, Err: errors.New("a config file holds one YAML document")})
			return nil, false
		}
	}
	if err != nil {
		ce := &ConfigError{File: file, Err: err}
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
// written), else from the nearest enclosing field and value.
func (l *configLoader) report(file, field, value string, err error) {
	for f := field; ; f = parentField(f) {
		if l.bad[fieldPos{file, f}] {
			return
		}
		if f == "" {
			break
		}
	}
	ce := &ConfigError{File: file, Field: field, Value: value, Err: err}
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
	l.errs = append(l.errs, ce)
}

// present reports whether file sets field to a non-null value.
func (l *configLoader) present(file, field string) bool {
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
// error: a gateway must not send "Bearer " with an empty token.
func (l *configLoader) expand(s string) (string, error) {
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
			return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", name, name)
		}
		b.WriteString(v)
	}
}

// resolvePaths makes the config's relative paths absolute against the
// config file's directory, and gives stdio upstreams without dir that
// directory as their working directory.
func (l *configLoader) resolvePaths(cfg *Config) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
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
func (l *configLoader) resolveUpstreamDirs(w *WorkspaceConfig) {
	for i := range w.Upstreams {
		u := &w.Upstreams[i]
		switch {
		case u.Command == "":
		case u.Dir == "":
			u.Dir = l.root
		case !filepath.IsAbs(u.Dir):
			u.Dir = filepath.Join(l.root, u.Dir)
		}
	}
}

// loadWorkspacesDir appends the workspaces of cfg.WorkspacesDir: each
// NAME.yaml or NAME.yml file (dot files and other files are ignored),
// sorted by file name.
func (l *configLoader) loadWorkspacesDir(cfg *Config) {
	if cfg.WorkspacesDir == "" {
		return
	}
	const field = "workspaces_dir"
	info, err := os.Stat(cfg.WorkspacesDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.report(l.mainFile, field, cfg.WorkspacesDir, errors.New("directory does not exist"))
		return
	case err != nil:
		l.report(l.mainFile, field, cfg.WorkspacesDir, err)
		return
	case !info.IsDir():
		l.report(l.mainFile, field, cfg.WorkspacesDir, errors.New("not a directory"))
		return
	}
	entries, err := os.ReadDir(cfg.WorkspacesDir)
	if err != nil {
		l.report(l.mainFile, field, cfg.WorkspacesDir, err)
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
			l.errs = append(l.errs, &ConfigError{File: file, Field: "workspaces." + name,
				Err: fmt.Errorf("workspace is already defined in %s", where)})
			continue
		}
		defined[name] = file
		data, err := os.ReadFile(absFile)
		if err != nil {
			l.errs = append(l.errs, &ConfigError{File: file, Err: err})
			continue
		}
		doc, ok := l.parse(file, data)
		if !ok {
			continue
		}
		d := &configDecoder{l: l, file: file, abs: absFile}
		w := d.workspace(name, doc, "workspaces."+name)
		l.resolveUpstreamDirs(&w)
		cfg.Workspaces = append(cfg.Workspaces, w)
	}
}

// dirDisplayName names a workspaces_dir file in errors: joined to the
// config file's name as the caller gave it when workspaces_dir is
// relative, so errors read like the caller's own paths.
func (l *configLoader) dirDisplayName(absFile string) string {
	rel, err := filepath.Rel(l.root, absFile)
	if err != nil || strings.HasPrefix(rel, "..") {
		return absFile
	}
	return filepath.Join(filepath.Dir(l.mainFile), rel)
}

// configDecoder turns the YAML nodes of one file into config values: unknown
// keys, wrong types and unset variables are errors with the line of the
// node.
type configDecoder struct {
	l    *configLoader
	file string // name in errors
	abs  string // absolute path
}

// keyHandlers maps the keys of a mapping to the functions that decode their
// values; field is the value's path.
type keyHandlers map[string]func(v *yaml.Node, field string)

// yamlPair is one key of a mapping.
type yamlPair struct {
	key  string
	k, v *yaml.Node
}

// fail records a decoding problem of the value n and marks field bad.
func (d *configDecoder) fail(n *yaml.Node, field string, err error) {
	d.l.bad[fieldPos{d.file, field}] = true
	ce := &ConfigError{File: d.file, Field: field, Line: n.Line, Err: err}
	if r := resolveAlias(n); r.Kind == yaml.ScalarNode {
		ce.Value = r.Value
	}
	d.l.errs = append(d.l.errs, ce)
}

// failKey records a problem of the key k of field. The field is not
// marked bad: a duplicate's first definition still gets checked.
func (d *configDecoder) failKey(k *yaml.Node, field string, err error) {
	d.l.errs = append(d.l.errs, &ConfigError{File: d.file, Field: field, Line: k.Line, Err: err})
}

// spend counts n nodes against the load's budget; false once spent.
func (d *configDecoder) spend(n *yaml.Node, field string, count int) bool {
	if d.l.budget > maxConfigNodes {
		return false
	}
	d.l.budget += count
	if d.l.budget > maxConfigNodes {
		d.fail(n, field, fmt.Errorf("too many nodes (over %d with aliases expanded)", maxConfigNodes))
		return false
	}
	return true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNullNode(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func fieldJoin(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func fieldIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// pairs returns the keys of mapping n in file order, after merging `<<`
// keys (explicit keys win). A duplicate key is an error.
func (d *configDecoder) pairs(n *yaml.Node, field string) []yamlPair {
	n = resolveAlias(n)
	if isNullNode(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if field == "" {
			d.fail(n, field, errors.New("a config file is a YAML mapping of keys to values"))
		} else {
			d.fail(n, field, errors.New("must be a mapping"))
		}
		return nil
	}
	if !d.spend(n, field, len(n.Content)) {
		return nil
	}
	var out, merged []yamlPair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, field)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.failKey(k, field, errors.New("keys must be strings"))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.failKey(k, fieldJoin(field, k.Value), fmt.Errorf("duplicate key (first on line %d)", first.Line))
			continue
		}
		seen[k.Value] = k
		out = append(out, yamlPair{k.Value, k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = p.k
			out = append(out, p)
		}
	}
	return out
}

// merge returns the pairs a `<<` key brings in: one mapping, or a list of
// mappings where the earlier wins.
func (d *configDecoder) merge(v *yaml.Node, field string) []yamlPair {
	v = resolveAlias(v)
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, field)
	case yaml.SequenceNode:
		var out []yamlPair
		seen := map[string]bool{}
		for _, item := range v.Content {
			if resolveAlias(item).Kind != yaml.MappingNode {
				d.fail(item, field, errors.New("<< takes a mapping or a list of mappings"))
				continue
			}
			for _, p := range d.pairs(item, field) {
				if !seen[p.key] {
					seen[p.key] = true
					out = append(out, p)
				}
			}
		}
		return out
	default:
		d.fail(v, field, errors.New("<< takes a mapping or a list of mappings"))
		return nil
	}
}

// fields decodes mapping n with h; a key h does not know is an error. A
// null value leaves its field unset.
func (d *configDecoder) fields(n *yaml.Node, field string, h keyHandlers) {
	for _, p := range d.pairs(n, field) {
		sub := fieldJoin(field, p.key)
		decode, ok := h[p.key]
		if !ok {
			d.failKey(p.k, sub, unknownKeyError(p.key, h))
			continue
		}
		d.l.nodes[fieldPos{d.file, sub}] = p.v
		if !isNullNode(p.v) {
			decode(p.v, sub)
		}
	}
}

// unknownKeyError says which key was probably meant.
func unknownKeyError(key string, h keyHandlers) error {
	known := make([]string, 0, len(h))
	for k := range h {
		known = append(known, k)
	}
	slices.Sort(known)
	if s := suggest(key, known); s != "" {
		return fmt.Errorf("unknown key; did you mean %q?", s)
	}
	return fmt.Errorf("unknown key; known keys are %s", strings.Join(known, ", "))
}

// suggest returns the option within edit distance 2 of s, or "".
func suggest(s string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if dist := editDistance(strings.ToLower(s), o); dist < bestDist {
			best, bestDist = o, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// seq returns the items of sequence n, each recorded at field[i].
func (d *configDecoder) seq(n *yaml.Node, field string) []*yaml.Node {
	r := resolveAlias(n)
	if r.Kind != yaml.SequenceNode {
		d.fail(n, field, errors.New("must be a list"))
		return nil
	}
	if !d.spend(n, field, len(r.Content)) {
		return nil
	}
	for i, item := range r.Content {
		d.l.nodes[fieldPos{d.file, fieldIndex(field, i)}] = item
	}
	return r.Content
}

// scalar returns the text of scalar n, with ${VAR} expanded in strings.
func (d *configDecoder) scalar(n *yaml.Node, field, want string) (string, bool) {
	r := resolveAlias(n)
	if r.Kind != yaml.ScalarNode {
		d.fail(n, field, errors.New("must be "+want))
		return "", false
	}
	if r.ShortTag() != "!!str" {
		return r.Value, true
	}
	s, err := d.l.expand(r.Value)
	if err != nil {
		d.fail(n, field, err)
		return "", false
	}
	return s, true
}

func (d *configDecoder) str(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if s, ok := d.scalar(n, field, "a string"); ok {
			*dst = s
		}
	}
}

func (d *configDecoder) strs(dst *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		items := d.seq(n, field)
		out := make([]string, 0, len(items))
		for i, item := range items {
			if s, ok := d.scalar(item, fieldIndex(field, i), "a string"); ok {
				out = append(out, s)
			}
		}
		*dst = out
	}
}

func (d *configDecoder) parseBool(n *yaml.Node, field string) (bool, bool) {
	s, ok := d.scalar(n, field, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.fail(n, field, errors.New("must be true or false"))
	return false, false
}

func (d *configDecoder) boolean(dst *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if b, ok := d.parseBool(n, field); ok {
			*dst = b
		}
	}
}

func (d *configDecoder) boolPtr(dst **bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if b, ok := d.parseBool(n, field); ok {
			*dst = &b
		}
	}
}

func (d *configDecoder) parseInt(n *yaml.Node, field string, bits int) (int64, bool) {
	s, ok := d.scalar(n, field, "an integer")
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		d.fail(n, field, errors.New("must be an integer"))
		return 0, false
	}
	return i, true
}

func (d *configDecoder) integer(dst *int) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if i, ok := d.parseInt(n, field, 32); ok {
			*dst = int(i)
		}
	}
}

func (d *configDecoder) integer64(dst *int64) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if i, ok := d.parseInt(n, field, 64); ok {
			*dst = i
		}
	}
}

func (d *configDecoder) floatPtr(dst **float64) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		s, ok := d.scalar(n, field, "a number")
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.fail(n, field, errors.New("must be a number"))
			return
		}
		*dst = &f
	}
}

func (d *configDecoder) duration(dst *Duration) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		s, ok := d.scalar(n, field, "a duration")
		if !ok {
			return
		}
		v, err := ParseDuration(s)
		if err != nil {
			d.fail(n, field, errors.New("must be a duration like 30s, 5m, 1h30m or 90d"))
			return
		}
		*dst = v
	}
}

// config decodes the top level of the config file into cfg.
func (d *configDecoder) config(n *yaml.Node, cfg *Config) {
	d.l.nodes[fieldPos{d.file, ""}] = n
	d.fields(n, "", keyHandlers{
		"version": d.integer(&cfg.Version),
		"listen":  d.str(&cfg.Listen),
		"http": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"allowed_origins":   d.strs(&cfg.HTTP.AllowedOrigins),
				"max_request_bytes": d.integer64(&cfg.HTTP.MaxRequestBytes),
			})
		},
		"audit": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"database":  d.str(&cfg.Audit.Database),
				"arguments": d.str(&cfg.Audit.Arguments),
				"required":  d.boolPtr(&cfg.Audit.Required),
				"retention": d.duration(&cfg.Audit.Retention),
			})
		},
		"approval": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{"timeout": d.duration(&cfg.Approval.Timeout)})
		},
		"judge": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"provider":    d.str(&cfg.Judge.Provider),
				"model":       d.str(&cfg.Judge.Model),
				"base_url":    d.str(&cfg.Judge.BaseURL),
				"api_key_env": d.str(&cfg.Judge.APIKeyEnv),
				"timeout":     d.duration(&cfg.Judge.Timeout),
				"cache_ttl":   d.duration(&cfg.Judge.CacheTTL),
			})
		},
		"strict":         d.boolean(&cfg.Strict),
		"include":        d.strs(&cfg.Include),
		"policies":       func(n *yaml.Node, field string) { cfg.Policies = d.policies(n, field) },
		"workspaces_dir": d.str(&cfg.WorkspacesDir),
		"workspaces": func(n *yaml.Node, field string) {
			for _, p := range d.pairs(n, field) {
				sub := fieldJoin(field, p.key)
				d.l.nodes[fieldPos{d.file, sub}] = p.k
				cfg.Workspaces = append(cfg.Workspaces, d.workspace(p.key, p.v, sub))
			}
		},
	})
}

// workspace decodes one workspace: an entry under workspaces: or the
// whole of a workspaces_dir file.
func (d *configDecoder) workspace(name string, n *yaml.Node, field string) WorkspaceConfig {
	w := WorkspaceConfig{Name: name, File: d.abs}
	d.fields(n, field, keyHandlers{
		"strict": d.boolPtr(&w.Strict),
		"upstreams": func(n *yaml.Node, field string) {
			for i, item := range d.seq(n, field) {
				w.Upstreams = append(w.Upstreams, d.upstream(item, fieldIndex(field, i)))
			}
		},
		"policies": func(n *yaml.Node, field string) { w.Policies = d.policies(n, field) },
	})
	return w
}

func (d *configDecoder) upstream(n *yaml.Node, field string) UpstreamConfig {
	var u UpstreamConfig
	if isNullNode(n) {
		d.fail(n, field, errors.New("empty upstream"))
		return u
	}
	d.fields(n, field, keyHandlers{
		"name":      d.str(&u.Name),
		"command":   d.str(&u.Command),
		"args":      d.strs(&u.Args),
		"env":       d.strs(&u.Env),
		"dir":       d.str(&u.Dir),
		"url":       d.str(&u.URL),
		"transport": d.str(&u.Transport),
		"headers":   d.strs(&u.Headers),
		"prefix":    d.boolPtr(&u.Prefix),
		"timeout":   d.duration(&u.Timeout),
		"protocol":  d.str(&u.Protocol),
	})
	return u
}

func (d *configDecoder) policies(n *yaml.Node, field string) []PolicyConfig {
	items := d.seq(n, field)
	out := make([]PolicyConfig, 0, len(items))
	for i, item := range items {
		out = append(out, d.policy(item, fieldIndex(field, i)))
	}
	return out
}

func (d *configDecoder) policy(n *yaml.Node, field string) PolicyConfig {
	p := PolicyConfig{File: d.abs, Line: n.Line}
	if isNullNode(n) {
		d.fail(n, field, errors.New("empty policy"))
		return p
	}
	d.fields(n, field, keyHandlers{
		"name":        d.str(&p.Name),
		"description": d.str(&p.Description),
		"enabled":     d.boolPtr(&p.Enabled),
		"strict":      d.boolPtr(&p.Strict),
		"priority":    d.integer(&p.Priority),
		"rules":       d.str(&p.Rules),
		"action":      d.str(&p.Action),
		"tools":       d.strs(&p.Tools),
		"upstreams":   d.strs(&p.Upstreams),
		"when":        func(n *yaml.Node, field string) { p.When = d.when(n, field) },
		"rate_limit": func(n *yaml.Node, field string) {
			rl := &RateLimitConfig{Key: defaultRateLimitKey}
			d.fields(n, field, keyHandlers{
				"requests": d.integer(&rl.Requests),
				"per":      d.duration(&rl.Per),
				"key":      d.str(&rl.Key),
			})
			p.RateLimit = rl
		},
		"message": d.str(&p.Message),
	})
	return p
}

func (d *configDecoder) when(n *yaml.Node, field string) *WhenConfig {
	w := &WhenConfig{}
	d.fields(n, field, keyHandlers{
		"args": func(n *yaml.Node, field string) {
			switch resolveAlias(n).Kind {
			case yaml.ScalarNode:
				if s, ok := d.scalar(n, field, "a regex"); ok {
					w.Args = s
				}
			case yaml.MappingNode:
				m := map[string]string{}
				for _, p := range d.pairs(n, field) {
					sub := fieldJoin(field, p.key)
					d.l.nodes[fieldPos{d.file, sub}] = p.v
					if s, ok := d.scalar(p.v, sub, "a regex"); ok {
						m[p.key] = s
					}
				}
				w.Args = m
			default:
				d.fail(n, field, errors.New("must be a regex or a mapping of argument field to regex"))
			}
		},
		"keywords": d.strs(&w.Keywords),
		"threats":  d.strs(&w.Threats),
		"risk_min": d.floatPtr(&w.RiskMin),
		"risk_max": d.floatPtr(&w.RiskMax),
		"users":    d.strs(&w.Users),
		"clients":  d.strs(&w.Clients),
		"time": func(n *yaml.Node, field string) {
			t := &TimeWindowConfig{}
			d.fields(n, field, keyHandlers{
				"days": d.strs(&t.Days),
				"from": d.str(&t.From),
				"to":   d.str(&t.To),
				"tz":   d.str(&t.TZ),
			})
			w.Time = t
		},
	})
	return w
}

// validate checks the decoded config against the rules that span fields,
// files and workspaces.
func (l *configLoader) validate(cfg *Config) {
	l.validateTop(cfg)
	all := map[string]bool{} // upstream names of every workspace
	for i := range cfg.Workspaces {
		for _, u := range cfg.Workspaces[i].Upstreams {
			all[u.Name] = true
		}
	}
	l.validatePolicies(l.mainFile, "policies", cfg.Policies, all, "any workspace")
	for i := range cfg.Workspaces {
		l.validateWorkspace(&cfg.Workspaces[i])
	}
	if len(cfg.Workspaces) == 0 {
		l.report(l.mainFile, "workspaces", "", errors.New("at least one workspace is required (under workspaces: or in workspaces_dir)"))
	}
}

func (l *configLoader) validateTop(cfg *Config) {
	f := l.mainFile
	if cfg.Version != defaultVersion {
		l.report(f, "version", strconv.Itoa(cfg.Version), fmt.Errorf("unsupported version; this gatehouse reads version %d", defaultVersion))
	}
	if err := checkListen(cfg.Listen); err != nil {
		l.report(f, "listen", cfg.Listen, err)
	}
	for i, o := range cfg.HTTP.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			l.report(f, fieldIndex("http.allowed_origins", i), o, err)
		}
	}
	if cfg.HTTP.MaxRequestBytes <= 0 {
		l.report(f, "http.max_request_bytes", strconv.FormatInt(cfg.HTTP.MaxRequestBytes, 10), errors.New("must be positive"))
	}
	if cfg.Audit.Database == "" {
		l.report(f, "audit.database", "", errors.New("must not be empty"))
	}
	l.checkEnum(f, "audit.arguments", cfg.Audit.Arguments, auditArgumentModes)
	l.checkPositive(f, "audit.retention", cfg.Audit.Retention)
	l.checkPositive(f, "approval.timeout", cfg.Approval.Timeout)
	l.validateJudge(f, &cfg.Judge)
	seen := map[string]bool{}
	for i, name := range cfg.Include {
		field := fieldIndex("include", i)
		switch {
		case !slices.Contains(knownTemplates, name):
			err := fmt.Errorf("unknown policy template; known templates are %s", strings.Join(knownTemplates, ", "))
			if s := suggest(name, knownTemplates); s != "" {
				err = fmt.Errorf("unknown policy template; did you mean %q?", s)
			}
			l.report(f, field, name, err)
		case seen[name]:
			l.report(f, field, name, errors.New("included twice"))
		}
		seen[name] = true
	}
}

func (l *configLoader) validateJudge(f string, j *JudgeConfig) {
	if j.Provider != "" {
		l.checkEnum(f, "judge.provider", j.Provider, judgeProviders)
		if j.Model == "" {
			l.report(f, "judge.model", "", errors.New("required when judge.provider is set"))
		}
	}
	if j.BaseURL != "" {
		if err := checkHTTPURL(j.BaseURL); err != nil {
			l.report(f, "judge.base_url", j.BaseURL, err)
		}
	}
	if j.APIKeyEnv != "" && !envNameRE.MatchString(j.APIKeyEnv) {
		l.report(f, "judge.api_key_env", j.APIKeyEnv, errors.New("must be the NAME of an environment variable, not the key"))
	}
	l.checkPositive(f, "judge.timeout", j.Timeout)
	l.checkPositive(f, "judge.cache_ttl", j.CacheTTL)
}

func (l *configLoader) validateWorkspace(w *WorkspaceConfig) {
	file := l.display[w.File]
	field := "workspaces." + w.Name
	if err := checkName(w.Name); err != nil {
		l.report(file, field, w.Name, err)
	}
	names := map[string]int{}
	for i, u := range w.Upstreams {
		uf := fieldIndex(field+".upstreams", i)
		l.validateUpstream(file, uf, &u)
		if first, dup := names[u.Name]; dup && u.Name != "" {
			l.report(file, uf+".name", u.Name, fmt.Errorf("duplicate upstream name (also %s.upstreams[%d])", field, first))
		} else if !dup {
			names[u.Name] = i
		}
	}
	mine := map[string]bool{}
	for _, u := range w.Upstreams {
		mine[u.Name] = true
	}
	l.validatePolicies(file, field+".policies", w.Policies, mine, "workspace "+strconv.Quote(w.Name))
}

func (l *configLoader) validateUpstream(file, field string, u *UpstreamConfig) {
	if u.Name == "" && !l.present(file, field+".name") {
		l.report(file, field, "", errors.New("name is required"))
	} else if err := checkName(u.Name); err != nil {
		l.report(file, field+".name", u.Name, err)
	} else if strings.Contains(u.Name, "__") {
		l.report(file, field+".name", u.Name, errors.New(`must not contain "__" (it separates upstream and tool in exposed names)`))
	}
	hasCommand := u.Command != "" || l.present(file, field+".command")
	hasURL := u.URL != "" || l.present(file, field+".url")
	only := func(key, kind string) {
		if l.present(file, field+"."+key) {
			l.report(file, field+"."+key, "", fmt.Errorf("only for %s upstreams", kind))
		}
	}
	if u.Protocol != "" || l.present(file, field+".protocol") {
		l.checkEnum(file, field+".protocol", u.Protocol, upstreamProtocols)
	}
	switch {
	case hasCommand && hasURL:
		l.report(file, field+".url", "", errors.New("an upstream has a command or a url, not both"))
	case !hasCommand && !hasURL:
		l.report(file, field, "", errors.New("needs a command (stdio) or a url (http)"))
	case hasCommand:
		if strings.TrimSpace(u.Command) == "" {
			l.report(file, field+".command", u.Command, errors.New("must not be empty"))
		}
		only("transport", "url")
		only("headers", "url")
		if l.present(file, field+".dir") {
			if info, err := os.Stat(u.Dir); err != nil || !info.IsDir() {
				l.report(file, field+".dir", u.Dir, errors.New("not an existing directory"))
			}
		}
	default:
		if err := checkHTTPURL(u.URL); err != nil {
			l.report(file, field+".url", u.URL, err)
		}
		if u.Transport != "" || l.present(file, field+".transport") {
			l.checkEnum(file, field+".transport", u.Transport, upstreamTransports)
		}
		only("args", "command")
		only("env", "command")
		only("dir", "command")
	}
	envNames := map[string]bool{}
	for i, e := range u.Env {
		name, _, err := checkEnvEntry(e)
		if err != nil {
			l.report(file, fieldIndex(field+".env", i), e, err)
		} else if envNames[name] {
			l.report(file, fieldIndex(field+".env", i), e, fmt.Errorf("%s is set twice", name))
		}
		envNames[name] = true
	}
	for i, h := range u.Headers {
		if err := checkHeader(h); err != nil {
			l.report(file, fieldIndex(field+".headers", i), h, err)
		}
	}
	if l.present(file, field+".timeout") {
		l.checkPositive(file, field+".timeout", u.Timeout)
	}
}

// validatePolicies checks the policies of one scope; upstreams are the
// upstream names a policy of the scope may name (where says which).
func (l *configLoader) validatePolicies(file, field string, ps []PolicyConfig, upstreams map[string]bool, where string) {
	names := map[string]int{}
	for i := range ps {
		pf := fieldIndex(field, i)
		p := &ps[i]
		l.validatePolicy(file, pf, p)
		if first, dup := names[p.Name]; dup && p.Name != "" {
			l.report(file, pf+".name", p.Name, fmt.Errorf("duplicate policy name in this scope (also %s[%d])", field, first))
		} else if !dup {
			names[p.Name] = i
		}
		for j, u := range p.Upstreams {
			if checkName(u) == nil && !upstreams[u] {
				l.report(file, fieldIndex(pf+".upstreams", j), u, fmt.Errorf("no upstream of %s has this name", where))
			}
		}
	}
}

func (l *configLoader) validatePolicy(file, field string, p *PolicyConfig) {
	if p.Name == "" && !l.present(file, field+".name") {
		l.report(file, field, "", errors.New("name is required"))
	} else if err := checkName(p.Name); err != nil {
		l.report(file, field+".name", p.Name, err)
	}
	hasRules := p.Rules != "" || l.present(file, field+".rules")
	hasAction := p.Action != "" || l.present(file, field+".action")
	switch {
	case hasRules && hasAction:
		l.report(file, field, "", errors.New("has both rules and action; a policy is plain-English (rules) or deterministic (action), not both"))
	case !hasRules && !hasAction:
		l.report(file, field, "", errors.New("needs rules (plain English, judged by the LLM) or an action"))
	case hasRules:
		if strings.TrimSpace(p.Rules) == "" {
			l.report(file, field+".rules", "", errors.New("must not be empty"))
		}
		if p.When != nil {
			l.report(file, field+".when", "", errors.New("only with action; a rules policy is judged by the LLM"))
		}
	default:
		l.checkEnum(file, field+".action", p.Action, policyActions)
	}
	switch {
	case p.Action == "rate_limit" && p.RateLimit == nil:
		l.report(file, field+".action", p.Action, errors.New("needs a rate_limit section {requests, per, key}"))
	case p.RateLimit != nil && p.Action != "rate_limit":
		l.report(file, field+".rate_limit", "", errors.New("only with action: rate_limit"))
	case p.RateLimit != nil:
		rf := field + ".rate_limit"
		if p.RateLimit.Requests <= 0 {
			l.report(file, rf+".requests", strconv.Itoa(p.RateLimit.Requests), errors.New("must be positive"))
		}
		l.checkPositive(file, rf+".per", p.RateLimit.Per)
		l.checkEnum(file, rf+".key", p.RateLimit.Key, rateLimitKeys)
	}
	if p.Action == "redact" && (p.When == nil || (p.When.Args == nil && len(p.When.Threats) == 0)) {
		l.report(file, field+".action", p.Action, errors.New("redact needs when.args or when.threats to say what to redact"))
	}
	for i, t := range p.Tools {
		if err := checkGlob(t); err != nil {
			l.report(file, fieldIndex(field+".tools", i), t, err)
		}
	}
	for i, u := range p.Upstreams {
		if err := checkName(u); err != nil {
			l.report(file, fieldIndex(field+".upstreams", i), u, err)
		}
	}
	if p.When != nil {
		l.validateWhen(file, field+".when", p.When)
	}
}

func (l *configLoader) validateWhen(file, field string, w *WhenConfig) {
	switch args := w.Args.(type) {
	case string:
		if err := checkRegex(args); err != nil {
			l.report(file, field+".args", args, err)
		}
	case map[string]string:
		keys := make([]string, 0, len(args))
		for k := range args {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			af := fieldJoin(field+".args", k)
			if k == "" {
				l.report(file, af, "", errors.New("argument field name must not be empty"))
			}
			if err := checkRegex(args[k]); err != nil {
				l.report(file, af, args[k], err)
			}
		}
	}
	for i, k := range w.Keywords {
		if strings.TrimSpace(k) == "" {
			l.report(file, fieldIndex(field+".keywords", i), k, errors.New("must not be empty"))
		}
	}
	for i, t := range w.Threats {
		l.checkEnum(file, fieldIndex(field+".threats", i), t, threatNames)
	}
	inRange := func(key string, r *float64) bool {
		if r != nil && !(*r >= 0 && *r <= 1) {
			l.report(file, field+"."+key, strconv.FormatFloat(*r, 'g', -1, 64), errors.New("must be between 0 and 1"))
			return false
		}
		return true
	}
	minOK, maxOK := inRange("risk_min", w.RiskMin), inRange("risk_max", w.RiskMax)
	if minOK && maxOK && w.RiskMin != nil && w.RiskMax != nil && *w.RiskMin > *w.RiskMax {
		l.report(file, field+".risk_max", "", errors.New("must not be below risk_min"))
	}
	for _, c := range []struct {
		key   string
		globs []string
	}{{"users", w.Users}, {"clients", w.Clients}} {
		for i, g := range c.globs {
			if err := checkGlob(g); err != nil {
				l.report(file, fieldIndex(field+"."+c.key, i), g, err)
			}
		}
	}
	if w.Time != nil {
		l.validateTimeWindow(file, field+".time", w.Time)
	}
}

func (l *configLoader) validateTimeWindow(file, field string, t *TimeWindowConfig) {
	for i, day := range t.Days {
		if norm, ok := normalizeDay(day); ok {
			t.Days[i] = norm
		} else {
			l.report(file, fieldIndex(field+".days", i), day, errors.New("must be a day of the week: mon, tue, wed, thu, fri, sat or sun"))
		}
	}
	for _, c := range []struct{ key, v string }{{"from", t.From}, {"to", t.To}} {
		if c.v != "" && !clockRE.MatchString(c.v) {
			l.report(file, field+"."+c.key, c.v, errors.New("must be HH:MM, 24-hour"))
		}
	}
	switch {
	case (t.From == "") != (t.To == ""):
		l.report(file, field, "", errors.New("from and to go together"))
	case t.From != "" && t.From == t.To:
		l.report(file, field+".to", t.To, errors.New("must differ from from"))
	case len(t.Days) == 0 && t.From == "":
		l.report(file, field, "", errors.New("needs days, or from and to"))
	}
	if t.TZ != "" {
		if _, err := time.LoadLocation(t.TZ); err != nil {
			l.report(file, field+".tz", t.TZ, errors.New("unknown time zone"))
		}
	}
}

// normalizeDay maps mon, Monday, MON… to mon.
func normalizeDay(s string) (string, bool) {
	s = strings.ToLower(s)
	for i, d := range weekdays {
		if s == d || s == strings.ToLower(time.Weekday(i).String()) {
			return d, true
		}
	}
	return "", false
}

// checkEnum reports value unless it is one of allowed.
func (l *configLoader) checkEnum(file, field, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		l.report(file, field, value, fmt.Errorf("must be one of %s", strings.Join(allowed, ", ")))
	}
}

func (l *configLoader) checkPositive(file, field string, d Duration) {
	if d <= 0 {
		l.report(file, field, d.String(), errors.New("must be a positive duration"))
	}
}

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return errors.New("invalid name: use 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}

func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("scheme must be http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("URL has no host")
	}
	return nil
}

func checkOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("must be an origin: scheme://host[:port]")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("an origin has no user, path, query or fragment")
	}
	return nil
}

// checkEnvEntry checks a NAME=VALUE entry and returns the name.
func checkEnvEntry(e string) (string, string, error) {
	name, value, ok := strings.Cut(e, "=")
	if !ok {
		return "", "", errors.New("must be NAME=VALUE")
	}
	if !envNameRE.MatchString(name) {
		return "", "", fmt.Errorf("invalid variable name %q", name)
	}
	if strings.ContainsRune(value, 0) {
		return "", "", errors.New("value contains a NUL byte")
	}
	return name, value, nil
}

// checkHeader checks a Name=Value header entry.
func checkHeader(h string) error {
	name, value, ok := strings.Cut(h, "=")
	if !ok {
		return errors.New("must be Name=Value")
	}
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		return fmt.Errorf("invalid header name %q", name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return errors.New("header value contains a line break or NUL")
	}
	return nil
}

// isTokenChar reports whether r may appear in an HTTP header name (RFC 9110 token).
func isTokenChar(r rune) bool {
	return r < 0x7f && r > 0x20 && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
}

func checkRegex(s string) error {
	if s == "" {
		return errors.New("empty regex matches everything")
	}
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Errorf("invalid regex: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return nil
}

func checkGlob(s string) error {
	if s == "" {
		return errors.New("empty glob")
	}
	if _, err := glob.Compile(s); err != nil {
		return fmt.Errorf("invalid glob: %v", err)
	}
	return nil
}
