//go:build unix

package e2e_test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpstreamRestart kills a stdio upstream under a live session: the next
// call must fail as a tool error naming the upstream, and within about ten
// seconds calls must succeed again, without restarting the gateway or the
// client's session.
func TestUpstreamRestart(t *testing.T) {
	requireAll(t)
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream()}})
	g := startStdio(t, cfg, "dev", modern)
	echo := map[string]any{"message": "still there?"}

	res, err := callTool(t, g.client, "everything__echo", echo)
	if err != nil || res.IsError {
		t.Fatalf("echo before the kill: %v %+v", err, res)
	}

	victims := matching(descendants(g.pid()), binEverything)
	if len(victims) == 0 {
		t.Fatalf("no %s process under gateway pid %d: %v", binEverything, g.pid(), descendants(g.pid()))
	}
	var exclude []int
	for _, p := range victims {
		t.Logf("killing upstream %v", p)
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
		exclude = append(exclude, p.pid)
	}
	killed := time.Now()
	for _, p := range victims {
		for alive(p.pid) && time.Since(killed) < 5*time.Second {
			time.Sleep(20 * time.Millisecond)
		}
	}

	res, err = callTool(t, g.client, "everything__echo", echo)
	switch {
	case err != nil:
		t.Errorf("first call after the kill: JSON-RPC error %v; want a tool result with isError naming the upstream", err)
	case !res.IsError:
		t.Errorf("first call after the kill succeeded (%q); want a tool error naming the upstream", resultText(res))
	case !strings.Contains(resultText(res), "everything"):
		t.Errorf("first call after the kill: tool error %q does not name the upstream %q", resultText(res), "everything")
	default:
		t.Logf("first call after the kill: %q", resultText(res))
	}

	const recovery = 10 * time.Second
	deadline := killed.Add(recovery + 2*time.Second) // a little slack for a loaded machine
	for {
		res, err = callTool(t, g.client, "everything__echo", echo)
		if err == nil && !res.IsError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls still fail %v after the kill: err=%v result=%+v", time.Since(killed).Round(time.Millisecond), err, res)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("calls succeed again %v after the kill", took.Round(time.Millisecond))
	if took > recovery {
		t.Errorf("recovery took %v; want at most %v", took.Round(time.Millisecond), recovery)
	}
	if !strings.Contains(resultText(res), "still there?") {
		t.Errorf("echo after the restart = %q", resultText(res))
	}
	waitForDescendant(t, g.pid(), binEverything, 5*time.Second, exclude...)
}

// matching is the processes whose command line contains substr.
func matching(ps []proc, substr string) []proc {
	var out []proc
	for _, p := range ps {
		if strings.Contains(p.cmdline, substr) {
			out = append(out, p)
		}
	}
	return out
}
