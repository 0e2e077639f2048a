package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/oklog/ulid/v2"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// MetaWarnings is the key under which the warnings of warn policies that
// matched a call go in its result's _meta: a list of {policy, message}.
const MetaWarnings = "io.gatehouse/warnings"

// Policies is the Enforcer that decides every call with a policy engine
// (DESIGN §4): a blocked call gets the violation message, a call that needs
// approval a tool error saying so, an allowed one is forwarded with its
// arguments redacted as the policies say and its warnings in _meta. Every
// result carries the verdict id under MetaVerdict, and every call — run or
// not — leaves one record with the Recorder, queued before the client gets
// its answer (DESIGN §5).
type Policies struct {
	// Engine decides the calls.
	Engine *policy.Engine
	// ScanOutput lists the workspaces whose tool results are scanned for
	// secrets, which are replaced by [REDACTED]; nil scans none.
	ScanOutput map[string]bool
	// Recorder keeps the verdict records; nil keeps none.
	Recorder policy.Recorder
	// AuditRequired lists the workspaces whose calls are refused, not run,
	// while the Recorder cannot write its log.
	AuditRequired map[string]bool
	// Logger receives one line per call that is not simply allowed; nil
	// discards.
	Logger *slog.Logger
	// Approvals keeps out-of-band approvals; nil means calls held for
	// approval can only be approved at the client.
	Approvals policy.Approvals
	// ApprovalTimeout bounds the wait for the person at the client;
	// zero means DefaultApprovalTimeout.
	ApprovalTimeout time.Duration
	// ApprovalLifetime is how long an out-of-band request waits for a
	// decision; zero means DefaultApprovalLifetime.
	ApprovalLifetime time.Duration
}

// The defaults of Policies' approval settings.
const (
	DefaultApprovalTimeout  = 2 * time.Minute
	DefaultApprovalLifetime = time.Hour
)

var _ Enforcer = (*Policies)(nil)

// Enforce decides call.
func (p *Policies) Enforce(ctx context.Context, call Call) Verdict {
	received := call.Received
	if received.IsZero() {
		received = time.Now()
	}
	pc := policy.Call{
		Workspace: call.Workspace, Upstream: call.Upstream, Tool: call.Tool, Exposed: call.Exposed,
		Description: call.Description, Arguments: call.Arguments,
		User: call.User, Client: call.Client, Session: call.Session,
	}
	id := NewVerdictID()
	meta := map[string]any{MetaVerdict: id}
	if p.Recorder != nil && p.AuditRequired[call.Workspace] {
		if err := p.Recorder.Err(); err != nil {
			return p.refuseUnrecorded(call, pc, id, meta, received, err)
		}
	}
	v := p.Engine.Evaluate(ctx, pc)
	if len(v.Warnings) > 0 {
		ws := make([]map[string]string, len(v.Warnings))
		for i, w := range v.Warnings {
			ws[i] = map[string]string{"policy": w.Policy, "message": w.Message}
		}
		meta[MetaWarnings] = ws
	}
	p.log(call, id, v)
	rec := policy.Record{ID: id, Time: received, Call: pc, Verdict: v, Upstream: policy.UpstreamNotRun}
	switch v.Decision {
	case policy.DecisionAllow:
		return Verdict{Allow: true, Arguments: v.Arguments, Meta: meta, Done: p.forwarded(call, rec, received)}
	case policy.DecisionRequireApproval:
		return p.hold(ctx, call, pc, v, rec, meta, received)
	default:
		rec.Overhead = time.Since(received)
		p.record(rec)
		return Verdict{Meta: meta, Message: v.Message}
	}
}

// forwarded is the Done of a call that runs: it scans the result when the
// workspace says so, and records how the call ended.
func (p *Policies) forwarded(call Call, rec policy.Record, received time.Time) func(context.Context, CallEnd) {
	scan := p.ScanOutput[call.Workspace]
	return func(_ context.Context, end CallEnd) {
		if scan && end.Result != nil {
			p.scanOutput(call, rec.ID, end.Result)
		}
		rec.Upstream, rec.UpstreamError = upstreamOutcome(end)
		rec.UpstreamLatency = end.Latency
		rec.Overhead = max(0, time.Since(received)-end.Latency)
		p.record(rec)
	}
}

