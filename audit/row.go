package audit

import (
	"encoding/json"
	"os"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// row is one verdict record as it is stored: every value final, masked
// where it must be. Rows are made on the caller's goroutine, so that the
// raw arguments never wait in the queue and the writer only inserts.
type row struct {
	ID, Time                       string
	PID                            int
	Workspace, User, Client        string
	Session, Upstream              string
	Tool, Exposed                  string
	Arguments                      *string
	ArgumentsForm                  string
	Decision, Policy, Layer        string
	Reason, Message                string
	Results, Warnings              string
	Redactions, Findings           string
	Risk                           float64
	JudgeAsked                     bool
	JudgeModel, JudgePrompt        string
	JudgeLatencyMS                 *float64
	JudgeCached                    bool
	JudgeError                     string
	FailOpen                       bool
	PolicyVersion                  string
	UpstreamOutcome, UpstreamError string
	UpstreamLatencyMS              *float64
	OverheadMS                     float64
	ApprovalState, ApprovalVia     string
	ApprovalID, ApprovalBy         string
}

// columns are the verdicts columns a row fills, in the order of values.
const columns = baseColumns + `, ` + approvalColumns

// baseColumns are the columns of schema version 1; approvalColumns those
// version 2 added.
const (
	baseColumns = `id, time, pid, workspace, user, client, session, upstream, tool, exposed,
	arguments, arguments_form, decision, policy, layer, reason, message,
	results, warnings, redactions, findings, risk,
	judge_asked, judge_model, judge_prompt_version, judge_latency_ms, judge_cached, judge_error, fail_open,
	policy_version, upstream_outcome, upstream_error, upstream_latency_ms, overhead_ms`
	approvalColumns = `approval_state, approval_via, approval_id, approval_by`
)

const numColumns = 38

func (r *row) values() []any {
	return []any{r.ID, r.Time, r.PID, r.Workspace, r.User, r.Client, r.Session, r.Upstream, r.Tool, r.Exposed,
		r.Arguments, r.ArgumentsForm, r.Decision, r.Policy, r.Layer, r.Reason, r.Message,
		r.Results, r.Warnings, r.Redactions, r.Findings, r.Risk,
		r.JudgeAsked, r.JudgeModel, r.JudgePrompt, r.JudgeLatencyMS, r.JudgeCached, r.JudgeError, r.FailOpen,
		r.PolicyVersion, r.UpstreamOutcome, r.UpstreamError, r.UpstreamLatencyMS, r.OverheadMS,
		r.ApprovalState, r.ApprovalVia, r.ApprovalID, r.ApprovalBy}
}

var pid = os.Getpid()

// Result is what one policy did for a call, as the log keeps it.
type Result struct {
	Policy  string `json:"policy"`
	Layer   string `json:"layer"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	Why     string `json:"why,omitempty"`
	// Analysis is the judge's reasoning, masked as Why is.
	Analysis string `json:"analysis,omitempty"`
}

// Warning is a warn policy that matched.
type Warning struct {
	Policy  string `json:"policy"`
	Message string `json:"message"`
}

// Redaction is one value a redact policy replaced.
type Redaction struct {
	Policy string `json:"policy"`
	Path   string `json:"path"`
	What   string `json:"what"`
}

// Finding is one detector finding in the arguments, masked.
type Finding struct {
	Threat   string  `json:"threat"`
	Kind     string  `json:"kind"`
	Severity float64 `json:"severity"`
	Path     string  `json:"path"`
	Masked   string  `json:"masked"`
}

// newRow turns rec into the row the log keeps, with the arguments in form.
// Every free text that could carry what a client sent (names, paths,
// reasons, error messages) has its detector hits masked: a record never
// holds a secret a detector would find.
func newRow(rec *policy.Record, form string) row {
	v := &rec.Verdict
	m := func(s string) string {
		if s == "" {
			return s
		}
		return policy.MaskText(s)
	}
	r := row{
		ID: rec.ID, Time: formatTime(rec.Time), PID: pid,
		Workspace: rec.Call.Workspace, User: m(rec.Call.User), Client: m(rec.Call.Client), Session: rec.Call.Session,
		Upstream: rec.Call.Upstream, Tool: m(rec.Call.Tool), Exposed: m(rec.Call.Label()),
		Decision: string(v.Decision), Policy: v.Policy, Layer: string(v.Layer),
		Reason: v.Mask(v.Reason), Message: v.Mask(v.Message),
		Risk:       v.Risk,
		JudgeAsked: v.Judge.Asked, JudgeModel: v.Judge.Model, JudgePrompt: v.Judge.PromptVersion, JudgeCached: v.Judge.Cached, FailOpen: v.Judge.FailOpen,
		PolicyVersion: v.Version,
		// The approval part is states, ids and user names: nothing a
		// client sent, nothing to mask.
		ApprovalState: string(rec.Approval.State), ApprovalVia: rec.Approval.Via,
		ApprovalID: rec.Approval.ID, ApprovalBy: rec.Approval.By,
	}
	if r.Decision == "" {
		r.Decision = string(policy.DecisionAllow)
	}
	r.end(rec)
	args, used := policy.AuditArguments(rec.Call.Arguments, v, form)
	r.ArgumentsForm = used
	if used != policy.ArgumentsNone {
		r.Arguments = &args
	}
	if v.Judge.Err != nil {
		r.JudgeError = m(v.Judge.Err.Error())
	}
	if v.Judge.Asked {
		l := ms(v.Judge.Latency)
		r.JudgeLatencyMS = &l
	}

	results := make([]Result, len(v.Results))
	for i, x := range v.Results {
		results[i] = Result{Policy: x.Policy, Layer: string(x.Layer), Kind: x.Kind, Outcome: string(x.Outcome), Why: m(x.Why), Analysis: m(x.Analysis)}
	}
	warnings := make([]Warning, len(v.Warnings))
	for i, w := range v.Warnings {
		warnings[i] = Warning{Policy: w.Policy, Message: v.Mask(w.Message)}
	}
	redactions := make([]Redaction, len(v.Redactions))
	for i, x := range v.Redactions {
		redactions[i] = Redaction{Policy: x.Policy, Path: m(x.Path), What: x.What}
	}
	findings := make([]Finding, len(v.Findings))
	for i, f := range v.Findings {
		findings[i] = Finding{Threat: string(f.Threat), Kind: f.Kind, Severity: f.Severity, Path: m(f.Path), Masked: f.Masked}
	}
	r.Results, r.Warnings, r.Redactions, r.Findings = jsonText(results), jsonText(warnings), jsonText(redactions), jsonText(findings)
	return r
}

// end sets what r says of how the call ended — the upstream's outcome,
// error and latency, and the gateway's overhead — to what rec says: for a
// new row, and for the row of a call's start once the call has ended.
func (r *row) end(rec *policy.Record) {
	r.UpstreamOutcome, r.UpstreamError, r.UpstreamLatencyMS = string(rec.Upstream), "", nil
	if r.UpstreamOutcome == "" {
		r.UpstreamOutcome = string(policy.UpstreamNotRun)
	}
	if rec.UpstreamError != "" {
		r.UpstreamError = policy.MaskText(rec.UpstreamError)
	}
	if rec.Upstream != policy.UpstreamNotRun && rec.Upstream != "" {
		l := ms(rec.UpstreamLatency)
		r.UpstreamLatencyMS = &l
	}
	r.OverheadMS = ms(rec.Overhead)
}

func jsonText[T any](v []T) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "[]" // plain structs of strings and numbers: cannot happen
	}
	return string(b)
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
