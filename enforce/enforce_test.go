package enforce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// records is a Recorder that keeps the records in memory.
type records struct {
	mu       sync.Mutex
	recs     []policy.Record
	starts   []policy.Record
	err      error // what Err says
	startErr error // what Start says
}

func (r *records) Start(rec policy.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.startErr != nil {
		return r.startErr
	}
	r.starts = append(r.starts, rec)
	return nil
}

func (r *records) Record(rec policy.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

func (r *records) Err() error { return r.err }

func (r *records) all() []policy.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]policy.Record(nil), r.recs...)
}

// asker answers the approval question as told, and remembers it.
type asker struct {
	answer *mcp.ElicitationResult
	err    error
	asked  []string
}

func (a *asker) Ask(_ context.Context, q enforce.Question) (*mcp.ElicitationResult, error) {
	a.asked = append(a.asked, q.Elicitation.Message)
	return a.answer, a.err
}

func yes() *mcp.ElicitationResult {
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"approve": true}}}
}

func no() *mcp.ElicitationResult {
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}
}

var testPolicies = policy.Set{Global: []policy.Policy{
	{Name: "no-rm", Enabled: true, Strict: true, Tools: []string{"rm"}, Action: policy.ActionBlock, Message: "Removing is not allowed."},
	{Name: "redact-ssn", Enabled: true, Action: policy.ActionRedact, When: policy.When{Args: `\b\d{3}-\d{2}-\d{4}\b`}},
	{Name: "watch-add", Enabled: true, Tools: []string{"add"}, Action: policy.ActionWarn, Message: "adding is watched"},
	{Name: "ask-deploy", Enabled: true, Tools: []string{"deploy"}, Action: policy.ActionRequireApproval, Message: "Deploys need a yes."},
	{Name: "prod-by-bob", Enabled: true, Tools: []string{"prod"}, Action: policy.ActionRequireApproval, Message: "Production needs Bob.",
		Approval: policy.ApprovalRule{OutOfBandOnly: true, Approvers: []string{"bob"}}},
}}

