package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// callTimeout bounds one call: a stuck path fails the run instead of
// hanging it.
const callTimeout = 30 * time.Second

// result is what was measured on one path.
type result struct {
	latency    latencies    // of cfg.n sequential calls
	throughput []throughput // one per concurrency
	// cpu is the CPU time per call of each process of the path (see
	// roles), over all measured calls.
	cpu map[string]time.Duration
	// calls is the number of measured calls.
	calls int
	// judgeRequests is the number of requests the fake LLM provider
	// received during the measured calls, on a judged path.
	judgeRequests int
	// burst is the burst of -burst concurrent calls, on a cache-miss path.
	burst *burst
}

// latencies are the order statistics of a set of call durations.
type latencies struct {
	n        int
	p50, p99 time.Duration
}

// throughput is one fixed-duration run at one concurrency.
type throughput struct {
	concurrency int
	calls       int
	elapsed     time.Duration
	latency     latencies
}

// perSecond is the run's calls per second.
func (t throughput) perSecond() float64 { return float64(t.calls) / t.elapsed.Seconds() }

// measure connects to path p, warms it up and measures it.
func (e *environment) measure(ctx context.Context, p path, cfg config) (result, error) {
	ep, err := e.connect(ctx, p)
	if err != nil {
		return result{}, err
	}
	defer ep.stop()
	if p.judge != unjudged && e.judge != nil {
		ep.cpu.pids[roleJudge] = e.judge.cmd.Process.Pid
	}
	// A cache-miss path sends new arguments on every call, and its calls
	// take the judge's delay: fewer of them.
	call := echo(ep.client, ep.tool, p.judge == judgedMiss)
	n, warmup := cfg.n, cfg.warmup
	if p.judge == judgedMiss {
		n, warmup = cfg.judgeN, min(warmup, 20)
	}

	// Warm up: sequential calls, then a short run at the highest
	// concurrency so that every pool (connections, workers) is filled.
	for range warmup {
		if err := call(ctx); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	if _, err := load(ctx, call, slices.Max(cfg.concurrency), cfg.duration/4); err != nil {
		return result{}, fmt.Errorf("warm-up: %w", err)
	}

	var res result
	asked, err := e.judgeRequests(p)
	if err != nil {
		return res, err
	}
	cpuBefore := ep.cpu.read()
	calls := n
	durations := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := call(ctx); err != nil {
			return res, err
		}
		durations = append(durations, time.Since(start))
	}
	res.latency = summarize(durations)
	for _, c := range cfg.concurrency {
		t, err := load(ctx, call, c, cfg.duration)
		if err != nil {
			return res, fmt.Errorf("concurrency %d: %w", c, err)
		}
		res.throughput = append(res.throughput, t)
		calls += t.calls
	}
	if p.judge == judgedMiss {
		b := runBurst(ctx, call, cfg.burst)
		res.burst = &b
		calls += b.calls
	}
	res.cpu = perCall(cpuBefore, ep.cpu.read(), calls)
	res.calls = calls
	after, err := e.judgeRequests(p)
	res.judgeRequests = after - asked
	return res, err
}

// judgeRequests returns how many requests the fake LLM provider has
// received, on a judged path; 0 on others.
func (e *environment) judgeRequests(p path) (int, error) {
	if p.judge == unjudged || e.judge == nil {
		return 0, nil
	}
	return e.judge.requests()
}

// echo returns a function that makes one echo call and checks its result.
// With distinct, every call's message is new ("ping 1", "ping 2", ...), so
// that no two calls are identical to the judge's cache.
func echo(cl *client.Client, tool string, distinct bool) func(context.Context) error {
	const ping = "ping"
	fixed := mcp.CallToolRequest{}
	fixed.Params.Name = tool
	fixed.Params.Arguments = map[string]any{"message": ping}
	var seq atomic.Int64
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		req, message := fixed, ping
		if distinct {
			message = ping + " " + strconv.FormatInt(seq.Add(1), 10)
			req.Params.Arguments = map[string]any{"message": message}
		}
		res, err := cl.CallTool(ctx, req)
		if err != nil {
			return fmt.Errorf("call %s: %w: %w", tool, errTransport, err)
		}
		if len(res.Content) != 1 {
			return fmt.Errorf("call %s: %d content items, want 1", tool, len(res.Content))
		}
		text, ok := res.Content[0].(mcp.TextContent)
		if res.IsError || !ok || text.Text != message {
			return fmt.Errorf("call %s: unexpected result %+v", tool, res.Content[0])
		}
		return nil
	}
}

// errTransport marks a call the client got no result for; echo's other
// errors are results that are errors, or not the echo.
var errTransport = errors.New("transport")

// load calls from c goroutines for d and counts the calls that finished.
func load(ctx context.Context, call func(context.Context) error, c int, d time.Duration) (throughput, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []time.Duration
	)
	start := time.Now()
	deadline := start.Add(d)
	for range c {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := call(ctx); err != nil {
					cancel(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return throughput{}, err
	}
	return throughput{concurrency: c, calls: len(all), elapsed: elapsed, latency: summarize(all)}, nil
}

// summarize returns the p50 and p99 of ds (nearest rank). It sorts ds.
func summarize(ds []time.Duration) latencies {
	if len(ds) == 0 {
		return latencies{}
	}
	slices.Sort(ds)
	return latencies{n: len(ds), p50: percentile(ds, 50), p99: percentile(ds, 99)}
}

// percentile returns the p-th percentile of sorted, by nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}
