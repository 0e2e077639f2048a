// Package policy is Gatehouse's domain core: the policy model, the engine
// that decides every tools/call against the global and workspace policies
// (DESIGN §4), the rate limiter and redaction, and the interfaces of what
// it leans on — the LLM Judge and the verdict Recorder. The detectors are
// package policy/detect; reading a call's arguments is
// policy/internal/jsondoc; the literal screen in front of patterns is
// policy/internal/prefilter.
//
// It imports the standard library, a glob matcher, Unicode normalisation
// and those packages of its own only: no MCP, no HTTP, no other package of
// the module.
package policy

import (
	"fmt"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// Action is what a deterministic policy does when it matches.
type Action string

// The actions of DESIGN §4.
const (
	ActionAllow           Action = "allow"
	ActionBlock           Action = "block"
	ActionRequireApproval Action = "require_approval"
	ActionRateLimit       Action = "rate_limit"
	ActionRedact          Action = "redact"
	ActionWarn            Action = "warn"
)

// Layer says where a policy is defined.
type Layer string

// The two layers of evaluation.
const (
	LayerGlobal    Layer = "global"
	LayerWorkspace Layer = "workspace"
)

// Threat names a detector (DESIGN §4); the detectors are package detect.
type Threat = detect.Threat

// The detectors.
const (
	ThreatSecret          = detect.ThreatSecret
	ThreatPII             = detect.ThreatPII
	ThreatPromptInjection = detect.ThreatPromptInjection
	ThreatShellInjection  = detect.ThreatShellInjection
	ThreatPathTraversal   = detect.ThreatPathTraversal
	ThreatSQLDestructive  = detect.ThreatSQLDestructive
)

// Threats lists every detector, in the order they are documented.
var Threats = detect.Threats

// Finding is one span of a text that a detector matched.
type Finding = detect.Finding

// DetectOnly returns what the detectors of the threats named find in
// text, ordered by Start (see detect.Detect).
func DetectOnly(text string, threats ...Threat) []Finding {
	return detect.DetectOnly(text, threats...)
}

// KeySecrets returns what the secret detector finds in leaves[i] because
// of the key it is the value of ({"password": "hunter2"}; see
// detect.DetectField), over its Text; nothing when it is not a string
// member's value.
func KeySecrets(leaves []Leaf, i int) []Finding {
	return appendFieldFindings(nil, leaves, i, nil)
}

// Policy is one policy as configured: plain-English (Rules) or
// deterministic (Action), never both.
type Policy struct {
	Name        string
	Description string
	// Enabled false keeps the policy visible but it never fires.
	Enabled bool
	// Strict makes the policy fail closed when it cannot be decided (the
	// judge failed). The caller resolves the default (workspace, then top
	// level) before handing the policy over.
	Strict bool
	// Priority orders the deterministic policies of a layer: higher first,
	// ties in definition order.
	Priority int
	// Rules is the plain-English text the judge decides; "" for a
	// deterministic policy.
	Rules string
	// Action is what a deterministic policy does; "" for plain English.
	Action Action
	// Tools are globs matched, case-insensitively, against the upstream's
	// own tool name and the exposed name; either match counts.
	Tools []string
	// Resources are globs matched, case-insensitively, against the URI of
	// a resource read or subscribed to (and the URI template of a resource
	// template's argument completion).
	Resources []string
	// Prompts are globs matched, case-insensitively, against the
	// upstream's own prompt name and the exposed name (prompts/get, and the
	// completion of a prompt's argument).
	Prompts []string
	// The scope of a policy, by kind of call: a tool call is in scope when
	// a glob of Tools matches it, a resource request one of Resources, a
	// prompt request one of Prompts. A policy with none of the three
	// applies to every call of every kind; one with some of them applies
	// to no call of a kind it has no globs for.
	//
	// Upstreams are upstream names, for calls of every kind; empty means
	// every upstream.
	Upstreams []string
	// When holds the conditions of a deterministic policy; all must hold.
	When When
	// RateLimit is set for ActionRateLimit.
	RateLimit *RateLimit
	// Message is what the person reads when the policy blocks; "" means a
	// message built from the policy's name and what matched.
	Message string
	// Approval says who may approve the calls the policy holds for
	// approval (require_approval, or the judge's needs_approval).
	Approval ApprovalRule
	// Source says where the policy is defined, for explanations and
	// errors: "gatehouse.yaml:12" or "template code-assistant".
	Source string
}

// Deterministic reports whether p is decided by its Action rather than by
// the judge.
func (p *Policy) Deterministic() bool { return p.Action != "" }

// When holds the conditions of a deterministic policy. A zero When always
// holds.
type When struct {
	// Args is a regular expression matched against the canonical JSON of
	// the arguments (normalised strings, sorted keys, no spaces); "" means
	// no condition.
	Args string
	// ArgFields maps an argument field (a top-level name, or a dotted path
	// into nested objects) to a regular expression matched against that
	// field's value: the normalised text of a string, the canonical JSON of
	// anything else. A missing field does not match.
	ArgFields map[string]string
	// Keywords hold when any of them occurs, case-insensitively, in the
	// normalised canonical JSON of the arguments.
	Keywords []string
	// Threats hold when any detector named fired.
	Threats []Threat
	// RiskMin and RiskMax bound the call's risk score (0..1); nil is unset.
	RiskMin, RiskMax *float64
	// Users and Clients are globs on the call's user and client name,
	// matched case-insensitively; empty means anyone.
	Users, Clients []string
	// Time is a weekly window the call must fall in; nil means always.
	Time *TimeWindow
}

// TimeWindow is a weekly window. With From and To it is the span from From
// to To on each of Days (every day when Days is empty); a window whose To
// is not after From crosses midnight and belongs to the day it starts on.
// Without From and To it is the whole of each of Days.
type TimeWindow struct {
	Days []time.Weekday
	// From and To are minutes after midnight, 0..1439; both -1 when unset.
	From, To int
	// Location is the zone the window is read in; nil means time.Local.
	Location *time.Location
}

// RateLimitKey says whose calls a rate limit counts together.
type RateLimitKey string

// The rate limit keys.
const (
	KeyUser      RateLimitKey = "user"
	KeyWorkspace RateLimitKey = "workspace"
	KeyGlobal    RateLimitKey = "global"
)

// RateLimit allows Requests calls per Per, counted per Key, over a sliding
// window.
type RateLimit struct {
	Requests int
	Per      time.Duration
	Key      RateLimitKey
}

// Set is every policy of a configuration: the global layer and each
// workspace's own.
type Set struct {
	Global []Policy
	// Workspaces maps a workspace name to its own policies.
	Workspaces map[string][]Policy
}

// Error is a policy that cannot be compiled: a bad glob, regex, or value.
// Layer, Workspace and Index say which policy of the Set it is, so that a
// caller can point at where it wrote it; Field is the key under the
// policy, as written in the config (`when.args`, `tools[1]`; "" for the
// policy as a whole).
type Error struct {
	Layer     Layer
	Workspace string // for LayerWorkspace
	// Index is the policy's position in its layer's list: Set.Global, or
	// Set.Workspaces[Workspace].
	Index  int
	Policy string
	Source string
	Field  string
	Value  string
	Err    error
}

func (e *Error) Error() string {
	where := "global policy"
	if e.Layer == LayerWorkspace {
		where = fmt.Sprintf("workspace %q policy", e.Workspace)
	}
	s := fmt.Sprintf("%s %q", where, e.Policy)
	if e.Source != "" {
		s = e.Source + ": " + s
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Value != "" {
		s += fmt.Sprintf(": %q", e.Value)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying problem.
func (e *Error) Unwrap() error { return e.Err }

// DuplicateNameError is the Err of an *Error whose policy has the name of
// an earlier policy of its layer.
type DuplicateNameError struct {
	// First is the index of the earlier policy in the layer.
	First int
}

// Error says the policy of which index has the name first.
func (e *DuplicateNameError) Error() string {
	return fmt.Sprintf("duplicate policy name in this layer (also policy %d)", e.First)
}

// Validate reports every problem NewEngine would find in set, each as a
// *Error in the joined error, without building an engine.
func Validate(set Set) error {
	_, _, err := compileSet(set)
	return err
}