// refuseUnrecorded refuses a call of a workspace that requires the verdict
// log while the log cannot be written. The refusal itself is queued: it is
// written when the log can be again.
func (p *Policies) refuseUnrecorded(call Call, pc policy.Call, id string, meta map[string]any, received time.Time, err error) Verdict {
	reason := "the verdict log cannot be written, and this workspace does not run calls unrecorded"
	v := policy.Verdict{Decision: policy.DecisionBlock, Reason: reason, Message: "Blocked by Gatehouse: " + reason + ". Tell the administrator: the gateway's log says why."}
	if p.Logger != nil {
		p.Logger.Error("tool call refused: the verdict log cannot be written", "workspace", call.Workspace, "upstream", call.Upstream, "tool", call.Tool, "user", call.User, "verdict", id, "err", err)
	}
	p.record(policy.Record{ID: id, Time: received, Call: pc, Verdict: v, Upstream: policy.UpstreamNotRun, Overhead: time.Since(received)})
	return Verdict{Meta: meta, Message: v.Message}
}

var _ Refuser = (*Policies)(nil)

// Refuse records a call the gateway refused without deciding it.
func (p *Policies) Refuse(_ context.Context, call Call, reason string) map[string]any {
	if p.Recorder == nil {
		return nil
	}
	received := call.Received
	if received.IsZero() {
		received = time.Now()
	}
	id := NewVerdictID()
	if p.Logger != nil {
		p.Logger.Info("tool call refused", "workspace", call.Workspace, "tool", call.Exposed, "user", call.User, "verdict", id, "reason", reason)
	}
	p.record(policy.Record{
		ID: id, Time: received,
		Call: policy.Call{
			Workspace: call.Workspace, Upstream: call.Upstream, Tool: call.Tool, Exposed: call.Exposed, Arguments: call.Arguments,
			User: call.User, Client: call.Client, Session: call.Session,
		},
		Verdict:  policy.Verdict{Decision: policy.DecisionBlock, Reason: reason, Version: p.Engine.Version()},
		Upstream: policy.UpstreamNotRun, Overhead: time.Since(received),
	})
	return map[string]any{MetaVerdict: id}
}

// record hands rec to the Recorder, and says so loudly when it cannot.
func (p *Policies) record(rec policy.Record) {
	if p.Recorder == nil {
		return
	}
	if err := p.Recorder.Record(rec); err != nil && p.Logger != nil {
		p.Logger.Error("VERDICT NOT RECORDED", "workspace", rec.Call.Workspace, "upstream", rec.Call.Upstream, "tool", rec.Call.Tool,
			"user", rec.Call.User, "verdict", rec.ID, "decision", string(rec.Verdict.Decision), "err", err)
	}
}

// maxUpstreamError bounds how much of an upstream's error text a record
// keeps.
const maxUpstreamError = 1000

// upstreamOutcome classifies how a forwarded call ended, with the
// upstream's words for a failure.
func upstreamOutcome(end CallEnd) (policy.UpstreamOutcome, string) {
	switch {
	case end.Cancelled:
		return policy.UpstreamCancelled, errText(end.Err)
	case end.Err != nil:
		return policy.UpstreamTransportError, errText(end.Err)
	case end.Result != nil && end.Result.IsError:
		var text strings.Builder
		for _, c := range end.Result.Content {
			if t, ok := c.(mcp.TextContent); ok {
				if text.Len() > 0 {
					text.WriteString(" ")
				}
				text.WriteString(t.Text)
			}
		}
		return policy.UpstreamToolError, truncate(text.String(), maxUpstreamError)
	}
	return policy.UpstreamOK, ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return truncate(err.Error(), maxUpstreamError)
}

