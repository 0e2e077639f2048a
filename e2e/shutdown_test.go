//go:build unix

package e2e_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestSIGTERMDrainsInFlightCall sends SIGTERM to `serve --http` while a slow
// call is in flight: the call must complete, the process exit 0, and no
// child process outlive it.
func TestSIGTERMDrainsInFlightCall(t *testing.T) {
	requireAll(t)
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream()}})
	g := startHTTP(t, cfg)
	cl := connectHTTP(t, g.url("/mcp"), modern)

	children := descendants(g.cmd.Process.Pid)
	if len(matching(children, binEverything)) == 0 {
		t.Fatalf("no %s process under the gateway: %v", binEverything, children)
	}

	progress := make(chan struct{}, 16)
	cl.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	})
	type outcome struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 60*time.Second)
		defer cancel()
		res, err := cl.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{
			Name:      "everything__trigger-long-running-operation",
			Arguments: map[string]any{"duration": 4, "steps": 4},
			Meta:      &mcp.Meta{ProgressToken: "e2e-sigterm"},
		}})
		done <- outcome{res, err}
	}()

	// The first progress notification comes a second into the call; without
	// progress pass-through, wait as long.
	select {
	case <-progress:
	case <-time.After(1500 * time.Millisecond):
		t.Log("no progress notification 1.5 s into the call; sending SIGTERM anyway")
	}
	select {
	case out := <-done:
		t.Fatalf("the slow call ended before SIGTERM: %v %+v", out.err, out.res)
	default:
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()

	select {
	case out := <-done:
		switch {
		case out.err != nil:
			t.Errorf("in-flight call after SIGTERM: %v", out.err)
		case out.res.IsError:
			t.Errorf("in-flight call after SIGTERM: tool error %q", resultText(out.res))
		case !strings.Contains(resultText(out.res), "Long running operation completed"):
			t.Errorf("in-flight call after SIGTERM returned %q", resultText(out.res))
		}
	case <-time.After(30 * time.Second):
		t.Errorf("in-flight call did not return within 30 s of SIGTERM")
	}

	select {
	case <-g.done:
		if g.err != nil {
			t.Errorf("gateway exit after SIGTERM: %v; want exit status 0", g.err)
		}
		t.Logf("gateway exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatalf("gateway still running 30 s after SIGTERM")
	}
	requireGone(t, children)
}

// TestStdioExitsOnEOF closes the client's side of a stdio gateway: the
// gateway must exit 0 by itself and stop its upstreams.
func TestStdioExitsOnEOF(t *testing.T) {
	requireAll(t)
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream()}})
	g := startStdio(t, cfg, "dev", legacy)
	if _, err := callTool(t, g.client, "everything__echo", map[string]any{"message": "bye"}); err != nil {
		t.Fatal(err)
	}
	children := descendants(g.pid())

	// Close closes stdin, then waits 2 s before it resorts to SIGTERM.
	start := time.Now()
	err := g.client.Close()
	took := time.Since(start)
	g.mu.Lock()
	state := g.cmd.ProcessState
	g.mu.Unlock()
	switch {
	case state == nil:
		t.Errorf("gateway not reaped after Close: %v", err)
	case took >= 2*time.Second:
		t.Errorf("gateway took %v to exit after stdin closed (%v); the client had to signal it", took.Round(time.Millisecond), state)
	case state.ExitCode() != 0:
		t.Errorf("gateway exit after stdin closed: %v; want exit status 0", state)
	}
	requireGone(t, children)
}

// requireGone waits up to 5 s for every process in ps to be gone, and
// fails the test for (and kills) any that remains.
func requireGone(t *testing.T, ps []proc) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range ps {
		for alive(p.pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(p.pid) {
			t.Errorf("child %v outlived the gateway", p)
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
}
