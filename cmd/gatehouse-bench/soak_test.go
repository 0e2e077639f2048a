package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// runtimeLogLine is a runtime line as the gateway writes it: slog's text
// handler with the attributes of cmd/gatehouse/runtime_report.go.
func runtimeLogLine(goroutines, heap, total uint64) string {
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Debug("runtime", "goroutines", goroutines, "heap_live_bytes", heap, "memory_total_bytes", total)
	return b.String()
}

func TestParseRuntimeLine(t *testing.T) {
	line := strings.TrimSuffix(runtimeLogLine(31, 2913304, 13501448), "\n")
	got, ok := parseRuntimeLine(line)
	if want := (runtimeLine{31, 2913304, 13501448}); !ok || got != want {
		t.Errorf("parseRuntimeLine(%q) = %+v, %t; want %+v, true", line, got, ok, want)
	}
	for _, tc := range []struct{ name, line string }{
		{"another msg", `time=2026-12-07T10:00:00Z level=DEBUG msg="runtime report" goroutines=1 heap_live_bytes=2 memory_total_bytes=3`},
		{"a field missing", `time=2026-12-07T10:00:00Z level=DEBUG msg=runtime goroutines=1 heap_live_bytes=2`},
		{"not a count", `time=2026-12-07T10:00:00Z level=DEBUG msg=runtime goroutines=many heap_live_bytes=2 memory_total_bytes=3`},
		{"not a log line", `gatehouse: serving workspace bench on stdin/stdout (MCP over stdio)`},
	} {
		if got, ok := parseRuntimeLine(tc.line); ok {
			t.Errorf("parseRuntimeLine(%s) = %+v, true; want false", tc.name, got)
		}
	}
}

func TestGatewayLog(t *testing.T) {
	g := newGatewayLog()
	if g.snapshot() != nil {
		t.Fatalf("snapshot() of an empty log = %+v; want nil", g.snapshot())
	}
	text := `time=2026-12-07T10:00:00Z level=INFO msg="upstream ready" workspace=bench upstream=up tools=5` + "\n" +
		runtimeLogLine(10, 100, 1000) +
		"gatehouse: serving workspace bench on stdin/stdout (MCP over stdio)\n" +
		`time=2026-12-07T10:00:00Z level=DEBUG msg="upstream stderr" line=x` + "\n" +
		`time=2026-12-07T10:00:01Z level=DEBUG msg="upstream stderr" line=y` + "\n" +
		runtimeLogLine(12, 120, 1200)
	// Written in pieces that split lines, as a pipe delivers them.
	for chunk := range pieces(text, 7) {
		if n, err := g.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", chunk, n, err, len(chunk))
		}
	}
	if got := g.snapshot(); got == nil || *got != (runtimeLine{12, 120, 1200}) {
		t.Errorf("snapshot() = %+v; want the last runtime line {12 120 1200}", got)
	}
	if g.runtimes != 2 {
		t.Errorf("runtime lines = %d; want 2", g.runtimes)
	}
	want := map[string]int{`"upstream ready"`: 1, `"upstream stderr"`: 2, "gatehouse: serving workspace bench on stdin/stdout (MCP over stdio)": 1}
	if fmt.Sprint(g.others) != fmt.Sprint(want) {
		t.Errorf("other lines = %v; want %v", g.others, want)
	}
}