// truncate cuts s to at most n bytes, on a character boundary, marking
// the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// log notes a verdict that is not a plain allow. It never logs arguments.
func (p *Policies) log(call Call, id string, v policy.Verdict) {
	if p.Logger == nil {
		return
	}
	attrs := []any{"workspace", call.Workspace, "upstream", call.Upstream, "tool", call.Tool, "user", call.User, "verdict", id}
	switch {
	case v.Decision != policy.DecisionAllow:
		p.Logger.Info("tool call "+string(v.Decision), append(attrs, "policy", v.Policy, "reason", policy.MaskText(v.Reason))...)
	case v.Judge.FailOpen:
		p.Logger.Warn("tool call allowed fail-open: a non-strict policy could not be judged", append(attrs, "err", v.Judge.Err)...)
	case len(v.Warnings) > 0 || len(v.Redactions) > 0:
		p.Logger.Info("tool call allowed with warnings or redactions", append(attrs, "warnings", len(v.Warnings), "redactions", len(v.Redactions))...)
	}
}

// scanOutput redacts the secrets in a result.
func (p *Policies) scanOutput(call Call, id string, res *mcp.CallToolResult) {
	if n := redactResult(res); n > 0 && p.Logger != nil {
		p.Logger.Info("secrets redacted in a tool result", "workspace", call.Workspace, "upstream", call.Upstream, "tool", call.Tool, "verdict", id, "secrets", n)
	}
}

// redactResult replaces the secrets in res's text content, text resources
// and structured content, and returns how many it replaced.
func redactResult(res *mcp.CallToolResult) int {
	total := 0
	for i, c := range res.Content {
		switch c := c.(type) {
		case mcp.TextContent:
			if t, n := policy.RedactSecrets(c.Text); n > 0 {
				c.Text, total = t, total+n
				res.Content[i] = c
			}
		case mcp.EmbeddedResource:
			if r, ok := c.Resource.(mcp.TextResourceContents); ok {
				if t, n := policy.RedactSecrets(r.Text); n > 0 {
					r.Text, total = t, total+n
					c.Resource = r
					res.Content[i] = c
				}
			}
		}
	}
	if res.StructuredContent != nil {
		if out, n := redactStructured(res.StructuredContent); n > 0 {
			res.StructuredContent, total = out, total+n
		}
	}
	return total
}

// redactStructured redacts the secrets in the strings of structured
// content. Content it cannot read is replaced whole: it is never passed on
// unscanned.
func redactStructured(v any) (any, int) {
	raw, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": "structured content withheld: Gatehouse could not scan it"}, 1
	}
	args, err := policy.ParseArguments(raw)
	if err != nil {
		// Not an object (or not readable as one): scan it as text.
		t, n := policy.RedactSecrets(string(raw))
		if n == 0 {
			return v, 0
		}
		return t, n
	}
	var spans []policy.Span
	for i, l := range args.Leaves() {
		for _, f := range policy.DetectOnly(l.Text, policy.ThreatSecret) {
			spans = append(spans, policy.Span{Leaf: i, Start: f.Start, End: f.End})
		}
	}
	if len(spans) == 0 {
		return v, 0
	}
	out, err := args.Redact(spans)
	var redacted any
	if err == nil {
		err = json.Unmarshal(out, &redacted)
	}
	if err != nil {
		return map[string]any{"error": "structured content withheld: Gatehouse could not redact the secrets in it"}, len(spans)
	}
	return redacted, len(spans)
}

var (
	ulidMu      sync.Mutex
	ulidEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewVerdictID returns a new time-ordered verdict id (a ULID).
func NewVerdictID() string {
	ulidMu.Lock()
	defer ulidMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(time.Now()), ulidEntropy).String()
}

