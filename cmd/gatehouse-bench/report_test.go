package main

import (
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
