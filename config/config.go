// Package config reads gatehouse.yaml (DESIGN §3) into a typed, valid
// Config: strict decoding of tagged structs from YAML nodes (every key
// known, every value of the right type, ${VAR} expanded), relative paths
// resolved against the config file, the files of workspaces_dir and the
// built-in policy templates added, and every problem reported at once as
// file:line: field: message. The policies themselves are validated by
// package policy, whose errors are pointed back at the lines that wrote
// them. It reads files only: no flags, no environment but ${VAR}, no
// network.
package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// ErrNotFound is returned, wrapped, when the config file does not exist.
// An invalid file yields Errors instead.
var ErrNotFound = errors.New("config file not found")

// The defaults of the config file, applied by defaults.
const (
	defaultVersion         = 1
	defaultListen          = "127.0.0.1:8080"
	defaultMaxRequestBytes = 4 << 20
	defaultBodyTimeout     = Duration(30 * time.Second)
	defaultMaxSessions     = 1000
	defaultSessionIdle     = Duration(30 * time.Minute)
	defaultSessionQueue    = 32
	// maxSessionQueue is the most a session's queue may hold: mcp-go's
	// own queue of a session holds 100 notifications.
	maxSessionQueue         = 100
	defaultStdioMaxRequest  = defaultMaxRequestBytes // as over HTTP
	defaultMaxPending       = 100
	defaultAuditDatabase    = "gatehouse.db"
	defaultAuditArguments   = "masked"
	defaultAuditRetention   = Duration(90 * 24 * time.Hour)
	defaultApprovalTimeout  = Duration(2 * time.Minute)
	defaultApprovalLife     = Duration(time.Hour)
	defaultJudgeTimeout     = Duration(5 * time.Second)
	defaultJudgeCacheTTL    = Duration(10 * time.Minute)
	defaultMaxCallsInFlight = 1024
	// The judge's context limit in tokens, its default and its bounds: a
	// request with a few policies needs 4096; no model takes more than
	// about two million.
	defaultJudgeMaxContext = 32768
	minJudgeMaxContext     = 4096
	maxJudgeMaxContext     = 2 << 20
	defaultStrict          = true
	defaultRateLimitKey    = "user"
	defaultReload          = ReloadWatch
)

// Config is a loaded, valid gatehouse.yaml (DESIGN §3). Paths in it are
// absolute.
type Config struct {
	// File is the absolute path of the file loaded.
	File string `yaml:"-"`
	// Warnings are what the loader let pass but a person should know:
	// an upstream's env entry or header whose ${VAR} is not set (the
	// upstream is reached without it). check prints them and serve logs
	// them.
	Warnings []string `yaml:"-"`
	Version  int      `yaml:"version"`
	// Listen is the address of `serve --http` when none is given.
	Listen   string   `yaml:"listen"`
	HTTP     HTTP     `yaml:"http"`
	Stdio    Stdio    `yaml:"stdio"`
	Audit    Audit    `yaml:"audit"`
	Approval Approval `yaml:"approval"`
	Judge    Judge    `yaml:"judge"`
	Limits   Limits   `yaml:"limits"`
	// Strict is the default of every policy: fail closed when a policy
	// cannot be decided.
	Strict bool `yaml:"strict"`
	// ScanOutput scans tool results for secrets and redacts them; the
	// default of every workspace.
	ScanOutput bool `yaml:"scan_output"`
	// Include names built-in policy templates added to the global policies.
	Include []string `yaml:"include"`
	// Policies are the global policies: the file's own in file order, then
	// those of the included templates in include order.
	Policies []Policy `yaml:"policies" item:"policy"`
	// Reload says what reloads the config while the gateway runs: watch
	// (a change to its files, or SIGHUP) or signal (SIGHUP only).
	Reload string `yaml:"reload"`
	// WorkspacesDir is the absolute path of workspaces_dir, or "" if unset.
	WorkspacesDir string `yaml:"workspaces_dir"`
	// Workspaces are the inline workspaces in file order (a mapping of
	// name to workspace in the file), then those of WorkspacesDir sorted
	// by file name.
	Workspaces []Workspace `yaml:"workspaces,keyed"`
}

