package gateway_test

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// heapWatch samples the heap in use until stopped and reports the most it
// grew above where it started.
func heapWatch() (stop func() uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// writeLongLine writes a tools/call line of about size bytes to w, its
// argument sent a megabyte at a time, as a client streaming it would;
// before and after are the JSON around the argument's text.
func writeLongLine(w io.Writer, size int, before, after string) error {
	if _, err := io.WriteString(w, before); err != nil {
		return err
	}
	chunk := strings.Repeat("A", 1<<20)
	for n := 0; n < size; n += len(chunk) {
		if _, err := io.WriteString(w, chunk); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, after+"\n")
	return err
}

// A stdio request line longer than stdio.max_request_bytes is dropped as
// it arrives — the gateway holds no more than the limit of it, not the
// line — and answered with an error naming the limit, with the request's
// id when it comes before the parameters (else null); the session goes on
// serving the next line. On both stdio paths: mcp-go's and the fast path.
func TestStdioLongLineRefused(t *testing.T) {
	size := 200 << 20 // the line
	if testing.Short() {
		size = 32 << 20
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	url := up.ServeHTTP(t)
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprint("fast=", fast), func(t *testing.T) {
			g := startGateway(t, gateway.Options{PlainStdio: !fast}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", url)}})
			in, out, _, _ := rawStdio(t, g, "w")
			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
			answer(t, out, "init")
			fmt.Fprintf(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")

			start := time.Now()
			stop := heapWatch()
			werr := make(chan error, 1)
			go func() {
				werr <- writeLongLine(in, size, `{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"`, `"}}}`)
			}()
			refused := answer(t, out, "big")
			if err := <-werr; err != nil {
				t.Fatalf("write the long line: %v", err)
			}
			grew := stop()
			t.Logf("a %d MB line refused in %v; the heap grew by at most %d MB", size>>20, time.Since(start).Round(time.Millisecond), grew>>20)
			if grew > 64<<20 {
				t.Errorf("the heap grew by %d MB while a %d MB line was read; want under 64 MB (the line is dropped as it arrives)", grew>>20, size>>20)
			}
			e, _ := refused["error"].(map[string]any)
			if msg, _ := e["message"].(string); e["code"] != float64(-32600) || !strings.Contains(msg, "stdio.max_request_bytes") || !strings.Contains(msg, fmt.Sprint(gateway.DefaultMaxStdioRequestBytes)) {
				t.Errorf("answer to the long line = %v; want an invalid-request error naming stdio.max_request_bytes and its %d bytes", refused, gateway.DefaultMaxStdioRequestBytes)
			}

			// An id after the parameters cannot be read: the answer's id is null.
			go func() {
				werr <- writeLongLine(in, 5<<20, `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"`, `"}},"id":"late"}`)
			}()
			if m := answer(t, out, nil); m["error"] == nil {
				t.Errorf("answer to a long line with its id last = %v; want an error with id null", m)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write the long line: %v", err)
			}

			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"next","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"still here"}}}`+"\n")
			res, _ := answer(t, out, "next")["result"].(map[string]any)
			if fmt.Sprint(res["content"]) == "" || !strings.Contains(fmt.Sprint(res["content"]), "still here") {
				t.Errorf("the call after the long lines got %v; want its echo", res)
			}
			// A line within the limit, longer than any buffer, is served.
			go func() {
				werr <- writeLongLine(in, gateway.DefaultMaxStdioRequestBytes-(1<<20), `{"jsonrpc":"2.0","id":"within","method":"ping","params":{"pad":"`, `"}}`)
			}()
			if m := answer(t, out, "within"); m["result"] == nil {
				t.Errorf("a line within the limit got %.200v; want its result", m)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write the line: %v", err)
			}
		})
	}
}
