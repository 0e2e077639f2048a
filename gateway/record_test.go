package gateway_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/audit/audittest"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// recordPolicies decide the calls of TestEveryCallRecorded: one policy per
// path a call can take.
var recordPolicies = policy.Set{Global: []policy.Policy{
	{Name: "no-forbidden", Enabled: true, Strict: true, Tools: []string{"echo"}, Action: policy.ActionBlock,
		When: policy.When{Keywords: []string{"forbidden"}}, Message: "That word is not allowed."},
	{Name: "redact-ssn", Enabled: true, Action: policy.ActionRedact, When: policy.When{Args: `\b\d{3}-\d{2}-\d{4}\b`}},
	{Name: "watch-add", Enabled: true, Tools: []string{"add"}, Action: policy.ActionWarn, Message: "adding is watched"},
	{Name: "ask-kinds", Enabled: true, Tools: []string{"kinds"}, Action: policy.ActionRequireApproval, Message: "Kinds need a yes."},
	{Name: "strict-log", Enabled: true, Strict: true, Tools: []string{"log"}, Rules: "Never log anything sensitive."},
	{Name: "lax-big", Enabled: true, Strict: false, Tools: []string{"big"}, Rules: "Do not make huge texts."},
}}

// Every path of a call leaves exactly one record, with the fields that say
// what happened: allowed, redacted, warned, blocked, sent for approval,
// judge failed (strict and fail-open), failed upstream (tool error,
// JSON-RPC error), cancelled, and a tool that does not exist.
func TestEveryCallRecorded(t *testing.T) {
	const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	file := filepath.Join(t.TempDir(), "verdicts.db")
	log, err := audit.Open(file, audit.Options{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close(context.Background()) })
	engine, err := policy.NewEngine(recordPolicies, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	enf := &enforce.Enforcer{Engine: engine, Recorder: log, Logger: testLogger(t)}
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada"}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		httpUpstream("up", up.ServeHTTP(t)),
	}})
	c, _ := connectHTTP(t, serveHTTP(t, g)+"/w/w/mcp", modern)
	reader := openReader(t, file)

	tests := []struct {
		name     string
		tool     string
		args     map[string]any
		want     audit.Entry // the fields checked; Results by policy and outcome
		argsWant string      // the arguments as kept
		ran      bool        // the upstream ran it
	}{
		{name: "allowed", tool: "up__echo", args: map[string]any{"message": "hello"}, ran: true,
			want: audit.Entry{Decision: "allow", UpstreamOutcome: "ok"}, argsWant: `{"message":"hello"}`},
		{name: "redacted and masked", tool: "up__echo", args: map[string]any{"message": "ssn 123-45-6789 key " + secret}, ran: true,
			want:     audit.Entry{Decision: "allow", UpstreamOutcome: "ok", Results: []audit.Result{{Policy: "redact-ssn", Outcome: "redact"}}},
			argsWant: `{"message":"ssn [REDACTED] key [REDACTED]"}`},
		{name: "a credential key's value masked", tool: "up__echo", args: map[string]any{"message": "hi", "password": "hunter2", "password_hint": "a dog"}, ran: true,
			want: audit.Entry{Decision: "allow", UpstreamOutcome: "ok"}, argsWant: `{"message":"hi","password":"[REDACTED]","password_hint":"a dog"}`},
		{name: "warned", tool: "up__add", args: map[string]any{"a": 1, "b": 2}, ran: true,
			want:     audit.Entry{Decision: "allow", UpstreamOutcome: "ok", Results: []audit.Result{{Policy: "watch-add", Outcome: "warn"}}, Warnings: []audit.Warning{{Policy: "watch-add", Message: "adding is watched"}}},
			argsWant: `{"a":1,"b":2}`},
		{name: "blocked", tool: "up__echo", args: map[string]any{"message": "a forbidden word"},
			want: audit.Entry{Decision: "block", Policy: "no-forbidden", Layer: "global", UpstreamOutcome: "not_run",
				Message: `Blocked by policy "no-forbidden": That word is not allowed.`, Results: []audit.Result{{Policy: "no-forbidden", Outcome: "block"}}},
			argsWant: `{"message":"a forbidden word"}`},
		{name: "approval required", tool: "up__kinds", args: map[string]any{},
			want:     audit.Entry{Decision: "require_approval", Policy: "ask-kinds", UpstreamOutcome: "not_run", Results: []audit.Result{{Policy: "ask-kinds", Outcome: "require_approval"}}},
			argsWant: `{}`},
		{name: "judge failed, strict", tool: "up__log", args: map[string]any{"level": "info", "message": "x"},
			want: audit.Entry{Decision: "block", Policy: "strict-log", UpstreamOutcome: "not_run", Results: []audit.Result{{Policy: "strict-log", Outcome: "judge_failed"}},
				Judge: audit.Judge{Error: "no policy judge is configured"}},
			argsWant: `{"level":"info","message":"x"}`},
		{name: "judge failed, fail-open", tool: "up__big", args: map[string]any{"bytes": 10}, ran: true,
			want: audit.Entry{Decision: "allow", UpstreamOutcome: "ok", Results: []audit.Result{{Policy: "lax-big", Outcome: "judge_failed"}},
				Judge: audit.Judge{Error: "no policy judge is configured", FailOpen: true}},
			argsWant: `{"bytes":10}`},
		{name: "tool error", tool: "up__fail", args: map[string]any{"message": "disk on fire"}, ran: true,
			want: audit.Entry{Decision: "allow", UpstreamOutcome: "tool_error", UpstreamError: "disk on fire"}, argsWant: `{"message":"disk on fire"}`},
		{name: "JSON-RPC error", tool: "up__jsonrpc_error", args: map[string]any{}, ran: true,
			want: audit.Entry{Decision: "allow", UpstreamOutcome: "transport_error", UpstreamError: "jsonrpc_error: this tool always fails"}, argsWant: `{}`},
	}
	var ids []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(up.Calls.All())
			res := call(t, c, tc.tool, tc.args)
			id := metaVerdict(t, res)
			ids = append(ids, id)
			if ran := len(up.Calls.All()) > before; ran != tc.ran {
				t.Errorf("upstream ran the call: %v; want %v", ran, tc.ran)
			}
			e := recordOf(t, log, reader, id)
			checkEntry(t, e, tc.want)
			if string(e.Arguments) != tc.argsWant || e.ArgumentsForm != "masked" {
				t.Errorf("arguments = %s (%s); want %s (masked)", e.Arguments, e.ArgumentsForm, tc.argsWant)
			}
			if e.Workspace != "w" || e.User != "ada" || e.Upstream != "up" || e.Exposed != tc.tool || e.Tool != strings.TrimPrefix(tc.tool, "up__") {
				t.Errorf("record names workspace %q user %q upstream %q tool %q exposed %q", e.Workspace, e.User, e.Upstream, e.Tool, e.Exposed)
			}
			if e.Client == "" || e.PolicyVersion != engine.Version() {
				t.Errorf("record client %q policy version %q; want the client's name and %q", e.Client, e.PolicyVersion, engine.Version())
			}
			if tc.ran != (e.UpstreamLatencyMS != nil) {
				t.Errorf("upstream latency = %v for a call that ran: %v", e.UpstreamLatencyMS, tc.ran)
			}
			if e.OverheadMS <= 0 || e.OverheadMS > 5000 {
				t.Errorf("overhead = %v ms", e.OverheadMS)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req := mcp.CallToolRequest{}
		req.Params.Name = "up__slow"
		req.Params.Arguments = map[string]any{"ms": 5000, "steps": 1}
		go func() {
			waitFor(t, "the slow call to start", 10*time.Second, func() bool { return up.Calls.CallCount("slow") == 1 })
			cancel()
		}()
		if _, err := c.CallTool(ctx, req); err == nil {
			t.Fatal("a cancelled call returned no error")
		}
		var e audit.Entry
		waitFor(t, "the cancelled call's record", 10*time.Second, func() bool {
			_ = log.Flush(t.Context())
			es, err := reader.List(t.Context(), audit.Filter{Tool: "slow"})
			if err != nil || len(es) != 1 {
				return false
			}
			e = es[0]
			return true
		})
		checkEntry(t, e, audit.Entry{Decision: "allow", UpstreamOutcome: "cancelled"})
	})

	t.Run("unknown tool", func(t *testing.T) {
		req := mcp.CallToolRequest{}
		req.Params.Name = "up__no_such_tool"
		req.Params.Arguments = map[string]any{"key": secret}
		if _, err := c.CallTool(t.Context(), req); err == nil {
			t.Fatal("calling an unknown tool succeeded")
		}
		if err := log.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		es, err := reader.List(t.Context(), audit.Filter{Tool: "up__no_such_tool"})
		if err != nil || len(es) != 1 {
			t.Fatalf("records of the unknown tool: %d (%v); want 1", len(es), err)
		}
		checkEntry(t, es[0], audit.Entry{Decision: "block", UpstreamOutcome: "not_run"})
		if !strings.Contains(es[0].Reason, "no tool of that name") || string(es[0].Arguments) != `{"key":"[REDACTED]"}` {
			t.Errorf("unknown tool record: reason %q, arguments %s", es[0].Reason, es[0].Arguments)
		}
	})

	// Exactly one record per call, and the secret in none of them.
	if err := log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, err := reader.List(t.Context(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(tests)+2 {
		t.Errorf("%d records for %d calls", len(all), len(tests)+2)
	}
	seen := map[string]int{}
	for _, e := range all {
		seen[e.ID]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("verdict %s has %d records; want 1", id, seen[id])
		}
	}
	audittest.AssertAbsent(t, file, secret, "123-45-6789")
}

