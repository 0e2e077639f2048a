package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCase is one file of testdata/engine: policies and calls in; the
// .golden file beside it holds each call's verdict and explanation.
type goldenCase struct {
	// Now is the clock for calls without their own At.
	Now time.Time `yaml:"now"`
	// Judge scripts the judge: per policy ID a verdict and reason, or an
	// error for the whole request ("timeout" is a deadline).
	Judge *struct {
		Error   string            `yaml:"error"`
		Answers map[string]string `yaml:"answers"` // id → "verdict: reason"
		Model   string            `yaml:"model"`
	} `yaml:"judge"`
	JudgeTimeout time.Duration           `yaml:"judge_timeout"`
	Global       []testPolicy            `yaml:"global"`
	Workspaces   map[string][]testPolicy `yaml:"workspaces"`
	Calls        []testCall              `yaml:"calls"`
}

type testPolicy struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Disabled    bool              `yaml:"disabled"`
	Lax         bool              `yaml:"lax"` // strict: false
	Priority    int               `yaml:"priority"`
	Rules       string            `yaml:"rules"`
	Action      string            `yaml:"action"`
	Tools       []string          `yaml:"tools"`
	Resources   []string          `yaml:"resources"`
	Prompts     []string          `yaml:"prompts"`
	Upstreams   []string          `yaml:"upstreams"`
	Message     string            `yaml:"message"`
	Args        string            `yaml:"args"`
	ArgFields   map[string]string `yaml:"arg_fields"`
	Keywords    []string          `yaml:"keywords"`
	Threats     []string          `yaml:"threats"`
	RiskMin     *float64          `yaml:"risk_min"`
	RiskMax     *float64          `yaml:"risk_max"`
	Users       []string          `yaml:"users"`
	Clients     []string          `yaml:"clients"`
	Time        *struct {
		Days []string `yaml:"days"`
		From string   `yaml:"from"`
		To   string   `yaml:"to"`
		TZ   string   `yaml:"tz"`
	} `yaml:"time"`
	RateLimit *struct {
		Requests int           `yaml:"requests"`
		Per      time.Duration `yaml:"per"`
		Key      string        `yaml:"key"`
	} `yaml:"rate_limit"`
}

type testCall struct {
	Name      string    `yaml:"name"`
	Kind      string    `yaml:"kind"`   // tool (the default), resource or prompt
	Method    string    `yaml:"method"` // the MCP method; tools/call when empty
	Workspace string    `yaml:"workspace"`
	Upstream  string    `yaml:"upstream"`
	Tool      string    `yaml:"tool"`
	Exposed   string    `yaml:"exposed"`
	User      string    `yaml:"user"`
	Client    string    `yaml:"client"`
	Args      any       `yaml:"args"`
	RawArgs   string    `yaml:"raw_args"`
	At        time.Time `yaml:"at"`
	Explain   bool      `yaml:"explain"`
}

var days = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (tp testPolicy) policy(t *testing.T, source string) policy.Policy {
	p := policy.Policy{
		Name: tp.Name, Description: tp.Description, Enabled: !tp.Disabled, Strict: !tp.Lax,
		Priority: tp.Priority, Rules: tp.Rules, Action: policy.Action(tp.Action),
		Tools: tp.Tools, Resources: tp.Resources, Prompts: tp.Prompts, Upstreams: tp.Upstreams, Message: tp.Message, Source: source,
		When: policy.When{
			Args: tp.Args, ArgFields: tp.ArgFields, Keywords: tp.Keywords,
			RiskMin: tp.RiskMin, RiskMax: tp.RiskMax, Users: tp.Users, Clients: tp.Clients,
		},
	}
	for _, th := range tp.Threats {
		p.When.Threats = append(p.When.Threats, policy.Threat(th))
	}
	if tw := tp.Time; tw != nil {
		w := &policy.TimeWindow{From: -1, To: -1}
		for _, d := range tw.Days {
			w.Days = append(w.Days, time.Weekday(slices.Index(days, d)))
		}
		if tw.From != "" {
			w.From, _ = policy.ParseClock(tw.From)
			w.To, _ = policy.ParseClock(tw.To)
		}
		if tw.TZ != "" {
			loc, err := time.LoadLocation(tw.TZ)
			if err != nil {
				t.Fatal(err)
			}
			w.Location = loc
		}
		p.When.Time = w
	}
	if rl := tp.RateLimit; rl != nil {
		p.RateLimit = &policy.RateLimit{Requests: rl.Requests, Per: rl.Per, Key: policy.RateLimitKey(rl.Key)}
	}
	return p
}

