package llmjudge_test

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Bad lines are refused with their line numbers, and nothing is judged.
func TestReadCasesErrors(t *testing.T) {
	in := `{"id":"a","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"comply"}}

{"id":"a","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"comply"}}
{"id":"b","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"allow"}}
{"id":"c","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"q":"comply","p":"comply"}}
{"id":"d","polices":[]}
not json
{"id":"e","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"failed"}}
`
	_, err := llmjudge.ReadCases(strings.NewReader(in))
	if err == nil {
		t.Fatal("ReadCases accepted bad lines")
	}
	for _, want := range []string{"line 3: id \"a\" is already used on line 1", "line 4 (b): unknown expected verdict", "line 5 (c): an expected verdict for \"q\"", "line 6: json: unknown field \"polices\"", "line 7:", "line 8 (e): unknown expected verdict \"failed\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ReadCases error lacks %q:\n%v", want, err)
		}
	}
}

// evalCase is a case of one or two policies: strict A and non-strict B.
func evalCase(id, category string, expected map[string]policy.JudgeVerdict) llmjudge.Case {
	c := llmjudge.Case{ID: id, Category: category, Expected: expected,
		Call: llmjudge.CaseCall{Workspace: "prod", Tool: "query", Arguments: json.RawMessage(`{"sql":"` + id + `"}`)}}
	for _, p := range []llmjudge.CasePolicy{{Name: "A", Rules: "No deletes in prod.", Strict: true}, {Name: "B", Rules: "Deploys need approval."}} {
		if expected[p.Name] != "" {
			c.Policies = append(c.Policies, p)
		}
	}
	return c
}

const (
	comply  = policy.JudgeComply
	violate = policy.JudgeViolate
	approve = policy.JudgeNeedsApproval
)

