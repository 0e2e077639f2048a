package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// A call that a policy holds for approval (require_approval, or the
// judge's needs_approval) runs only once a person agrees. This file is the
// one place that settles it, in this order:
//
//  1. an out-of-band approval granted for this very call (`gatehouse
//     approvals approve`) lets it run, once;
//  2. else, when the policy lets the caller approve and the client can
//     ask, the person at the client is asked (Asker) and their yes lets it
//     run;
//  3. else it is parked for an out-of-band decision, and the client is
//     told how to get it approved and to call again.
//
// Every way ends in one record.

// Asker puts a question to the person at the client: by elicitation/create
// for a 2025-11-25 client, by an input_required result for a 2026-07-28
// one (the gateway implements both).
type Asker interface {
	// Ask puts q and waits at most q.Timeout for the answer. It returns
	// ErrExpired when nobody answered in time, and another error when the
	// question could not be put or the call was cancelled.
	Ask(ctx context.Context, q Question) (*mcp.ElicitationResult, error)
}

// Question is what an Asker puts to the person.
type Question struct {
	// Elicitation asks for a yes or a no.
	Elicitation mcp.ElicitationParams
	// Timeout bounds the wait for the answer.
	Timeout time.Duration
	// Meta goes in the _meta of a result that carries the question (the
	// call's verdict id).
	Meta map[string]any
}

// ErrExpired is the Asker's error when nobody answered in time.
var ErrExpired = errors.New("nobody answered in time")

// hold settles the decision d of a call its verdict holds for approval.
func (e *Enforcer) hold(ctx context.Context, d *Decision, ask Asker) {
	v := d.rec.Verdict
	rule := policy.ApprovalRule{}
	if v.Approval != nil {
		rule = *v.Approval
	}
	c := d.call
	key := policy.ApprovalKey{
		Workspace: c.Workspace, User: c.User, Upstream: c.Upstream, Tool: c.Tool, Exposed: c.Exposed,
		Policy: v.Policy, Arguments: policy.HashArguments(c.Arguments), Approvers: rule.Approvers,
	}
	if len(rule.Policies) > 1 { // both layers hold it: bound to both
		key.Policy = strings.Join(rule.Policies, " + ")
	}

	if e.Approvals != nil {
		a, ok, err := e.Approvals.Claim(ctx, key)
		if err != nil && e.Logger != nil {
			e.Logger.Error("approvals: cannot look up an out-of-band approval", "workspace", c.Workspace, "tool", c.Tool, "user", c.User, "err", err)
		}
		if ok {
			d.rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalApproved, Via: policy.ApprovalViaOutOfBand, ID: a.ID, By: a.By}
			d.allow(v)
			return
		}
	}
	if !rule.OutOfBandOnly && ask != nil {
		e.askClient(ctx, d, ask)
		return
	}
	e.park(ctx, d, key, rule, ask != nil)
}

// askClient puts the held call to the person at the client.
func (e *Enforcer) askClient(ctx context.Context, d *Decision, ask Asker) {
	v := d.rec.Verdict
	timeout := orDuration(e.ApprovalTimeout, DefaultApprovalTimeout)
	res, err := ask.Ask(ctx, Question{Elicitation: approvalQuestion(question(d.call, v, d.ID)), Timeout: timeout, Meta: d.Meta})
	state := approvalAnswer(res)
	switch {
	case err == nil:
	case errors.Is(err, ErrExpired):
		state = policy.ApprovalExpired
	default:
		if ctx.Err() == nil && e.Logger != nil {
			e.Logger.Warn("the approval question could not be put to the client", "workspace", d.call.Workspace, "tool", d.call.Tool, "err", err)
		}
		state = policy.ApprovalCancelled
	}
	d.rec.Approval = policy.ApprovalOutcome{State: state, Via: policy.ApprovalViaClient, By: d.call.User}
	if state == policy.ApprovalApproved {
		e.runApproved(ctx, d, ask)
		return
	}
	why := map[policy.ApprovalState]string{
		policy.ApprovalDeclined:  "the person declined",
		policy.ApprovalCancelled: "the question was dismissed",
		policy.ApprovalExpired:   fmt.Sprintf("nobody answered within %s", timeout),
	}[state]
	d.Message = v.Message + " The call was not approved (" + why + "), so it was not run."
	e.record(d)
}

// maxPolicyChanges bounds how often a held call is decided afresh because
// the policies changed while it waited for a person.
const maxPolicyChanges = 3

