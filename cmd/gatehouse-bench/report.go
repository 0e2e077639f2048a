package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// The targets of the gateway against the direct path (BENCHMARKS.md).
const (
	targetP50Ratio        = 1.5  // gateway p50 at most this times direct
	targetThroughputRatio = 0.65 // gateway calls/s at targetConcurrency at least this times direct
	targetConcurrency     = 16
)

// report is the outcome of a run: every round's result of every path.
type report struct {
	cfg     config
	cpus    int
	procs   int
	elapsed time.Duration
	paths   []path
	runs    map[path][]result // one per round
}

// column is one measured quantity of a result.
type column struct {
	name string
	unit unit
	// value returns the quantity, or false when the result lacks it.
	value func(result) (float64, bool)
}

// unit says how a column's values read.
type unit int

const (
	millis    unit = iota // a duration, printed in ms
	perSecond             // calls per second
	micros                // a duration, printed in µs
)

func (r report) columns() []column {
	dur := func(f func(result) time.Duration) func(result) (float64, bool) {
		return func(res result) (float64, bool) { return float64(f(res)), true }
	}
	cols := []column{
		{"p50", millis, dur(func(res result) time.Duration { return res.latency.p50 })},
		{"p99", millis, dur(func(res result) time.Duration { return res.latency.p99 })},
	}
	for i, c := range r.cfg.concurrency {
		cols = append(cols, column{fmt.Sprintf("calls/s c=%d", c), perSecond, func(res result) (float64, bool) { return res.throughput[i].perSecond(), true }})
	}
	top := slices.Index(r.cfg.concurrency, slices.Max(r.cfg.concurrency))
	c := r.cfg.concurrency[top]
	cols = append(cols,
		column{fmt.Sprintf("p50 c=%d", c), millis, dur(func(res result) time.Duration { return res.throughput[top].latency.p50 })},
		column{fmt.Sprintf("p99 c=%d", c), millis, dur(func(res result) time.Duration { return res.throughput[top].latency.p99 })},
	)
	shown := roles
	if r.cfg.judge > 0 {
		shown = append(slices.Clip(roles), roleJudge)
	}
	for _, role := range shown {
		cols = append(cols, column{role, micros, func(res result) (float64, bool) {
			d, ok := res.cpu[role]
			return float64(d), ok
		}})
	}
	return append(cols, column{"total", micros, func(res result) (float64, bool) {
		var sum time.Duration
		for role, d := range res.cpu {
			if role != roleJudge {
				sum += d
			}
		}
		return float64(sum), len(res.cpu) > 0
	}})
}

// figure is the median over the rounds of col on path p.
func (r report) figure(p path, col column) (float64, bool) {
	vs := make([]float64, 0, len(r.runs[p]))
	for _, res := range r.runs[p] {
		if v, ok := col.value(res); ok {
			vs = append(vs, v)
		}
	}
	return median(vs), len(vs) > 0
}

// ratio is the median over the rounds of col on p divided by col on its
// base (see base), each round's run divided by the same round's base run,
// so that a change in the machine's load between rounds cancels out.
func (r report) ratio(p path, col column) (float64, bool) {
	return r.perRound(p, base(p), col, func(a, b float64) float64 { return a / b })
}

// base is what path p is compared with: the direct path, for a judged
// path the same gateway path unjudged, and for the compared gateway the
// first one.
func base(p path) path {
	switch {
	case p.judge != unjudged:
		return judgeBase(p)
	case p.route == compared:
		p.route = gateway
		return p
	}
	p.route = direct
	return p
}

// perRound is the median over the rounds of f(col on p, col on b), each
// round's run of p against the same round's run of b.
func (r report) perRound(p, b path, col column, f func(a, b float64) float64) (float64, bool) {
	vs := r.rounds(p, b, col, f)
	return median(vs), len(vs) > 0
}

// rounds is f(col on p, col on b) of every round, sorted.
func (r report) rounds(p, b path, col column, f func(a, b float64) float64) []float64 {
	ps, bs := r.runs[p], r.runs[b]
	if len(ps) != len(bs) {
		return nil
	}
	vs := make([]float64, 0, len(ps))
	for i := range ps {
		v, okv := col.value(ps[i])
		w, okw := col.value(bs[i])
		if okv && okw && w != 0 {
			vs = append(vs, f(v, w))
		}
	}
	slices.Sort(vs)
	return vs
}

func (r report) print(w io.Writer) {
	fmt.Fprintf(w, "\ngatehouse-bench: tools/call of the echo tool; %d CPUs (GOMAXPROCS %d); p50/p99 over %d sequential calls; throughput over %s per concurrency",
		r.cpus, r.procs, r.cfg.n, r.cfg.duration)
	if r.cfg.upstreamProtocol != "" {
		fmt.Fprintf(w, "; gateway → upstream in %s", r.cfg.upstreamProtocol)
	}
	if r.cfg.rounds > 1 {
		fmt.Fprintf(w, "; medians of %d interleaved rounds (ratios: median of the rounds' ratios)", r.cfg.rounds)
	}
	fmt.Fprintf(w, "; run took %s\n\n", r.elapsed.Round(time.Second))

	cols := r.columns()
	cpu := slices.IndexFunc(cols, func(c column) bool { return c.unit == micros })
	r.table(w, cols[:cpu])
	fmt.Fprint(w, "\nCPU time per call (user + system) of each process, over all measured calls")
	if r.cfg.forwarder {
		fmt.Fprint(w, " (on forwarder rows the gateway column is the forwarder)")
	}
	fmt.Fprint(w, ":\n\n")
	r.table(w, cols[cpu:])
	fmt.Fprintln(w)
	r.verdict(w, cols)
	r.compareVerdict(w, cols)
	r.judgeVerdict(w, cols)
}