// The values of reload.
const (
	// ReloadWatch reloads when the config file or a workspaces_dir file
	// changes, and on SIGHUP.
	ReloadWatch = "watch"
	// ReloadSignal reloads on SIGHUP only: no file watcher runs.
	ReloadSignal = "signal"
)

// HTTP is the `http:` section: limits of the streamable HTTP face.
type HTTP struct {
	// AllowedOrigins are the Origin values accepted besides loopback ones,
	// each scheme://host[:port].
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxRequestBytes bounds a request body.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// BodyTimeout bounds how long a client may take to send a request
	// body.
	BodyTimeout Duration `yaml:"body_timeout"`
	// MaxSessions bounds the live sessions (protocol 2025-11-25) of each
	// workspace; an initialize beyond it is refused.
	MaxSessions int `yaml:"max_sessions"`
	// SessionIdleTimeout ends a session that has had no request and no
	// message on its streams for that long.
	SessionIdleTimeout Duration `yaml:"session_idle_timeout"`
	// SessionQueue bounds the notifications waiting for one session's
	// streams; beyond it they are dropped.
	SessionQueue int `yaml:"session_queue"`
}

// Stdio is the `stdio:` section: limits of the stdio face.
type Stdio struct {
	// MaxRequestBytes bounds a request line.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
}

// Limits is the `limits:` section: bounds on what one client can make the
// gateway hold.
type Limits struct {
	// MaxCallsInFlight bounds the calls one session has running or held
	// (by the judge, a person, an upstream) at once; a call beyond it is
	// refused at once.
	MaxCallsInFlight int `yaml:"max_calls_in_flight"`
}

// Audit is the `audit:` section: the verdict log.
type Audit struct {
	// Database is the absolute path of the SQLite file.
	Database string `yaml:"database"`
	// Arguments is what the log keeps of a call's arguments: masked, hash
	// or none.
	Arguments string `yaml:"arguments"`
	// Required refuses calls that cannot be recorded. Nil means unset.
	Required *bool `yaml:"required"`
	// Retention is how long verdicts are kept.
	Retention Duration `yaml:"retention"`
}

// Approval is the `approval:` section.
type Approval struct {
	// Lifetime is how long an out-of-band request waits for a decision,
	// and how long an approval granted then waits for the call's retry.
	Lifetime Duration `yaml:"lifetime"`
	// Timeout is how long a person has to answer an approval request.
	Timeout Duration `yaml:"timeout"`
	// MaxPendingPerUser bounds the out-of-band requests pending for one
	// user in one workspace; a call beyond it is refused.
	MaxPendingPerUser int `yaml:"max_pending_per_user"`
}

// Judge is the `judge:` section: the LLM that judges plain-English
// policies.
type Judge struct {
	// Provider is openai, anthropic or ollama; "" means no judge.
	Provider string `yaml:"provider"`
	// Model is the provider's model name.
	Model string `yaml:"model"`
	// BaseURL overrides the provider's endpoint (an OpenAI-compatible
	// server, a local ollama).
	BaseURL string `yaml:"base_url"`
	// APIKeyEnv is the name of the environment variable holding the key.
	APIKeyEnv string `yaml:"api_key_env"`
	// Timeout bounds one judgment.
	Timeout Duration `yaml:"timeout"`
	// CacheTTL is how long a judgment is reused.
	CacheTTL Duration `yaml:"cache_ttl"`
	// InternalDomains are the organisation's own domains: "example.com"
	// is that domain only, "*.example.com" any name under it. The judge is
	// told whether each destination in a call's arguments is one.
	InternalDomains []string `yaml:"internal_domains"`
	// MaxContextTokens bounds a request to the model, prompt and answer,
	// in estimated tokens: a longer one is refused unsent (a judge
	// failure of that call), and Ollama is asked for a context window
	// (num_ctx) that holds each request, up to this.
	MaxContextTokens int `yaml:"max_context_tokens"`
	// Confirm asks a second opinion before a strict policy lets an acting
	// call through.
	Confirm JudgeConfirm `yaml:"confirm"`
}

