package main

import (
	"context"
	"math"
	"runtime/debug"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, gcPercentSmall},
		{4 << 20, gcPercentSmall},
		{gcSmallHeap, gcPercentSmall},
		{gcSmallHeap + 1, gcPercentLarge},
		{1 << 30, gcPercentLarge},
	} {
		if got := gcPercentFor(tc.live); got != tc.want {
			t.Errorf("gcPercentFor(%d) = %d; want %d", tc.live, got, tc.want)
		}
	}
}

// gcPercent reads the GC percentage without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// The tuner sets the percentage for a small heap (this test's), and leaves
// alone a GOGC the environment sets.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(123))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tuneGC(ctx, func(name string) string {
		if name == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := gcPercent(); got != 123 {
		t.Errorf("with GOGC set, the GC percentage became %d; want it left at 123", got)
	}
	tuneGC(ctx, func(name string) string {
		if name == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set, the memory limit became %d; want it left alone", got)
	}
	debug.SetGCPercent(123)
	tuneGC(ctx, func(string) string { return "" })
	if got := gcPercent(); got != gcPercentSmall {
		t.Errorf("GC percentage for a small heap = %d; want %d", got, gcPercentSmall)
	}
	if got := debug.SetMemoryLimit(-1); got != gcSmallLimit {
		t.Errorf("memory limit with the high percentage = %d; want %d", got, gcSmallLimit)
	}
}
