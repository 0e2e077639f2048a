package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
)

// The soak (-soak DURATION): the real gateway process, with a real verdict
// log and --log-level debug, called at the highest -concurrency for the
// duration, sampled every soakInterval, and checked at the end (see
// soakResult.checks).
const (
	soakInterval = 10 * time.Second
	// soakMinDuration leaves one sample in each of the three windows the
	// checks compare.
	soakMinDuration = 3 * soakInterval
	// soakWindow is the longest window compared: the first minute, the
	// second and the last (shorter soaks use a third of their length).
	soakWindow = time.Minute
)

// What "flat" means: the last window against the second, once the
// gateway's pools, caches and heap target have settled in the first.
const (
	// The last window's median RSS may exceed the second window's by
	// soakRSSGrowth of it or by soakRSSSlack, whichever is larger.
	soakRSSGrowth = 0.10
	soakRSSSlack  = 5 << 20
	// The last window's highest goroutine count may exceed the second
	// window's by soakGoroutinesPerCall for each concurrent call (64 at
	// c=16): how many goroutines run at the moment of a reading depends on
	// where the calls in flight are: over HTTP at c=16, readings 10 s
	// apart ranged from 94 to 142 while the open files stayed at 50. A
	// leak of one per call or per connection adds thousands a minute; one
	// of 8 a minute shows in a 10-minute soak.
	soakGoroutinesPerCall = 4
)

// runtimeLine is the figures of one "runtime" line the gateway logs at
// debug level (cmd/gatehouse/runtime_report.go).
type runtimeLine struct {
	goroutines, heapLive, memTotal uint64
}

// parseRuntimeLine reads a "runtime" line of the gateway's text log:
//
//	time=… level=DEBUG msg=runtime goroutines=31 heap_live_bytes=2913304 memory_total_bytes=13501448
//
// It reports false for any other line.
func parseRuntimeLine(line string) (runtimeLine, bool) {
	fields := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			fields[k] = v
		}
	}
	if fields["msg"] != "runtime" {
		return runtimeLine{}, false
	}
	var r runtimeLine
	for key, to := range map[string]*uint64{"goroutines": &r.goroutines, "heap_live_bytes": &r.heapLive, "memory_total_bytes": &r.memTotal} {
		n, err := strconv.ParseUint(fields[key], 10, 64)
		if err != nil {
			return runtimeLine{}, false
		}
		*to = n
	}
	return r, true
}

// gatewayLog is the gateway's stderr as the soak reads it: its latest
// runtime line, and what else it logged.
type gatewayLog struct {
	mu       sync.Mutex
	partial  []byte
	latest   *runtimeLine   // nil before the first
	runtimes int            // runtime lines
	others   map[string]int // other lines by their msg
	tail     tailBuffer
}

func newGatewayLog() *gatewayLog { return &gatewayLog{others: map[string]int{}} }

func (g *gatewayLog) Write(p []byte) (int, error) {
	_, _ = g.tail.Write(p)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.partial = append(g.partial, p...)
	for {
		i := bytes.IndexByte(g.partial, '\n')
		if i < 0 {
			break
		}
		line := string(g.partial[:i])
		g.partial = g.partial[i+1:]
		if r, ok := parseRuntimeLine(line); ok {
			g.latest = &r
			g.runtimes++
		} else if strings.TrimSpace(line) != "" {
			g.others[logMsg(line)]++
		}
	}
	g.partial = slices.Clip(g.partial)
	return len(p), nil
}

// logMsg is the msg of a text log line, or the line itself (shortened)
// when it has none.
func logMsg(line string) string {
	if _, rest, ok := strings.Cut(line, " msg="); ok {
		if strings.HasPrefix(rest, `"`) {
			if s, err := strconv.QuotedPrefix(rest); err == nil {
				return s
			}
		}
		msg, _, _ := strings.Cut(rest, " ")
		return msg
	}
	if len(line) > 80 {
		return line[:80] + "…"
	}
	return line
}

// snapshot returns the latest runtime line (nil before the first).
func (g *gatewayLog) snapshot() *runtimeLine {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.latest
}

// soakSample is the soak at one moment.
type soakSample struct {
	at            time.Duration // since the calls began
	calls         int64         // calls finished so far, answered or failed
	transportErrs int64         // calls the client got no result for
	toolErrs      int64         // results that are errors (a block is one) or not the echo
	rss           uint64        // the gateway's resident memory in bytes; 0 when unreadable
	files         int           // the gateway's open file descriptors; -1 when unreadable
	runtime       *runtimeLine  // the gateway's latest runtime line; nil before its first
}