// A judge scripted to get known cases wrong gives the confusion matrix,
// precision, recall and false-allow rate worked out by hand. A failure
// blocks on the strict policy A and allows on the non-strict B.
func TestEvaluateScores(t *testing.T) {
	srv := llmjudgetest.New(t)
	j := meteredJudge(t, srv, llmjudge.ProviderOpenAI)
	type V = map[string]policy.JudgeVerdict
	cases := []llmjudge.Case{
		evalCase("c1", "sql", V{"A": violate}),                 // judged comply: a false allow
		evalCase("c2", "sql", V{"A": comply}),                  // judged violate: a false block
		evalCase("c3", "mixed", V{"A": violate, "B": approve}), // fails: A blocks, B allows
		evalCase("c4", "sql", V{"A": comply}),                  // right
		evalCase("c5", "deploy", V{"B": approve}),              // right
		evalCase("c6", "sql", V{"A": violate}),                 // right, slowly
	}
	replies := []llmjudgetest.Reply{
		{Content: answer("A", "comply")},
		{Content: answer("A", "violate")},
		{Content: "I think it is fine."},
		{Content: answer("A", "comply")},
		{Content: answer("B", "needs_approval")},
		{Content: answer("A", "violate"), Delay: 300 * time.Millisecond},
	}
	srv.Script(replies...)
	var seen []string
	rep, err := llmjudge.Evaluate(t.Context(), j, cases, llmjudge.EvalOptions{Timeout: 5 * time.Second,
		Progress: func(done, total int, r llmjudge.CaseResult) {
			if total != 6 || done != len(seen)+1 {
				t.Errorf("progress %d/%d after %d", done, total, len(seen))
			}
			seen = append(seen, r.ID)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 6 || rep.Cases != 6 || rep.Decisions != 7 || rep.Requests != 6 || rep.Repeat != 1 {
		t.Errorf("progress saw %v; report of %d cases, %d decisions, %d requests, %d runs", seen, rep.Cases, rep.Decisions, rep.Requests, rep.Repeat)
	}
	wantConfusion := llmjudge.Confusion{
		comply:  {comply: 1, violate: 1, approve: 0, llmjudge.Failed: 0},
		violate: {comply: 1, violate: 1, approve: 0, llmjudge.Failed: 1},
		approve: {comply: 0, violate: 0, approve: 1, llmjudge.Failed: 1},
	}
	if got, _ := json.Marshal(rep.Confusion); string(got) != mustJSON(wantConfusion) {
		t.Errorf("confusion = %s; want %s", got, mustJSON(wantConfusion))
	}
	s := rep.Score
	if s.Verdicts != 7 || s.Correct != 3 || s.Positives != 5 || s.TruePositives != 3 || s.FalseAllows != 2 || s.FalseBlocks != 1 || s.Failures != 2 || s.FailedAllows != 1 {
		t.Errorf("score = %+v; want 7 verdicts, 3 correct, 5 positives, 3 true positives, 2 false allows, 1 false block, 2 failures (1 allowed)", s)
	}
	near(t, "accuracy", s.Accuracy, 3.0/7)
	near(t, "precision", *s.Precision, 3.0/4)
	near(t, "recall", *s.Recall, 3.0/5)
	// 2 of 5, Wilson 95%: (0.4 + z²/10 ± z·sqrt(0.4·0.6/5 + z²/100)) / (1 + z²/5).
	fa := rep.FalseAllowRate
	if fa.Count != 2 || fa.Of != 5 {
		t.Errorf("false-allow rate over %d of %d; want 2 of 5", fa.Count, fa.Of)
	}
	near(t, "false-allow rate", fa.Rate, 0.4)
	near(t, "false-allow low", fa.Low, 0.1176)
	near(t, "false-allow high", fa.High, 0.7693)

	byName := func(gs []llmjudge.GroupScore, name string) llmjudge.Score {
		for _, g := range gs {
			if g.Name == name {
				return g.Score
			}
		}
		t.Fatalf("no group %q in %+v", name, gs)
		return llmjudge.Score{}
	}
	a, b := byName(rep.Policies, "A"), byName(rep.Policies, "B")
	if a.Verdicts != 5 || a.FalseAllows != 1 || a.FalseBlocks != 1 || b.Verdicts != 2 || b.FalseAllows != 1 || b.FailedAllows != 1 {
		t.Errorf("policy A = %+v\npolicy B = %+v", a, b)
	}
	near(t, "A precision", *a.Precision, 2.0/3)
	near(t, "A recall", *a.Recall, 2.0/3)
	near(t, "B precision", *b.Precision, 1)
	near(t, "B recall", *b.Recall, 0.5)
	sql := byName(rep.Categories, "sql")
	if sql.Verdicts != 4 || sql.TruePositives != 1 || sql.FalseAllows != 1 || sql.FalseBlocks != 1 {
		t.Errorf("category sql = %+v", sql)
	}
	near(t, "sql precision", *sql.Precision, 0.5)
	near(t, "sql recall", *sql.Recall, 0.5)
	if d := byName(rep.Categories, "deploy"); d.Precision == nil || d.Recall == nil || *d.Recall != 1 {
		t.Errorf("category deploy = %+v", d)
	}
	if r := rep.Results[2]; r.Error == "" || r.Verdicts[0].Got != llmjudge.Failed || r.Verdicts[1].Got != llmjudge.Failed {
		t.Errorf("the failed case = %+v", r)
	}

	// Latency is per request; the slow one is the p95 and p99 of six.
	if l := rep.LatencyMS; l.P99 < 300 || l.P95 < 300 || l.P50 >= 300 {
		t.Errorf("latency = %+v; want p95 and p99 at least 300 ms, p50 below", l)
	}

	// The fake provider reports about len/4 tokens; every answer had them.
	var in, out int64
	for i, r := range srv.Requests() {
		in += int64((len(r.System)+3)/4 + (len(r.User)+3)/4)
		out += int64((len(replies[i].Content) + 3) / 4)
	}
	if u := rep.Usage; u.Requests != 6 || u.Reported != 6 || u.InputTokens != in || u.OutputTokens != out || u.CostReported != 0 {
		t.Errorf("usage = %+v; want 6 requests reported, %d tokens in, %d out, no cost", u, in, out)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-4 {
		t.Errorf("%s = %.5f; want %.5f", what, got, want)
	}
}

// With --repeat each case is asked N times: a verdict that changes between
// runs is a flip, and a decision allowed in any run is a false allow.
func TestEvaluateRepeat(t *testing.T) {
	srv := llmjudgetest.New(t)
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{})
	type V = map[string]policy.JudgeVerdict
	cases := []llmjudge.Case{
		evalCase("x", "sql", V{"A": violate, "B": comply}),
		evalCase("y", "sql", V{"A": comply}),
	}
	srv.Script(
		llmjudgetest.Reply{Content: answer("A", "violate", "B", "comply")}, // run 1
		llmjudgetest.Reply{Content: answer("A", "comply")},
		llmjudgetest.Reply{Content: answer("A", "comply", "B", "comply")}, // run 2: x's A flips to an allow
		llmjudgetest.Reply{Content: answer("A", "comply")},
		llmjudgetest.Reply{Content: answer("A", "violate", "B", "comply")}, // run 3
		llmjudgetest.Reply{Content: answer("A", "comply")},
	)
	rep, err := llmjudge.Evaluate(t.Context(), j, cases, llmjudge.EvalOptions{Timeout: 5 * time.Second, Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 6 || srv.Count() != 6 || rep.Verdicts != 9 || rep.Decisions != 3 {
		t.Errorf("%d requests (%d sent), %d verdicts, %d decisions; want 6, 9, 3", rep.Requests, srv.Count(), rep.Verdicts, rep.Decisions)
	}
	if a := rep.Agreement; a == nil || a.Flipped != 1 || a.Decisions != 3 {
		t.Errorf("agreement = %+v; want 1 of 3 decisions flipped", a)
	} else {
		near(t, "flip rate", a.FlipRate, 1.0/3)
	}
	// Pooled: x's A is positive three times and allowed once.
	if rep.Positives != 3 || rep.FalseAllows != 1 || rep.TruePositives != 2 {
		t.Errorf("pooled score = %+v", rep.Score)
	}
	// Per decision: the one positive decision was allowed in some run.
	if fa := rep.FalseAllowRate; fa.Count != 1 || fa.Of != 1 || fa.Rate != 1 {
		t.Errorf("false-allow rate = %+v; want 1 of 1", fa)
	}
	var runs []int
	for _, r := range rep.Results {
		runs = append(runs, r.Run)
	}
	if mustJSON(runs) != "[1,1,2,2,3,3]" {
		t.Errorf("runs of the results = %v", runs)
	}

	// One run: no agreement.
	srv.Reset()
	srv.Respond(answerAll("comply"))
	rep, err = llmjudge.Evaluate(t.Context(), j, cases, llmjudge.EvalOptions{Timeout: 5 * time.Second})
	if err != nil || rep.Agreement != nil {
		t.Errorf("one run: agreement %+v, %v", rep.Agreement, err)
	}
	// No positives: the rate is 0 of 0, and its interval all of [0, 1].
	rep, err = llmjudge.Evaluate(t.Context(), j, cases[1:], llmjudge.EvalOptions{Timeout: 5 * time.Second})
	if fa := rep.FalseAllowRate; err != nil || fa.Of != 0 || fa.High != 1 || rep.Recall != nil {
		t.Errorf("no positives: %+v, recall %v, %v", fa, rep.Recall, err)
	}
}

// A request past the timeout is a failure: on a strict policy a block.
func TestEvaluateTimeout(t *testing.T) {
	srv := llmjudgetest.New(t)
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{})
	srv.Script(llmjudgetest.Reply{Content: answer("A", "comply"), Delay: 2 * time.Second})
	c := evalCase("slow", "sql", map[string]policy.JudgeVerdict{"A": violate})
	rep, err := llmjudge.Evaluate(t.Context(), j, []llmjudge.Case{c}, llmjudge.EvalOptions{Timeout: 200 * time.Millisecond})
	if err != nil || rep.Failures != 1 || rep.FalseAllows != 0 || rep.TruePositives != 1 || !strings.Contains(rep.Results[0].Error, "deadline") {
		t.Errorf("timed out: %+v, %v", rep, err)
	}
}

// The tokens and cost come from each provider's own usage fields; an
// answer without them is "not reported", not zero tokens.
func TestEvaluateUsage(t *testing.T) {
	c := evalCase("u", "sql", map[string]policy.JudgeVerdict{"A": violate})
	ans := answer("A", "violate")
	for _, provider := range []string{llmjudge.ProviderOpenAI, llmjudge.ProviderAnthropic, llmjudge.ProviderOllama} {
		t.Run(provider, func(t *testing.T) {
			srv := llmjudgetest.New(t)
			j := meteredJudge(t, srv, provider)
			srv.Script(llmjudgetest.Reply{Content: ans})
			rep, err := llmjudge.Evaluate(t.Context(), j, []llmjudge.Case{c}, llmjudge.EvalOptions{Timeout: 5 * time.Second})
			if err != nil || rep.Correct != 1 {
				t.Fatalf("%+v, %v", rep.Results, err)
			}
			if u := rep.Usage; u.Reported != 1 || u.InputTokens == 0 || u.OutputTokens != int64((len(ans)+3)/4) {
				t.Errorf("usage = %+v; want the tokens the fake %s reported (%d out)", u, provider, (len(ans)+3)/4)
			}
		})
	}

	srv := llmjudgetest.New(t)
	j := meteredJudge(t, srv, llmjudge.ProviderOpenAI)
	completion := func(usage string) string {
		return `{"id":"c","object":"chat.completion","created":1,"model":"judge-model","choices":[{"index":0,"message":{"role":"assistant","content":` +
			mustJSON(ans) + `},"finish_reason":"stop"}]` + usage + `}`
	}
	srv.Script(
		llmjudgetest.Reply{Body: completion("")},
		llmjudgetest.Reply{Body: completion(`,"usage":{"prompt_tokens":1000,"completion_tokens":20,"total_tokens":1020,"cost":0.0015}`)},
	)
	rep, err := llmjudge.Evaluate(t.Context(), j, []llmjudge.Case{c}, llmjudge.EvalOptions{Timeout: 5 * time.Second, Repeat: 2})
	if u := rep.Usage; err != nil || rep.Correct != 2 || u.Requests != 2 || u.Reported != 1 || u.InputTokens != 1000 || u.OutputTokens != 20 || u.CostReported != 1 || u.Cost != 0.0015 {
		t.Errorf("usage = %+v (%d correct, %v); want one answer of two reporting 1000 in, 20 out, cost 0.0015", u, rep.Correct, err)
	}
}

// meteredJudge is newJudge with a client that meters usage.
func meteredJudge(t *testing.T, srv *llmjudgetest.Server, provider string) *llmjudge.Judge {
	t.Helper()
	base := srv.URL + "/v1"
	if provider == llmjudge.ProviderOllama {
		base = srv.URL
	}
	hc := &http.Client{Transport: llmjudge.MeterUsage(http.DefaultTransport)}
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: provider, Model: "judge-model", BaseURL: base, APIKey: "sk-test-key", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return llmjudge.New(m, llmjudge.Options{})
}

// Every case of the shipped dataset is put to the model, and a model that
// gives the labels scores 100%.
func TestEvaluateShippedDataset(t *testing.T) {
	cases := readDataset(t)
	srv := llmjudgetest.New(t)
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{})
	var perfect []llmjudgetest.Reply
	for _, c := range cases {
		var pairs []string
		for _, p := range c.Policies {
			pairs = append(pairs, p.Name, string(c.Expected[p.Name]))
		}
		perfect = append(perfect, llmjudgetest.Reply{Content: answer(pairs...)})
	}
	srv.Script(perfect...)
	rep, err := llmjudge.Evaluate(t.Context(), j, cases, llmjudge.EvalOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy != 1 || rep.FalseAllows != 0 || rep.FalseBlocks != 0 || rep.Failures != 0 || rep.Cases != len(cases) || srv.Count() != len(cases) {
		t.Errorf("perfect model: accuracy %v, %d false allows, %d false blocks, %d failures, %d requests for %d cases",
			rep.Accuracy, rep.FalseAllows, rep.FalseBlocks, rep.Failures, srv.Count(), len(cases))
	}
}