// hold settles a call that a policy holds for approval: it runs at once on
// an out-of-band approval granted for this very call; else the person at
// the client is asked, when the policy lets them approve and the client
// can ask; else it is parked for an out-of-band decision. Every way ends in
// one record.
func (p *Policies) hold(ctx context.Context, call Call, pc policy.Call, v policy.Verdict, rec policy.Record, meta map[string]any, received time.Time) Verdict {
	rule := policy.ApprovalRule{}
	if v.Approval != nil {
		rule = *v.Approval
	}
	key := policy.ApprovalKey{Workspace: call.Workspace, User: call.User, Tool: call.Tool, Arguments: policy.HashArguments(call.Arguments)}

	if p.Approvals != nil {
		a, ok, err := p.Approvals.Claim(ctx, key)
		if err != nil && p.Logger != nil {
			p.Logger.Error("approvals: cannot look up an out-of-band approval", "workspace", call.Workspace, "tool", call.Tool, "user", call.User, "err", err)
		}
		if ok {
			rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalApproved, Via: policy.ApprovalViaOutOfBand, ID: a.ID, By: a.By}
			return Verdict{Allow: true, Arguments: v.Arguments, Meta: meta, Done: p.forwarded(call, rec, received)}
		}
	}

	if !rule.OutOfBandOnly && call.CanAsk {
		return Verdict{Meta: meta, Message: v.Message, Arguments: v.Arguments,
			Approval: &Approval{Message: p.question(call, v), Timeout: orDuration(p.ApprovalTimeout, DefaultApprovalTimeout)},
			Done: func(ctx context.Context, end CallEnd) {
				rec.Approval = policy.ApprovalOutcome{State: end.Approval, Via: policy.ApprovalViaClient, By: call.User}
				if end.Approval == policy.ApprovalApproved {
					p.forwarded(call, rec, received)(ctx, end)
					return
				}
				rec.Overhead = time.Since(received)
				p.record(rec)
			}}
	}

	rec.Overhead = time.Since(received)
	if p.Approvals != nil {
		masked, _ := policy.AuditArguments(call.Arguments, &v, policy.ArgumentsMasked)
		life := orDuration(p.ApprovalLifetime, DefaultApprovalLifetime)
		id, err := p.Approvals.Request(ctx, policy.ApprovalRequest{
			Key: key, Upstream: call.Upstream, Exposed: call.Exposed, Arguments: masked,
			Policy: v.Policy, Reason: v.Reason, Approvers: rule.Approvers, Verdict: rec.ID,
			Expires: time.Now().Add(life),
		})
		if err == nil {
			rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalPending, Via: policy.ApprovalViaOutOfBand, ID: id}
			p.record(rec)
			meta[MetaApproval] = id
			who := "someone allowed to approve it"
			if len(rule.Approvers) > 0 {
				who = strings.Join(rule.Approvers, " or ")
			}
			return Verdict{Meta: meta, Message: fmt.Sprintf("%s It waits for approval %s: %s can run `gatehouse approvals approve %s`; then make the same call again, within %s, and it runs once.",
				v.Message, id, who, id, life)}
		}
		if p.Logger != nil {
			p.Logger.Error("approvals: cannot park a call for approval", "workspace", call.Workspace, "tool", call.Tool, "user", call.User, "err", err)
		}
	}
	rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalUnavailable}
	p.record(rec)
	why := "this client cannot ask you"
	if call.CanAsk {
		why = "the policy wants an approval from someone else"
	}
	return Verdict{Meta: meta, Message: v.Message + " Nobody could be asked to approve it (" + why + ", and out-of-band approvals are not available), so it was not run."}
}

// MetaApproval is the key under which a call parked for an out-of-band
// approval carries the approval's id in its result's _meta.
const MetaApproval = "io.gatehouse/approval"

// maxQuestionArguments bounds the arguments shown in an approval question.
const maxQuestionArguments = 2000

// question is what the person at the client is asked: the tool, the
// upstream, the arguments masked as in the verdict log, the policy and
// why.
func (p *Policies) question(call Call, v policy.Verdict) string {
	masked, _ := policy.AuditArguments(call.Arguments, &v, policy.ArgumentsMasked)
	return fmt.Sprintf("Gatehouse: approve this tool call?\n\nTool: %s (upstream %q)\nArguments: %s\n\nPolicy %q holds it for approval: %s\n\nYes runs it once; no refuses it.",
		call.Tool, call.Upstream, truncate(masked, maxQuestionArguments), v.Policy, v.Reason)
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
