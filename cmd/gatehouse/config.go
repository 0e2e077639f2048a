package main

// This file and config_load.go, config_decode.go, config_validate.go are
// the config loader: it reads gatehouse.yaml and the files of
// its workspaces_dir into a Config, in three steps — decode (strict: every
// key known, every value of the right type, ${VAR} expanded), resolve
// (relative paths against the config file's directory) and validate (every
// rule of DESIGN §3 and §4 that can be checked without connecting anywhere).
// Every step keeps going after a problem, so one run reports them all.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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
	defaultApprovalLife    = Duration(time.Hour)
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
	// ScanOutput scans tool results for secrets and redacts them; the
	// default of every workspace.
	ScanOutput bool
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
	// Lifetime is how long an out-of-band request waits for a decision,
	// and how long an approval granted then waits for the call's retry.
	Lifetime Duration
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
	Strict *bool
	// ScanOutput overrides Config.ScanOutput; nil means unset.
	ScanOutput *bool
	Upstreams  []UpstreamConfig
	Policies   []PolicyConfig
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
	// Approvers may approve the calls the policy holds, out of band;
	// empty means anyone but the caller.
	Approvers []string
	// InClient is nil when unset (the person at the client may approve).
	InClient *bool
	// File and Line say where the policy is defined: File is absolute, or
	// "template:NAME" for a policy of an included template.
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
		Approval: ApprovalConfig{Timeout: defaultApprovalTimeout, Lifetime: defaultApprovalLife},
		Judge:    JudgeConfig{Timeout: defaultJudgeTimeout, CacheTTL: defaultJudgeCacheTTL},
		Strict:   defaultStrict,
	}
}
