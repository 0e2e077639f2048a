package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
)

// serveJudgeCommand is the first argument that makes this program the fake
// LLM provider of a judged run (-judge) instead of the benchmark itself.
const serveJudgeCommand = "serve-judge"

// The targets of the judged paths (BENCHMARKS.md, issue 5).
const (
	// targetJudgeOverhead is what the judged path's p50 may add to the
	// unjudged gateway's beyond the judge's own delay.
	targetJudgeOverhead = 2 * time.Millisecond
	// targetCacheHitRatio bounds the cache-hit path's p50 against the
	// unjudged gateway's.
	targetCacheHitRatio = 1.0
)

// roleJudge is the fake LLM provider's process in the CPU figures. It
// stands in for a remote model, so it is left out of the total.
const roleJudge = "judge"

// judging says whether, and how, a gateway path's calls are judged.
type judging int

const (
	unjudged   judging = iota // no judge, no plain-English policy
	judgedMiss                // judged, every call's arguments new: every call asks the model
	judgedHit                 // judged, every call the same: the judge's cache answers after the first
)

func (j judging) String() string {
	return [...]string{"", " judged (miss)", " judged (hit)"}[j]
}

// judgeProcess is the fake LLM provider: this program run as serve-judge.
type judgeProcess struct {
	*process
	url string // base URL, no trailing slash

	mu  sync.Mutex
	out *bufio.Reader // its stdout: the URL, then one count per request
}

