package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// judgeConfigText is a config with one workspace, a plain-English policy
// on *sql* tools, and, when url is not empty, a judge at url.
func judgeConfigText(t *testing.T, url, extra string) string {
	t.Helper()
	judge := ""
	if url != "" {
		judge = fmt.Sprintf("judge:\n  provider: openai\n  model: judge-model\n  base_url: %s/v1\n  api_key_env: GATEHOUSE_TEST_JUDGE_KEY\n  timeout: 1s\n%s", url, extra)
	}
	return writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
%spolicies:
  - name: prod-db
    tools: ["*sql*"]
    rules: Never delete rows in production.
workspaces:
  w:
    upstreams:
      - {name: db, command: /bin/true, prefix: false}
`, filepath.Join(t.TempDir(), "v.db"), judge))
}

var policyIDRE = regexp.MustCompile(`\{"id":"([^"]+)","policy"`)

// verdictFor answers every policy asked with verdict and reason.
func verdictFor(verdict, reason string) func(llmjudgetest.Request) llmjudgetest.Reply {
	return func(r llmjudgetest.Request) llmjudgetest.Reply {
		var results []map[string]string
		for _, m := range policyIDRE.FindAllStringSubmatch(r.System, -1) {
			results = append(results, map[string]string{"policy": m[1], "verdict": verdict, "reason": reason})
		}
		b, _ := json.Marshal(map[string]any{"results": results})
		return llmjudgetest.Reply{Content: string(b)}
	}
}

// check reports the judge: not configured, ok, unreachable, not set up.
func TestCheckJudge(t *testing.T) {
	srv := llmjudgetest.New(t)
	t.Setenv("GATEHOUSE_TEST_JUDGE_KEY", "sk-check")

	out, err := runCLI(t, "check", "--config", judgeConfigText(t, "", ""))
	if err != nil || !strings.Contains(out, "judge: NOT CONFIGURED: 1 plain-English policies cannot be judged; 1 strict ones block") {
		t.Errorf("check without a judge = %v\n%s", err, out)
	}

	srv.Respond(verdictFor("comply", "a greeting"))
	out, err = runCLI(t, "check", "--config", judgeConfigText(t, srv.URL, ""))
	if err != nil || !regexp.MustCompile(`judge openai/judge-model: ok \(answered in \d+ms; 1 plain-English policies\)`).MatchString(out) {
		t.Errorf("check with a working judge = %v\n%s", err, out)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Bearer sk-check" {
		t.Errorf("check asked with Authorization %q", got)
	}

	for name, tc := range map[string]struct {
		reply llmjudgetest.Reply
		want  string
	}{
		"http error": {llmjudgetest.Reply{Status: 401, Content: "Incorrect API key provided"}, "NOT REACHABLE: ask openai/judge-model: the provider answered HTTP 401: Incorrect API key provided"},
		"wrong url":  {llmjudgetest.Reply{Status: 404, Content: "no such model"}, "HTTP 404: no such model (check judge.base_url and judge.model"},
		"slow":       {llmjudgetest.Reply{Content: "{}", Delay: 5 * time.Second}, "NOT REACHABLE: no answer within judge.timeout (1s)"},
		"malformed":  {llmjudgetest.Reply{Content: "Sure, the call is fine."}, "NOT USABLE: the judge's answer was not valid"},
		"unfit":      {llmjudgetest.Reply{Content: `{"results":[{"policy":"check","verdict":"violate","reason":"no"}]}`}, "NOT USABLE: the model does not judge as it must: openai/judge-model answered \"violate\""},
	} {
		t.Run(name, func(t *testing.T) {
			srv.Script(tc.reply)
			start := time.Now()
			out, err := runCLI(t, "check", "--config", judgeConfigText(t, srv.URL, ""))
			if code := exitCode(err); code != exitRuntime || !strings.Contains(out, tc.want) {
				t.Errorf("check = exit %d\n%s\nwant exit 1 and %q", code, out, tc.want)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("check took %v with a 1s judge timeout", took)
			}
		})
	}

	os.Unsetenv("GATEHOUSE_TEST_JUDGE_KEY")
	out, err = runCLI(t, "check", "--config", judgeConfigText(t, srv.URL, ""))
	if code := exitCode(err); code != exitRuntime || !strings.Contains(out, "CANNOT BE SET UP: judge.api_key_env names GATEHOUSE_TEST_JUDGE_KEY, which is not set") {
		t.Errorf("check without the key = exit %d\n%s", code, out)
	}
}

