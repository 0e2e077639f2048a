package main_test

import (
	"cmp"
	"context"
	"flag"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The shape of a paired A/B run: rounds of one block of calls on each side.
var (
	abRounds = flag.Int("ab.rounds", 100, "rounds of the BenchmarkAB* benchmarks (each: one block per side at c=1, then at c=16)")
	abCalls  = flag.Int("ab.calls", 400, "calls per block of the BenchmarkAB* benchmarks")
)

// abConcurrency is the number of callers of a throughput block.
const abConcurrency = 16

// BenchmarkABPolicies is the paired A/B of issue 3: the gateway of
// BenchmarkVerdictLog (in-process HTTP upstream, a 2026-07-28 client, no
// verdict log) with no policy against the same gateway with the
// deterministic policies of cmd/gatehouse-bench/testdata/example-policies.yaml
// (examplePolicies), both in this process. See runAB for the method and
// the metrics.
//
//	go test -c -o /tmp/ab.test ./cmd/gatehouse-bench
//	/tmp/ab.test -test.run '^$' -test.bench 'AB' -test.benchtime 1x   # ≈ 5 min, all four
func BenchmarkABPolicies(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		b.Run(tr, func(b *testing.B) {
			without := abSide{call: echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, policy.Set{})}), "up__echo")}
			with := abSide{call: echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, examplePolicies())}), "up__echo")}
			runAB(b, without, with)
		})
	}
}

// BenchmarkABVerdictLog is the paired A/B of issue 4: the gateway of
// BenchmarkVerdictLog without a recorder against the same gateway writing
// every call to a SQLite verdict log, both in this process. The block of
// the side with the log ends when its records are written (Flush), so that
// the writer's work for them is charged to it and does not spill into the
// other side's next block. See runAB for the method and the metrics.
func BenchmarkABVerdictLog(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		b.Run(tr, func(b *testing.B) {
			without := abSide{call: echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, policy.Set{})}), "up__echo")}
			l, err := audit.Open(filepath.Join(b.TempDir(), "verdicts.db"), audit.Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = l.Close(context.Background()) })
			with := abSide{
				call:   echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, policy.Set{}), Recorder: l}), "up__echo"),
				settle: l.Flush,
			}
			runAB(b, without, with)
		})
	}
}

// BenchmarkABJournal is the paired A/B of issue 18's journal of calls in
// flight: both sides write every call to a verdict log of their own; A's
// recorder hides Start (noStart), so its calls are recorded only when they
// end, as before the journal; B writes each call's start to the journal
// before forwarding it. What differs is the journal alone.
func BenchmarkABJournal(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		b.Run(tr, func(b *testing.B) {
			side := func(journal bool) abSide {
				l, err := audit.Open(filepath.Join(b.TempDir(), "verdicts.db"), audit.Options{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = l.Close(context.Background()) })
				var rec policy.Recorder = l
				if !journal {
					rec = noStart{l}
				}
				return abSide{call: echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, policy.Set{}), Recorder: rec}), "up__echo"), settle: l.Flush}
			}
			runAB(b, side(false), side(true))
		})
	}
}

// noStart is a verdict log that journals no call's start: calls are
// recorded when they end only.
type noStart struct{ *audit.Log }

func (noStart) Start(policy.Record) error { return nil }

// BenchmarkABJudgeHit is the paired A/B of issue 5's cache hits. B is the
// gateway of BenchmarkVerdictLog with one plain-English policy in scope of
// the echo tool, every call of it the same, so that after the first the
// judge's cache answers (the fake provider of BenchmarkJudge, which a hit
// never reaches). A is, in vs-none, the same gateway with no policy at
// all; in vs-unjudged, the same gateway and judge with the policy scoped to
// another tool, so that A's calls run the engine (read the arguments, run
// the detectors) but need no judgment: the unjudged path of a gateway that
// has plain-English policies. See runAB for the method and the metrics.
func BenchmarkABJudgeHit(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		for _, base := range []string{"vs-none", "vs-unjudged"} {
			b.Run(tr+"/"+base, func(b *testing.B) {
				srv := fakeJudge(b)
				judged := func(set policy.Set) *enforce.Enforcer {
					e, err := policy.NewEngine(set, policy.Options{Judge: newJudge(b, srv), JudgeTimeout: 5 * time.Second})
					if err != nil {
						b.Fatal(err)
					}
					return &enforce.Enforcer{Engine: e}
				}
				a := &enforce.Enforcer{Engine: newEngine(b, policy.Set{})}
				if base == "vs-unjudged" {
					elsewhere := judgedSet()
					elsewhere.Global[0].Tools = []string{"not_echo"}
					a = judged(elsewhere)
				}
				without := abSide{call: echo(connectWith(b, tr, a), "up__echo")}
				with := abSide{call: echoJudged(connectWith(b, tr, judged(judgedSet())), "up__echo", false)}
				runAB(b, without, with)
				if n := srv.Count(); n != 1 {
					b.Errorf("the provider was asked %d times; want once, for B's first call", n)
				}
			})
		}
	}
}

