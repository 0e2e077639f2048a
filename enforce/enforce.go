// Package enforce is the enforcement step of every tools/call (DESIGN §1,
// §4, §5): it decides a call with the policy engine, settles a call held
// for approval (approval.go), scans the results of the calls it let run
// (output.go), and leaves exactly one verdict record per call.
//
// The gateway asks Decide before it forwards a call, forwards it only when
// the Decision allows it, and then tells Finish how the call ended.
package enforce

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/oklog/ulid/v2"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The _meta keys of the results the gateway returns.
const (
	// MetaVerdict carries the call's verdict id, on every result.
	MetaVerdict = "io.gatehouse/verdict"
	// MetaWarnings carries the warnings of the warn policies that matched
	// the call: a list of {policy, message}.
	MetaWarnings = "io.gatehouse/warnings"
	// MetaApproval carries the id of the out-of-band approval a call was
	// parked for.
	MetaApproval = "io.gatehouse/approval"
)

// The defaults of the Enforcer's approval settings.
const (
	DefaultApprovalTimeout  = 2 * time.Minute
	DefaultApprovalLifetime = time.Hour
	// DefaultMaxPendingPerUser bounds the out-of-band requests pending for
	// one user of one workspace.
	DefaultMaxPendingPerUser = 100
)

// Enforcer decides every call with a policy engine. A blocked call gets
// the violation message, an allowed one is forwarded with its arguments
// redacted as the policies say and its warnings in _meta. Every result
// carries the verdict id under MetaVerdict, and every call — run or not —
// leaves one record with the Recorder, queued before the client gets its
// answer.
//
// The zero Enforcer allows every call unchanged and records nothing.
type Enforcer struct {
	// Engine decides the calls; nil allows every call.
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
	// ApprovalTimeout bounds the wait for the person at the client; zero
	// means DefaultApprovalTimeout.
	ApprovalTimeout time.Duration
	// ApprovalLifetime is how long an out-of-band request waits for a
	// decision; zero means DefaultApprovalLifetime.
	ApprovalLifetime time.Duration
	// MaxPendingPerUser bounds the out-of-band requests pending for one
	// user of one workspace, when Approvals can count them
	// (BoundedApprovals); a call held beyond it is refused at once. Zero
	// means DefaultMaxPendingPerUser.
	MaxPendingPerUser int
	// Latest returns the enforcement step in force now: a call approved
	// at the client runs only if the policies in force when it is about to
	// run still hold it under the same rule (a reload may have changed
	// them while the person read the question). nil: this one is.
	Latest func() *Enforcer

	// startFailing is set while the Recorder cannot write calls' starts,
	// so that a full disk is logged once, not once per call.
	startFailing atomic.Bool
	pendingFull  sync.Map // of pendingKey: users at MaxPendingPerUser, logged
}

// Decision is the enforcement step's answer for one call. A denial is a
// Decision too, not an error: Allowed is false and Message says why.
type Decision struct {
	// ID is the call's verdict id (a ULID), under MetaVerdict in Meta.
	ID string
	// Allowed says the call may be forwarded. The gateway must then tell
	// Finish, once, how it ended.
	Allowed bool
	// Message is what the client reads when the call is not allowed.
	Message string
	// Arguments are what the upstream gets when the call is allowed: the
	// call's arguments with what the policies redacted replaced.
	Arguments json.RawMessage
	// Meta goes in the result's _meta: the verdict id, warnings, the id of
	// an out-of-band approval request.
	Meta map[string]any

	call     policy.Call
	received time.Time
	rounds   int           // how often the policies changed while it was held
	rec      policy.Record // the record the call leaves, completed by Finish
	recorded bool          // rec has been handed to the Recorder
}