// startJudge runs this program as serve-judge answering after delay, and
// reads its URL.
func (e *environment) startJudge(ctx context.Context, delay time.Duration) (*judgeProcess, error) {
	cmd := exec.Command(e.bins.self, serveJudgeCommand, "-delay", delay.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := e.start(cmd)
	if err != nil {
		return nil, err
	}
	j := &judgeProcess{process: p, out: bufio.NewReader(stdout)}
	line := make(chan string, 1)
	go func() {
		s, _ := j.out.ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case u := <-line:
		if !strings.HasPrefix(u, "http://") {
			p.stop()
			return nil, fmt.Errorf("serve-judge printed %q, want its URL%s", u, p.stderr.tail())
		}
		j.url = u
		return j, nil
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("serve-judge did not print its URL within 10s%s", p.stderr.tail())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// requests returns how many requests the fake provider has received.
func (j *judgeProcess) requests() (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := io.WriteString(j.stdin, "count\n"); err != nil {
		return 0, fmt.Errorf("ask serve-judge for its count: %w", err)
	}
	s, err := j.out.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("read serve-judge's count: %w%s", err, j.stderr.tail())
	}
	return strconv.Atoi(strings.TrimSpace(s))
}

// serveJudge is the serve-judge command: an llmjudgetest server on
// loopback that answers every request after -delay with "comply" for every
// policy asked. It prints the server's URL, then, for every line read from
// in, the number of requests received so far; it ends when in ends.
func serveJudge(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet(serveJudgeCommand, flag.ContinueOnError)
	delay := fs.Duration("delay", 50*time.Millisecond, "how long the provider takes to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tb := &cleanupTB{}
	defer tb.cleanup()
	srv := llmjudgetest.New(tb)
	srv.Respond(complyAll(*delay))
	if _, err := fmt.Fprintln(out, srv.URL); err != nil {
		return err
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		if _, err := fmt.Fprintln(out, srv.Count()); err != nil {
			return err
		}
	}
	return lines.Err()
}

// complyAll answers, after delay, "comply" for every policy the request's
// system message lists (one `{"id":...,"policy":...}` line each).
func complyAll(delay time.Duration) func(llmjudgetest.Request) llmjudgetest.Reply {
	type result struct {
		Policy  string `json:"policy"`
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
	}
	return func(req llmjudgetest.Request) llmjudgetest.Reply {
		var answer struct {
			Results []result `json:"results"`
		}
		answer.Results = []result{}
		for line := range strings.Lines(req.System) {
			var entry struct {
				ID     *string `json:"id"`
				Policy *string `json:"policy"`
			}
			if !strings.HasPrefix(line, `{"id":`) || json.Unmarshal([]byte(line), &entry) != nil || entry.ID == nil || entry.Policy == nil {
				continue
			}
			answer.Results = append(answer.Results, result{Policy: *entry.ID, Verdict: "comply", Reason: "fine"})
		}
		b, _ := json.Marshal(answer)
		return llmjudgetest.Reply{Content: string(b), Delay: delay}
	}
}

// cleanupTB is the part of testing.TB that llmjudgetest.New uses (Helper
// and Cleanup), for running its server outside a test. Any other method
// panics: the embedded TB is nil.
type cleanupTB struct {
	testing.TB
	cleanups []func()
}

func (*cleanupTB) Helper() {}

func (t *cleanupTB) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// cleanup runs the registered functions, last first.
func (t *cleanupTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// The plain-English policy of a judged path. It names no tools: every
// tool, the echo tool among them, is in its scope.
const (
	benchJudgedPolicy = "bench-judged"
	benchJudgedRules  = "Calls must not send secrets or personal data anywhere."
	benchJudgeModel   = "bench-judge"
)

// topLevel returns the top-level YAML of path p's gateway config: the
// -policies file, plus, on a judged path, the judge section and one
// plain-English policy.
func (e *environment) topLevel(p path) (string, error) {
	if p.judge == unjudged {
		return e.policies, nil
	}
	if e.judge == nil {
		return "", errors.New("a judged path without a judge (-judge)")
	}
	top, err := parseTop(e.policies)
	if err != nil {
		return "", err
	}
	if _, ok := top["judge"]; ok {
		return "", errors.New("-policies has a judge: section; -judge writes its own")
	}
	top["judge"] = map[string]any{
		"provider":  "openai",
		"model":     benchJudgeModel,
		"base_url":  e.judge.url + "/v1",
		"timeout":   "5s",
		"cache_ttl": "10m",
	}
	policies, _ := top["policies"].([]any)
	top["policies"] = append(policies, map[string]any{"name": benchJudgedPolicy, "rules": benchJudgedRules})
	b, err := yaml.Marshal(top)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// burst is a set of calls started at once.
type burst struct {
	calls   int
	errors  int   // failed calls, and calls that came back as tool errors (blocked)
	err     error // the first error, if any
	wall    time.Duration
	latency latencies
}

// runBurst starts n calls at once and waits for them all.
func runBurst(ctx context.Context, call func(context.Context) error, n int) burst {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		b     = burst{calls: n}
		ds    = make([]time.Duration, 0, n)
		ready sync.WaitGroup
		fire  = make(chan struct{})
	)
	ready.Add(n)
	for range n {
		wg.Go(func() {
			ready.Done()
			<-fire
			t0 := time.Now()
			err := call(ctx)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			ds = append(ds, d)
			if err != nil {
				b.errors++
				if b.err == nil {
					b.err = err
				}
			}
		})
	}
	ready.Wait()
	start := time.Now()
	close(fire)
	wg.Wait()
	b.wall = time.Since(start)
	b.latency = summarize(ds)
	return b
}

// judgeBase is the path a judged path is compared with: the same gateway
// path without the judge.
func judgeBase(p path) path {
	p.judge = unjudged
	return p
}

// judgeVerdict compares the judged paths with the unjudged gateway, per
// round, against the targets.
func (r report) judgeVerdict(w io.Writer, cols []column) {
	if r.cfg.judge == 0 {
		return
	}
	p50 := cols[0]
	fmt.Fprintf(w, "\nThe LLM judge: a fake provider answering after %s, one plain-English policy in scope:\n\n", r.cfg.judge)
	for _, p := range r.paths {
		if p.route != gateway || p.judge == unjudged {
			continue
		}
		base := judgeBase(p)
		switch p.judge {
		case judgedMiss:
			target := r.cfg.judge + targetJudgeOverhead
			if d, ok := r.perRound(p, base, p50, func(a, b float64) float64 { return a - b }); ok {
				fmt.Fprintf(w, "%s: p50 − unjudged p50 = %s (target ≤ %s + %s) %s\n",
					p, ms(d), r.cfg.judge, targetJudgeOverhead, mark(time.Duration(d) <= target))
			}
			for i, res := range r.runs[p] {
				if res.burst == nil {
					continue
				}
				b := res.burst
				line := fmt.Sprintf("%s: burst of %d concurrent calls (round %d): %d errors, wall %s, p50 %s, p99 %s %s",
					p, b.calls, i+1, b.errors, ms(float64(b.wall)), ms(float64(b.latency.p50)), ms(float64(b.latency.p99)), mark(b.errors == 0))
				if b.err != nil {
					line += fmt.Sprintf("\n    first error: %v", b.err)
				}
				fmt.Fprintln(w, line)
			}
		case judgedHit:
			if v, ok := r.perRound(p, base, p50, func(a, b float64) float64 { return a / b }); ok {
				d, _ := r.perRound(p, base, p50, func(a, b float64) float64 { return a - b })
				fmt.Fprintf(w, "%s: p50 ÷ unjudged p50 = %.2f× (%+.0fµs; target ≤ %.2f×) %s\n",
					p, v, d/float64(time.Microsecond), targetCacheHitRatio, mark(v <= targetCacheHitRatio))
			}
		}
		var asked, calls int
		for _, res := range r.runs[p] {
			asked += res.judgeRequests
			calls += res.calls
		}
		if calls > 0 {
			fmt.Fprintf(w, "%s: %d requests to the provider for %d calls (%.3f per call)\n", p, asked, calls, float64(asked)/float64(calls))
		}
	}
}

// ms formats nanoseconds as milliseconds.
func ms(ns float64) string { return fmt.Sprintf("%.3fms", ns/float64(time.Millisecond)) }
