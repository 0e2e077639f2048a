package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := latencies{n: 100, p50: 50 * time.Millisecond, p99: 99 * time.Millisecond}
	if got != want {
		t.Errorf("summarize(1..100 ms) = %+v; want %+v", got, want)
	}
	if got := summarize([]time.Duration{7}); got.p50 != 7 || got.p99 != 7 {
		t.Errorf("summarize([7]) = %+v; want p50 = p99 = 7", got)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"empty", nil, 0},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// traces is the shape of `go tool pprof -traces` output.
const traces = `File: bench.test
Type: cpu
-----------+-------------------------------------------------------
      side:  gateway
      10ms   encoding/json.checkValid
             encoding/json.Unmarshal
             github.com/mark3labs/mcp-go/mcp.remarshal
             github.com/mark3labs/mcp-go/server.(*MCPServer).HandleMessage
             github.com/gatehouse-mcp/gatehouse/gateway.(*Gateway).Handler.func2
-----------+-------------------------------------------------------
      side:  gateway
      20ms   internal/runtime/syscall/linux.Syscall6
             syscall.Syscall
             net.(*netFD).Write
             net/http.(*persistConn).writeLoop
-----------+-------------------------------------------------------
      30ms   runtime.gcDrain (inline)
             runtime.gcBgMarkWorker
-----------+-------------------------------------------------------
`

func TestParseTracesAndCharge(t *testing.T) {
	samples, err := parseTraces(strings.NewReader(traces))
	if err != nil {
		t.Fatalf("parseTraces = %v", err)
	}
	type charge struct {
		side, layer, kind string
		value             time.Duration
	}
	want := []charge{
		{"gateway", layerServer, kindJSON, 10 * time.Millisecond},
		{"gateway", layerHTTP, kindSyscall, 20 * time.Millisecond},
		{"", layerRuntime, kindOther, 30 * time.Millisecond},
	}
	if len(samples) != len(want) {
		t.Fatalf("parseTraces found %d samples; want %d", len(samples), len(want))
	}
	for i, s := range samples {
		layer, kind := s.charge()
		if got := (charge{s.side, layer, kind, s.value}); got != want[i] {
			t.Errorf("sample %d = %+v; want %+v", i, got, want[i])
		}
	}
}

// On even rounds the compared gateway is measured before the gateway it is
// compared with; everything else keeps its place.
func TestMeasuringOrder(t *testing.T) {
	paths := []path{
		{transport: transportStdio, route: direct},
		{transport: transportStdio, route: gateway},
		{transport: transportStdio, route: compared},
		{transport: transportHTTP, route: direct},
		{transport: transportHTTP, route: gateway},
		{transport: transportHTTP, route: compared},
	}
	routes := func(ps []path) []route {
		var rs []route
		for _, p := range ps {
			rs = append(rs, p.route)
		}
		return rs
	}
	if got, want := routes(measuringOrder(paths, 1)), routes(paths); !slices.Equal(got, want) {
		t.Errorf("round 1 order = %v; want %v", got, want)
	}
	want := []route{direct, compared, gateway, direct, compared, gateway}
	if got := routes(measuringOrder(paths, 2)); !slices.Equal(got, want) {
		t.Errorf("round 2 order = %v; want %v", got, want)
	}
	if paths[1].route != gateway {
		t.Error("measuringOrder changed its argument")
	}
}

// -compare prints B ÷ A per round: the median and the range, against the
// same round's first gateway.
func TestCompareVerdict(t *testing.T) {
	cfg := config{compare: "/bin/gh-b", concurrency: []int{1, 16}, n: 10, duration: time.Second, rounds: 3}
	a := path{transport: transportStdio, route: gateway}
	b := path{transport: transportStdio, route: compared}
	res := func(p50 time.Duration, calls int) result {
		return result{
			latency:    latencies{p50: p50, p99: 2 * p50},
			throughput: []throughput{{calls: calls, elapsed: time.Second}, {calls: calls, elapsed: time.Second}},
			cpu:        map[string]time.Duration{roleGateway: 100 * time.Microsecond},
		}
	}
	rep := report{cfg: cfg, paths: []path{a, b}, runs: map[path][]result{
		// A's p50 drifts between rounds; B is 10, 20 and 30 % slower than
		// the A of its round.
		a: {res(100*time.Microsecond, 1000), res(200*time.Microsecond, 1000), res(400*time.Microsecond, 1000)},
		b: {res(110*time.Microsecond, 1000), res(240*time.Microsecond, 900), res(520*time.Microsecond, 800)},
	}}
	if base(b) != a {
		t.Fatalf("base(%v) = %v; want %v", b, base(b), a)
	}
	var out strings.Builder
	rep.compareVerdict(&out, rep.columns())
	for _, want := range []string{"p50 1.200 [1.100, 1.300]", "calls/s c=16 0.900 [0.800, 1.000]", "CPU/call 1.000 [1.000, 1.000]", "over 3 rounds"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("compare verdict %q lacks %q", out.String(), want)
		}
	}
}