// Decide decides call, which reached the gateway at received. A call that
// policies hold for approval is settled here too (see approval.go): ask is
// how the person at the client is asked, nil when the client cannot be.
// A call that is not allowed is recorded before Decide returns.
func (e *Enforcer) Decide(ctx context.Context, call policy.Call, received time.Time, ask Asker) *Decision {
	if e.Engine == nil {
		return &Decision{Allowed: true, Arguments: call.Arguments, call: call, received: received}
	}
	d := &Decision{ID: NewVerdictID(), Arguments: call.Arguments, call: call, received: received}
	d.Meta = map[string]any{MetaVerdict: d.ID}
	d.rec = policy.Record{ID: d.ID, Time: received, Call: call, Upstream: policy.UpstreamNotRun}
	if e.Recorder != nil && e.AuditRequired[call.Workspace] {
		if err := e.Recorder.Err(); err != nil {
			return e.refuseUnrecorded(d, err)
		}
	}
	v := sideChannel(call, e.Engine.Evaluate(ctx, call))
	d.rec.Verdict = v
	if len(v.Warnings) > 0 {
		ws := make([]map[string]string, len(v.Warnings))
		for i, w := range v.Warnings {
			ws[i] = map[string]string{"policy": w.Policy, "message": w.Message}
		}
		d.Meta[MetaWarnings] = ws
	}
	e.log(call, d.ID, v)
	switch v.Decision {
	case policy.DecisionAllow:
		d.allow(v)
	case policy.DecisionRequireApproval:
		e.hold(ctx, d, ask)
	default:
		d.Message = v.Message
		e.record(d)
	}
	if d.Allowed {
		e.start(d)
	}
	return d
}

// start keeps the record of d's call, about to be forwarded, through a
// crash of the gateway. A workspace that requires the log refuses the call
// when it cannot; any other runs it, and the call's record is still queued
// when it ends.
func (e *Enforcer) start(d *Decision) {
	if e.Recorder == nil {
		return
	}
	rec := d.rec
	rec.Overhead = time.Since(d.received)
	err := e.Recorder.Start(rec)
	if err == nil {
		if e.startFailing.Swap(false) && e.Logger != nil {
			e.Logger.Info("calls' starts are recorded again before they are forwarded")
		}
		return
	}
	c := d.call
	if e.AuditRequired[c.Workspace] {
		d.Allowed, d.Arguments = false, nil
		e.refuseUnrecorded(d, err)
		return
	}
	if !e.startFailing.Swap(true) && e.Logger != nil {
		e.Logger.Error("tool calls are forwarded although their starts cannot be recorded: if the gateway stops before one ends, the log will not hold it (said once until they can be again)",
			"workspace", c.Workspace, "upstream", c.Upstream, "tool", policy.MaskText(c.Tool), "user", c.User, "verdict", d.ID, "err", err)
	}
}

// allow lets d's call run with the arguments v leaves it.
func (d *Decision) allow(v policy.Verdict) {
	d.Allowed = true
	if v.Arguments != nil {
		d.Arguments = v.Arguments
	}
}

// End is how a forwarded call ended.
type End struct {
	// Result is the upstream's result, nil when the call failed.
	Result *mcp.CallToolResult
	// Err is why the upstream call failed: the upstream was unavailable,
	// broke the protocol, or the call was cancelled.
	Err error
	// Cancelled says the client cancelled the call, went away, or let it
	// expire while the upstream waited for its input.
	Cancelled bool
	// Latency is how long the upstream took, from sending the call to its
	// end.
	Latency time.Duration
	// Failure is what the client reads when the call failed (Err): the
	// upstream's failure in words; empty means Err's text.
	Failure string
}

// refuseUnrecorded refuses a call of a workspace that requires the verdict
// log while the log cannot be written, or its start cannot be. The
// refusal itself is queued: it is written when the log can be again.
func (e *Enforcer) refuseUnrecorded(d *Decision, err error) *Decision {
	reason := "the verdict log cannot be written, and this workspace does not run calls unrecorded"
	d.Message = "Blocked by Gatehouse: " + reason + ". Tell the administrator: the gateway's log says why."
	d.rec.Verdict = policy.Verdict{Decision: policy.DecisionBlock, Reason: reason, Message: d.Message}
	if e.Logger != nil {
		c := d.call
		e.Logger.Error("tool call refused: the verdict log cannot be written", "workspace", c.Workspace, "upstream", c.Upstream, "tool", c.Tool, "user", c.User, "verdict", d.ID, "err", err)
	}
	e.record(d)
	return d
}

