package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
)

// rssBytes is the resident memory of process pid (Linux).
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// Calls held for out-of-band approval park at most
// approval.max_pending_per_user requests per user and workspace, counted in
// the database: beyond it a call is refused at once, naming the limit,
// with one verdict record as every call, a single log line for the
// crossing, and the gateway's memory flat. (The 20,000 attempts
// run without -short.)
func TestParkedApprovalsBounded(t *testing.T) {
	const limit = 50
	attempts := 20000
	if testing.Short() {
		attempts = 1500
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	db := filepath.Join(t.TempDir(), "verdicts.db")
	cfg := writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
approval: {max_pending_per_user: %d}
policies:
  - name: boss-approves-echo
    tools: [echo]
    action: require_approval
    message: Echoes go past the boss.
    in_client: false
    approvers: [boss]
workspaces:
  w:
    upstreams:
      - {name: up, url: %q}
`, db, limit, up.ServeHTTP(t)))
	proc, logs, c := startServeHTTP(t, gatehouseBinary(t), cfg)

	var parked, refused, other atomic.Int64
	run := func(from, to int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		next.Store(int64(from))
		for range 16 {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < int64(to); i = next.Add(1) - 1 {
					_, res, err := callVerdict(t.Context(), c, "up__echo", map[string]any{"message": fmt.Sprint("call ", i)})
					text := ""
					if err == nil {
						text = resultText(res)
					}
					switch {
					case err != nil:
						other.Add(1)
					case approvalIDRE.MatchString(text):
						parked.Add(1)
					case strings.Contains(text, "approval.max_pending_per_user") && strings.Contains(text, fmt.Sprint(limit)) && res.IsError:
						refused.Add(1)
					default:
						other.Add(1)
						t.Errorf("call %d = %q; want parked or refused naming the limit", i, text)
					}
				}
			})
		}
		wg.Wait()
	}
	start := time.Now()
	run(0, 2*limit) // the limit reached, and some refused
	before := rssBytes(t, proc.Process.Pid)
	run(2*limit, attempts)
	after := rssBytes(t, proc.Process.Pid)
	took := time.Since(start)
	t.Logf("%d attempts in %v: %d parked, %d refused; gateway RSS %d MB after %d attempts, %d MB after all",
		attempts, took.Round(time.Millisecond), parked.Load(), refused.Load(), before>>20, 2*limit, after>>20)

	if parked.Load() != limit || refused.Load() != int64(attempts-limit) || other.Load() != 0 {
		t.Errorf("%d parked, %d refused, %d other; want %d parked and the rest refused", parked.Load(), refused.Load(), other.Load(), limit)
	}
	if grew := after - before; grew > 64<<20 {
		t.Errorf("the gateway grew by %d MB over %d refused attempts; want flat (under 64 MB)", grew>>20, attempts-2*limit)
	}
	store, err := audit.OpenApprovals(db, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if pending, err := store.List(t.Context(), audit.ListFilter{}); err != nil || len(pending) != limit {
		t.Errorf("approvals pending = %d (%v); want %d", len(pending), err, limit)
	}
	crossed := regexp.MustCompile(`max_pending_per_user`)
	logs.wait(t, crossed, 5*time.Second)
	if n := logs.count(crossed); n != 1 {
		t.Errorf("the crossing of the limit was logged %d times; want once", n)
	}

	// Every call has its one record.
	r, err := audit.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	waitUntil(t, "every attempt recorded", func() bool {
		es, err := r.List(t.Context(), audit.Filter{})
		return err == nil && len(es) == attempts
	})
}

// count is how many lines of the log match re.
func (w *logWatcher) count(re *regexp.Regexp) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}
