// Command gatehouse-bench measures what the gateway costs a tools/call:
// latency (p50, p99) and throughput (calls/s at each concurrency) of a
// trivial tool, called directly on an upstream and through the gatehouse
// binary, over stdio and over streamable HTTP, in one run. It prints the
// figures, the gateway/direct ratios, the CPU time each process spends per
// call, and a verdict against the targets of BENCHMARKS.md.
//
// Run it from inside the module (it builds the gatehouse binary and the
// stdio test server with the go command):
//
//	go run ./cmd/gatehouse-bench
//	go run ./cmd/gatehouse-bench -protocol both -forwarder -rounds 3
//	go run ./cmd/gatehouse-bench -judge 50ms -rounds 3
//	go run ./cmd/gatehouse-bench -soak 10m -transport stdio -policies cmd/gatehouse-bench/testdata/example-policies.yaml
//
// The paths, each in its own processes:
//
//	stdio direct     client → stdio test server
//	stdio forwarder  client → byte forwarder → stdio test server (with -forwarder)
//	stdio gateway    client → gatehouse serve (stdio) → stdio test server
//	http direct      client → test server over streamable HTTP
//	http forwarder   client → byte forwarder → test server (with -forwarder)
//	http gateway     client → gatehouse serve --http → test server over streamable HTTP
//
// With -judge, each gateway path is measured twice more with one
// plain-English policy in scope of the echo tool, decided by a fake LLM
// provider that answers after the given delay: with new arguments on every
// call (every call asks the provider) and with the same call every time
// (the judge's cache answers), and a burst of -burst concurrent calls is
// made on the first.
//
// With -soak, the gateway paths alone are run for the given time at the
// highest concurrency, with a verdict log, and checked for errors, one
// record per call and flat memory (soak.go).
//
// The client is mcp-go's, in this process. The HTTP test server, the
// forwarder and the fake LLM provider are this program, run as
// `gatehouse-bench serve-upstream`, `gatehouse-bench forward` and
// `gatehouse-bench serve-judge`. `gatehouse-bench layers` reads a CPU profile of
// BenchmarkCallTool (bench_test.go) and charges it to layers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config is the command line.
type config struct {
	n                int           // sequential calls for p50/p99
	rounds           int           // times every path is measured, interleaved
	warmup           int           // calls before measuring
	duration         time.Duration // of each throughput run
	concurrency      []int         // of the throughput runs
	protocols        []protocol
	transports       []string // stdio, http
	gatehouse        string   // prebuilt binary, or "" to build
	stdioServer      string   // prebuilt binary, or "" to build
	markdown         bool
	forwarder        bool          // also measure the byte forwarder
	upstreamProtocol string        // protocol: of the gateway's upstream, or "" for its default
	policies         string        // YAML put at the top of the gateway's config: include:, policies:
	compare          string        // a second gatehouse binary, measured against the first, or ""
	judge            time.Duration // with a judge answering after this long, or 0
	judgeN           int           // sequential judged calls with new arguments
	burst            int           // concurrent judged calls of the burst
	soak             time.Duration // with -soak: soak the gateway this long instead of measuring
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case serveUpstreamCommand:
			if err := serveUpstream(os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "gatehouse-bench serve-upstream:", err)
				os.Exit(1)
			}
			return
		case forwardCommand:
			if err := runForward(os.Args[2:], os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "gatehouse-bench forward:", err)
				os.Exit(1)
			}
			return
		case serveJudgeCommand:
			if err := serveJudge(os.Args[2:], os.Stdin, os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "gatehouse-bench serve-judge:", err)
				os.Exit(1)
			}
			return
		case layersCommand:
			if err := runLayers(os.Args[2:], os.Stdout, os.Stderr); err != nil {
				if !errors.Is(err, flag.ErrHelp) {
					fmt.Fprintln(os.Stderr, "gatehouse-bench layers:", err)
				}
				os.Exit(2)
			}
			return
		}
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("gatehouse-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.n, "n", 2000, "sequential calls measured for p50 and p99")
	fs.IntVar(&cfg.warmup, "warmup", 300, "calls made on each path before measuring")
	fs.IntVar(&cfg.rounds, "rounds", 1, "measure every path this many times, interleaved, and report medians")
	fs.DurationVar(&cfg.duration, "duration", 2*time.Second, "length of each throughput run")
	conc := fs.String("concurrency", "1,16", "comma-separated concurrencies of the throughput runs")
	proto := fs.String("protocol", "modern", "MCP protocol the client speaks: modern (2026-07-28), legacy (2025-11-25) or both")
	transports := fs.String("transport", "stdio,http", "comma-separated transports to measure: stdio, http")
	upstreamProto := fs.String("upstream-protocol", "", "protocol the gateway speaks to the upstream: modern or legacy (default: the config's default)")
	fs.StringVar(&cfg.gatehouse, "gatehouse", "", "gatehouse binary to measure (default: build ./cmd/gatehouse)")
	fs.StringVar(&cfg.compare, "compare", "", "a second gatehouse binary (B) to measure on every unjudged gateway path, alternating with the first (A) within each round, with ratios B ÷ A")
	fs.StringVar(&cfg.stdioServer, "stdioserver", "", "stdio test server binary (default: build upstream/upstreamtest/testdata/stdioserver)")
	fs.BoolVar(&cfg.markdown, "markdown", false, "print the table as Markdown")
	policiesFile := fs.String("policies", "", "YAML file of top-level config keys (include:, policies:) for the gateway's config")
	fs.BoolVar(&cfg.forwarder, "forwarder", false, "also measure a byte forwarder (no MCP library) in the gateway's place: the cost of the extra hop alone")
	fs.DurationVar(&cfg.judge, "judge", 0, "also measure the gateway judging every call with a fake LLM that answers after this long (e.g. 50ms): new arguments every call (cache misses), the same call (cache hits), and a burst")
	fs.IntVar(&cfg.judgeN, "judge-n", 200, "sequential judged calls with new arguments, for their p50 and p99 (with -judge)")
	fs.IntVar(&cfg.burst, "burst", 200, "concurrent judged calls with new arguments, started at once (with -judge)")
	fs.DurationVar(&cfg.soak, "soak", 0, "instead of measuring, soak each gateway path this long (at least 30s) at the highest -concurrency, with a verdict log, sampling the gateway's RSS and goroutines every 10s; exit 1 when a check fails (BENCHMARKS.md, Soak)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gatehouse-bench [flags]\n\nMeasures tools/call latency and throughput, direct and through the gateway.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *policiesFile != "" {
		b, err := os.ReadFile(*policiesFile)
		if err != nil {
			return cfg, fmt.Errorf("-policies: %w", err)
		}
		cfg.policies = string(b)
	}
	if cfg.n < 1 || cfg.rounds < 1 || cfg.warmup < 0 || cfg.duration <= 0 {
		return cfg, fmt.Errorf("-n and -rounds must be positive, -warmup not negative and -duration positive")
	}
	if cfg.judge < 0 || cfg.judgeN < 1 || cfg.burst < 1 {
		return cfg, fmt.Errorf("-judge must not be negative, -judge-n and -burst positive")
	}
	if cfg.soak != 0 {
		if cfg.soak < soakMinDuration {
			return cfg, fmt.Errorf("-soak %s: want at least %s (a sample every %s in each of the three windows compared)", cfg.soak, soakMinDuration, soakInterval)
		}
		if cfg.judge > 0 || cfg.compare != "" || cfg.forwarder {
			return cfg, fmt.Errorf("-soak runs the gateway alone: not with -judge, -compare or -forwarder")
		}
	}
	for _, f := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return cfg, fmt.Errorf("-concurrency %q: want positive integers separated by commas", *conc)
		}
		cfg.concurrency = append(cfg.concurrency, c)
	}
	switch *proto {
	case "modern":
		cfg.protocols = []protocol{modern}
	case "legacy":
		cfg.protocols = []protocol{legacy}
	case "both":
		cfg.protocols = []protocol{modern, legacy}
	default:
		return cfg, fmt.Errorf("-protocol %q: want modern, legacy or both", *proto)
	}
	switch *upstreamProto {
	case "":
	case "modern":
		cfg.upstreamProtocol = modern.String()
	case "legacy":
		cfg.upstreamProtocol = legacy.String()
	default:
		return cfg, fmt.Errorf("-upstream-protocol %q: want modern or legacy", *upstreamProto)
	}
	for _, t := range strings.Split(*transports, ",") {
		t = strings.TrimSpace(t)
		if t != transportStdio && t != transportHTTP {
			return cfg, fmt.Errorf("-transport %q: want stdio, http or both separated by a comma", *transports)
		}
		if !slices.Contains(cfg.transports, t) {
			cfg.transports = append(cfg.transports, t)
		}
	}
	return cfg, nil
}