// With judge.confirm, check asks the second model too, and a serve judge
// asks it for a strict policy on a call that acts.
func TestCheckJudgeConfirm(t *testing.T) {
	first, second := llmjudgetest.New(t), llmjudgetest.New(t)
	t.Setenv("GATEHOUSE_TEST_JUDGE_KEY", "sk-check")
	first.Respond(verdictFor("comply", "fine"))
	second.Respond(verdictFor("comply", "fine"))
	confirm := fmt.Sprintf("  confirm: {provider: ollama, model: second-model, base_url: %s}\n", second.URL)
	out, err := runCLI(t, "check", "--config", judgeConfigText(t, first.URL, confirm))
	if err != nil || !strings.Contains(out, "judge openai/judge-model (confirmed by ollama/second-model): ok") || second.Count() != 1 {
		t.Errorf("check with a second opinion = %v, %d requests to it\n%s", err, second.Count(), out)
	}
	second.Respond(verdictFor("violate", "no"))
	out, err = runCLI(t, "check", "--config", judgeConfigText(t, first.URL, confirm))
	if code := exitCode(err); code != exitRuntime || !strings.Contains(out, `NOT USABLE: the model does not judge as it must: ollama/second-model answered "violate"`) {
		t.Errorf("check with an unfit second opinion = exit %d\n%s", code, out)
	}

	// The serving judge: a strict policy on a call that acts gets both.
	cfg, err := config.Load(judgeConfigText(t, first.URL, confirm))
	if err != nil {
		t.Fatal(err)
	}
	j := (&judges{log: slog.New(slog.DiscardHandler)}).forConfig(cfg)
	req := policy.JudgeRequest{
		Call:     policy.Call{Workspace: "w", Tool: "update_sql", Arguments: json.RawMessage(`{}`)},
		Policies: []policy.JudgedPolicy{{ID: "prod-db", Name: "prod-db", Rules: "Never delete rows in production.", Strict: true}},
	}
	ans, err := j.Judge(t.Context(), req)
	if err != nil || ans.Results[0].Verdict != policy.JudgeViolate {
		t.Errorf("a confirmed judgment = %+v, %v; want the second opinion's violate", ans, err)
	}
}

// policy test shows the judge's verdicts and reasons, and with
// --show-prompt the exact request it sent.
func TestPolicyTestShowsTheJudge(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.Respond(verdictFor("violate", "it deletes every order"))
	t.Setenv("GATEHOUSE_TEST_JUDGE_KEY", "sk-test")
	cfg := judgeConfigText(t, srv.URL, "")

	out, err := runCLI(t, "policy", "test", "--config", cfg, "--tool", "run_sql", "--args", `{"q":"DELETE FROM orders"}`, "--json", "--show-prompt")
	if err != nil {
		t.Fatalf("policy test: %v\n%s", err, out)
	}
	var r testReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Decision != "block" || r.Policy != "prod-db" || r.Reason != "it deletes every order" {
		t.Errorf("decision %s by %q: %q", r.Decision, r.Policy, r.Reason)
	}
	var judged *testResult
	for i := range r.Policies {
		if r.Policies[i].Policy == "prod-db" {
			judged = &r.Policies[i]
		}
	}
	if judged == nil || judged.Outcome != "violate" || judged.Why != "it deletes every order" {
		t.Errorf("prod-db result = %+v; want violate with the judge's reason", judged)
	}
	j := r.Judge
	if !j.Asked || j.Model != "openai/judge-model" || j.PromptVersion == "" || j.Request == nil {
		t.Fatalf("judge = %+v", j)
	}
	sent := srv.Requests()[0]
	if j.Request.System != sent.System || j.Request.User != sent.User || compactJSON(j.Request.Schema) != string(sent.Schema) || !strings.Contains(j.Request.Answer, "it deletes every order") {
		t.Errorf("--show-prompt does not show the request sent:\n%+v\nsent:\n%s\n%s", j.Request, sent.System, sent.User)
	}

	out, err = runCLI(t, "policy", "test", "--config", cfg, "--tool", "run_sql", "--args", `{"q":"DELETE FROM orders"}`, "--show-prompt")
	for _, want := range []string{"judge:     openai/judge-model (prompt ", "--- request to openai/judge-model: system message ---", "Never delete rows in production.", "--- answer schema ---\n{\"type\":\"object\"", `"enum":["prod-db"]`, "--- answer ---", `decision:  BLOCK by global policy "prod-db"`} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("policy test text lacks %q (err %v):\n%s", want, err, out)
		}
	}

	// --no-judge asks nothing.
	n := srv.Count()
	if out, err := runCLI(t, "policy", "test", "--config", cfg, "--tool", "run_sql", "--no-judge"); err != nil || srv.Count() != n {
		t.Errorf("--no-judge: %v, %d requests\n%s", err, srv.Count()-n, out)
	}
}