// BenchmarkABControl is the A/A control of the two above: both sides are
// the gateway without policies or log, so its ratios show what the method
// reads when there is no difference.
func BenchmarkABControl(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		b.Run(tr, func(b *testing.B) {
			one := abSide{call: echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, policy.Set{})}), "up__echo")}
			two := abSide{call: echo(connectWith(b, tr, &enforce.Enforcer{Engine: newEngine(b, policy.Set{})}), "up__echo")}
			runAB(b, one, two)
		})
	}
}

// BenchmarkExamplePoliciesEvaluate is the policy engine alone on the
// benchmark's echo call: with no policy, and with examplePolicies.
func BenchmarkExamplePoliciesEvaluate(b *testing.B) {
	for _, tc := range []struct {
		name string
		set  policy.Set
	}{{"none", policy.Set{}}, {"example", examplePolicies()}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEngine(b, tc.set)
			call := policy.Call{Workspace: "w", Upstream: "up", Tool: "echo", Exposed: "up__echo", Arguments: []byte(`{"message":"ping"}`)}
			b.ReportAllocs()
			for b.Loop() {
				if v := e.Evaluate(b.Context(), call); v.Decision != policy.DecisionAllow {
					b.Fatalf("Evaluate = %+v; want allow", v)
				}
			}
		})
	}
}

// abSide is one gateway of an A/B, seen from its client.
type abSide struct {
	// call makes one call and checks its result.
	call func(context.Context) error
	// settle waits for the work a block left behind (the verdict log's
	// writes); nil means there is none.
	settle func(context.Context) error
}