// soakStats are the fields of `gatehouse stats --json` the soak reads.
type soakStats struct {
	Calls          int `json:"calls"`
	Allowed        int `json:"allowed"`
	Blocked        int `json:"blocked"`
	Approval       int `json:"approval_required"`
	UpstreamErrors int `json:"upstream_errors"`
	Unknown        int `json:"outcome_unknown"`
}

// soakResult is one path's soak.
type soakResult struct {
	path        path
	concurrency int
	duration    time.Duration // as asked
	samples     []soakSample
	// calls, transportErrs and toolErrs are the final counts, after
	// every call in flight at the end has finished.
	calls, transportErrs, toolErrs  int64
	firstTransportErr, firstToolErr string
	stopped                         string // why the soak ended early, or ""
	exit                            error  // how the gateway ended: nil for exit status 0
	stats                           *soakStats
	statsErr                        error
	runtimeLines                    int
	otherLines                      map[string]int
}

// check is one pass/fail line of the soak's verdict.
type check struct {
	name   string
	ok     bool
	detail string
}

// window is the samples taken in (from, to].
func (r soakResult) window(from, to time.Duration) []soakSample {
	var out []soakSample
	for _, s := range r.samples {
		if s.at > from && s.at <= to {
			out = append(out, s)
		}
	}
	return out
}

// windows are the first, the second and the last window the memory checks
// compare: minutes for a soak of three minutes or more, thirds of it for
// a shorter one.
func (r soakResult) windows() (w time.Duration, first, second, last []soakSample) {
	end := r.duration
	if n := len(r.samples); n > 0 {
		end = r.samples[n-1].at
	}
	w = min(soakWindow, r.duration/3)
	return w, r.window(0, w), r.window(w, 2*w), r.window(end-w, end)
}

// memory is what a window says about the gateway's memory.
type memory struct {
	samples, readings      int // samples; those with a runtime line
	rssMedian, rssMax      uint64
	filesMax               int // -1 when unreadable
	goroutinesMax          uint64
	heapLiveMax, memTotMax uint64
}

func memoryOf(ss []soakSample) memory {
	m := memory{samples: len(ss), filesMax: -1}
	var rss []float64
	for _, s := range ss {
		m.filesMax = max(m.filesMax, s.files)
		if s.rss > 0 {
			rss = append(rss, float64(s.rss))
			m.rssMax = max(m.rssMax, s.rss)
		}
		if s.runtime != nil {
			m.readings++
			m.goroutinesMax = max(m.goroutinesMax, s.runtime.goroutines)
			m.heapLiveMax = max(m.heapLiveMax, s.runtime.heapLive)
			m.memTotMax = max(m.memTotMax, s.runtime.memTotal)
		}
	}
	m.rssMedian = uint64(median(rss))
	return m
}

// checks are the soak's verdict: no errors, one record per call, a clean
// exit, and memory and goroutines flat from the second window to the last.
func (r soakResult) checks() []check {
	var out []check
	errs := check{name: "zero errors", ok: r.transportErrs == 0 && r.toolErrs == 0 && r.stopped == ""}
	errs.detail = fmt.Sprintf("%d calls, %d transport errors, %d error results", r.calls, r.transportErrs, r.toolErrs)
	if r.firstTransportErr != "" {
		errs.detail += "; first transport error: " + r.firstTransportErr
	}
	if r.firstToolErr != "" {
		errs.detail += "; first error result: " + r.firstToolErr
	}
	if r.stopped != "" {
		errs.detail += "; stopped early: " + r.stopped
	}
	out = append(out, errs)

	exit := check{name: "clean exit", ok: r.exit == nil, detail: "the gateway exited with status 0 when its client left"}
	if r.exit != nil {
		exit.detail = r.exit.Error()
	}
	out = append(out, exit)

	rec := check{name: "records = calls"}
	switch {
	case r.statsErr != nil:
		rec.detail = "gatehouse stats: " + r.statsErr.Error()
	default:
		st := r.stats
		rec.ok = int64(st.Calls) == r.calls
		rec.detail = fmt.Sprintf("%d records for %d calls (allowed %d, blocked %d, approval %d, upstream errors %d, outcome unknown %d)",
			st.Calls, r.calls, st.Allowed, st.Blocked, st.Approval, st.UpstreamErrors, st.Unknown)
	}
	out = append(out, rec)

	w, _, second, last := r.windows()
	base, end := memoryOf(second), memoryOf(last)
	rss := check{name: "RSS flat"}
	allowed := base.rssMedian + max(uint64(soakRSSGrowth*float64(base.rssMedian)), soakRSSSlack)
	switch {
	case base.rssMedian == 0 || end.rssMedian == 0:
		rss.detail = "the gateway's RSS could not be read (/proc/PID/status: Linux only)"
	default:
		rss.ok = end.rssMedian <= allowed
		rss.detail = fmt.Sprintf("median of the last %s %s, of the second %s %s (at most %s: +%.0f %% or +%s)",
			minutes(w), mib(end.rssMedian), minutes(w), mib(base.rssMedian), mib(allowed), soakRSSGrowth*100, mib(soakRSSSlack))
	}
	out = append(out, rss)

	gor := check{name: "goroutines flat"}
	switch {
	case base.readings == 0 || end.readings == 0:
		gor.detail = fmt.Sprintf("no runtime line from the gateway in the second or the last %s: a gatehouse without the debug runtime report? (%d runtime lines in all)", minutes(w), r.runtimeLines)
	default:
		slack := uint64(soakGoroutinesPerCall * r.concurrency)
		gor.ok = end.goroutinesMax <= base.goroutinesMax+slack
		gor.detail = fmt.Sprintf("highest of the last %s %d, of the second %s %d (at most +%d: %d per concurrent call)",
			minutes(w), end.goroutinesMax, minutes(w), base.goroutinesMax, slack, soakGoroutinesPerCall)
	}
	return append(out, gor)
}