// runApproved lets the call d, approved at the client, run if the
// policies in force now still hold it for approval under the same rule;
// otherwise it is decided afresh under them: allowed, blocked, or held
// again under the new rule.
func (e *Enforcer) runApproved(ctx context.Context, d *Decision, ask Asker) {
	v := d.rec.Verdict
	now := e
	if e.Latest != nil {
		if latest := e.Latest(); latest != nil {
			now = latest
		}
	}
	if now.Engine == nil || now.Engine.Version() == v.Version {
		d.allow(v)
		return
	}
	fresh := now.Engine.Evaluate(ctx, d.call)
	if fresh.Decision == policy.DecisionRequireApproval && fresh.Policy == v.Policy && sameRule(fresh.Approval, v.Approval) {
		d.rec.Verdict = fresh // the same rule holds it: the yes stands
		d.allow(fresh)
		return
	}
	d.rounds++
	approval := d.rec.Approval
	d.rec.Verdict, d.rec.Approval = fresh, policy.ApprovalOutcome{}
	if now.Logger != nil {
		now.Logger.Warn("an approved call is decided afresh: the policies changed while it waited", "workspace", d.call.Workspace,
			"tool", d.call.Tool, "user", d.call.User, "verdict", d.ID, "approved_under", v.Version, "now", fresh.Version, "decision", fresh.Decision)
	}
	switch {
	case d.rounds > maxPolicyChanges:
		reason := "the policies kept changing while it waited for approval"
		d.rec.Verdict = policy.Verdict{Decision: policy.DecisionBlock, Reason: reason, Version: fresh.Version, Message: "Blocked by Gatehouse: " + reason + ". Make the call again."}
		d.Message = d.rec.Verdict.Message
		now.record(d)
	case fresh.Decision == policy.DecisionAllow:
		d.rec.Approval = approval // it ran; the record says who agreed
		d.allow(fresh)
	case fresh.Decision == policy.DecisionRequireApproval:
		now.hold(ctx, d, ask)
	default:
		d.Message = fresh.Message + " (The policies changed while it waited for approval.)"
		now.record(d)
	}
}

// sameRule reports whether two approval rules are the same rule.
func sameRule(a, b *policy.ApprovalRule) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.OutOfBandOnly == b.OutOfBandOnly && slices.Equal(a.Approvers, b.Approvers) && slices.Equal(a.Policies, b.Policies)
}

// park leaves the held call for an out-of-band decision, when approvals
// are kept; the client is told how to have it approved.
func (e *Enforcer) park(ctx context.Context, d *Decision, key policy.ApprovalKey, rule policy.ApprovalRule, canAsk bool) {
	v, c := d.rec.Verdict, d.call
	if e.Approvals != nil {
		masked, _ := policy.AuditArguments(c.Arguments, &v, policy.ArgumentsMasked)
		life := orDuration(e.ApprovalLifetime, DefaultApprovalLifetime)
		id, parked, err := e.request(ctx, policy.ApprovalRequest{
			Key: key, Arguments: masked, Reason: v.Reason, Approvers: rule.Approvers, Verdict: d.ID,
			Expires: time.Now().Add(life),
		})
		if err == nil && !parked {
			e.refusePending(d)
			return
		}
		if err == nil {
			d.rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalPending, Via: policy.ApprovalViaOutOfBand, ID: id}
			e.record(d)
			d.Meta[MetaApproval] = id
			d.Message = fmt.Sprintf("%s It waits for out-of-band approval %s, which %s must give as themselves (it is listed by `gatehouse approvals list`); the caller cannot give it. Once it is approved, make the same call again within %s and it runs once.",
				v.Message, id, approverWords(rule.Approvers, c.User), life)
			return
		}
		if e.Logger != nil {
			e.Logger.Error("approvals: cannot park a call for approval", "workspace", c.Workspace, "tool", c.Tool, "user", c.User, "err", err)
		}
	}
	d.rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalUnavailable}
	e.record(d)
	why := "this client cannot ask you"
	if canAsk {
		why = "the policy wants an approval from someone else"
	}
	d.Message = v.Message + " Nobody could be asked to approve it (" + why + ", and out-of-band approvals are not available), so it was not run."
}

// BoundedApprovals is an Approvals that parks a call only while fewer than
// max requests of the same workspace and user are pending, counted and
// parked in one step (audit.Approvals is one).
type BoundedApprovals interface {
	// RequestBounded parks r as Request does, or reports ok false, parking
	// nothing, when max requests of its workspace and user are pending.
	RequestBounded(ctx context.Context, r policy.ApprovalRequest, max int) (id string, ok bool, err error)
}

// request parks r, within MaxPendingPerUser when the store can count.
func (e *Enforcer) request(ctx context.Context, r policy.ApprovalRequest) (id string, parked bool, err error) {
	b, ok := e.Approvals.(BoundedApprovals)
	if !ok {
		id, err = e.Approvals.Request(ctx, r)
		return id, err == nil, err
	}
	id, parked, err = b.RequestBounded(ctx, r, e.maxPending())
	if parked {
		e.pendingFull.Delete(pendingKey{r.Key.Workspace, r.Key.User})
	}
	return id, parked, err
}

func (e *Enforcer) maxPending() int {
	if e.MaxPendingPerUser > 0 {
		return e.MaxPendingPerUser
	}
	return DefaultMaxPendingPerUser
}

// pendingKey is a workspace's user, whose pending requests are bounded.
type pendingKey struct{ workspace, user string }