// runAB measures the two sides in one process, alternately, so that the
// machine's noise falls on both alike. After a warm-up of both, each of
// -ab.rounds rounds runs a block of -ab.calls calls on A and then on B (B
// first on odd rounds), once sequentially and once from 16 goroutines, and
// pairs the two blocks of the round:
//
//   - p50-ratio: B's median call ÷ A's median call, at c=1;
//   - tput-ratio: B's calls per second ÷ A's, at c=16 (a block's time runs
//     from its first call to the end of its settle);
//   - cpu-ratio: B's process CPU per call ÷ A's, at c=16.
//
// Each ratio reported is the median over the rounds; -lo and -hi bound it
// with a distribution-free 95 % confidence interval (the order statistics
// of the rounds' ratios that a binomial count puts around the median: the
// 40th and 61st of 100). A-p50-µs, B-p50-µs, A-calls/s and B-calls/s are the
// medians over the rounds of each side's own figures. b.N multiplies the
// rounds; run it with -test.benchtime 1x.
func runAB(b *testing.B, a, bb abSide) {
	ctx := b.Context()
	k := *abCalls
	sides := [2]abSide{a, bb}
	for _, s := range sides {
		if _, err := sequential(ctx, s, 300); err != nil {
			b.Fatal(err)
		}
		if err := concurrent(ctx, s, k); err != nil {
			b.Fatal(err)
		}
		if err := s.settleBlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
	rounds := *abRounds * b.N
	var p50, tput, cpu [2][]float64
	b.ResetTimer()
	for r := range rounds {
		order := [2]int{0, 1}
		if r%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, i := range order {
			lat, err := sequential(ctx, sides[i], k)
			if err != nil {
				b.Fatal(err)
			}
			if err := sides[i].settleBlock(ctx); err != nil {
				b.Fatal(err)
			}
			p50[i] = append(p50[i], float64(median(lat))/float64(time.Microsecond))
		}
		for _, i := range order {
			cpu0, t0 := cpuTime(), time.Now()
			err := concurrent(ctx, sides[i], k)
			if err == nil {
				err = sides[i].settleBlock(ctx)
			}
			wall, used := time.Since(t0), cpuTime()-cpu0
			if err != nil {
				b.Fatal(err)
			}
			tput[i] = append(tput[i], float64(k)/wall.Seconds())
			cpu[i] = append(cpu[i], float64(used.Microseconds())/float64(k))
		}
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	report := func(name string, xs [2][]float64) []float64 {
		ratios := ratiosOf(xs)
		lo, hi := medianCI(ratios)
		b.ReportMetric(median(ratios), name+"-ratio")
		b.ReportMetric(lo, name+"-ratio-lo")
		b.ReportMetric(hi, name+"-ratio-hi")
		return ratios
	}
	pr, tr := report("p50", p50), report("tput", tput)
	b.ReportMetric(median(ratiosOf(cpu)), "cpu-ratio")
	b.ReportMetric(median(p50[0]), "A-p50-µs")
	b.ReportMetric(median(p50[1]), "B-p50-µs")
	b.ReportMetric(median(tput[0]), "A-calls/s")
	b.ReportMetric(median(tput[1]), "B-calls/s")
	b.Logf("%d rounds of %d calls; rounds' ratios from 10th to 90th percentile: p50 %.3f–%.3f, throughput %.3f–%.3f; CPU/call A %.0f µs, B %.0f µs",
		rounds, k, quantile(pr, 0.1), quantile(pr, 0.9), quantile(tr, 0.1), quantile(tr, 0.9), median(cpu[0]), median(cpu[1]))
}

// settleBlock runs s.settle, if any.
func (s abSide) settleBlock(ctx context.Context) error {
	if s.settle == nil {
		return nil
	}
	return s.settle(ctx)
}

// sequential makes n calls one after the other and returns their
// latencies.
func sequential(ctx context.Context, s abSide, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if err := s.call(ctx); err != nil {
			return nil, err
		}
		lat[i] = time.Since(t0)
	}
	return lat, nil
}

// concurrent makes n calls from abConcurrency goroutines and returns the
// first error.
func concurrent(ctx context.Context, s abSide, n int) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range abConcurrency {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := s.call(ctx); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// ratiosOf is xs[1][r] ÷ xs[0][r] for every round r, sorted.
func ratiosOf(xs [2][]float64) []float64 {
	out := make([]float64, len(xs[0]))
	for r := range out {
		out[r] = xs[1][r] / xs[0][r]
	}
	slices.Sort(out)
	return out
}

// median is the median of xs.
func median[T time.Duration | float64](xs []T) T {
	xs = slices.Sorted(slices.Values(xs))
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// quantile is the q-quantile of the sorted xs, by nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// medianCI is a distribution-free confidence interval of at least 95 % for
// the median of the population the sorted xs were drawn from: the j-th
// smallest and j-th largest of xs, for the largest j such that fewer than j
// of n draws fall below the median with probability at most 2.5 %
// (binomial, p = ½). With fewer than 6 values it is their whole range.
func medianCI(sorted []float64) (lo, hi float64) {
	n := len(sorted)
	j, below := 0, 0.0 // below: P(at most j-1 of n draws fall below the median)
	for ; j < n; j++ {
		p := math.Exp(lgamma(n+1) - lgamma(j+1) - lgamma(n-j+1) - float64(n)*math.Ln2)
		if below+p > 0.025 {
			break
		}
		below += p
	}
	j = max(j, 1)
	return sorted[j-1], sorted[n-j]
}

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

// newEngine compiles set.
func newEngine(b *testing.B, set policy.Set) *policy.Engine {
	b.Helper()
	e, err := policy.NewEngine(set, policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// examplePolicies mirrors, in Go, what cmd/gatehouse's config loader makes
// of cmd/gatehouse-bench/testdata/example-policies.yaml (which the harness
// hands to `gatehouse serve` with -policies): the file's three global
// policies, then those of the code-assistant template it includes
// (config/templates/code-assistant.yaml), enabled and strict, as
// the loader's defaults make them. The loader lives in package main of
// cmd/gatehouse, which this package cannot import; TestExamplePolicies
// checks that the mirror decides as the files say.
func examplePolicies() policy.Set {
	const file, tmpl = "example-policies.yaml", "template:code-assistant"
	risk1 := 1.0
	ps := []policy.Policy{
		{Name: "block-shell", Tools: []string{"execute_*", "*shell*"}, Action: policy.ActionBlock, Priority: 100, Message: "Shell execution is disabled.", Source: file},
		{Name: "redact-ssn", When: policy.When{Args: `\b\d{3}-\d{2}-\d{4}\b`}, Action: policy.ActionRedact, Source: file},
		{Name: "limit-writes", Tools: []string{"write_*", "edit_*", "move_*"}, Action: policy.ActionRateLimit,
			RateLimit: &policy.RateLimit{Requests: 30, Per: time.Minute, Key: policy.KeyUser}, Source: file},

		{Name: "code-assistant-block-path-traversal", Action: policy.ActionBlock, Priority: 900,
			When:    policy.When{Threats: []policy.Threat{policy.ThreatPathTraversal}},
			Message: "the request refers to a path outside the project (for example through ../) or to a file that holds credentials (such as .env, an SSH key or cloud credentials), which the assistant may not read or write. Ask for a file inside the project, or open that file yourself.", Source: tmpl},
		{Name: "code-assistant-block-secrets", Action: policy.ActionBlock, Priority: 900,
			When:    policy.When{Threats: []policy.Threat{policy.ThreatSecret}},
			Message: "the request contains a credential (a key, token or password). Keep secrets out of code and commands: read them from an environment variable or a secret store.", Source: tmpl},
		{Name: "code-assistant-block-prompt-injection", Action: policy.ActionBlock, Priority: 900,
			When:    policy.When{Threats: []policy.Threat{policy.ThreatPromptInjection}},
			Message: "the request contains text that tries to override the assistant's instructions, probably picked up from a file, web page or issue it read. Check that source before going on.", Source: tmpl},
		{Name: "code-assistant-block-catastrophic-shell", Action: policy.ActionBlock, Priority: 900,
			When:    policy.When{Threats: []policy.Threat{policy.ThreatShellInjection}, RiskMin: &risk1},
			Message: "the request contains a command that would destroy data on the machine (such as rm -rf /). Run it yourself if you really mean it.", Source: tmpl},
		{Name: "code-assistant-warn-destructive-sql", Action: policy.ActionWarn, Priority: 800,
			When:    policy.When{Threats: []policy.Threat{policy.ThreatSQLDestructive}},
			Message: "the request contains destructive SQL (DROP, TRUNCATE or a mass DELETE); make sure this is not a shared database.", Source: tmpl},
		{Name: "code-assistant-approve-risky-shell", Action: policy.ActionRequireApproval, Priority: 0,
			Tools:   []string{"*exec*", "*shell*", "*command*", "*bash*", "*terminal*", "*run_*"},
			When:    policy.When{Threats: []policy.Threat{policy.ThreatShellInjection}},
			Message: "the assistant wants to run a command that chains or injects further commands. Read the command and approve only if you expected it.", Source: tmpl},
	}
	for i := range ps {
		ps[i].Enabled, ps[i].Strict = true, true
	}
	return policy.Set{Global: ps}
}

// TestExamplePolicies checks that examplePolicies compiles and decides a
// few calls as the example file and the code-assistant template say: the
// benchmark's echo call goes through untouched, and each kind of policy
// fires on a call made for it.
func TestExamplePolicies(t *testing.T) {
	e, err := policy.NewEngine(examplePolicies(), policy.Options{})
	if err != nil {
		t.Fatalf("NewEngine(examplePolicies()) = %v", err)
	}
	for _, tc := range []struct {
		name, tool, args string
		want             policy.Decision
		wantPolicy       string
	}{
		{"echo", "echo", `{"message":"ping"}`, policy.DecisionAllow, ""},
		{"shell", "execute_command", `{"command":"ls"}`, policy.DecisionBlock, "block-shell"},
		{"ssn", "echo", `{"message":"my ssn is 123-45-6789"}`, policy.DecisionAllow, "redact-ssn"},
		{"env file", "read_file", `{"path":".env"}`, policy.DecisionBlock, "code-assistant-block-path-traversal"},
		{"traversal", "read_file", `{"path":"../../../../etc/passwd"}`, policy.DecisionBlock, "code-assistant-block-path-traversal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "up", Tool: tc.tool, Exposed: "up__" + tc.tool, Arguments: []byte(tc.args)})
			if v.Decision != tc.want {
				t.Fatalf("Evaluate(%s) = %v (%s); want %v", tc.args, v.Decision, v.Reason, tc.want)
			}
			if tc.wantPolicy == "" {
				if len(v.Results) != 0 || v.Arguments != nil {
					t.Errorf("Evaluate(%s) = %+v; want no policy matched, the arguments unchanged", tc.args, v)
				}
				return
			}
			if !fired(v, tc.wantPolicy) {
				t.Errorf("Evaluate(%s) results = %+v; want %s among them", tc.args, v.Results, tc.wantPolicy)
			}
		})
	}
}

// fired reports whether policy name matched the call.
func fired(v policy.Verdict, name string) bool {
	return slices.ContainsFunc(v.Results, func(r policy.Result) bool { return r.Policy == name })
}