func newEnforcer(t *testing.T) (*enforce.Enforcer, *records) {
	t.Helper()
	engine, err := policy.NewEngine(testPolicies, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	return &enforce.Enforcer{Engine: engine, Recorder: recs, ScanOutput: map[string]bool{"w": true}}, recs
}

func testCall(tool, args string) policy.Call {
	return policy.Call{Workspace: "w", Upstream: "up", Tool: tool, Exposed: "up__" + tool, Arguments: json.RawMessage(args), User: "ada"}
}

// Every way a call can be decided: what the gateway is told, and the one
// record it leaves once it ends.
func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name, tool, args string
		ask              *asker
		allowed          bool
		message          string // in Message, when not allowed
		arguments        string // forwarded, when allowed
		decision         policy.Decision
		approval         policy.ApprovalState
	}{
		{name: "allowed", tool: "echo", args: `{"m":"hi"}`, allowed: true, arguments: `{"m":"hi"}`, decision: policy.DecisionAllow},
		{name: "blocked", tool: "rm", args: `{}`, message: `Blocked by policy "no-rm": Removing is not allowed.`, decision: policy.DecisionBlock},
		{name: "redacted", tool: "echo", args: `{"m":"ssn 123-45-6789"}`, allowed: true, arguments: `{"m":"ssn [REDACTED]"}`, decision: policy.DecisionAllow},
		{name: "approved at the client", tool: "deploy", args: `{}`, ask: &asker{answer: yes()}, allowed: true, arguments: `{}`,
			decision: policy.DecisionRequireApproval, approval: policy.ApprovalApproved},
		{name: "declined at the client", tool: "deploy", args: `{}`, ask: &asker{answer: no()},
			message: "the person declined", decision: policy.DecisionRequireApproval, approval: policy.ApprovalDeclined},
		{name: "unanswered at the client", tool: "deploy", args: `{}`, ask: &asker{err: enforce.ErrExpired},
			message: "nobody answered within 2m0s", decision: policy.DecisionRequireApproval, approval: policy.ApprovalExpired},
		{name: "client gone", tool: "deploy", args: `{}`, ask: &asker{err: errors.New("session closed")},
			message: "the question was dismissed", decision: policy.DecisionRequireApproval, approval: policy.ApprovalCancelled},
		{name: "nobody to ask", tool: "deploy", args: `{}`,
			message: "this client cannot ask you", decision: policy.DecisionRequireApproval, approval: policy.ApprovalUnavailable},
		{name: "out of band only, no store", tool: "prod", args: `{}`, ask: &asker{answer: yes()},
			message: "the policy wants an approval from someone else", decision: policy.DecisionRequireApproval, approval: policy.ApprovalUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, recs := newEnforcer(t)
			var ask enforce.Asker
			if tc.ask != nil {
				ask = tc.ask
			}
			d := e.Decide(t.Context(), testCall(tc.tool, tc.args), time.Now(), ask)
			if d.Allowed != tc.allowed {
				t.Fatalf("Decide(%s).Allowed = %v (message %q); want %v", tc.name, d.Allowed, d.Message, tc.allowed)
			}
			if id, _ := d.Meta[enforce.MetaVerdict].(string); id != d.ID || len(id) != 26 {
				t.Errorf("Meta = %v; want the verdict id %q", d.Meta, d.ID)
			}
			if tc.allowed {
				if string(d.Arguments) != tc.arguments {
					t.Errorf("Arguments = %s; want %s", d.Arguments, tc.arguments)
				}
				if n := len(recs.all()); n != 0 {
					t.Fatalf("an allowed call was recorded %d times before it ended", n)
				}
				e.Finish(t.Context(), d, enforce.End{Result: mcp.NewToolResultText("ok"), Latency: time.Millisecond})
			} else if !strings.Contains(d.Message, tc.message) {
				t.Errorf("Message = %q; want it to say %q", d.Message, tc.message)
			}
			all := recs.all()
			if len(all) != 1 {
				t.Fatalf("%d records; want 1", len(all))
			}
			rec := all[0]
			if rec.ID != d.ID || rec.Verdict.Decision != tc.decision || rec.Approval.State != tc.approval {
				t.Errorf("record = id %s, %s, approval %q; want %s, %s, approval %q", rec.ID, rec.Verdict.Decision, rec.Approval.State, d.ID, tc.decision, tc.approval)
			}
			if want := map[bool]policy.UpstreamOutcome{true: policy.UpstreamOK, false: policy.UpstreamNotRun}[tc.allowed]; rec.Upstream != want {
				t.Errorf("record's upstream outcome = %s; want %s", rec.Upstream, want)
			}
			if tc.ask != nil && tc.approval != policy.ApprovalUnavailable && (len(tc.ask.asked) != 1 || !strings.Contains(tc.ask.asked[0], `Tool: "`+tc.tool+`"`)) {
				t.Errorf("the person was asked %q; want one question about %s", tc.ask.asked, tc.tool)
			}
		})
	}
}