// JudgeConfirm is judge.confirm: `true` asks the judge's own model a
// second time; a mapping names a second model, its fields defaulting to
// the judge's own (base_url and api_key_env only when the provider is
// the same).
type JudgeConfirm struct {
	// Enabled is set by `true` or by a mapping.
	Enabled   bool   `yaml:"-"`
	Provider  string `yaml:"provider"`
	Model     string `yaml:"model"`
	BaseURL   string `yaml:"base_url"`
	APIKeyEnv string `yaml:"api_key_env"`
}

// Workspace is one workspace, defined under `workspaces:` or by a file of
// workspaces_dir.
type Workspace struct {
	// Name is the key under `workspaces:` or the file's name without
	// extension; it keeps its case.
	Name string `yaml:"-"`
	// File is the absolute path of the file that defines the workspace.
	File string `yaml:"-"`
	// Strict overrides Config.Strict for this workspace's policies; nil
	// means unset.
	Strict *bool `yaml:"strict"`
	// ScanOutput overrides Config.ScanOutput; nil means unset.
	ScanOutput *bool `yaml:"scan_output"`
	// Upstreams are the workspace's upstream MCP servers, in file order.
	Upstreams []Upstream `yaml:"upstreams" item:"upstream"`
	// Policies are the workspace's own policies, in file order.
	Policies []Policy `yaml:"policies" item:"policy"`
}

// Upstream is one upstream MCP server of a workspace: a stdio child
// (Command) or an HTTP endpoint (URL), never both.
type Upstream struct {
	Name    string   `yaml:"name"`
	Command string   `yaml:"command"`
	Args    []string `yaml:"args"`
	// Env holds NAME=VALUE entries; the child gets only these plus PATH
	// and HOME.
	Env []string `yaml:"env"`
	// Dir is the child's working directory, absolute; it defaults to the
	// directory of the main config file. Empty for URL upstreams.
	Dir string `yaml:"dir"`
	URL string `yaml:"url"`
	// Transport is "" (streamable HTTP), "http" or "sse"; only with URL.
	Transport string `yaml:"transport"`
	// Headers holds Name=Value entries sent with every HTTP request.
	Headers []string `yaml:"headers"`
	// Prefix exposes names as upstream__name; nil means true.
	Prefix *bool `yaml:"prefix"`
	// Timeout bounds connecting and listing; zero means
	// upstream.DefaultTimeout.
	Timeout Duration `yaml:"timeout"`
	// Protocol is the MCP protocol generation to speak to the upstream:
	// "" or "2025-11-25" (the default), or "2026-07-28".
	Protocol string `yaml:"protocol"`
	// MaxMessageBytes bounds one message from the upstream; zero means
	// upstream.DefaultMaxMessageBytes.
	MaxMessageBytes int `yaml:"max_message_bytes"`
}

// Policy is one policy (DESIGN §4): plain-English (Rules) or
// deterministic (Action), never both. Package policy validates it.
type Policy struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Enabled is nil when unset (enabled).
	Enabled *bool `yaml:"enabled"`
	// Strict is nil when unset (the workspace's, then the top level's).
	Strict   *bool  `yaml:"strict"`
	Priority int    `yaml:"priority"`
	Rules    string `yaml:"rules"`
	Action   string `yaml:"action"`
	// Tools are globs matched against original and exposed tool names.
	Tools []string `yaml:"tools"`
	// Resources are globs matched against the URIs of resources read or
	// subscribed to; Prompts against original and exposed prompt names.
	// A policy with none of tools, resources and prompts covers calls of
	// every kind.
	Resources []string `yaml:"resources"`
	Prompts   []string `yaml:"prompts"`
	Upstreams []string `yaml:"upstreams"`
	// When holds the deterministic conditions; nil means none.
	When *When `yaml:"when"`
	// RateLimit is set exactly when Action is rate_limit.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// Message is shown to the person when the policy blocks.
	Message string `yaml:"message"`
	// Approvers may approve the calls the policy holds, out of band;
	// empty means anyone but the caller.
	Approvers []string `yaml:"approvers"`
	// InClient is nil when unset (the person at the client may approve).
	InClient *bool `yaml:"in_client"`
	// File and Line say where the policy is defined: File is absolute, or
	// "template:NAME" for a policy of an included template.
	File string `yaml:"-"`
	Line int    `yaml:"-"`

	// src and at are the file (as named in errors) and the field path of
	// the policy, where its problems are reported.
	src, at string
}

