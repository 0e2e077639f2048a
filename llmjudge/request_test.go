package llmjudge_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

var allProviders = []string{llmjudge.ProviderOpenAI, llmjudge.ProviderAnthropic, llmjudge.ProviderOllama}

// What each provider receives, byte for byte (the random tag written as
// data-TAG): the messages, the answer's schema in the provider's own
// place, the bound on the answer, the temperature, and for Ollama the
// context window. `go test ./llmjudge -run RequestBytes -update` rewrites
// the files after a deliberate change.
func TestRequestBytes(t *testing.T) {
	req := dbRequest("db", "workspace:db")
	for _, provider := range allProviders {
		t.Run(provider, func(t *testing.T) {
			srv := llmjudgetest.New(t)
			srv.Respond(answerAll("comply"))
			if _, err := newJudge(t, srv, provider, llmjudge.Options{}).Judge(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			r := srv.Requests()[0]
			got := tagRE.ReplaceAll(r.Body, []byte("data-TAG"))
			file := filepath.Join("testdata", "requests", provider+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("the request to %s differs from %s:\n got %s\nwant %s", provider, file, got, want)
			}
			if !tagRE.Match(r.Body) {
				t.Errorf("the request holds no data tag")
			}
		})
	}
}

// The answer is constrained to the policies asked, once each, and each
// provider reads it from where its API puts it: OpenAI's and Ollama's
// message content, Anthropic's forced tool call. The analysis is kept on
// the result.
func TestAnswerShape(t *testing.T) {
	ans := `{"results":[{"policy":"workspace:db","analysis":"It deletes every customer row.","verdict":"violate","reason":"it deletes customer rows"},` +
		`{"policy":"db","analysis":"The statement is a DELETE without WHERE.","verdict":"needs_approval","reason":"a person must look"}]}`
	for _, provider := range allProviders {
		t.Run(provider, func(t *testing.T) {
			srv := llmjudgetest.New(t)
			srv.Script(llmjudgetest.Reply{Content: ans})
			got, err := newJudge(t, srv, provider, llmjudge.Options{}).Judge(t.Context(), dbRequest("db", "workspace:db"))
			if err != nil {
				t.Fatal(err)
			}
			want := []policy.JudgeResult{
				{Policy: "workspace:db", Verdict: policy.JudgeViolate, Reason: "it deletes customer rows", Analysis: "It deletes every customer row."},
				{Policy: "db", Verdict: policy.JudgeNeedsApproval, Reason: "a person must look", Analysis: "The statement is a DELETE without WHERE."},
			}
			if fmt.Sprint(got.Results) != fmt.Sprint(want) {
				t.Errorf("Judge = %+v; want %+v", got.Results, want)
			}
			var schema struct {
				Properties struct {
					Results struct {
						MinItems, MaxItems int
						Items              struct {
							Properties struct {
								Policy struct{ Enum []string } `json:"policy"`
							} `json:"properties"`
						} `json:"items"`
					} `json:"results"`
				} `json:"properties"`
			}
			r := srv.Requests()[0]
			if err := json.Unmarshal(r.Schema, &schema); err != nil {
				t.Fatalf("schema %s: %v", r.Schema, err)
			}
			res := schema.Properties.Results
			if fmt.Sprint(res.Items.Properties.Policy.Enum) != "[db workspace:db]" || res.MinItems != 2 || res.MaxItems != 2 {
				t.Errorf("schema %s; want the two ids, two results", r.Schema)
			}
		})
	}
}

// An Anthropic answer that does not call the answer tool is a malformed
// answer, the call's own failure.
func TestAnthropicWithoutTheTool(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.SetDefault(llmjudgetest.Reply{Content: "I will not judge this."})
	_, err := newJudge(t, srv, llmjudge.ProviderAnthropic, llmjudge.Options{}).Judge(t.Context(), dbRequest("db"))
	var ae *llmjudge.AnswerError
	var ce *llmjudge.CallError
	if !errors.As(err, &ae) || !errors.As(err, &ce) || !strings.Contains(err.Error(), "did not call the answer tool") {
		t.Errorf("Judge = %v; want the call's own failure: no tool call", err)
	}
}

// manyPolicies is a request judging n policies.
func manyPolicies(n int) policy.JudgeRequest {
	req := policy.JudgeRequest{Call: dbCall, Version: "v1"}
	for i := range n {
		id := fmt.Sprintf("p%d", i)
		req.Policies = append(req.Policies, policy.JudgedPolicy{ID: id, Name: id, Rules: "Never delete rows in the production database."})
	}
	return req
}

// The bound on the answer grows with the policies asked (256 + 384 a
// policy) up to 4096, in every provider's own field.
func TestMaxTokensScaleWithPolicies(t *testing.T) {
	for _, provider := range allProviders {
		srv := llmjudgetest.New(t)
		srv.Respond(answerAll("comply"))
		j := newJudge(t, srv, provider, llmjudge.Options{})
		for _, tc := range []struct{ n, want int }{{1, 640}, {3, 1408}, {9, 3712}, {10, 4096}, {25, 4096}} {
			srv.Reset()
			if _, err := j.Judge(t.Context(), manyPolicies(tc.n)); err != nil {
				t.Fatalf("%s, %d policies: %v", provider, tc.n, err)
			}
			if got := srv.Requests()[0].MaxTokens; got != tc.want {
				t.Errorf("%s, %d policies: max tokens %d; want %d", provider, tc.n, got, tc.want)
			}
		}
	}
}

// bigCall is a call whose arguments are about n bytes.
func bigCall(n int) policy.JudgeRequest {
	req := manyPolicies(3)
	req.Call.Arguments = json.RawMessage(fmt.Sprintf(`{"sql":"DELETE FROM customers WHERE note = '%s'"}`, strings.Repeat("lorem ipsum ", n/12)))
	return req
}

// A prompt longer than Ollama's default window gets a num_ctx that holds
// it, so that Ollama drops nothing — the policies come first and would be
// dropped first. Short prompts keep the smallest window, so that Ollama
// does not reload the model for every size.
func TestOllamaContextFitsThePrompt(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.Respond(answerAll("comply"))
	j := newJudge(t, srv, llmjudge.ProviderOllama, llmjudge.Options{})
	for _, tc := range []struct {
		name   string
		req    policy.JudgeRequest
		window int
	}{
		{"short", manyPolicies(1), 4096},
		{"20 KiB", bigCall(20 << 10), 16384},
		{"30 KiB", bigCall(30 << 10), 16384},
	} {
		srv.Reset()
		if _, err := j.Judge(t.Context(), tc.req); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := srv.Requests()[0]
		size := len(r.System) + len(r.User) + len(r.Schema)
		if r.NumCtx != tc.window || r.Overflow || r.NumCtx < size/3+r.MaxTokens {
			t.Errorf("%s: %d bytes asked num_ctx %d (overflow %t); want %d, holding the prompt and %d answer tokens", tc.name, size, r.NumCtx, r.Overflow, tc.window, r.MaxTokens)
		}
	}
}

// A request that would not fit in judge.max_context_tokens is refused
// before it is sent, by every provider: the call's own failure (no retry,
// no canary, the breaker left closed), which holds a non-strict policy's
// call for approval and blocks a strict one's.
func TestOversizeRefusedUnsent(t *testing.T) {
	for _, provider := range allProviders {
		t.Run(provider, func(t *testing.T) {
			srv := llmjudgetest.New(t)
			srv.Respond(answerAll("comply"))
			j := newJudge(t, srv, provider, llmjudge.Options{MaxContextTokens: 4096, BreakerFailures: 1})
			for range 3 {
				_, err := j.Judge(t.Context(), bigCall(20<<10))
				var oe *llmjudge.OversizeError
				var ce *llmjudge.CallError
				if !errors.As(err, &oe) || !errors.As(err, &ce) || oe.Limit != 4096 || oe.Tokens <= 4096 {
					t.Fatalf("Judge = %v; want the call's own failure, too long", err)
				}
			}
			if srv.Count() != 0 {
				t.Errorf("%d requests were sent; want none", srv.Count())
			}
			if _, err := j.Judge(t.Context(), manyPolicies(1)); err != nil {
				t.Errorf("a short call after: %v; want it judged, the breaker closed", err)
			}

			for _, strict := range []bool{false, true} {
				set := policy.Set{Global: []policy.Policy{rulesPolicy("no-deletes", "Never delete customer data.", strict)}}
				c := bigCall(20 << 10).Call
				v := engine(t, set, j, 2*time.Second).Evaluate(t.Context(), c)
				want := policy.DecisionRequireApproval
				if strict {
					want = policy.DecisionBlock
				}
				if v.Decision != want || v.Judge.FailOpen {
					t.Errorf("strict %t: decision %s, fail-open %t; want %s", strict, v.Decision, v.Judge.FailOpen, want)
				}
			}
		})
	}
}

// The analysis goes to the verdict's results (and so to the log), never
// to the message the agent reads.
func TestAnalysisLoggedNotShown(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.SetDefault(llmjudgetest.Reply{Content: `{"results":[{"policy":"no-deletes","analysis":"SECRET-ANALYSIS: it deletes every row of customers.","verdict":"violate","reason":"it deletes customer rows"}]}`})
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{})
	set := policy.Set{Global: []policy.Policy{rulesPolicy("no-deletes", "Never delete customer data.", true)}}
	v := engine(t, set, j, 2*time.Second).Evaluate(t.Context(), dbCall)
	if v.Decision != policy.DecisionBlock || strings.Contains(v.Message, "SECRET-ANALYSIS") || !strings.Contains(v.Message, "it deletes customer rows") {
		t.Errorf("decision %s, message %q; want a block naming the reason, not the analysis", v.Decision, v.Message)
	}
	if len(v.Results) != 1 || v.Results[0].Analysis != "SECRET-ANALYSIS: it deletes every row of customers." {
		t.Errorf("results %+v; want the analysis kept", v.Results)
	}
}