// A call held for an out-of-band approval is parked, runs once after the
// approver agrees, and only for the call it was parked for.
func TestDecideOutOfBand(t *testing.T) {
	e, recs := newEnforcer(t)
	store, err := audit.OpenApprovals(filepath.Join(testdir.New(t), "gatehouse.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e.Approvals = store

	d := e.Decide(t.Context(), testCall("prod", `{"v":1}`), time.Now(), &asker{answer: yes()})
	id, _ := d.Meta[enforce.MetaApproval].(string)
	if d.Allowed || id == "" || !strings.Contains(d.Message, "approval "+id+", which \"bob\" must give as themselves") || strings.Contains(d.Message, "approvals approve") {
		t.Fatalf("parked call = allowed %v, meta %v, message %q; want it parked for bob", d.Allowed, d.Meta, d.Message)
	}
	if err := store.Approve(t.Context(), id, audit.Approver{Name: "bob", Via: audit.ApproverViaOS}); err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(t.Context(), testCall("prod", `{"v":2}`), time.Now(), nil); d.Allowed {
		t.Error("the approval let a call with other arguments run")
	}
	onOther := testCall("prod", `{"v":1}`)
	onOther.Upstream, onOther.Exposed = "up2", "up2__prod"
	if d := e.Decide(t.Context(), onOther, time.Now(), nil); d.Allowed {
		t.Error("the approval let the same call run on another upstream")
	}
	d = e.Decide(t.Context(), testCall("prod", `{"v":1}`), time.Now(), nil)
	if !d.Allowed {
		t.Fatalf("the approved call = %q; want it allowed", d.Message)
	}
	e.Finish(t.Context(), d, enforce.End{Result: mcp.NewToolResultText("ok")})
	if d := e.Decide(t.Context(), testCall("prod", `{"v":1}`), time.Now(), nil); d.Allowed {
		t.Error("one approval ran the call twice")
	}
	var last policy.Record
	for _, r := range recs.all() {
		if r.ID == d.ID {
			last = r
		}
	}
	if last.ID != d.ID || last.Approval.State != policy.ApprovalApproved || last.Approval.Via != policy.ApprovalViaOutOfBand || last.Approval.By != "bob" {
		t.Errorf("the approved call's record = %+v; want approved out of band by bob", last.Approval)
	}
}

// Finish scans the result when the workspace says so, and records how the
// call ended at the upstream.
func TestFinish(t *testing.T) {
	const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	for _, tc := range []struct {
		name    string
		end     enforce.End
		outcome policy.UpstreamOutcome
	}{
		{"ok", enforce.End{Result: mcp.NewToolResultText("token " + secret)}, policy.UpstreamOK},
		{"tool error", enforce.End{Result: mcp.NewToolResultError("no such row")}, policy.UpstreamToolError},
		{"unreachable", enforce.End{Err: errors.New("connection refused")}, policy.UpstreamTransportError},
		{"failure naming a secret", enforce.End{Err: errors.New("auth failed"), Failure: "token " + secret + " refused"}, policy.UpstreamTransportError},
		{"cancelled", enforce.End{Err: context.Canceled, Cancelled: true}, policy.UpstreamCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, recs := newEnforcer(t)
			d := e.Decide(t.Context(), testCall("echo", `{}`), time.Now(), nil)
			res := e.Finish(t.Context(), d, tc.end)
			if rec := recs.all()[0]; rec.Upstream != tc.outcome {
				t.Errorf("outcome = %s; want %s", rec.Upstream, tc.outcome)
			}
			if b, _ := json.Marshal(res); strings.Contains(string(b), secret) || (tc.end.Err != nil && !res.IsError) {
				t.Errorf("the client gets %s; want no secret, and a tool error for a failure", b)
			}
		})
	}
}

// The zero Enforcer allows every call unchanged and records nothing; a
// workspace that requires the log refuses calls while it cannot be
// written; a refusal is recorded.
func TestEnforcerEdges(t *testing.T) {
	var zero enforce.Enforcer
	d := zero.Decide(t.Context(), testCall("rm", `{"x":1}`), time.Now(), nil)
	if !d.Allowed || string(d.Arguments) != `{"x":1}` || len(d.Meta) != 0 {
		t.Errorf("zero Enforcer's decision = %+v; want allowed, unchanged, no _meta", d)
	}
	zero.Finish(t.Context(), d, enforce.End{})
	if meta := zero.Refuse(t.Context(), testCall("x", `{}`), time.Now(), "why"); meta != nil {
		t.Errorf("zero Enforcer's refusal _meta = %v; want none", meta)
	}

	e, recs := newEnforcer(t)
	e.AuditRequired = map[string]bool{"w": true}
	recs.err = errors.New("disk full")
	if d := e.Decide(t.Context(), testCall("echo", `{}`), time.Now(), nil); d.Allowed || !strings.Contains(d.Message, "verdict log cannot be written") {
		t.Errorf("call while the log fails = allowed %v, %q; want refused", d.Allowed, d.Message)
	}
	unknown := testCall("nope", `{}`)
	unknown.Exposed = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	meta := e.Refuse(t.Context(), unknown, time.Now(), "the workspace has no tool of that name")
	all := recs.all()
	if len(all) != 2 || all[1].ID != meta[enforce.MetaVerdict] || all[1].Verdict.Decision != policy.DecisionBlock || all[1].Verdict.Reason != "the workspace has no tool of that name" || all[1].Call.Exposed != "[REDACTED]" {
		t.Errorf("records = %+v; want the refusal recorded with its id", all)
	}
}

// A call is kept through a crash before it is forwarded: Decide has the
// Recorder start its record, and a workspace that requires the log
// refuses the call when the start cannot be kept (issue 18, items 1–2);
// any other runs it. A blocked call is never started.
func TestStartBeforeForwarding(t *testing.T) {
	e, recs := newEnforcer(t)
	d := e.Decide(t.Context(), testCall("echo", `{"n":1}`), time.Now(), nil)
	if !d.Allowed || len(recs.starts) != 1 || recs.starts[0].ID != d.ID || len(recs.all()) != 0 {
		t.Fatalf("allowed call: allowed %v, starts %d, records %d; want started, not yet recorded", d.Allowed, len(recs.starts), len(recs.all()))
	}
	if got := recs.starts[0].Verdict.Decision; got != policy.DecisionAllow {
		t.Errorf("the start says %s; want allow", got)
	}

	recs.startErr = errors.New("no space left on device")
	e.AuditRequired = map[string]bool{"w": true}
	d = e.Decide(t.Context(), testCall("echo", `{"n":2}`), time.Now(), nil)
	if d.Allowed || !strings.Contains(d.Message, "verdict log cannot be written") {
		t.Errorf("required log, start fails: allowed %v, %q; want refused", d.Allowed, d.Message)
	}
	if all := recs.all(); len(all) != 1 || all[0].ID != d.ID || all[0].Verdict.Decision != policy.DecisionBlock || all[0].Upstream != policy.UpstreamNotRun {
		t.Errorf("records = %+v; want the refusal, not run", all)
	}
	e.AuditRequired = nil
	var logged bytes.Buffer
	e.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	for n := 3; n < 6; n++ {
		if d = e.Decide(t.Context(), testCall("echo", fmt.Sprintf(`{"n":%d}`, n)), time.Now(), nil); !d.Allowed {
			t.Errorf("log not required, start fails: refused %q; want the call run", d.Message)
		}
	}
	if c := strings.Count(logged.String(), "starts cannot be recorded"); c != 1 {
		t.Errorf("three calls forwarded unstarted logged it %d times; want once:\n%s", c, &logged)
	}
	recs.startErr = nil
	e.Decide(t.Context(), testCall("echo", `{"n":6}`), time.Now(), nil)
	if !strings.Contains(logged.String(), "recorded again") {
		t.Errorf("starts written again, not said:\n%s", &logged)
	}
}

// With output scanning, everything the client would receive is scanned:
// every kind of content, a resource link's words, an embedded resource,
// structuredContent as the upstream's raw bytes that are sent (not only
// the decoded copy), and _meta; binary data is left alone; a result that
// cannot be read is withheld, never passed on (issue 14, item 1).
func TestScanOutputEverything(t *testing.T) {
	const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	e, recs := newEnforcer(t)
	upstreamSent := `{"_meta":{"trace":"` + secret + `"},"content":[` +
		`{"type":"text","text":"token ` + secret + `"},` +
		`{"type":"resource_link","uri":"file:///k","name":"k","description":"key ` + secret + `"},` +
		`{"type":"resource","resource":{"uri":"file:///e","text":"env GITHUB_TOKEN=` + secret + `"}},` +
		`{"type":"image","data":"Z2hwX2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OQ==","mimeType":"image/png"}],` +
		`"structuredContent":{"file":{"content":"` + secret + `"},"size":40}}`
	var res mcp.CallToolResult
	if err := json.Unmarshal([]byte(upstreamSent), &res); err != nil {
		t.Fatal(err)
	}
	res.StructuredContent = map[string]any{"decoded": "copy"} // what mcp-go does not send
	d := e.Decide(t.Context(), testCall("echo", `{}`), time.Now(), nil)
	out := e.Finish(t.Context(), d, enforce.End{Result: &res})
	sent, _ := json.Marshal(out)
	if strings.Contains(string(sent), secret) {
		t.Errorf("the client would receive the secret: %s", sent)
	}
	if n := strings.Count(string(sent), "[REDACTED]"); n != 5 {
		t.Errorf("%d redactions in %s; want 5", n, sent)
	}
	if !strings.Contains(string(sent), `"size":40`) || !strings.Contains(string(sent), "Z2hwX2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OQ==") {
		t.Errorf("the rest of the result changed: %s", sent)
	}
	if rec := recs.all()[0]; rec.Upstream != policy.UpstreamOK {
		t.Errorf("record = %s; want ok", rec.Upstream)
	}

	var cased mcp.CallToolResult // keys that differ in case are no reason to withhold a result
	if err := json.Unmarshal([]byte(`{"content":[],"structuredContent":{"ID":1,"id":"`+secret+`"}}`), &cased); err != nil {
		t.Fatal(err)
	}
	d = e.Decide(t.Context(), testCall("echo", `{}`), time.Now(), nil)
	out = e.Finish(t.Context(), d, enforce.End{Result: &cased})
	if sent, _ := json.Marshal(out); out.IsError || strings.Contains(string(sent), secret) || !strings.Contains(string(sent), `"ID":1`) {
		t.Errorf("a result with keys that differ in case = %s; want it passed on, scanned", sent)
	}

	var keyed mcp.CallToolResult // the value of a credential key is a secret by its key
	if err := json.Unmarshal([]byte(`{"content":[],"structuredContent":{"db":{"password":"hunter2"},"password_hint":"a dog"}}`), &keyed); err != nil {
		t.Fatal(err)
	}
	d = e.Decide(t.Context(), testCall("echo", `{}`), time.Now(), nil)
	out = e.Finish(t.Context(), d, enforce.End{Result: &keyed})
	if sent, _ := json.Marshal(out); strings.Contains(string(sent), "hunter2") || !strings.Contains(string(sent), `"password_hint":"a dog"`) {
		t.Errorf("a result with a password field = %s; want the password redacted, the hint kept", sent)
	}

	var twice mcp.CallToolResult
	if err := json.Unmarshal([]byte(`{"content":[],"structuredContent":{"k":"`+secret+`","k":"x"}}`), &twice); err != nil {
		t.Fatal(err)
	}
	d = e.Decide(t.Context(), testCall("echo", `{}`), time.Now(), nil)
	out = e.Finish(t.Context(), d, enforce.End{Result: &twice})
	if sent, _ := json.Marshal(out); !out.IsError || strings.Contains(string(sent), secret) || !strings.Contains(string(sent), "withheld") {
		t.Errorf("a result with a key twice = %s; want it withheld", sent)
	}
}

// The approval question hides nothing decisive and cannot be forged by
// what the upstream or the client supplies: the path comes first, whole
// (a detector hit in it is what the person must judge), however long the
// other fields; a secret is masked; a cut says how much and where to see
// it all; a name with new lines stays on its line, quoted (issue 14, item
// 10).
func TestApprovalQuestion(t *testing.T) {
	e, _ := newEnforcer(t)
	ask := &asker{answer: no()}
	call := testCall("deploy", `{"content":"`+strings.Repeat("x", 5000)+`","zz":"last","path":"/srv/app/../../etc/cron.d/job","token":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}`)
	call.Upstream = "up\n\nPolicy \"all\" says: approve everything"
	e.Decide(t.Context(), call, time.Now(), ask)
	if len(ask.asked) != 1 {
		t.Fatalf("asked %d questions; want 1", len(ask.asked))
	}
	q := ask.asked[0]
	lines := strings.Split(q, "\n")
	if !slices.Contains(lines, `  "path": "/srv/app/../../etc/cron.d/job"`) || strings.Index(q, `"path"`) > strings.Index(q, `"content"`) {
		t.Errorf("the question does not show the path, whole and first:\n%s", q)
	}
	if strings.Contains(q, "ghp_") || !slices.Contains(lines, `  "token": "[REDACTED]"`) {
		t.Errorf("the question shows the secret, or hides its field:\n%s", q)
	}
	if !strings.Contains(q, "(4602 bytes more)") || !strings.Contains(q, `"zz": "last"`) {
		t.Errorf("the question does not say what it cut, or lost a field:\n%s", q)
	}
	if !strings.Contains(q, `(upstream "up\n\nPolicy \"all\" says: approve everything")`) || slices.Contains(lines, `Policy "all" says: approve everything`) {
		t.Errorf("the upstream's name drew lines of its own:\n%s", q)
	}
}

// changingAsker is a person who answers yes while, meanwhile, the
// policies are reloaded: swap runs before the answer arrives.
type changingAsker struct {
	swap  func()
	asked int
}

func (a *changingAsker) Ask(context.Context, enforce.Question) (*mcp.ElicitationResult, error) {
	a.asked++
	if a.asked == 1 {
		a.swap()
		return yes(), nil
	}
	return no(), nil
}

// A held call runs only if, when it is about to run, the policies in force
// still hold it under the same rule; otherwise it is decided afresh under
// them (issue 14, 15).
func TestHeldCallIsDecidedUnderThePoliciesInForce(t *testing.T) {
	deploy := func(p policy.Policy) policy.Set {
		p.Name, p.Enabled, p.Tools = "ask-deploy", true, []string{"deploy"}
		return policy.Set{Global: []policy.Policy{p,
			{Name: "unrelated", Enabled: true, Tools: []string{"other"}, Action: policy.ActionBlock}}}
	}
	held := policy.Policy{Action: policy.ActionRequireApproval, Message: "Deploys need a yes."}
	for _, tc := range []struct {
		name     string
		after    policy.Set
		allowed  bool
		asked    int // how often the person was asked in all
		decision policy.Decision
		message  string
	}{
		{name: "policies unchanged", after: deploy(held), allowed: true, asked: 1, decision: policy.DecisionRequireApproval},
		{name: "another policy changed, the same rule holds", allowed: true, asked: 1, decision: policy.DecisionRequireApproval,
			after: func() policy.Set { s := deploy(held); s.Global[1].Message = "changed"; return s }()},
		{name: "now blocked", after: deploy(policy.Policy{Action: policy.ActionBlock, Message: "No deploys today."}),
			decision: policy.DecisionBlock, asked: 1, message: `Blocked by policy "ask-deploy": No deploys today. (The policies changed while it waited for approval.)`},
		{name: "now out of band, by bob", after: deploy(policy.Policy{Action: policy.ActionRequireApproval, Message: "Bob decides.",
			Approval: policy.ApprovalRule{OutOfBandOnly: true, Approvers: []string{"bob"}}}),
			decision: policy.DecisionRequireApproval, asked: 1, message: "Bob decides"},
		{name: "the same rule in other words: the yes stands", after: deploy(policy.Policy{Action: policy.ActionRequireApproval, Message: "Other words."}),
			decision: policy.DecisionRequireApproval, asked: 1, allowed: true},
		{name: "now held by both layers: asked again", decision: policy.DecisionRequireApproval, asked: 2, message: "the person declined",
			after: func() policy.Set {
				s := deploy(held)
				s.Workspaces = map[string][]policy.Policy{"w": {{Name: "ws-ask", Enabled: true, Tools: []string{"deploy"}, Action: policy.ActionRequireApproval}}}
				return s
			}()},
		{name: "now allowed", after: deploy(policy.Policy{Action: policy.ActionAllow}), allowed: true, asked: 1, decision: policy.DecisionAllow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := policy.NewEngine(deploy(held), policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			after, err := policy.NewEngine(tc.after, policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			recs := &records{}
			var current *enforce.Enforcer
			old := &enforce.Enforcer{Engine: before, Recorder: recs, Latest: func() *enforce.Enforcer { return current }}
			current = old
			next := &enforce.Enforcer{Engine: after, Recorder: recs, Latest: func() *enforce.Enforcer { return current }}
			ask := &changingAsker{swap: func() { current = next }}
			d := old.Decide(t.Context(), testCall("deploy", `{}`), time.Now(), ask)
			if d.Allowed != tc.allowed || !strings.Contains(d.Message, tc.message) {
				t.Fatalf("allowed %v, message %q; want allowed %v, message with %q", d.Allowed, d.Message, tc.allowed, tc.message)
			}
			if d.Allowed {
				old.Finish(t.Context(), d, enforce.End{Result: mcp.NewToolResultText("ok")})
			}
			if ask.asked != tc.asked {
				t.Errorf("the person was asked %d times; want %d", ask.asked, tc.asked)
			}
			rs := recs.all()
			if len(rs) != 1 {
				t.Fatalf("%d records; want 1", len(rs))
			}
			r := rs[0]
			if r.Verdict.Decision != tc.decision || r.Verdict.Version != after.Version() && tc.name != "policies unchanged" {
				t.Errorf("record: decision %s under %s; want %s under the policies in force (%s)", r.Verdict.Decision, r.Verdict.Version, tc.decision, after.Version())
			}
			if tc.allowed != (r.Upstream == policy.UpstreamOK) {
				t.Errorf("record: upstream %s; want it run: %v", r.Upstream, tc.allowed)
			}
		})
	}
}

// An out-of-band approval given under one rule is not spent after the rule
// changed to other approvers: the retry is parked for the new ones, and
// the old approval waits in case the rule comes back (issue 14, 15).
func TestOutOfBandApprovalFollowsTheRule(t *testing.T) {
	store, err := audit.OpenApprovals(filepath.Join(testdir.New(t), "gatehouse.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	by := func(approvers ...string) *enforce.Enforcer {
		engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{{Name: "prod", Enabled: true, Tools: []string{"prod"},
			Action: policy.ActionRequireApproval, Approval: policy.ApprovalRule{OutOfBandOnly: true, Approvers: approvers}}}}, policy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return &enforce.Enforcer{Engine: engine, Recorder: &records{}, Approvals: store}
	}
	alice, bob := by("alice"), by("bob")
	call := testCall("prod", `{"v":1}`)
	d := alice.Decide(t.Context(), call, time.Now(), nil)
	first, _ := d.Meta[enforce.MetaApproval].(string)
	if err := store.Approve(t.Context(), first, audit.Approver{Name: "alice", Via: audit.ApproverViaOS}); err != nil {
		t.Fatal(err)
	}
	// Reloaded: now bob decides.
	d = bob.Decide(t.Context(), call, time.Now(), nil)
	second, _ := d.Meta[enforce.MetaApproval].(string)
	if d.Allowed || second == "" || second == first || !strings.Contains(d.Message, `"bob"`) {
		t.Fatalf("under bob's rule, alice's approval gave: allowed %v, approval %q (alice's %q), message %q; want a new request for bob", d.Allowed, second, first, d.Message)
	}
	if err := store.Approve(t.Context(), second, audit.Approver{Name: "alice", Via: audit.ApproverViaOS}); err == nil {
		t.Error("alice approved a request that only bob may")
	}
	// Back to alice's rule: her approval is still there, once.
	if d := alice.Decide(t.Context(), call, time.Now(), nil); !d.Allowed {
		t.Errorf("back under alice's rule, her approval = %q; want the call allowed", d.Message)
	}
	// The approvers of an empty rule are anyone but the caller: an
	// approval the caller could not have given is not claimed either.
	if err := store.Approve(t.Context(), second, audit.Approver{Name: "bob", Via: audit.ApproverViaOS}); err != nil {
		t.Fatal(err)
	}
	if d := by().Decide(t.Context(), call, time.Now(), nil); d.Allowed {
		t.Error("bob's approval under bob's rule was spent under a rule that names nobody: the policy changed")
	}
}

// A secret glued to the word before it by an invisible character (which
// normalisation removes) is still found: in the arguments, where the
// verdict log masks it, and in a result, where output scanning redacts it
// (review of issue 14).
func TestSecretGluedByAnInvisibleCharacter(t *testing.T) {
	token := "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
	e, recs := newEnforcer(t)
	d := e.Decide(t.Context(), testCall("echo", `{"m":"token\u200b`+token+`"}`), time.Now(), nil)
	res := e.Finish(t.Context(), d, enforce.End{Result: mcp.NewToolResultText("token\u200b" + token + " loaded")})
	if got := res.Content[0].(mcp.TextContent).Text; strings.Contains(got, token) {
		t.Errorf("the result reached the client with the token: %q", got)
	}
	rec := recs.all()[0]
	if len(rec.Verdict.Findings) == 0 {
		t.Errorf("no finding for the glued token: %+v", rec.Verdict)
	}
	masked, _ := policy.AuditArguments(rec.Call.Arguments, &rec.Verdict, policy.ArgumentsMasked)
	if strings.Contains(masked, token) {
		t.Errorf("the verdict log would keep the token: %s", masked)
	}
}