// pieces yields s in pieces of n bytes.
func pieces(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

func TestProcessFigures(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t  1262384 kB\nVmRSS:\t    41236 kB\nRssAnon:\t   20000 kB\n"
	if got, want := parseVmRSS(status), uint64(41236<<10); got != want {
		t.Errorf("parseVmRSS(...VmRSS: 41236 kB...) = %d; want %d", got, want)
	}
	if got := parseVmRSS("Name:\tkthreadd\n"); got != 0 {
		t.Errorf("parseVmRSS(no VmRSS) = %d; want 0", got)
	}
	if runtime.GOOS == "linux" {
		if got := processRSS(os.Getpid()); got < 1<<20 {
			t.Errorf("processRSS(this test) = %d; want at least 1 MiB", got)
		}
		f, err := os.Open("testdata/example-policies.yaml")
		if err != nil {
			t.Fatal(err)
		}
		before := openFiles(os.Getpid())
		f.Close()
		if after := openFiles(os.Getpid()); before < 4 || after != before-1 {
			t.Errorf("openFiles(this test) = %d with a file open, %d after closing it; want at least 4 (stdin, stdout, stderr, the file), then one less", before, after)
		}
	}
}

// soakOf is a finished soak of d at c=16 with a sample every soakInterval,
// whose RSS and goroutines at each sample are given by functions of the
// sample's time, without errors, one record per call and a clean exit.
func soakOf(d time.Duration, rss func(time.Duration) uint64, goroutines func(time.Duration) uint64) soakResult {
	r := soakResult{concurrency: 16, duration: d}
	for at := soakInterval; at <= d; at += soakInterval {
		s := soakSample{at: at, calls: int64(at / time.Millisecond), rss: rss(at)}
		if goroutines != nil {
			s.runtime = &runtimeLine{goroutines: goroutines(at), heapLive: 2 << 20, memTotal: 30 << 20}
		}
		r.samples = append(r.samples, s)
	}
	r.calls = int64(d / time.Millisecond)
	r.stats = &soakStats{Calls: int(r.calls), Allowed: int(r.calls)}
	return r
}

func TestSoakChecks(t *testing.T) {
	const mb = 1 << 20
	flatRSS := func(time.Duration) uint64 { return 40 * mb }
	flatG := func(time.Duration) uint64 { return 130 }
	perMinute := func(base, step uint64) func(time.Duration) uint64 {
		return func(at time.Duration) uint64 { return base + step*uint64(at/time.Minute) }
	}
	for _, tc := range []struct {
		name   string
		r      soakResult
		failed []string // the checks that fail
	}{
		{"flat", soakOf(10*time.Minute, flatRSS, flatG), nil},
		{"1 minute flat", soakOf(time.Minute, flatRSS, flatG), nil},
		{"warm-up growth in the first minute only", soakOf(10*time.Minute,
			func(at time.Duration) uint64 {
				return map[bool]uint64{true: 20 * mb, false: 60 * mb}[at <= time.Minute]
			},
			func(at time.Duration) uint64 { return map[bool]uint64{true: 20, false: 200}[at <= time.Minute] }), nil},
		{"RSS growing 1 MiB a minute", soakOf(10*time.Minute, perMinute(40*mb, mb), flatG), []string{"RSS flat"}},
		{"RSS up 4 MiB: under 5 MiB", soakOf(10*time.Minute, perMinute(40*mb, mb/2), flatG), nil},
		{"RSS of 200 MiB up 15 MiB: under 10 %", soakOf(10*time.Minute, perMinute(200*mb, 2*mb), flatG), nil},
		{"RSS of 200 MiB up 24 MiB", soakOf(10*time.Minute, perMinute(200*mb, 3*mb), flatG), []string{"RSS flat"}},
		{"goroutines moving by 60", soakOf(10*time.Minute, flatRSS,
			func(at time.Duration) uint64 { return 100 + uint64(at/soakInterval)%4*20 }), nil},
		{"goroutines leaking 10 a minute", soakOf(10*time.Minute, flatRSS, perMinute(130, 10)), []string{"goroutines flat"}},
		{"1 minute, goroutines leaking", soakOf(time.Minute, flatRSS, func(at time.Duration) uint64 { return 130 + 4*uint64(at/time.Second) }), []string{"goroutines flat"}},
		{"no runtime lines", soakOf(10*time.Minute, flatRSS, nil), []string{"goroutines flat"}},
		{"RSS unreadable", soakOf(10*time.Minute, func(time.Duration) uint64 { return 0 }, flatG), []string{"RSS flat"}},
		{"a record missing", with(soakOf(10*time.Minute, flatRSS, flatG), func(r *soakResult) { r.stats.Calls-- }), []string{"records = calls"}},
		{"stats failed", with(soakOf(10*time.Minute, flatRSS, flatG), func(r *soakResult) { r.stats, r.statsErr = nil, errors.New("exit status 1") }), []string{"records = calls"}},
		{"a blocked call", with(soakOf(10*time.Minute, flatRSS, flatG), func(r *soakResult) { r.toolErrs, r.firstToolErr = 1, "isError true" }), []string{"zero errors"}},
		{"a transport error", with(soakOf(10*time.Minute, flatRSS, flatG), func(r *soakResult) { r.transportErrs = 1 }), []string{"zero errors"}},
		{"stopped early", with(soakOf(10*time.Minute, flatRSS, flatG), func(r *soakResult) { r.stopped = "no call answered" }), []string{"zero errors"}},
		{"killed", with(soakOf(10*time.Minute, flatRSS, flatG), func(r *soakResult) { r.exit = errors.New("signal: killed") }), []string{"clean exit"}},
	} {
		var failed []string
		for _, c := range tc.r.checks() {
			if !c.ok {
				failed = append(failed, c.name)
			}
		}
		if fmt.Sprint(failed) != fmt.Sprint(tc.failed) {
			t.Errorf("checks(%s) failed %q; want %q", tc.name, failed, tc.failed)
		}
	}
}

// with returns r changed by f.
func with(r soakResult, f func(*soakResult)) soakResult {
	f(&r)
	return r
}

func TestSoakWindows(t *testing.T) {
	for _, tc := range []struct {
		d                   time.Duration
		w                   time.Duration
		first, second, last []time.Duration
	}{
		{time.Minute, 20 * time.Second, secs(10, 20), secs(30, 40), secs(50, 60)},
		{10 * time.Minute, time.Minute, secs(10, 20, 30, 40, 50, 60), secs(70, 80, 90, 100, 110, 120), secs(550, 560, 570, 580, 590, 600)},
	} {
		w, first, second, last := soakOf(tc.d, func(time.Duration) uint64 { return 1 }, nil).windows()
		if w != tc.w || fmt.Sprint(times(first)) != fmt.Sprint(tc.first) || fmt.Sprint(times(second)) != fmt.Sprint(tc.second) || fmt.Sprint(times(last)) != fmt.Sprint(tc.last) {
			t.Errorf("windows of %s = %s: %v, %v, %v; want %s: %v, %v, %v", tc.d, w, times(first), times(second), times(last), tc.w, tc.first, tc.second, tc.last)
		}
	}
}

func secs(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, n := range s {
		out[i] = time.Duration(n) * time.Second
	}
	return out
}

func times(ss []soakSample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.at
	}
	return out
}

