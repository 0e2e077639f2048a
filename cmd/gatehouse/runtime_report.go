package main

import (
	"context"
	"log/slog"
	"runtime/metrics"
	"time"
)

// runtimeReportEvery is how often serve logs its runtime figures at DEBUG.
const runtimeReportEvery = 10 * time.Second

// The runtime metrics of the report, and the log attributes they go to.
var runtimeReport = []struct{ metric, attr string }{
	{"/sched/goroutines:goroutines", "goroutines"},
	{"/gc/heap/live:bytes", "heap_live_bytes"},
	{"/memory/classes/total:bytes", "memory_total_bytes"},
}

// reportRuntime logs, at DEBUG, a line "runtime" with the goroutine count,
// the live heap and the memory the Go runtime has mapped, every interval
// until ctx ends — the figures a soak watches from outside the process.
// At any other level it does nothing: no goroutine, no reading.
func reportRuntime(ctx context.Context, log *slog.Logger, every time.Duration) {
	if !log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	samples := make([]metrics.Sample, len(runtimeReport))
	for i, r := range runtimeReport {
		samples[i].Name = r.metric
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				metrics.Read(samples)
				attrs := make([]any, 0, 2*len(samples))
				for i, s := range samples {
					if s.Value.Kind() == metrics.KindUint64 {
						attrs = append(attrs, runtimeReport[i].attr, s.Value.Uint64())
					}
				}
				log.DebugContext(ctx, "runtime", attrs...)
			case <-ctx.Done():
				return
			}
		}
	}()
}