// Refuse records a call the gateway refused without deciding it — a tool
// that does not exist, a retry that answers nothing the gateway asked, a
// call that arrives while it shuts down — and returns the _meta for the
// refusal's result (its verdict id), or nil when nothing is recorded.
func (e *Enforcer) Refuse(_ context.Context, call policy.Call, received time.Time, reason string) map[string]any {
	if e.Recorder == nil {
		return nil
	}
	id := NewVerdictID()
	// An unknown name is whatever the client sent: never logged or kept
	// with a secret in it.
	call.Exposed, _ = policy.RedactSecrets(call.Exposed)
	if e.Logger != nil {
		e.Logger.Info("tool call refused", "workspace", call.Workspace, "tool", call.Exposed, "user", call.User, "verdict", id, "reason", reason)
	}
	version := ""
	if e.Engine != nil {
		version = e.Engine.Version()
	}
	call.Description = ""
	e.record(&Decision{ID: id, received: received, rec: policy.Record{
		ID: id, Time: received, Call: call,
		Verdict:  policy.Verdict{Decision: policy.DecisionBlock, Reason: reason, Version: version},
		Upstream: policy.UpstreamNotRun,
	}})
	return map[string]any{MetaVerdict: id}
}

// Abandon records a call whose path failed (a panic in the gateway) before
// its record was left: d is nil when the failure came before a Decision,
// and then call is recorded as refused; a decision that was allowed is
// finished as failed with cause. A decision already recorded is left
// alone.
func (e *Enforcer) Abandon(ctx context.Context, call policy.Call, received time.Time, d *Decision, cause error) {
	switch {
	case d == nil:
		e.Refuse(ctx, call, received, "the gateway failed while deciding the call: "+cause.Error())
	case !d.recorded:
		e.Finish(ctx, d, End{Err: cause})
	}
}

// record hands d's record to the Recorder, with the gateway's overhead
// (the time since the call arrived, less the upstream's), and says so
// loudly when it cannot.
func (e *Enforcer) record(d *Decision) {
	d.recorded = true
	if e.Recorder == nil || d.ID == "" {
		return
	}
	rec := d.rec
	rec.Overhead = max(0, time.Since(d.received)-rec.UpstreamLatency)
	if err := e.Recorder.Record(rec); err != nil && e.Logger != nil {
		e.Logger.Error("VERDICT NOT RECORDED", "workspace", rec.Call.Workspace, "upstream", rec.Call.Upstream, "tool", rec.Call.Tool,
			"user", rec.Call.User, "verdict", rec.ID, "decision", string(rec.Verdict.Decision), "err", err)
	}
}

// log notes a verdict that is not a plain allow. It never logs arguments.
func (e *Enforcer) log(call policy.Call, id string, v policy.Verdict) {
	if e.Logger == nil {
		return
	}
	attrs := []any{"workspace", call.Workspace, "upstream", call.Upstream, "tool", policy.MaskText(call.Tool), "user", call.User, "verdict", id}
	what := "tool call"
	if call.CallKind() != policy.KindTool {
		what = call.CallMethod() + " request"
	}
	switch {
	case v.Decision != policy.DecisionAllow:
		e.Logger.Info(what+" "+string(v.Decision), append(attrs, "policy", v.Policy, "reason", v.Mask(v.Reason))...)
	case v.Judge.FailOpen:
		e.Logger.Warn(what+" allowed fail-open: a non-strict policy could not be judged", append(attrs, "err", v.Judge.Err)...)
	case len(v.Warnings) > 0 || len(v.Redactions) > 0:
		e.Logger.Info(what+" allowed with warnings or redactions", append(attrs, "warnings", len(v.Warnings), "redactions", len(v.Redactions))...)
	}
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
