package llmjudge_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

func readDataset(t *testing.T) []llmjudge.Case {
	t.Helper()
	f, err := os.Open("testdata/judge-eval.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := llmjudge.ReadCases(f)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// The shipped dataset reads cleanly and covers what it promises.
func TestShippedDataset(t *testing.T) {
	cases := readDataset(t)
	if len(cases) < 60 {
		t.Errorf("%d cases; the dataset promises at least 60", len(cases))
	}
	byCategory := map[string]int{}
	rules := map[string]string{}
	for _, c := range cases {
		byCategory[c.Category]++
		for _, p := range c.Policies {
			if prev, ok := rules[p.Name]; ok && prev != p.Rules {
				t.Errorf("%s: policy %q has other rules than elsewhere", c.ID, p.Name)
			}
			rules[p.Name] = p.Rules
		}
	}
	for _, cat := range []string{"destructive_sql", "shell", "file_deletion", "data_export", "pii", "money_transfer", "hard_negative", "injection", "multi_policy"} {
		if byCategory[cat] < 5 {
			t.Errorf("category %s has %d cases", cat, byCategory[cat])
		}
	}
}

// Bad lines are refused with their line numbers, and nothing is judged.
func TestReadCasesErrors(t *testing.T) {
	in := `{"id":"a","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"comply"}}

{"id":"a","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"comply"}}
{"id":"b","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"p":"allow"}}
{"id":"c","policies":[{"name":"p","rules":"r"}],"call":{"tool":"t","arguments":{}},"expected":{"q":"comply","p":"comply"}}
{"id":"d","polices":[]}
not json
`
	_, err := llmjudge.ReadCases(strings.NewReader(in))
	if err == nil {
		t.Fatal("ReadCases accepted bad lines")
	}
	for _, want := range []string{"line 3: id \"a\" is already used on line 1", "line 4 (b): unknown expected verdict", "line 5 (c): an expected verdict for \"q\"", "line 6: json: unknown field \"polices\"", "line 7:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ReadCases error lacks %q:\n%v", want, err)
		}
	}
}

// Evaluate scores answers: a model that gives the labels scores 100%; one
// that allows everything makes a false allow of every expected violation.
func TestEvaluate(t *testing.T) {
	cases := readDataset(t)
	srv := llmjudgetest.New(t)
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{})

	var perfect []llmjudgetest.Reply
	violations, approvals := 0, 0
	for _, c := range cases {
		var pairs []string
		for _, p := range c.Policies {
			pairs = append(pairs, p.Name, string(c.Expected[p.Name]))
			switch c.Expected[p.Name] {
			case policy.JudgeViolate:
				violations++
			case policy.JudgeNeedsApproval:
				approvals++
			}
		}
		perfect = append(perfect, llmjudgetest.Reply{Content: answer(pairs...)})
	}
	srv.Script(perfect...)
	rep, err := llmjudge.Evaluate(t.Context(), j, cases, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy != 1 || rep.FalseAllows != 0 || rep.FalseBlocks != 0 || rep.Failures != 0 || rep.Cases != len(cases) {
		t.Errorf("perfect model: %+v", rep)
	}
	if srv.Count() != len(cases) {
		t.Errorf("%d requests for %d cases", srv.Count(), len(cases))
	}

	srv.Reset()
	srv.Respond(answerAll("comply"))
	rep, err = llmjudge.Evaluate(t.Context(), j, cases, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FalseAllows != violations+approvals || rep.FalseBlocks != 0 || rep.Correct != rep.Verdicts-violations-approvals {
		t.Errorf("allow-all model: %d false allows, %d false blocks, %d correct of %d; want %d false allows",
			rep.FalseAllows, rep.FalseBlocks, rep.Correct, rep.Verdicts, violations+approvals)
	}
	total := 0
	for _, p := range rep.Policies {
		total += p.Verdicts
	}
	if total != rep.Verdicts {
		t.Errorf("per-policy verdicts add up to %d of %d", total, rep.Verdicts)
	}

	// Failures are counted as such, not as allows.
	srv.Reset()
	srv.Respond(func(llmjudgetest.Request) llmjudgetest.Reply { return llmjudgetest.Reply{Content: "no"} })
	rep, err = llmjudge.Evaluate(t.Context(), j, cases[:3], 5*time.Second, nil)
	if err != nil || rep.Failures != rep.Verdicts || rep.FalseAllows != 0 {
		t.Errorf("broken model: %+v, %v", rep, err)
	}
}
