//go:build unix

package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// floodSessions is how many sessions TestHTTPSessionsFlood opens:
// GATEHOUSE_E2E_SESSIONS, default the 5,000.
func floodSessions(t *testing.T) int {
	if v := os.Getenv("GATEHOUSE_E2E_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GATEHOUSE_E2E_SESSIONS=%q: want a positive number", v)
		}
		return n
	}
	return 5000
}

// rssBytes is the resident memory of process pid.
func rssBytes(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// postRaw posts one JSON-RPC message to url, of session id when not
// empty, and returns the status, the session id answered and the body.
func postRaw(hc *http.Client, url, id, body string) (status int, session, answer string, err error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if id != "" {
		req.Header.Set("Mcp-Session-Id", id)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), string(b), nil
}

const floodInitialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"flood","version":"1"}}}`

// Issue 18 item 4: 5,000 HTTP sessions that each asked for every log
// message and never read them, behind one upstream that logs without
// pause, delayed another client's result by 40 s and took 741 MB. Through
// the built gateway, with http.max_sessions and http.session_queue set:
// every call of another client answers within a second, the gateway's
// memory stays bounded, and one session beyond the bound is refused with
// 503 naming the key while the open ones go on.
func TestHTTPSessionsFlood(t *testing.T) {
	requireAll(t)
	n := floodSessions(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gatehouse.yaml", fmt.Sprintf(`version: 1
http:
  max_sessions: %d
  session_queue: 16
audit:
  database: %s
workspaces:
  w:
    upstreams:
      - name: chatty
        command: %s
        args: [%s]
`, n+1, filepath.Join(dir, "audit.db"), npmBin(binNode), filepath.Join(repoRoot, "e2e", "testdata", "chatty.mjs")))
	gw := startHTTP(t, cfg)
	url := gw.url("/w/w/mcp")
	before := rssBytes(t, gw.cmd.Process.Pid)

	start := time.Now()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				status, id, body, err := postRaw(hc, url, "", floodInitialize)
				if err != nil || status != http.StatusOK {
					t.Errorf("session %d: %v %d %s", i, err, status, body)
					return
				}
				for _, msg := range []string{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`} {
					if status, _, body, err := postRaw(hc, url, id, msg); err != nil || status/100 != 2 {
						t.Errorf("session %d: %s: %v %d %s", i, msg, err, status, body)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d sessions opened in %v", n, time.Since(start).Round(time.Millisecond))

	cl := connectHTTP(t, url, legacy)
	tools, err := cl.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil || len(tools.Tools) != 1 {
		t.Fatalf("tools/list: %v %v", tools, err)
	}
	echo := tools.Tools[0].Name
	time.Sleep(time.Second) // every session's queue full
	var slowest time.Duration
	for i := range 20 {
		began := time.Now()
		res, err := callTool(t, cl, echo, map[string]any{"message": fmt.Sprint("call ", i)})
		if err != nil || resultText(res) != fmt.Sprint("call ", i) {
			t.Fatalf("call %d: %v %v", i, res, err)
		}
		slowest = max(slowest, time.Since(began))
	}
	status, _, body, err := postRaw(hc, url, "", floodInitialize)
	if err != nil || status != http.StatusServiceUnavailable || !strings.Contains(body, "http.max_sessions") {
		t.Errorf("a session beyond http.max_sessions: %v %d %s; want 503 naming the key", err, status, body)
	}
	time.Sleep(2 * time.Second) // the upstream keeps logging
	after := rssBytes(t, gw.cmd.Process.Pid)
	t.Logf("%d sessions: the slowest of 20 calls took %v; the gateway's memory went from %d to %d MB",
		n, slowest.Round(time.Millisecond), before>>20, after>>20)
	if slowest > time.Second {
		t.Errorf("a call took %v while %d sessions did not read their log messages; want under 1s", slowest, n)
	}
	// 741 MB before the bounds; about 30 KB a session with them (mcp-go's
	// state of a session, its queues, the garbage collector's headroom),
	// three times that with the race detector, which this build may have.
	limit := uint64(n)*32<<10 + 100<<20
	if raceEnabled {
		limit *= 4
	}
	if after-before > limit {
		t.Errorf("the gateway's memory grew by %d MB; want under %d MB", (after-before)>>20, limit>>20)
	}
	if res, err := callTool(t, cl, echo, map[string]any{"message": "still"}); err != nil || resultText(res) != "still" {
		t.Errorf("an open session at the bound: %v %v", res, err)
	}
}