func TestSoakTopLevel(t *testing.T) {
	policies, err := os.ReadFile("testdata/example-policies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := soakTopLevel(string(policies)+"audit: { arguments: hash }\n", "/tmp/x/verdicts.db")
	if err != nil {
		t.Fatalf("soakTopLevel(example policies) = %v", err)
	}
	var top struct {
		Include  []string         `yaml:"include"`
		Policies []map[string]any `yaml:"policies"`
		Audit    map[string]any   `yaml:"audit"`
	}
	if err := yaml.Unmarshal([]byte(got), &top); err != nil {
		t.Fatalf("soakTopLevel returned YAML that does not read back: %v\n%s", err, got)
	}
	if len(top.Include) != 1 || len(top.Policies) != 3 || top.Audit["database"] != "/tmp/x/verdicts.db" || top.Audit["arguments"] != "hash" {
		t.Errorf("soakTopLevel(example policies) = %+v; want their include, 3 policies, audit.arguments kept and audit.database set", top)
	}
	if got, err := soakTopLevel("", "v.db"); err != nil || !strings.Contains(got, "database: v.db") {
		t.Errorf(`soakTopLevel("") = %q, %v; want an audit.database`, got, err)
	}
	if _, err := soakTopLevel("audit: { database: mine.db }\n", "v.db"); err == nil || !strings.Contains(err.Error(), "audit.database") {
		t.Errorf("soakTopLevel(with an audit.database) = %v; want an error naming audit.database", err)
	}
}

func TestParseSoakFlags(t *testing.T) {
	if cfg, err := parseFlags([]string{"-soak", "1m", "-transport", "stdio"}, io.Discard); err != nil || cfg.soak != time.Minute {
		t.Errorf("parseFlags(-soak 1m) = %v, %v; want a soak of 1m", cfg.soak, err)
	}
	for _, args := range [][]string{
		{"-soak", "20s"},
		{"-soak", "1m", "-judge", "50ms"},
		{"-soak", "1m", "-compare", "/bin/true"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil || !strings.Contains(err.Error(), "-soak") {
			t.Errorf("parseFlags(%q) = %v; want an error naming -soak", args, err)
		}
	}
}