// compareVerdict prints, for every compared gateway path, B ÷ A of the
// p50, the throughput at the highest concurrency and the CPU per call:
// the median of the rounds' ratios and their range.
func (r report) compareVerdict(w io.Writer, cols []column) {
	if r.cfg.compare == "" {
		return
	}
	top := fmt.Sprintf("calls/s c=%d", slices.Max(r.cfg.concurrency))
	shown := []string{"p50", top, "total"}
	for _, p := range r.paths {
		if p.route != compared {
			continue
		}
		var parts []string
		for _, name := range shown {
			i := slices.IndexFunc(cols, func(c column) bool { return c.name == name })
			if i < 0 {
				continue
			}
			vs := r.rounds(p, base(p), cols[i], func(a, b float64) float64 { return a / b })
			if len(vs) == 0 {
				continue
			}
			label := name
			if name == "total" {
				label = "CPU/call"
			}
			parts = append(parts, fmt.Sprintf("%s %.3f [%.3f, %.3f]", label, median(vs), vs[0], vs[len(vs)-1]))
		}
		fmt.Fprintf(w, "%s ÷ gateway (%s) over %d rounds, median [min, max]: %s\n", p, r.cfg.compare, len(r.runs[p]), strings.Join(parts, "; "))
	}
}

// table prints cols of every path, and the ratios after each gateway path.
func (r report) table(w io.Writer, cols []column) {
	var tw *tabwriter.Writer
	row := func(cells ...string) {
		if r.cfg.markdown {
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
			return
		}
		fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
	}
	if !r.cfg.markdown {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		defer tw.Flush()
	}
	// tabwriter aligns every column right: pad the names so that they read
	// left-aligned.
	ratioName := func(p path) string {
		switch {
		case p.judge != unjudged:
			return "  ÷ unjudged"
		case p.route == compared:
			return "  ÷ gateway"
		}
		return "  ÷ direct"
	}
	width := utf8.RuneCountInString(ratioName(path{judge: judgedMiss}))
	for _, p := range r.paths {
		width = max(width, utf8.RuneCountInString(p.String()))
	}
	pad := func(s string) string {
		if r.cfg.markdown {
			return s
		}
		return s + strings.Repeat(" ", width-utf8.RuneCountInString(s))
	}
	head := []string{pad("path")}
	for _, c := range cols {
		head = append(head, c.name)
	}
	row(head...)
	if r.cfg.markdown {
		seps := slices.Repeat([]string{"---:"}, len(head))
		seps[0] = ":---"
		row(seps...)
	}
	for _, p := range r.paths {
		cells := []string{pad(p.String())}
		for _, c := range cols {
			v, ok := r.figure(p, c)
			cells = append(cells, format(c, v, ok))
		}
		row(cells...)
		if p.route == direct {
			continue
		}
		cells = []string{pad(ratioName(p))}
		for _, c := range cols {
			if v, ok := r.ratio(p, c); ok {
				cells = append(cells, fmt.Sprintf("%.2f×", v))
			} else {
				cells = append(cells, "-")
			}
		}
		row(cells...)
	}
}

// verdict compares every gateway path with the targets.
func (r report) verdict(w io.Writer, cols []column) {
	p50 := cols[0]
	thr := slices.IndexFunc(cols, func(c column) bool { return c.name == fmt.Sprintf("calls/s c=%d", targetConcurrency) })
	for _, p := range r.paths {
		if p.route != gateway || p.judge != unjudged {
			continue
		}
		v, ok := r.ratio(p, p50)
		if !ok {
			continue
		}
		line := fmt.Sprintf("%s: p50 %.2f× direct (target ≤ %.2f×) %s", p, v, targetP50Ratio, mark(v <= targetP50Ratio))
		if thr >= 0 {
			v, _ := r.ratio(p, cols[thr])
			line += fmt.Sprintf("; calls/s at c=%d %.2f× direct (target ≥ %.2f×) %s", targetConcurrency, v, targetThroughputRatio, mark(v >= targetThroughputRatio))
		}
		fmt.Fprintln(w, line)
	}
}

func format(c column, v float64, ok bool) string {
	switch {
	case !ok:
		return "-"
	case c.unit == millis:
		return fmt.Sprintf("%.3fms", v/float64(time.Millisecond))
	case c.unit == micros:
		return fmt.Sprintf("%.0fµs", v/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.0f", v)
}

// median returns the median of vs (the mean of the middle two for an even
// count). It sorts vs.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	slices.Sort(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