// measuringOrder is the order in which round measures paths: as listed,
// except that on even rounds a compared gateway goes before the gateway it
// is compared with, so that neither always runs on a machine warmed by the
// other.
func measuringOrder(paths []path, round int) []path {
	order := slices.Clone(paths)
	if round%2 == 0 {
		for i := 1; i < len(order); i++ {
			if order[i].route == compared && order[i-1].route == gateway {
				order[i-1], order[i] = order[i], order[i-1]
			}
		}
	}
	return order
}

// run prepares the binaries, measures every path and prints the report.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	bins, err := prepareBinaries(ctx, cfg, dir, stderr)
	if err != nil {
		return err
	}
	if cfg.soak > 0 {
		return runSoak(ctx, cfg, dir, bins, stdout, stderr)
	}
	env := &environment{dir: dir, bins: bins, upstreamProtocol: cfg.upstreamProtocol, policies: cfg.policies}
	defer env.close()
	if cfg.judge > 0 {
		if env.judge, err = env.startJudge(ctx, cfg.judge); err != nil {
			return err
		}
	}

	rep := report{cfg: cfg, cpus: runtime.NumCPU(), procs: runtime.GOMAXPROCS(0), runs: map[path][]result{}}
	for _, proto := range cfg.protocols {
		for _, tr := range cfg.transports {
			for _, via := range []route{direct, forwarder, gateway, compared} {
				if via == forwarder && !cfg.forwarder || via == compared && cfg.compare == "" {
					continue
				}
				rep.paths = append(rep.paths, path{transport: tr, route: via, protocol: proto})
			}
			if cfg.judge > 0 {
				for _, j := range []judging{judgedMiss, judgedHit} {
					rep.paths = append(rep.paths, path{transport: tr, route: gateway, protocol: proto, judge: j})
				}
			}
		}
	}
	started := time.Now()
	for round := 1; round <= cfg.rounds; round++ {
		for _, p := range measuringOrder(rep.paths, round) {
			fmt.Fprintf(stderr, "round %d/%d: measuring %s ...\n", round, cfg.rounds, p)
			res, err := env.measure(ctx, p, cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			rep.runs[p] = append(rep.runs[p], res)
		}
	}
	rep.elapsed = time.Since(started)
	rep.print(stdout)
	return nil
}
