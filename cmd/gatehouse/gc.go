package main

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The gateway's garbage collection. Its live heap is small (a few MB: the
// catalog, the sessions, the verdicts waiting for the disk), and at Go's
// default GOGC=100 a busy gateway collects it tens of times a second, each
// cycle paying its fixed cost (stopping the world twice, starting a mark
// worker per core, scanning every goroutine's stack) for little garbage.
// Letting the heap grow to five times its live size instead of twice cut
// the gateway's own CPU per call by 22 % over stdio and 17 % over HTTP, and
// raised throughput at 16 concurrent calls by 21 % and 16 %, for a peak of
// about 40 MB resident instead of 30 (BENCHMARKS.md, "Garbage collection").
//
// A large live heap — a verdict log that cannot be written keeps its
// records in memory, up to a gigabyte — goes back to GOGC=100, so that the
// headroom is never five times a large heap. While the percentage is high
// a soft memory limit caps the headroom too: a burst between two readings
// of the tuner (a 16 MiB result is about 200 MB of garbage while it
// passes) is collected near the limit, not at five times the heap. A GOGC
// the person sets in the environment wins: the tuner then does nothing;
// a GOMEMLIMIT set there is left alone.
const (
	gcPercentSmall = 400
	gcPercentLarge = 100
	// gcSmallHeap is the live heap up to which gcPercentSmall applies.
	gcSmallHeap = 64 << 20
	// gcTuneEvery is how often the tuner reads the live heap.
	gcTuneEvery = 5 * time.Second
	// gcSmallLimit is the soft memory limit while gcPercentSmall applies.
	gcSmallLimit = 192 << 20
)

// gcPercentFor is the GOGC for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live <= gcSmallHeap {
		return gcPercentSmall
	}
	return gcPercentLarge
}

// gcMemoryLimitFor is the soft memory limit that goes with GC percentage
// p: none at the default percentage.
func gcMemoryLimitFor(p int) int64 {
	if p == gcPercentSmall {
		return gcSmallLimit
	}
	return math.MaxInt64
}

// tuneGC sets the GC percentage for the live heap now and keeps it set
// until ctx ends, unless the environment sets GOGC.
func tuneGC(ctx context.Context, getenv func(string) string) {
	if getenv("GOGC") != "" {
		return
	}
	limit := getenv("GOMEMLIMIT") == ""
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	current := -1
	tune := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := gcPercentFor(sample[0].Value.Uint64()); p != current {
			debug.SetGCPercent(p)
			if limit {
				debug.SetMemoryLimit(gcMemoryLimitFor(p))
			}
			current = p
		}
	}
	tune()
	go func() {
		t := time.NewTicker(gcTuneEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				tune()
			case <-ctx.Done():
				return
			}
		}
	}()
}