// When holds the conditions of a deterministic policy; all must hold.
type When struct {
	// Args is nil, a string (a regex over the canonical JSON of the
	// arguments) or a map[string]string (argument field → regex).
	Args     any      `yaml:"args"`
	Keywords []string `yaml:"keywords"`
	Threats  []string `yaml:"threats"`
	// RiskMin and RiskMax bound the call's risk score; nil means unset.
	RiskMin *float64 `yaml:"risk_min"`
	RiskMax *float64 `yaml:"risk_max"`
	// Users and Clients are globs.
	Users   []string    `yaml:"users"`
	Clients []string    `yaml:"clients"`
	Time    *TimeWindow `yaml:"time"`
}

// TimeWindow is a weekly time window; it may cross midnight.
type TimeWindow struct {
	// Days are normalised to three lower-case letters: mon … sun.
	Days []string `yaml:"days"`
	// From and To are HH:MM (24-hour); both or neither are set.
	From string `yaml:"from"`
	To   string `yaml:"to"`
	// TZ is an IANA zone name; "" means the gateway's local zone.
	TZ string `yaml:"tz"`
}

// RateLimit is the `rate_limit:` section of a rate_limit policy.
type RateLimit struct {
	Requests int      `yaml:"requests"`
	Per      Duration `yaml:"per"`
	// Key is user, workspace or global (the default is user).
	Key string `yaml:"key"`
}

// Error is one problem of a config file, addressed by file, line and
// field path (e.g. workspaces.dev.upstreams[1].url; indexes count from 0).
type Error struct {
	// File is the file as named by the caller of Load (or joined to
	// workspaces_dir as written, or template:NAME).
	File string
	// Field is the path of the offending key; "" for the file as a whole.
	Field string
	// Value is the value as written in the file, before ${VAR} expansion,
	// so an error never shows a secret taken from the environment.
	Value string
	// Line is 1-based; 0 when the problem has no line (a missing key).
	Line int
	// Err is the problem.
	Err error
}

// Error reads file:line: field: "value": problem, leaving out what is
// unknown.
func (e *Error) Error() string {
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
func (e *Error) Unwrap() error { return e.Err }

// quoteValue quotes v for an error message, shortened when long.
func quoteValue(v string) string {
	const maxRunes = 60
	if r := []rune(v); len(r) > maxRunes {
		return strconv.Quote(string(r[:maxRunes])) + "…"
	}
	return strconv.Quote(v)
}

// Errors are all the problems of a config, sorted by file and line. Load
// returns it (even for a single problem) when a config is invalid;
// errors.As finds an *Error in it.
type Errors []*Error

// Error is every problem, one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns every problem, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// defaults is a Config holding every top-level default; decoding
// overwrites what the file sets.
func defaults() *Config {
	return &Config{
		Version: defaultVersion,
		Listen:  defaultListen,
		HTTP: HTTP{MaxRequestBytes: defaultMaxRequestBytes, BodyTimeout: defaultBodyTimeout,
			MaxSessions: defaultMaxSessions, SessionIdleTimeout: defaultSessionIdle, SessionQueue: defaultSessionQueue},
		Stdio: Stdio{MaxRequestBytes: defaultStdioMaxRequest},
		Audit: Audit{
			Database:  defaultAuditDatabase,
			Arguments: defaultAuditArguments,
			Retention: defaultAuditRetention,
		},
		Approval: Approval{Timeout: defaultApprovalTimeout, Lifetime: defaultApprovalLife, MaxPendingPerUser: defaultMaxPending},
		Judge:    Judge{Timeout: defaultJudgeTimeout, CacheTTL: defaultJudgeCacheTTL, MaxContextTokens: defaultJudgeMaxContext},
		Limits:   Limits{MaxCallsInFlight: defaultMaxCallsInFlight},
		Strict:   defaultStrict,
		Reload:   defaultReload,
	}
}

// setDefaults gives a rate_limit section its default key.
func (r *RateLimit) setDefaults() { r.Key = defaultRateLimitKey }

// Workspace returns the workspace called name (case-sensitive).
func (c *Config) Workspace(name string) (*Workspace, bool) {
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
func upstreamSpec(u Upstream) upstream.Spec {
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

		MaxMessageBytes: u.MaxMessageBytes,
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