// compactJSON is doc without white space.
func compactJSON(doc []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return err.Error()
	}
	return b.String()
}

// judge eval scores a dataset against the configured model.
func TestJudgeEval(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.Respond(verdictFor("violate", "no"))
	t.Setenv("GATEHOUSE_TEST_JUDGE_KEY", "sk-test")
	cfg := judgeConfigText(t, srv.URL, "")
	dataset := filepath.Join(t.TempDir(), "cases.jsonl")
	lines := `{"id":"del","policies":[{"name":"db","rules":"No deletes."}],"call":{"tool":"query","arguments":{"sql":"DELETE FROM t"}},"expected":{"db":"violate"}}
{"id":"sel","policies":[{"name":"db","rules":"No deletes."}],"call":{"tool":"query","arguments":{"sql":"SELECT 1"}},"expected":{"db":"comply"}}
`
	if err := os.WriteFile(dataset, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "judge", "eval", "--config", cfg, dataset)
	for _, want := range []string{"model openai/judge-model", "accuracy 50.0% (1/2)  false allows 0  false blocks 1  failures 0", "sel  db: expected comply, judged violate: no"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("judge eval lacks %q (err %v):\n%s", want, err, out)
		}
	}
	out, err = runCLI(t, "judge", "eval", "--config", cfg, dataset, "--json")
	var rep struct {
		Accuracy    float64 `json:"accuracy"`
		FalseBlocks int     `json:"false_blocks"`
		Results     []any   `json:"results"`
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Accuracy != 0.5 || rep.FalseBlocks != 1 || len(rep.Results) != 2 {
		t.Errorf("judge eval --json = %v\n%s", err, out)
	}

	if err := os.WriteFile(dataset, []byte("{\"id\":\"x\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "judge", "eval", "--config", cfg, dataset)
	if code := exitCode(err); code != exitUsage || !strings.Contains(err.Error(), "line 1 (x): no policies") {
		t.Errorf("bad dataset: exit %d, %v\n%s", code, err, out)
	}
	out, err = runCLI(t, "judge", "eval", "--config", judgeConfigText(t, "", ""), dataset)
	if code := exitCode(err); code != exitUsage {
		t.Errorf("no judge: exit %d, %v\n%s", code, err, out)
	}
}

// A reload that leaves the judge's settings alone keeps the judge (and its
// cache and breaker); one that changes them, or the key, builds a new one.
func TestJudgeKeptAcrossReloads(t *testing.T) {
	t.Setenv("GATEHOUSE_TEST_JUDGE_KEY", "one")
	load := func(text string) *config.Config {
		cfg, err := config.Load(writeConfigText(t, text))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	base := judgeConfigText(t, "http://127.0.0.1:9", "")
	text, _ := os.ReadFile(base)
	js := &judges{log: slog.New(slog.DiscardHandler)}
	first := js.forConfig(load(string(text)))
	if js.forConfig(load(string(text))) != first {
		t.Error("an unchanged judge section built a new judge")
	}
	if js.forConfig(load(strings.Replace(string(text), "timeout: 1s", "timeout: 2s", 1))) == first {
		t.Error("a changed judge section kept the old judge")
	}
	second := js.forConfig(load(string(text)))
	t.Setenv("GATEHOUSE_TEST_JUDGE_KEY", "two")
	if js.forConfig(load(string(text))) == second {
		t.Error("a changed key kept the old judge")
	}
}