// refusePending refuses the held call d at once: its user has
// MaxPendingPerUser requests pending in its workspace. It is recorded as
// every call is, and logged once each time the user reaches the bound.
func (e *Enforcer) refusePending(d *Decision) {
	c, limit := d.call, e.maxPending()
	if _, logged := e.pendingFull.LoadOrStore(pendingKey{c.Workspace, c.User}, true); !logged && e.Logger != nil {
		e.Logger.Warn("approvals: a user has reached approval.max_pending_per_user; calls held for approval are refused until some are decided or expire",
			"workspace", c.Workspace, "user", c.User, "limit", limit)
	}
	d.rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalUnavailable}
	e.record(d)
	d.Message = fmt.Sprintf("%s It was not run, and not parked for approval either: %s already has %d requests waiting for out-of-band approval in this workspace, the most allowed (approval.max_pending_per_user). Once some of them are decided or expire, make the call again.",
		d.rec.Verdict.Message, c.User, limit)
}

// approverWords says who may approve a parked call, for the client's
// message. It names no command to run: an agent told one would try it, and
// only an approver's own identity counts (DESIGN §7).
func approverWords(approvers []string, caller string) string {
	if len(approvers) == 0 {
		return "someone other than " + strconv.Quote(caller)
	}
	quoted := make([]string, len(approvers))
	for i, a := range approvers {
		quoted[i] = strconv.Quote(a)
	}
	return strings.Join(quoted, " or ")
}

// Bounds of the arguments an approval question shows: each value, and all
// of them. What is cut is said, with how much and where to see it all.
const (
	maxQuestionValue     = 400
	maxQuestionArguments = 4000
)

// question is what the person at the client is asked: the tool and the
// upstream (quoted: they are the upstream's words, and a name with a new
// line must not draw a dialog of its own), the policy and why, and the
// arguments the call would run with (after the policies' redactions), one
// field a line, those that name what the call acts on (paths, URLs,
// commands, queries) first. Secrets and personal data are masked; what the
// person must judge — a path, a command, a statement — is not.
func question(c policy.Call, v policy.Verdict, id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Gatehouse: approve this tool call?\n\nTool: %s (upstream %s)\nPolicy %s holds it for approval: %s\n\nArguments:\n",
		strconv.Quote(c.Tool), strconv.Quote(c.Upstream), strconv.Quote(v.Policy), oneLine(v.Reason))
	args := c.Arguments
	if v.Arguments != nil {
		args = v.Arguments
	}
	b.WriteString(questionArguments(maskSecrets(args), id))
	b.WriteString("\nYes runs it once; no refuses it.")
	return b.String()
}

// questionArguments lays out the masked arguments of a call for the
// question, decisive fields first, each value and the whole bounded.
func questionArguments(masked, id string) string {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(masked), &fields); err != nil {
		return "  " + Truncate(oneLine(masked), maxQuestionArguments) + "\n"
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if da, db := policy.DecisiveKey(a), policy.DecisiveKey(b); da != db {
			if da {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	for i, k := range keys {
		value := string(fields[k])
		line := "  " + strconv.Quote(k) + ": " + Truncate(value, maxQuestionValue)
		if len(value) > maxQuestionValue {
			line += fmt.Sprintf(" (%d bytes more)", len(value)-maxQuestionValue)
		}
		if b.Len()+len(line) > maxQuestionArguments {
			fmt.Fprintf(&b, "  … and %d more fields that do not fit here; the verdict log keeps them all (`gatehouse logs show %s`, once the call is decided)\n", len(keys)-i, id)
			break
		}
		b.WriteString(line + "\n")
	}
	if len(keys) == 0 {
		b.WriteString("  (none)\n")
	}
	return b.String()
}

// maskSecrets is raw with the secrets and personal data the detectors find
// replaced by [REDACTED]; arguments that cannot be read become their hash.
func maskSecrets(raw []byte) string {
	doc, err := policy.ParseArguments(raw)
	if err != nil {
		return strconv.Quote(policy.HashArguments(raw))
	}
	spans := policy.SecretSpans(doc, func(l policy.Leaf) bool { return l.Kind != policy.LeafNumber }, policy.ThreatSecret, policy.ThreatPII)
	out, err := doc.Redact(spans)
	if err != nil {
		return strconv.Quote(policy.HashArguments(raw))
	}
	return string(out)
}

// oneLine is s with its control characters (new lines among them) shown
// as spaces: words put into a question cannot lay out lines of their own.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// approvalQuestion is the elicitation that asks for a yes or a no.
func approvalQuestion(message string) mcp.ElicitationParams {
	return mcp.ElicitationParams{
		Message: message,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"approve": map[string]any{
					"type":        "boolean",
					"title":       "Approve this call",
					"description": "Yes runs this call once; no refuses it.",
					"default":     false,
				},
			},
			"required": []string{"approve"},
		},
	}
}

// approvalAnswer reads the person's answer: only an accepted form with
// approve set to true approves.
func approvalAnswer(r *mcp.ElicitationResult) policy.ApprovalState {
	if r == nil {
		return policy.ApprovalCancelled
	}
	switch r.Action {
	case mcp.ElicitationResponseActionAccept:
		if m, ok := r.Content.(map[string]any); ok && m["approve"] == true {
			return policy.ApprovalApproved
		}
		return policy.ApprovalDeclined
	case mcp.ElicitationResponseActionDecline:
		return policy.ApprovalDeclined
	}
	return policy.ApprovalCancelled
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
