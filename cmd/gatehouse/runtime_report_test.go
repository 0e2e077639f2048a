package main

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log destination safe for the reporter's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.FieldsFunc(b.buf.String(), func(r rune) bool { return r == '\n' })
}

// runtimeFields returns the key=value fields of a text log line.
func runtimeFields(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

func TestReportRuntimeAtDebug(t *testing.T) {
	// Goroutines that exist while the reporter runs: the count it logs
	// must see them.
	const parked = 200
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range parked {
		wg.Go(func() { <-release })
	}
	defer wg.Wait()
	defer close(release)

	var out lockedBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	reportRuntime(ctx, log, 10*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for len(out.lines()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	lines := out.lines()
	if len(lines) < 2 {
		t.Fatalf("reportRuntime at debug logged %d lines in 5s with a 10ms interval; want at least 2", len(lines))
	}
	f := runtimeFields(lines[0])
	if f["level"] != "DEBUG" || f["msg"] != "runtime" {
		t.Errorf("line %q: level=%s msg=%s; want level=DEBUG msg=runtime", lines[0], f["level"], f["msg"])
	}
	num := func(key string) uint64 {
		n, err := strconv.ParseUint(f[key], 10, 64)
		if err != nil {
			t.Errorf("line %q: %s=%q is not a count: %v", lines[0], key, f[key], err)
		}
		return n
	}
	if g := num("goroutines"); g < parked {
		t.Errorf("line %q: goroutines=%d; want at least the %d parked by the test", lines[0], g, parked)
	}
	heap, total := num("heap_live_bytes"), num("memory_total_bytes")
	if heap == 0 || total < heap {
		t.Errorf("line %q: heap_live_bytes=%d memory_total_bytes=%d; want a live heap above 0 and the runtime's total memory at least that", lines[0], heap, total)
	}

	// Once ctx ends, the reporter stops.
	time.Sleep(30 * time.Millisecond)
	n := len(out.lines())
	time.Sleep(50 * time.Millisecond)
	if m := len(out.lines()); m != n {
		t.Errorf("reportRuntime logged %d more lines after its context ended; want none", m-n)
	}
}

func TestReportRuntimeAboveDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelWarn} {
		var out lockedBuffer
		log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
		reportRuntime(t.Context(), log, time.Millisecond)
		time.Sleep(50 * time.Millisecond)
		if lines := out.lines(); len(lines) != 0 {
			t.Errorf("reportRuntime at level %s logged %q; want nothing", level, lines)
		}
	}
}