// minutes names a window's length.
func minutes(w time.Duration) string {
	if w == time.Minute {
		return "minute"
	}
	return w.String()
}

// mib prints bytes in MiB.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// parseTop reads the -policies YAML as the top level of a config, empty
// when it is.
func parseTop(policies string) (map[string]any, error) {
	top := map[string]any{}
	if err := yaml.Unmarshal([]byte(policies), &top); err != nil {
		return nil, fmt.Errorf("read -policies: %w", err)
	}
	if top == nil {
		top = map[string]any{}
	}
	return top, nil
}

// soakTopLevel is the top level of the soak's gateway config: the
// -policies YAML with audit.database set to database.
func soakTopLevel(policies, database string) (string, error) {
	top, err := parseTop(policies)
	if err != nil {
		return "", err
	}
	audit, _ := top["audit"].(map[string]any)
	if audit == nil {
		if _, ok := top["audit"]; ok {
			return "", errors.New("-policies: audit: is not a mapping")
		}
		audit = map[string]any{}
	}
	if _, ok := audit["database"]; ok {
		return "", errors.New("-policies has an audit.database; -soak sets its own, in a temporary directory")
	}
	audit["database"] = database
	top["audit"] = audit
	b, err := yaml.Marshal(top)
	return string(b), err
}