// scriptedJudge answers as a golden case says.
type scriptedJudge struct {
	err     error
	answers map[string]string
	model   string
	asked   []string // the policy IDs of each request, joined
	saw     []string // the arguments of each request
	reqs    []policy.JudgeRequest
}

func (j *scriptedJudge) Judge(ctx context.Context, req policy.JudgeRequest) (policy.JudgeAnswer, error) {
	var ids []string
	for _, p := range req.Policies {
		ids = append(ids, p.ID)
	}
	j.asked = append(j.asked, strings.Join(ids, ","))
	j.saw = append(j.saw, string(req.Call.Arguments))
	j.reqs = append(j.reqs, req)
	if j.err != nil {
		return policy.JudgeAnswer{}, j.err
	}
	ans := policy.JudgeAnswer{Model: j.model}
	for _, p := range req.Policies {
		a, ok := j.answers[p.ID]
		if !ok {
			continue // a missing answer: the engine must notice
		}
		verdict, reason, _ := strings.Cut(a, ": ")
		ans.Results = append(ans.Results, policy.JudgeResult{Policy: p.ID, Verdict: policy.JudgeVerdict(verdict), Reason: reason})
	}
	return ans, nil
}

func TestEngineGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/engine/*.yaml")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var gc goldenCase
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			dec.KnownFields(true)
			if err := dec.Decode(&gc); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := runGolden(t, name, &gc)
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s: verdicts differ from %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", file, golden, got, want)
			}
		})
	}
}

func runGolden(t *testing.T, name string, gc *goldenCase) string {
	set := policy.Set{Workspaces: map[string][]policy.Policy{}}
	for i, p := range gc.Global {
		set.Global = append(set.Global, p.policy(t, fmt.Sprintf("%s.yaml:global[%d]", name, i)))
	}
	for ws, ps := range gc.Workspaces {
		for i, p := range ps {
			set.Workspaces[ws] = append(set.Workspaces[ws], p.policy(t, fmt.Sprintf("%s.yaml:%s[%d]", name, ws, i)))
		}
	}
	now := gc.Now
	opts := policy.Options{Now: func() time.Time { return now }, JudgeTimeout: gc.JudgeTimeout}
	var judge *scriptedJudge
	if gc.Judge != nil {
		judge = &scriptedJudge{answers: gc.Judge.Answers, model: gc.Judge.Model}
		switch gc.Judge.Error {
		case "":
		case "timeout":
			judge.err = fmt.Errorf("judge: %w", context.DeadlineExceeded)
		default:
			judge.err = errors.New(gc.Judge.Error)
		}
		opts.Judge = judge
	}
	engine, err := policy.NewEngine(set, opts)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, c := range gc.Calls {
		if !c.At.IsZero() {
			now = c.At
		}
		call := policy.Call{
			Workspace: c.Workspace, Upstream: c.Upstream, Tool: c.Tool, Exposed: c.Exposed,
			User: c.User, Client: c.Client, Kind: policy.Kind(c.Kind), Method: c.Method,
		}
		if call.Exposed == "" && call.CallKind() != policy.KindTool {
			call.Exposed = call.Tool // a resource's URI, a prompt without a prefix
		}
		if call.Exposed == "" {
			call.Exposed = call.Upstream + "__" + call.Tool
		}
		switch {
		case c.RawArgs != "":
			call.Arguments = json.RawMessage(c.RawArgs)
		case c.Args != nil:
			raw, err := json.Marshal(c.Args)
			if err != nil {
				t.Fatalf("call %q: %v", c.Name, err)
			}
			call.Arguments = raw
		}
		var v policy.Verdict
		if judge != nil {
			judge.asked, judge.saw = nil, nil
		}
		if c.Explain {
			v = engine.Explain(t.Context(), call, policy.ExplainOptions{})
		} else {
			v = engine.Evaluate(t.Context(), call)
		}
		fmt.Fprintf(&b, "== %s\n", c.Name)
		writeVerdict(&b, v)
		if judge != nil && len(judge.asked) > 0 {
			fmt.Fprintf(&b, "judge requests: %s\n", strings.Join(judge.asked, " | "))
			fmt.Fprintf(&b, "judge saw arguments: %s\n", strings.Join(judge.saw, " | "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func writeVerdict(b *strings.Builder, v policy.Verdict) {
	fmt.Fprintf(b, "decision: %s", v.Decision)
	if v.Policy != "" {
		fmt.Fprintf(b, " by %s %q", v.Layer, v.Policy)
	}
	b.WriteString("\n")
	if v.Message != "" {
		fmt.Fprintf(b, "message: %s\n", v.Message)
	}
	if v.RetryAfter > 0 {
		fmt.Fprintf(b, "retry after: %s\n", v.RetryAfter)
	}
	if v.Risk > 0 {
		fmt.Fprintf(b, "risk: %.2f\n", v.Risk)
	}
	for _, f := range v.Findings {
		fmt.Fprintf(b, "finding: %s/%s %.2f at %s %s\n", f.Threat, f.Kind, f.Severity, f.Path, f.Masked)
	}
	for _, r := range v.Results {
		fmt.Fprintf(b, "policy: %s %s (%s, priority %d) %s: %s\n", r.Layer, r.Policy, r.Kind, r.Priority, r.Outcome, r.Why)
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(b, "warning: %s: %s\n", w.Policy, w.Message)
	}
	for _, r := range v.Redactions {
		fmt.Fprintf(b, "redaction: %s at %s (%s)\n", r.Policy, r.Path, r.What)
	}
	if v.Arguments != nil {
		fmt.Fprintf(b, "forwarded: %s\n", v.Arguments)
	}
	if j := v.Judge; j.Asked {
		fmt.Fprintf(b, "judge: model=%q fail_open=%v", j.Model, j.FailOpen)
		if j.Err != nil {
			fmt.Fprintf(b, " err=%v", j.Err)
		}
		b.WriteString("\n")
	}
}

// cachingJudge is a scriptedJudge that holds the answers of the calls it
// has judged, keyed by their arguments.
type cachingJudge struct {
	scriptedJudge
	held map[string]policy.JudgeAnswer
}

func (j *cachingJudge) Cached(req policy.JudgeRequest) (policy.JudgeAnswer, bool) {
	ans, ok := j.held[string(req.Call.Arguments)]
	ans.Cached = ok
	return ans, ok
}

func (j *cachingJudge) Judge(ctx context.Context, req policy.JudgeRequest) (policy.JudgeAnswer, error) {
	// A request takes time: a deadline sooner than that is not met, even
	// where the clock is too coarse to have passed it yet (Windows).
	if d, ok := ctx.Deadline(); ok && time.Until(d) < judgeRequestTime {
		<-ctx.Done()
		return policy.JudgeAnswer{}, ctx.Err()
	}
	ans, err := j.scriptedJudge.Judge(ctx, req)
	if err == nil {
		j.held[string(req.Call.Arguments)] = ans
	}
	return ans, err
}

// judgeRequestTime is how long a request to cachingJudge takes.
const judgeRequestTime = time.Millisecond

// An answer the judge holds decides the call without a request, even when
// the judge timeout leaves no time to ask; one it does not hold is asked
// for under the timeout.
func TestEngineUsesCachedAnswers(t *testing.T) {
	j := &cachingJudge{scriptedJudge: scriptedJudge{answers: map[string]string{"no-deletes": "violate: it deletes rows"}, model: "m"}, held: map[string]policy.JudgeAnswer{}}
	set := policy.Set{Global: []policy.Policy{{Name: "no-deletes", Enabled: true, Strict: true, Rules: "Never delete rows."}}}
	call := policy.Call{Workspace: "w", Upstream: "db", Tool: "query", Exposed: "db__query", Arguments: []byte(`{"sql":"DELETE FROM t"}`)}
	e, err := policy.NewEngine(set, policy.Options{Judge: j, JudgeTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if v := e.Evaluate(t.Context(), call); v.Decision != policy.DecisionBlock || v.Judge.Cached || v.Judge.Err != nil || len(j.asked) != 1 {
		t.Fatalf("first call: %s, cached %v, %d requests; want blocked by a fresh judgment", v.Decision, v.Judge.Cached, len(j.asked))
	}
	// A timeout no request could meet: only an answer at hand decides.
	e, err = policy.NewEngine(set, policy.Options{Judge: j, JudgeTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	v := e.Evaluate(t.Context(), call)
	if v.Decision != policy.DecisionBlock || !v.Judge.Cached || v.Judge.Err != nil || v.Judge.Model != "m" || len(j.asked) != 1 || !strings.Contains(v.Message, "no-deletes") {
		t.Errorf("repeat: %s %q, cached %v, err %v, %d requests; want blocked by the held answer without a request", v.Decision, v.Message, v.Judge.Cached, v.Judge.Err, len(j.asked))
	}
	other := call
	other.Arguments = []byte(`{"sql":"DELETE FROM u"}`)
	if v := e.Evaluate(t.Context(), other); v.Judge.Cached || v.Judge.Err == nil || len(j.asked) != 1 {
		t.Errorf("new arguments: cached %v, err %v, %d requests; want a judge failure (no time to ask)", v.Judge.Cached, v.Judge.Err, len(j.asked))
	}
}

// The judge is handed the canonical arguments the engine read, and asked
// to read them itself when a redaction changed them; either way
// CanonicalArgs is the canonical form of the arguments it is shown.
func TestJudgeRequestCanonicalArguments(t *testing.T) {
	j := &scriptedJudge{answers: map[string]string{"no-deletes": "comply: fine"}}
	set := policy.Set{Global: []policy.Policy{
		{Name: "hide-ssn", Enabled: true, Action: policy.ActionRedact, When: policy.When{Args: `\d{3}-\d{2}-\d{4}`}},
		{Name: "no-deletes", Enabled: true, Strict: true, Rules: "Never delete rows."},
	}}
	e, err := policy.NewEngine(set, policy.Options{Judge: j})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, args string }{
		{"as sent", ` { "sql" : "SELECT 1",  "n": 1.50 } `},
		{"redacted", `{"sql":"SELECT 1","ssn":"123-45-6789"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j.reqs = nil
			e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "db", Tool: "query", Exposed: "db__query", Arguments: []byte(tc.args)})
			if len(j.reqs) != 1 {
				t.Fatalf("%d requests; want 1", len(j.reqs))
			}
			req := j.reqs[0]
			want, err := policy.Canonicalize(req.Call.Arguments)
			if err != nil {
				t.Fatal(err)
			}
			got, err := req.CanonicalArgs()
			if err != nil || got != want {
				t.Errorf("CanonicalArgs = %q, %v; want %q, the canonical form of the arguments shown (%s)", got, err, want, req.Call.Arguments)
			}
			if strings.Contains(got, "123-45-6789") {
				t.Errorf("the judge was handed the unredacted value: %s", got)
			}
		})
	}
}

// threats: [a, b] holds when any of them fired, as keywords do: the
// README's redact policy for what the judge's provider must not see
// redacts a lone secret, and a lone piece of personal data (issue 14).
func TestThreatsAnyOf(t *testing.T) {
	engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "keep-from-provider", Enabled: true, Action: policy.ActionRedact, When: policy.When{Threats: []policy.Threat{policy.ThreatSecret, policy.ThreatPII}}},
		{Name: "no-shell-or-sql", Enabled: true, Strict: true, Action: policy.ActionBlock, Message: "No.",
			When: policy.When{Threats: []policy.Threat{policy.ThreatShellInjection, policy.ThreatSQLDestructive}}},
	}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, args, want string
		decision         policy.Decision
	}{
		{"a lone secret", `{"key":"AKIAIOSFODNN7EXAMPLE"}`, `{"key":"[REDACTED]"}`, policy.DecisionAllow},
		{"a lone SSN", `{"note":"ssn 123-45-6789"}`, `{"note":"ssn [REDACTED]"}`, policy.DecisionAllow},
		{"both", `{"a":"AKIAIOSFODNN7EXAMPLE","b":"123-45-6789"}`, `{"a":"[REDACTED]","b":"[REDACTED]"}`, policy.DecisionAllow},
		{"neither", `{"a":"hello"}`, "", policy.DecisionAllow},
		{"only the SQL of two", `{"sql":"DROP TABLE users"}`, "", policy.DecisionBlock},
	} {
		v := engine.Evaluate(t.Context(), policy.Call{Workspace: "w", Tool: "t", Arguments: json.RawMessage(tc.args)})
		if v.Decision != tc.decision || string(v.Arguments) != tc.want {
			t.Errorf("Evaluate(%s) = %s with arguments %s; want %s with %q", tc.name, v.Decision, v.Arguments, tc.decision, tc.want)
		}
	}
}

// When both layers hold a call for approval, the stricter rule applies:
// out-of-band over in-client, only the approvers both allow, both policies
// named; with no approver in common the call is blocked (issue 14, item 3).
func TestApprovalRulesOfBothLayers(t *testing.T) {
	held := func(name string, rule policy.ApprovalRule) policy.Policy {
		return policy.Policy{Name: name, Enabled: true, Action: policy.ActionRequireApproval, Message: name + " holds it.", Approval: rule}
	}
	for _, tc := range []struct {
		name        string
		global, own policy.ApprovalRule
		decision    policy.Decision
		outOfBand   bool
		approvers   []string
		policies    []string
	}{
		{"in-client global, out-of-band workspace", policy.ApprovalRule{}, policy.ApprovalRule{OutOfBandOnly: true, Approvers: []string{"alice"}},
			policy.DecisionRequireApproval, true, []string{"alice"}, []string{"g", "w"}},
		{"approvers both allow", policy.ApprovalRule{Approvers: []string{"alice", "bob"}}, policy.ApprovalRule{Approvers: []string{"bob", "carol"}},
			policy.DecisionRequireApproval, false, []string{"bob"}, []string{"g", "w"}},
		{"anyone, then a list", policy.ApprovalRule{OutOfBandOnly: true}, policy.ApprovalRule{Approvers: []string{"carol"}},
			policy.DecisionRequireApproval, true, []string{"carol"}, []string{"g", "w"}},
		{"no approver in common", policy.ApprovalRule{Approvers: []string{"alice"}}, policy.ApprovalRule{Approvers: []string{"carol"}},
			policy.DecisionBlock, false, nil, []string{"g", "w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine, err := policy.NewEngine(policy.Set{
				Global:     []policy.Policy{held("g", tc.global)},
				Workspaces: map[string][]policy.Policy{"w": {held("w", tc.own)}},
			}, policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := engine.Evaluate(t.Context(), policy.Call{Workspace: "w", Tool: "deploy", Arguments: json.RawMessage(`{}`)})
			if v.Decision != tc.decision || v.Approval == nil {
				t.Fatalf("Evaluate = %s, approval %+v; want %s with a rule", v.Decision, v.Approval, tc.decision)
			}
			a := v.Approval
			if a.OutOfBandOnly != tc.outOfBand || !slices.Equal(a.Approvers, tc.approvers) || !slices.Equal(a.Policies, tc.policies) {
				t.Errorf("approval rule = %+v; want out-of-band %v, approvers %v, policies %v", *a, tc.outOfBand, tc.approvers, tc.policies)
			}
		})
	}
}

// Arguments an upstream could read otherwise than the policies do are
// blocked, not judged on one reading: keys that differ only in case, and
// bytes that are not UTF-8 (issue 14, items 11 and 18).
func TestAmbiguousArgumentsBlocked(t *testing.T) {
	engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "no-prod", Enabled: true, Strict: true, Action: policy.ActionBlock, Message: "Not in production.",
			When: policy.When{ArgFields: map[string]string{"env": "^production$"}}},
	}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{`{"env":"staging","Env":"production"}`, `{"env":"staging","ENV":"production"}`, "{\"env\":\"stag\xffing\"}"} {
		v := engine.Evaluate(t.Context(), policy.Call{Workspace: "w", Tool: "deploy", Arguments: json.RawMessage(args)})
		if v.Decision != policy.DecisionBlock || !strings.Contains(v.Message, "could not be read") {
			t.Errorf("Evaluate(%q) = %s, %q; want blocked as unreadable", args, v.Decision, v.Message)
		}
	}
}

// The value of a credential key is found at its path, even when the same
// text came first under another key (the leaf memo shares findings that
// depend on the text alone), and is masked in the verdict.
func TestCredentialKeyFinding(t *testing.T) {
	eng, err := policy.NewEngine(policy.Set{Global: []policy.Policy{{Name: "w", Enabled: true, Action: policy.ActionWarn}}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := eng.Evaluate(context.Background(), policy.Call{Workspace: "w", Tool: "t", Exposed: "t",
		Arguments: json.RawMessage(`{"name":"hunter2","note":"x","list":["a","b"],"db":{"password":"hunter2","password_hint":"a dog"}}`)})
	var paths []string
	for _, f := range v.Findings {
		paths = append(paths, f.Path+" "+f.Kind+" "+f.Masked)
	}
	if len(paths) != 1 || !strings.HasPrefix(paths[0], "$.db.password credential_assignment ") || strings.Contains(paths[0], "hunter2") {
		t.Errorf("findings = %q; want one credential_assignment at $.db.password, masked", paths)
	}
}
