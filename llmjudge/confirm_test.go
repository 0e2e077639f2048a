package llmjudge_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// confirmed returns a judge asking first, with second as its second
// opinion (an Anthropic model: another provider).
func confirmed(t *testing.T, first, second *llmjudgetest.Server) *llmjudge.Judge {
	t.Helper()
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOpenAI, Model: "first", BaseURL: first.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderAnthropic, Model: "second", BaseURL: second.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	return llmjudge.New(m, llmjudge.Options{Confirm: c})
}

// mailRequest is a call that acts (it sends mail), judged against one
// strict and one non-strict policy.
func mailRequest(tool string) policy.JudgeRequest {
	req := dbRequest()
	req.Call.Tool = tool
	req.Policies = []policy.JudgedPolicy{
		{ID: "strict", Name: "strict", Rules: "Never send customer data outside the company.", Strict: true},
		{ID: "lax", Name: "lax", Rules: "Mail only during office hours.", Strict: false},
	}
	return req
}

// A strict policy's comply on a call that acts stands only if the second
// opinion agrees: any violate wins, and a needs_approval beats a comply.
// A non-strict policy keeps the first verdict; a call that only reads is
// not put to the second model.
func TestConfirmAnyViolateWins(t *testing.T) {
	for _, tc := range []struct {
		name, tool, first, second string
		wantStrict, wantLax       policy.JudgeVerdict
		secondAsked               string // yes, no, or any: the first's violate needs no wait
	}{
		{"both comply", "send_email", "comply", "comply", policy.JudgeComply, policy.JudgeComply, "yes"},
		{"second violates", "sendEmail", "comply", "violate", policy.JudgeViolate, policy.JudgeComply, "yes"},
		{"first violates", "send-email", "violate", "comply", policy.JudgeViolate, policy.JudgeViolate, "any"},
		{"second needs approval", "transferFunds", "comply", "needs_approval", policy.JudgeNeedsApproval, policy.JudgeComply, "yes"},
		{"reads only", "read_file", "comply", "violate", policy.JudgeComply, policy.JudgeComply, "no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, second := llmjudgetest.New(t), llmjudgetest.New(t)
			first.Respond(answerAll(tc.first))
			second.Respond(answerAll(tc.second))
			ans, err := confirmed(t, first, second).Judge(t.Context(), mailRequest(tc.tool))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]policy.JudgeResult{}
			for _, r := range ans.Results {
				got[r.Policy] = r
			}
			if got["strict"].Verdict != tc.wantStrict || got["lax"].Verdict != tc.wantLax {
				t.Errorf("verdicts strict %s, lax %s; want %s, %s", got["strict"].Verdict, got["lax"].Verdict, tc.wantStrict, tc.wantLax)
			}
			if asked := second.Count() > 0; tc.secondAsked != "any" && asked != (tc.secondAsked == "yes") {
				t.Errorf("%d requests to the second model; want asked: %s", second.Count(), tc.secondAsked)
			}
			if tc.wantStrict != policy.JudgeComply && tc.first == "comply" && !strings.HasPrefix(got["strict"].Analysis, "second opinion (anthropic/second)") {
				t.Errorf("analysis %q; want it to say the second opinion decided", got["strict"].Analysis)
			}
		})
	}
}

// When the second opinion fails, a strict policy's comply cannot stand:
// the judgment fails, as the call's own failure when the first model is
// up, and the engine blocks the call.
func TestConfirmFailureBlocks(t *testing.T) {
	first, second := llmjudgetest.New(t), llmjudgetest.New(t)
	first.Respond(answerAll("comply"))
	second.SetDefault(llmjudgetest.Reply{Status: 500})
	j := confirmed(t, first, second)
	_, err := j.Judge(t.Context(), mailRequest("send_email"))
	var ce *llmjudge.CallError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "second opinion (anthropic/second)") {
		t.Fatalf("Judge = %v; want the call's own failure naming the second opinion", err)
	}
	set := policy.Set{Global: []policy.Policy{rulesPolicy("strict", "Never send customer data outside the company.", true)}}
	c := dbCall
	c.Tool = "send_email"
	if v := engine(t, set, j, 2*time.Second).Evaluate(t.Context(), c); v.Decision != policy.DecisionBlock {
		t.Errorf("decision %s; want block", v.Decision)
	}
}