// A workspace that requires the verdict log refuses calls while the log
// cannot be written — and records the refusals once it can; one that does
// not require it runs them.
func TestAuditRequiredRefusesUnrecordedCalls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-yet")
	file := filepath.Join(dir, "verdicts.db")
	log, err := audit.Open(file, audit.Options{}, testLogger(t))
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
	t.Cleanup(func() { _ = log.Close(context.Background()) })
	engine, err := policy.NewEngine(policy.Set{}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	url := up.ServeHTTP(t)
	enf := &enforce.Enforcer{Engine: engine, Recorder: log, AuditRequired: map[string]bool{"strict": true}, Logger: testLogger(t)}
	g := startGateway(t, gateway.Options{Enforcer: enf},
		workspace.Spec{Name: "strict", Upstreams: []upstream.Spec{httpUpstream("up", url)}},
		workspace.Spec{Name: "lax", Upstreams: []upstream.Spec{httpUpstream("up", url)}})
	base := serveHTTP(t, g)
	strict, _ := connectHTTP(t, base+"/w/strict/mcp", legacy)
	lax, _ := connectHTTP(t, base+"/w/lax/mcp", legacy)

	res := call(t, strict, "up__echo", map[string]any{"message": "hi"})
	if !res.IsError || !strings.Contains(text(res), "verdict log cannot be written") {
		t.Errorf("call while the log is down = %q; want a refusal", text(res))
	}
	refused := metaVerdict(t, res)
	if n := up.Calls.CallCount("echo"); n != 0 {
		t.Fatalf("a refused call reached the upstream")
	}
	if res := call(t, lax, "up__echo", map[string]any{"message": "hi"}); res.IsError {
		t.Errorf("a workspace that does not require the log refused: %q", text(res))
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the log to become writable", 20*time.Second, func() bool { return log.Err() == nil })
	if res := call(t, strict, "up__echo", map[string]any{"message": "hi"}); res.IsError {
		t.Errorf("call after the log recovered = %q", text(res))
	}
	reader := openReader(t, file)
	e := recordOf(t, log, reader, refused)
	checkEntry(t, e, audit.Entry{Decision: "block", UpstreamOutcome: "not_run", Workspace: "strict"})
	all, err := reader.List(t.Context(), audit.Filter{})
	if err != nil || len(all) != 3 {
		t.Errorf("%d records (%v); want 3: the refusal, the lax call, the call after", len(all), err)
	}
}

// metaVerdict is the verdict id in a result's _meta.
func metaVerdict(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if res.Meta != nil {
		if id, ok := res.Meta.AdditionalFields[enforce.MetaVerdict].(string); ok {
			return id
		}
	}
	t.Fatalf("no verdict id in the result's _meta: %+v", res.Meta)
	return ""
}

func openReader(t *testing.T, file string) *audit.Reader {
	t.Helper()
	var r *audit.Reader
	waitFor(t, "the verdict log to exist", 10*time.Second, func() bool {
		var err error
		r, err = audit.OpenReader(file)
		return err == nil
	})
	t.Cleanup(func() { r.Close() })
	return r
}

// recordOf flushes the log and reads the record of verdict id.
func recordOf(t *testing.T, log *audit.Log, r *audit.Reader, id string) audit.Entry {
	t.Helper()
	if err := log.Flush(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	e, err := r.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("record of %s: %v", id, err)
	}
	return e
}

// checkEntry compares the fields of want that are set with e's.
func checkEntry(t *testing.T, e, want audit.Entry) {
	t.Helper()
	eq := func(field, got, want string) {
		if want != "" && !strings.Contains(got, want) {
			t.Errorf("%s = %q; want %q", field, got, want)
		}
	}
	eq("decision", e.Decision, want.Decision)
	eq("policy", e.Policy, want.Policy)
	eq("layer", e.Layer, want.Layer)
	eq("message", e.Message, want.Message)
	eq("workspace", e.Workspace, want.Workspace)
	eq("upstream outcome", e.UpstreamOutcome, want.UpstreamOutcome)
	eq("upstream error", e.UpstreamError, want.UpstreamError)
	eq("judge error", e.Judge.Error, want.Judge.Error)
	if want.Decision == "allow" && e.Policy != "" && want.Policy == "" {
		t.Errorf("an allowed call's deciding policy = %q", e.Policy)
	}
	if e.Judge.FailOpen != want.Judge.FailOpen {
		t.Errorf("fail-open = %v; want %v", e.Judge.FailOpen, want.Judge.FailOpen)
	}
	for _, w := range want.Results {
		found := false
		for _, r := range e.Results {
			found = found || (r.Policy == w.Policy && r.Outcome == w.Outcome)
		}
		if !found {
			t.Errorf("results %+v lack %s: %s", e.Results, w.Policy, w.Outcome)
		}
	}
	if len(want.Results) == 0 && len(e.Results) != 0 {
		t.Errorf("results = %+v; want none", e.Results)
	}
	if len(e.Warnings) != len(want.Warnings) || (len(want.Warnings) > 0 && e.Warnings[0] != want.Warnings[0]) {
		t.Errorf("warnings = %+v; want %+v", e.Warnings, want.Warnings)
	}
}