// An OpenAI reasoning model is sent no temperature (it takes only its
// default) and the whole 4096-token bound, which its hidden reasoning
// shares with the answer; any other model temperature 0 and the bound
// for its policies.
func TestOpenAIReasoningModels(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.Respond(answerAll("comply"))
	for model, reasoning := range map[string]bool{
		"o1": true, "o3-mini": true, "o4-mini": true, "gpt-5": true, "gpt-5-mini": true, "gpt-5.1": true,
		"gpt-4o-mini": false, "gpt-4.1": false, "o1x": false, "llama-3.1-8b": false,
	} {
		srv.Reset()
		m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOpenAI, Model: model, BaseURL: srv.URL + "/v1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := llmjudge.New(m, llmjudge.Options{}).Judge(t.Context(), dbRequest("db")); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		r := srv.Requests()[0]
		var body struct {
			Temperature *float64 `json:"temperature"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		wantBound := 640
		if reasoning {
			wantBound = 4096
		}
		if (body.Temperature == nil) != reasoning || r.MaxTokens != wantBound {
			t.Errorf("%s: temperature %v, bound %d; want temperature sent: %t, bound %d", model, body.Temperature, r.MaxTokens, !reasoning, wantBound)
		}
	}
}

// Ollama's answer cut at num_predict (done_reason length) and OpenAI's
// structured-output refusal (content null, refusal set) are unfinished
// answers, the call's own failure, whatever text came with them.
func TestUnfinishedOllamaAndRefusal(t *testing.T) {
	valid := strings.ReplaceAll(answer("db", "comply"), `"`, `\"`)
	for _, tc := range []struct{ provider, body, reason string }{
		{llmjudge.ProviderOllama, `{"model":"judge-model","created_at":"2026-12-07T05:00:00Z","message":{"role":"assistant","content":"` + valid + `"},"done_reason":"length","done":true}`, "length"},
		{llmjudge.ProviderOpenAI, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"judge-model","choices":[{"index":0,` +
			`"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`, "refusal"},
	} {
		srv := llmjudgetest.New(t)
		srv.SetDefault(llmjudgetest.Reply{Body: tc.body})
		_, err := newJudge(t, srv, tc.provider, llmjudge.Options{}).Judge(t.Context(), dbRequest("db"))
		var se *llmjudge.StopError
		var ce *llmjudge.CallError
		if !errors.As(err, &se) || !errors.As(err, &ce) || se.Reason != tc.reason {
			t.Errorf("%s: Judge = %v; want the call's own failure, stopped: %s", tc.provider, err, tc.reason)
		}
		if canaries(srv) != 0 {
			t.Errorf("%s: %d canaries; want none (the provider answered)", tc.provider, canaries(srv))
		}
	}
}
