package main_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// judgeDelay is how long the fake LLM provider takes to answer.
const judgeDelay = 50 * time.Millisecond

// BenchmarkJudge is the A/B of the LLM judge in one process: the gateway of
// BenchmarkVerdictLog (in-process HTTP upstream, a 2026-07-28 client) with
// no policy, then with one plain-English policy in scope of the echo tool
// decided by an llmjudgetest provider that answers "comply" after 50 ms:
//
//   - unjudged: no policy;
//   - miss: judged, new arguments on every call, so every call asks the
//     provider;
//   - hit: judged, the same call every time, so the judge's cache answers
//     after the first;
//   - model: the judge alone (llmjudge.Judge.Judge with new arguments, no
//     gateway): the provider's round trip through the judge's client.
//
// c=1 calls sequentially (p50-µs is the median call); c=16 and c=200 call
// from that many goroutines (ns/op is the inverse of throughput; c=200 is
// a burst of at least 200 concurrent calls). cpu-µs/op is the whole
// process's CPU per call, the fake provider's included; asked/op is the
// provider's requests per call.
//
//	go test -run '^$' -bench 'Judge/http' -benchtime 200x ./cmd/gatehouse-bench
func BenchmarkJudge(b *testing.B) {
	b.Run("model", func(b *testing.B) {
		srv := fakeJudge(b)
		j := newJudge(b, srv)
		e, err := policy.NewEngine(judgedSet(), policy.Options{Judge: j, JudgeTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		var seq atomic.Int64
		judge := func(ctx context.Context) error {
			args := fmt.Sprintf(`{"message":"ping %d"}`, seq.Add(1))
			v := e.Evaluate(ctx, policy.Call{Workspace: "w", Upstream: "up", Tool: "echo", Exposed: "up__echo", Arguments: []byte(args)})
			if !v.Judge.Asked || v.Judge.Err != nil || v.Decision != policy.DecisionAllow {
				return fmt.Errorf("Evaluate = %+v; want allowed by the judge", v)
			}
			return nil
		}
		runLoads(b, srv, judge)
	})
	for _, tr := range []string{"stdio", "http"} {
		for _, mode := range []string{"unjudged", "miss", "hit"} {
			b.Run(tr+"/"+mode, func(b *testing.B) {
				set := policy.Set{}
				var srv *llmjudgetest.Server
				opts := policy.Options{}
				if mode != "unjudged" {
					srv = fakeJudge(b)
					set = judgedSet()
					opts = policy.Options{Judge: newJudge(b, srv), JudgeTimeout: 5 * time.Second}
				}
				engine, err := policy.NewEngine(set, opts)
				if err != nil {
					b.Fatal(err)
				}
				cl := connectWith(b, tr, &enforce.Enforcer{Engine: engine})
				runLoads(b, srv, echoJudged(cl, "up__echo", mode == "miss"))
			})
		}
	}
}

// runLoads runs call sequentially (c=1), then from 16 and from 200
// goroutines.
func runLoads(b *testing.B, srv *llmjudgetest.Server, call func(context.Context) error) {
	b.Run("c=1", func(b *testing.B) {
		measure := meter(b, srv)
		ds := make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			if err := call(b.Context()); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(t0))
		}
		measure()
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
	})
	for _, c := range []int{16, 200} {
		b.Run("c="+strconv.Itoa(c), func(b *testing.B) {
			b.SetParallelism((c + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			measure := meter(b, srv)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(b.Context()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			measure()
		})
	}
}

// meter starts counting the process's CPU and the provider's requests, and
// returns the function that reports them per op.
func meter(b *testing.B, srv *llmjudgetest.Server) func() {
	cpu, asked := cpuTime(), 0
	if srv != nil {
		asked = srv.Count()
	}
	return func() {
		b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		if srv != nil {
			b.ReportMetric(float64(srv.Count()-asked)/float64(b.N), "asked/op")
		}
	}
}

// judgedPolicy is the one plain-English policy of the judged gateways. Its
// judge id is its name (a global policy).
const judgedPolicy = "bench-judged"

func judgedSet() policy.Set {
	return policy.Set{Global: []policy.Policy{{
		Name: judgedPolicy, Enabled: true, Strict: true,
		Rules: "Calls must not send secrets or personal data anywhere.",
	}}}
}

// fakeJudge is a provider that answers "comply" for judgedPolicy after
// judgeDelay.
func fakeJudge(b *testing.B) *llmjudgetest.Server {
	srv := llmjudgetest.New(b)
	srv.SetDefault(llmjudgetest.Reply{
		Content: `{"results":[{"policy":"` + judgedPolicy + `","verdict":"comply","reason":"fine"}]}`,
		Delay:   judgeDelay,
	})
	return srv
}

// newJudge is the gateway's judge, as `gatehouse serve` builds it, asking
// srv as an OpenAI-compatible server, with serve's default cache TTL.
func newJudge(b *testing.B, srv *llmjudgetest.Server) *llmjudge.Judge {
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOpenAI, Model: "bench-judge", BaseURL: srv.URL + "/v1"})
	if err != nil {
		b.Fatal(err)
	}
	return llmjudge.New(m, llmjudge.Options{CacheTTL: 10 * time.Minute})
}

// echoJudged returns a function that makes one echo call and checks that
// it echoed; with distinct, every call's message is new.
// Without distinct it is echo, so that an A/B of hits against unjudged
// calls runs the same client code on both sides.
func echoJudged(cl *client.Client, tool string, distinct bool) func(context.Context) error {
	if !distinct {
		return echo(cl, tool)
	}
	var seq atomic.Int64
	return func(ctx context.Context) error {
		req := mcp.CallToolRequest{}
		req.Params.Name = tool
		req.Params.Arguments = map[string]any{"message": "ping " + strconv.FormatInt(seq.Add(1), 10)}
		res, err := cl.CallTool(ctx, req)
		return echoed(tool, res, err)
	}
}
