package llmjudge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// cutAnswer is an OpenAI chat completion cut at the token limit.
const cutAnswer = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"judge-model",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"{\"results\":[{\"policy\":\"p1\",\"verd"},"finish_reason":"length"}]}`

// hostile answers as a provider does to content crafted to make it fail:
// a 400 or 422 for what it will not take, an answer cut at the token limit,
// a prompt so slow it times out; every other call it judges (comply).
func hostile(r llmjudgetest.Request) llmjudgetest.Reply {
	switch {
	case strings.Contains(r.User, "EVIL-400"):
		return llmjudgetest.Reply{Status: 400, Content: "This model's maximum context length is 8192 tokens."}
	case strings.Contains(r.User, "EVIL-422"):
		return llmjudgetest.Reply{Status: 422, Content: "Unprocessable content."}
	case strings.Contains(r.User, "EVIL-LENGTH"):
		return llmjudgetest.Reply{Body: cutAnswer}
	case strings.Contains(r.User, "EVIL-SLOW"):
		return llmjudgetest.Reply{Delay: 5 * time.Second}
	}
	return answerAll("comply")(r)
}

// One client's 50 calls whose content makes the provider fail — HTTP 400
// and 422, answers cut at the token limit, prompts that time out — fail
// each on its own, as a judge error of that call; they never open the
// breaker, so another client's calls, made meanwhile and after, are judged
// as usual: not failed open, not blocked.
func TestCraftedFailuresCountAgainstTheirCallOnly(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.Respond(hostile)
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{BreakerFailures: 3, BreakerCooldown: time.Minute})
	set := policy.Set{Global: []policy.Policy{
		rulesPolicy("lax", "Never delete customer data.", false),
		rulesPolicy("strict", "Never drop tables.", true),
	}}
	e := engine(t, set, j, 400*time.Millisecond)

	call := func(user, client, sql string) policy.Call {
		c := dbCall
		c.User, c.Client = user, client
		c.Arguments = json.RawMessage(fmt.Sprintf(`{"sql":%q}`, sql))
		return c
	}
	victim := func(i int) {
		t.Helper()
		v := e.Evaluate(t.Context(), call("ada", "claude-desktop", fmt.Sprintf("SELECT %d FROM customers", i)))
		if v.Decision != policy.DecisionAllow || v.Judge.Err != nil || v.Judge.FailOpen {
			t.Errorf("the other client's call %d = %s, judge error %v, fail-open %v; want judged allow", i, v.Decision, v.Judge.Err, v.Judge.FailOpen)
		}
	}

	kinds := []string{"EVIL-400", "EVIL-422", "EVIL-LENGTH", "EVIL-SLOW"}
	var wg sync.WaitGroup
	verdicts := make([]policy.Verdict, 50)
	for i := range 50 {
		wg.Go(func() {
			verdicts[i] = e.Evaluate(t.Context(), call("mallory", "crafted-agent", fmt.Sprintf("%s %d", kinds[i%len(kinds)], i)))
		})
		if i%10 == 9 {
			victim(i)
		}
	}
	wg.Wait()
	for i, v := range verdicts {
		// A call that timed out ends at its deadline, before the canary
		// can tell whose failure it was: its error is the timeout.
		var ce *llmjudge.CallError
		if kind := kinds[i%len(kinds)]; kind == "EVIL-SLOW" {
			if !errors.Is(v.Judge.Err, context.DeadlineExceeded) {
				t.Errorf("crafted call %d (%s): judge error %v; want its deadline", i, kind, v.Judge.Err)
			}
		} else if !errors.As(v.Judge.Err, &ce) {
			t.Errorf("crafted call %d (%s): judge error %v; want this call's own failure", i, kind, v.Judge.Err)
		}
		if errors.Is(v.Judge.Err, llmjudge.ErrUnavailable) || v.Decision != policy.DecisionBlock {
			t.Errorf("crafted call %d = %s, judge error %v; want blocked by the strict policy for its own failure", i, v.Decision, v.Judge.Err)
		}
	}
	// Whatever the canaries found is in: the breaker is still closed.
	time.Sleep(1500 * time.Millisecond)
	for i := range 5 {
		victim(100 + i)
	}
	// The slow calls shared few canaries.
	if n := canaries(srv); n == 0 || n > 13 {
		t.Errorf("%d canaries for 13 timed-out calls; want at least one, and one per burst", n)
	}
}

// When every request times out, the canary too, it is an outage: the
// breaker opens and judgments fail at once.
func TestBreakerOpensWhenEverythingTimesOut(t *testing.T) {
	srv := llmjudgetest.New(t)
	srv.SetDefault(llmjudgetest.Reply{Delay: time.Minute}) // ends when the server closes
	j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{BreakerFailures: 2, BreakerCooldown: time.Minute})
	// Each flight goes on after its caller's deadline to ask the canary
	// (a second), then counts as an outage.
	i := 0
	waitFor(t, func() bool {
		i++
		req := dbRequest("db")
		req.Call.Arguments = json.RawMessage(fmt.Sprintf(`{"sql":"SELECT %d"}`, i))
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := j.Judge(ctx, req)
		var ce *llmjudge.CallError
		if errors.As(err, &ce) {
			t.Fatalf("judgment %d: %v; want an outage, not the call's failure", i, err)
		}
		return errors.Is(err, llmjudge.ErrUnavailable)
	})
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("the condition never held")
}

// Each HTTP status a provider fails with is classed: an error about the
// request is the call's own (no canary, the breaker stays closed); one
// that may be an outage is checked with the canary, and, the provider
// failing that too, opens the breaker.
func TestFailureClasses(t *testing.T) {
	for _, tc := range []struct {
		status int
		own    bool
	}{
		{400, true}, {413, true}, {422, true},
		{401, false}, {403, false}, {404, false}, {408, false}, {429, false}, {500, false}, {503, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := llmjudgetest.New(t)
			srv.SetDefault(llmjudgetest.Reply{Status: tc.status})
			j := newJudge(t, srv, llmjudge.ProviderOpenAI, llmjudge.Options{BreakerFailures: 1, BreakerCooldown: time.Minute})
			_, err := j.Judge(t.Context(), dbRequest("db"))
			var ce *llmjudge.CallError
			if errors.As(err, &ce) != tc.own {
				t.Errorf("Judge = %v; want the call's own failure: %v", err, tc.own)
			}
			want := 1
			if tc.own {
				want = 0
			}
			if n := canaries(srv); n != want {
				t.Errorf("%d canaries; want %d", n, want)
			}
			_, err = j.Judge(t.Context(), dbRequest("other"))
			if errors.Is(err, llmjudge.ErrUnavailable) == tc.own {
				t.Errorf("the next judgment = %v; want the breaker open: %v", err, !tc.own)
			}
		})
	}
}

// An answer the provider did not finish — cut at the token limit, stopped
// by a content filter or a refusal — is never read as a verdict, even when
// what was cut happens to be a valid answer; it is the call's own failure.
func TestUnfinishedAnswers(t *testing.T) {
	valid := strings.ReplaceAll(answer("db", "comply"), `"`, `\"`)
	openAI := func(finish string) string {
		return `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"judge-model","choices":[{"index":0,` +
			`"message":{"role":"assistant","content":"` + valid + `"},"finish_reason":"` + finish + `"}]}`
	}
	anthropic := func(stop string) string {
		return `{"id":"msg_1","type":"message","role":"assistant","model":"judge-model","content":[{"type":"text","text":"` + valid + `"}],` +
			`"stop_reason":"` + stop + `","stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":4096}}`
	}
	for _, tc := range []struct{ provider, body string }{
		{llmjudge.ProviderOpenAI, openAI("length")},
		{llmjudge.ProviderOpenAI, openAI("content_filter")},
		{llmjudge.ProviderAnthropic, anthropic("max_tokens")},
		{llmjudge.ProviderAnthropic, anthropic("refusal")},
	} {
		srv := llmjudgetest.New(t)
		srv.SetDefault(llmjudgetest.Reply{Body: tc.body})
		j := newJudge(t, srv, tc.provider, llmjudge.Options{BreakerFailures: 1})
		_, err := j.Judge(t.Context(), dbRequest("db"))
		var ce *llmjudge.CallError
		var se *llmjudge.StopError
		if !errors.As(err, &ce) || !errors.As(err, &se) {
			t.Errorf("%s %s: Judge = %v; want the call's own failure, the answer unfinished", tc.provider, tc.body[len(tc.body)-60:], err)
		}
		if _, err := j.Judge(t.Context(), dbRequest("other")); errors.Is(err, llmjudge.ErrUnavailable) || canaries(srv) != 0 {
			t.Errorf("%s: after an unfinished answer: %v, %d canaries; want the breaker closed, no canary", tc.provider, err, canaries(srv))
		}
	}
}