// `confirm: true` asks the judge's own model a second time.
func TestConfirmSameModel(t *testing.T) {
	srv := llmjudgetest.New(t)
	// The first request to arrive complies, the second violates: the
	// violate wins, whichever of the two asks was it.
	var mu sync.Mutex
	n := 0
	srv.Respond(func(r llmjudgetest.Request) llmjudgetest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 1 {
			return answerAll("comply")(r)
		}
		return answerAll("violate")(r)
	})
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOllama, Model: "m", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := llmjudge.New(m, llmjudge.Options{Confirm: m}).Judge(t.Context(), mailRequest("send_email"))
	if err != nil {
		t.Fatal(err)
	}
	if srv.Count() != 2 || ans.Results[0].Verdict != policy.JudgeViolate {
		t.Errorf("%d requests, verdicts %+v; want 2, and the one violate to win", srv.Count(), ans.Results)
	}
}

// The second opinion is asked at the same time as the first: with both
// models answering in 300ms, a confirmed judgment takes about as long as
// an unconfirmed one, not twice as long. The numbers are logged (run with
// -v) and in the README.
func TestConfirmLatency(t *testing.T) {
	const delay = 300 * time.Millisecond
	slow := func(r llmjudgetest.Request) llmjudgetest.Reply {
		reply := answerAll("comply")(r)
		reply.Delay = delay
		return reply
	}
	first, second := llmjudgetest.New(t), llmjudgetest.New(t)
	first.Respond(slow)
	second.Respond(slow)
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOpenAI, Model: "first", BaseURL: first.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	plain := llmjudge.New(m, llmjudge.Options{})
	withConfirm := confirmed(t, first, second)
	measure := func(j *llmjudge.Judge, tool string) time.Duration {
		start := time.Now()
		if _, err := j.Judge(t.Context(), mailRequest(tool)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	off := measure(plain, "send_email")
	on := measure(withConfirm, "send_email")
	reads := measure(withConfirm, "read_file")
	t.Logf("model delay %v: judgment without confirm %v, with confirm %v (cost %v), a call that reads with confirm on %v",
		delay, off.Round(time.Millisecond), on.Round(time.Millisecond), (on - off).Round(time.Millisecond), reads.Round(time.Millisecond))
	if second.Count() != 1 {
		t.Errorf("%d requests to the second model; want 1", second.Count())
	}

	// That the two are asked at once is shown without a clock (a busy
	// machine stretches any timing): each model answers only once the
	// other has been asked, or gives up after a while.
	var wg sync.WaitGroup
	wg.Add(2)
	together := make(chan bool, 2)
	meet := func(r llmjudgetest.Request) llmjudgetest.Reply {
		wg.Done()
		met := make(chan struct{})
		go func() { wg.Wait(); close(met) }()
		select {
		case <-met:
			together <- true
		case <-time.After(5 * time.Second):
			together <- false
		}
		return answerAll("comply")(r)
	}
	first.Respond(meet)
	second.Respond(meet)
	if _, err := confirmed(t, first, second).Judge(t.Context(), mailRequest("send_email")); err != nil {
		t.Fatal(err)
	}
	if !<-together || !<-together {
		t.Error("the second opinion was not asked while the first model was: the two are not asked at once")
	}
}

// BenchmarkConfirm measures what a second opinion costs a judgment when
// both models answer in 20ms: off, on for a call that acts (both asked at
// once), on for a call that reads (one asked).
func BenchmarkConfirm(b *testing.B) {
	slow := func(r llmjudgetest.Request) llmjudgetest.Reply {
		reply := answerAll("comply")(r)
		reply.Delay = 20 * time.Millisecond
		return reply
	}
	first, second := llmjudgetest.New(b), llmjudgetest.New(b)
	first.Respond(slow)
	second.Respond(slow)
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOpenAI, Model: "first", BaseURL: first.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderAnthropic, Model: "second", BaseURL: second.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts llmjudge.Options
		tool string
	}{
		{"off", llmjudge.Options{}, "send_email"},
		{"on-acts", llmjudge.Options{Confirm: c}, "send_email"},
		{"on-reads", llmjudge.Options{Confirm: c}, "read_file"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			j := llmjudge.New(m, bc.opts) // no cache: every judgment asks
			for b.Loop() {
				if _, err := j.Judge(b.Context(), mailRequest(bc.tool)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