// runSoak soaks every path of cfg's protocols and transports in turn,
// prints each one's table and checks, and fails when a check fails.
func runSoak(ctx context.Context, cfg config, dir string, bins binaries, stdout, stderr io.Writer) error {
	var failed []string
	for _, proto := range cfg.protocols {
		for _, tr := range cfg.transports {
			p := path{transport: tr, route: gateway, protocol: proto}
			sub := filepath.Join(dir, "soak-"+tr+"-"+strconv.Itoa(int(proto)))
			if err := os.Mkdir(sub, 0o700); err != nil {
				return err
			}
			top, err := soakTopLevel(cfg.policies, filepath.Join(sub, "verdicts.db"))
			if err != nil {
				return err
			}
			glog := newGatewayLog()
			env := &environment{dir: sub, bins: bins, upstreamProtocol: cfg.upstreamProtocol, policies: top, logLevel: "debug", gatewayStderr: glog}
			res, err := env.soak(ctx, p, cfg, glog, stderr)
			env.close()
			if err != nil {
				return fmt.Errorf("soak %s: %w", p, err)
			}
			res.print(stdout, cfg.markdown)
			for _, c := range res.checks() {
				if !c.ok {
					failed = append(failed, fmt.Sprintf("%s: %s", p, c.name))
				}
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("soak: %d checks failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// soak runs path p's gateway for cfg.soak under load and reads the
// verdict log it leaves.
func (e *environment) soak(ctx context.Context, p path, cfg config, glog *gatewayLog, progress io.Writer) (soakResult, error) {
	res := soakResult{path: p, concurrency: slices.Max(cfg.concurrency), duration: cfg.soak}
	ep, err := e.connect(ctx, p)
	if err != nil {
		return res, fmt.Errorf("%w%s", err, glog.tail.tail())
	}
	defer func() { ep.stop() }() // on an early return; stopped below otherwise
	pid := ep.cpu.pids[roleGateway]
	fmt.Fprintf(progress, "soak %s: %s at concurrency %d, gateway pid %d, sampled every %s\n", p, cfg.soak, res.concurrency, pid, soakInterval)

	var (
		calls, transportErrs, toolErrs atomic.Int64
		mu                             sync.Mutex
		stop                           atomic.Bool
		wg                             sync.WaitGroup
	)
	call := echo(ep.client, ep.tool, true) // new arguments every call
	first := func(to *string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if *to == "" {
			*to = err.Error()
		}
	}
	for range res.concurrency {
		wg.Go(func() {
			// A call started is let finish: only ctx (Ctrl-C) cuts one off.
			for !stop.Load() && ctx.Err() == nil {
				err := call(ctx)
				switch {
				case errors.Is(err, errTransport):
					transportErrs.Add(1)
					first(&res.firstTransportErr, err)
				case err != nil:
					toolErrs.Add(1)
					first(&res.firstToolErr, err)
				}
				calls.Add(1)
			}
		})
	}

	start := time.Now()
	var answered int64 // calls without an error at the previous sample
	for k := 1; ; k++ {
		at := min(time.Duration(k)*soakInterval, cfg.soak)
		select {
		case <-time.After(time.Until(start.Add(at))):
		case <-ctx.Done():
			stop.Store(true)
			wg.Wait()
			return res, ctx.Err()
		}
		s := soakSample{at: at, calls: calls.Load(), transportErrs: transportErrs.Load(), toolErrs: toolErrs.Load(), rss: processRSS(pid), files: openFiles(pid), runtime: glog.snapshot()}
		res.samples = append(res.samples, s)
		fmt.Fprintf(progress, "  %s  %s\n", clock(s.at), s.line())
		ok := s.calls - s.transportErrs - s.toolErrs
		if ok == answered {
			res.stopped = fmt.Sprintf("no call answered between %s and %s", clock(at-soakInterval), clock(at))
			break
		}
		answered = ok
		if at == cfg.soak {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	res.calls, res.transportErrs, res.toolErrs = calls.Load(), transportErrs.Load(), toolErrs.Load()

	// The client leaves; the gateway drains, writes what it has queued and
	// exits. Only then is every record in the database.
	ep.stop()
	ep.stop = func() {}
	res.exit = exitOf(ep, glog)
	glog.mu.Lock()
	res.runtimeLines, res.otherLines = glog.runtimes, maps.Clone(glog.others)
	glog.mu.Unlock()
	res.stats, res.statsErr = e.verdictStats(ctx, p)
	return res, nil
}

// exitOf says how the gateway of ep ended: nil for exit status 0.
func exitOf(ep *endpoint, glog *gatewayLog) error {
	if ep.gateway == nil || ep.gateway.ProcessState == nil {
		return errors.New("the gateway's end was not seen")
	}
	if st := ep.gateway.ProcessState; !st.Success() {
		return fmt.Errorf("the gateway ended with %s (killed after the grace period?)%s", st, glog.tail.tail())
	}
	return nil
}

// verdictStats runs `gatehouse stats` on path p's verdict log, the whole
// of it.
func (e *environment) verdictStats(ctx context.Context, p path) (*soakStats, error) {
	cmd := exec.CommandContext(ctx, e.gatehouseOf(p), "stats", "--json", "--since", "", "--config", e.configFile(p.transport))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(errOut.String()))
	}
	var st soakStats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return nil, fmt.Errorf("read its JSON: %w", err)
	}
	return &st, nil
}

// processRSS is pid's resident memory (VmRSS of /proc/PID/status) in
// bytes; 0 when it cannot be read.
func processRSS(pid int) uint64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	return parseVmRSS(string(b))
}

// openFiles is the number of pid's open file descriptors (entries of
// /proc/PID/fd); -1 when they cannot be read.
func openFiles(pid int) int {
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return -1
	}
	return len(fds)
}

// parseVmRSS reads the VmRSS line ("VmRSS:	   41236 kB") of a
// /proc/PID/status; 0 when there is none.
func parseVmRSS(status string) uint64 {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// count prints n, or "-" when it is negative (unknown).
func count(n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

// clock prints d as m:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// line is the sample on one line, for the progress log.
func (s soakSample) line() string {
	g := "-"
	if s.runtime != nil {
		g = strconv.FormatUint(s.runtime.goroutines, 10)
	}
	return fmt.Sprintf("calls %d, transport errors %d, error results %d, RSS %s, goroutines %s, open files %s", s.calls, s.transportErrs, s.toolErrs, mib(s.rss), g, count(s.files))
}

// print writes the samples as a table, the windows compared and the checks.
func (r soakResult) print(w io.Writer, markdown bool) {
	fmt.Fprintf(w, "\nsoak %s: %s at concurrency %d (%d calls, %.0f calls/s)\n\n", r.path, r.duration, r.concurrency, r.calls, float64(r.calls)/r.lastAt().Seconds())
	t := newTable(w, markdown)
	t.row("time", "calls", "calls/s", "transport errors", "error results", "RSS", "goroutines", "heap live", "runtime total", "open files")
	prev := soakSample{}
	for _, s := range r.samples {
		rate := float64(s.calls-prev.calls) / (s.at - prev.at).Seconds()
		g, heap, total := "-", "-", "-"
		if s.runtime != nil {
			g, heap, total = strconv.FormatUint(s.runtime.goroutines, 10), mib(s.runtime.heapLive), mib(s.runtime.memTotal)
		}
		t.row(clock(s.at), strconv.FormatInt(s.calls, 10), fmt.Sprintf("%.0f", rate), strconv.FormatInt(s.transportErrs, 10), strconv.FormatInt(s.toolErrs, 10), mib(s.rss), g, heap, total, count(s.files))
		prev = s
	}
	t.flush()

	fmt.Fprintln(w)
	win, first, second, last := r.windows()
	end := r.lastAt()
	t = newTable(w, markdown)
	t.row("window", "samples", "RSS median", "RSS max", "goroutines max", "heap live max", "runtime total max", "open files max")
	for _, x := range []struct {
		name string
		ss   []soakSample
	}{
		{fmt.Sprintf("first (0:00–%s)", clock(win)), first},
		{fmt.Sprintf("second (%s–%s)", clock(win), clock(2*win)), second},
		{fmt.Sprintf("last (%s–%s)", clock(end-win), clock(end)), last},
	} {
		m := memoryOf(x.ss)
		g, heap, total := "-", "-", "-"
		if m.readings > 0 {
			g, heap, total = strconv.FormatUint(m.goroutinesMax, 10), mib(m.heapLiveMax), mib(m.memTotMax)
		}
		t.row(x.name, strconv.Itoa(m.samples), mib(m.rssMedian), mib(m.rssMax), g, heap, total, count(m.filesMax))
	}
	t.flush()

	fmt.Fprintln(w)
	for _, c := range r.checks() {
		prefix := ""
		if markdown {
			prefix = "- "
		}
		status := "ok"
		if !c.ok {
			status = "FAILED"
		}
		fmt.Fprintf(w, "%s%s: %s — %s\n", prefix, c.name, status, c.detail)
	}
	fmt.Fprintf(w, "%sgateway log at debug: %d runtime lines, %s\n", map[bool]string{true: "- ", false: ""}[markdown], r.runtimeLines, r.otherLog())
}

// lastAt is the time of the last sample (the duration before the first).
func (r soakResult) lastAt() time.Duration {
	if n := len(r.samples); n > 0 {
		return r.samples[n-1].at
	}
	return r.duration
}

// otherLog says what else the gateway logged, most frequent first.
func (r soakResult) otherLog() string {
	if len(r.otherLines) == 0 {
		return "nothing else"
	}
	msgs := make([]string, 0, len(r.otherLines))
	total := 0
	for m, n := range r.otherLines {
		msgs = append(msgs, m)
		total += n
	}
	slices.SortFunc(msgs, func(a, b string) int {
		if d := r.otherLines[b] - r.otherLines[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, m := range msgs {
		if i == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", m, r.otherLines[m]))
	}
	return fmt.Sprintf("%d other lines (%s)", total, strings.Join(parts, ", "))
}

// table prints rows as Markdown, or aligned in columns.
type table struct {
	w        io.Writer
	markdown bool
	tw       *tabwriter.Writer
	rows     int
}

func newTable(w io.Writer, markdown bool) *table {
	t := &table{w: w, markdown: markdown}
	if !markdown {
		t.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	}
	return t
}

// row prints one row; the first is the header.
func (t *table) row(cells ...string) {
	t.rows++
	if !t.markdown {
		fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
		return
	}
	fmt.Fprintf(t.w, "| %s |\n", strings.Join(cells, " | "))
	if t.rows == 1 {
		seps := slices.Repeat([]string{"---:"}, len(cells))
		seps[0] = ":---"
		fmt.Fprintf(t.w, "| %s |\n", strings.Join(seps, " | "))
	}
}

func (t *table) flush() {
	if t.tw != nil {
		_ = t.tw.Flush()
	}
}
