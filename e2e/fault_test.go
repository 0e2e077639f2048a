//go:build unix

package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// The fault-injection suite (issue 18): real gateway processes, real
// upstreams, and the faults a deployed gateway meets — a SIGKILL with
// calls in flight, a full disk.

// logRecords reads every record of the verdict log of cfg through
// `gatehouse logs --json`, as a user would.
func logRecords(t *testing.T, cfg string) []map[string]any {
	t.Helper()
	out, stderr, code := runGatehouse(t, "logs", "--config", cfg, "--json", "--limit", "0")
	if code != 0 {
		t.Fatalf("gatehouse logs: exit %d: %s", code, stderr)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("gatehouse logs --json printed %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// A gateway killed (SIGKILL) while calls run upstream leaves a record of
// every call the upstream received: those in flight read "outcome
// unknown", in `logs`, `logs show` and `stats`.
func TestFaultKillWithCallsInFlight(t *testing.T) {
	requireAll(t)
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream()}})
	g := startStdio(t, cfg, "dev", modern)
	for i := range 3 {
		if res, err := callTool(t, g.client, "everything__echo", map[string]any{"message": fmt.Sprint("quick ", i)}); err != nil || res.IsError {
			t.Fatalf("echo: %v %+v", err, res)
		}
	}

	// Five slow calls; each is running upstream once its first progress
	// notification arrives.
	const slow = 5
	var mu sync.Mutex
	running := map[string]bool{}
	g.client.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			mu.Lock()
			running[fmt.Sprint(n.Params.AdditionalFields["progressToken"])] = true
			mu.Unlock()
		}
	})
	for i := range slow {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
			defer cancel()
			g.client.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{
				Name:      "everything__trigger-long-running-operation",
				Arguments: map[string]any{"duration": 20, "steps": 20},
				Meta:      &mcp.Meta{ProgressToken: fmt.Sprint("slow-", i)},
			}})
		}()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(running)
		mu.Unlock()
		if n == slow {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d slow calls reached the upstream", n, slow)
		}
		time.Sleep(20 * time.Millisecond)
	}
	children := descendants(g.pid())
	if err := syscall.Kill(g.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, p := range children { // its upstreams would run on
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}

	recs := logRecords(t, cfg)
	unknown, echoes := 0, 0
	var unknownID string
	for _, r := range recs {
		switch r["tool"] {
		case "trigger-long-running-operation":
			if r["upstream_outcome"] != "unknown" || r["decision"] != "allow" {
				t.Errorf("slow call in flight at the kill: %v / %v; want allow, outcome unknown", r["decision"], r["upstream_outcome"])
			}
			unknown++
			unknownID, _ = r["id"].(string)
		case "echo":
			if o := r["upstream_outcome"]; o != "ok" && o != "unknown" {
				t.Errorf("echo answered before the kill: outcome %v; want ok (or unknown, if its end was still queued)", o)
			}
			echoes++
		}
	}
	if unknown != slow || echoes != 3 {
		t.Fatalf("after the kill the log holds %d slow calls and %d echoes; want %d and 3: %v", unknown, echoes, slow, recs)
	}
	out, _, code := runGatehouse(t, "logs", "show", "--config", cfg, unknownID)
	if code != 0 || !strings.Contains(out, "outcome unknown: the gateway stopped") {
		t.Errorf("logs show %s (exit %d) does not say the outcome is unknown:\n%s", unknownID, code, out)
	}
	out, _, code = runGatehouse(t, "stats", "--config", cfg)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("outcome unknown%*d", 20-len("outcome unknown")+6, slow)) {
		t.Errorf("stats (exit %d) does not count %d calls of unknown outcome:\n%s", code, slow, out)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "audit.db-inflight", "*")); len(left) != 0 {
		t.Errorf("journals left once the log was read: %v", left)
	}
}

// On a full disk, a workspace that requires the log forwards no call
// whose start it could not write: every call the upstream ran is in the
// log, and every call the client made has exactly one record once the
// disk has room again.
func TestFaultFullDisk(t *testing.T) {
	requireAll(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (CI runs as root)")
	}
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (root, but cannot mount): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", disk).Run() })
	sandbox := filepath.Join(dir, "sandbox")
	if err := os.Mkdir(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "gatehouse.yaml", fmt.Sprintf(`version: 1
audit:
  database: %s
  required: true
workspaces:
  dev:
    upstreams:
      - name: fs
        command: %s
        args: [%s]
`, filepath.Join(disk, "audit.db"), npmBin(binFilesystem), sandbox))
	g := startStdio(t, cfg, "dev", modern)

	made, refused := 0, 0
	write := func() (ok bool) {
		t.Helper()
		made++
		res, err := callTool(t, g.client, "fs__write_file", map[string]any{"path": filepath.Join(sandbox, fmt.Sprintf("f%03d.txt", made)), "content": "x"})
		if err != nil {
			t.Fatalf("write_file %d: %v", made, err)
		}
		if res.IsError {
			if !strings.Contains(resultText(res), "verdict log cannot be written") {
				t.Fatalf("write_file %d failed, but not for the log: %s", made, resultText(res))
			}
			refused++
			return false
		}
		return true
	}
	for range 3 {
		if !write() {
			t.Fatal("a call was refused before the disk filled")
		}
	}

	// Fill the disk.
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	// The journal's last page may take a line or two more; after that,
	// every call is refused.
	for i := 0; i < 40; i++ {
		write()
	}
	if refused < 30 {
		t.Fatalf("on a full disk only %d of 40 calls were refused", refused)
	}
	ran := func() int {
		es, err := os.ReadDir(sandbox)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	ranFull := ran()

	// Room again: the waiting records are written, and calls run.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !write() {
		if time.Now().After(deadline) {
			t.Fatal("calls still refused 20 s after the disk had room again")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := g.client.Close(); err != nil { // the gateway writes what is queued and exits
		t.Logf("close: %v", err)
	}

	recs := logRecords(t, cfg)
	ok, blocked := 0, 0
	for _, r := range recs {
		switch {
		case r["decision"] == "allow" && r["upstream_outcome"] == "ok":
			ok++
		case r["decision"] == "block" && r["upstream_outcome"] == "not_run":
			blocked++
		default:
			t.Errorf("record %v: %v / %v", r["id"], r["decision"], r["upstream_outcome"])
		}
	}
	t.Logf("%d calls: %d ran (%d while the disk was full), %d refused; the log holds %d run, %d refused", made, ran(), ranFull-3, refused, ok, blocked)
	if ok != ran() || blocked != refused || len(recs) != made {
		t.Errorf("the log holds %d records (%d run, %d refused); want one per call: %d (%d ran upstream, %d refused)", len(recs), ok, blocked, made, ran(), refused)
	}
}

// The database deleted while calls run and an out-of-band approval is
// pending (issue 18, 3): the gateway creates it again, the verdict log
// and the approvals both follow it there — a request made afterwards is
// listed, approved and runs, and every call made after the deletion has
// its record in the new file. The request made before went with the old
// file: approving it fails clearly, and its call, retried, asks again.
func TestFaultDatabaseDeletedWithApprovalsPending(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "audit.db")
	cfg := writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+db+`
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
    policies:
      - name: operator-writes
        tools: ["write_file"]
        action: require_approval
        in_client: false
        approvers: [`+osUser(t)+`]
        message: Writes need the operator.
`)
	g := startStdio(t, cfg, "dev", modern, "GATEHOUSE_USER=agent-ada")
	write := func(name string) (res *mcp.CallToolResult, approval string, wrote bool) {
		t.Helper()
		file := filepath.Join(sandbox, name)
		res, err := callTool(t, g.client, "fs__write_file", map[string]any{"path": file, "content": "x"})
		if err != nil {
			t.Fatalf("write_file %s: %v", name, err)
		}
		if res.Meta != nil {
			approval, _ = res.Meta.AdditionalFields["io.gatehouse/approval"].(string)
		}
		_, statErr := os.Stat(file)
		return res, approval, statErr == nil
	}
	res, before, wrote := write("before.txt")
	if !res.IsError || before == "" || wrote {
		t.Fatalf("held write = %q (approval %q, written %v); want it parked", resultText(res), before, wrote)
	}

	// Load: reads, all through the deletion.
	stop := make(chan struct{})
	var reads sync.WaitGroup
	var mu sync.Mutex
	var afterDeletion []string // the paths of reads that started after it
	deleted := make(chan struct{})
	reads.Add(1)
	go func() {
		defer reads.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			after := false
			select {
			case <-deleted:
				after = true
			default:
			}
			path := filepath.Join(sandbox, fmt.Sprintf("no-such-%d", i))
			if _, err := callTool(t, g.client, "fs__get_file_info", map[string]any{"path": path}); err != nil {
				t.Errorf("read during the deletion: %v", err)
				return
			}
			if after {
				mu.Lock()
				afterDeletion = append(afterDeletion, path)
				mu.Unlock()
			}
		}
	}()
	stopReads := sync.OnceFunc(func() { close(stop); reads.Wait() })
	t.Cleanup(stopReads) // before the gateway's, should the test stop early
	time.Sleep(300 * time.Millisecond)
	files, _ := filepath.Glob(db + "*") // the database, its WAL, and the journals of calls in flight
	for _, f := range files {
		if err := os.RemoveAll(f); err != nil {
			t.Fatal(err)
		}
	}
	close(deleted)
	time.Sleep(300 * time.Millisecond)

	res, after, wrote := write("after.txt")
	if !res.IsError || after == "" || wrote {
		t.Fatalf("held write after the deletion = %q (approval %q, written %v); want it parked", resultText(res), after, wrote)
	}
	out, errOut, code := runGatehouse(t, "approvals", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, after) || strings.Contains(out, before) {
		t.Fatalf("approvals list (exit %d) after the deletion; want %s and not %s:\n%s%s", code, after, before, out, errOut)
	}
	if out, errOut, code := runGatehouse(t, "approvals", "approve", after, "--config", cfg); code != 0 {
		t.Fatalf("approvals approve %s: exit %d\n%s%s", after, code, out, errOut)
	}
	if res, _, wrote := write("after.txt"); res.IsError || !wrote {
		t.Fatalf("the call approved in the new database = %q (written %v); want it run", resultText(res), wrote)
	}
	out, errOut, code = runGatehouse(t, "approvals", "approve", before, "--config", cfg)
	if code == 0 || !strings.Contains(out+errOut, before) {
		t.Errorf("approving %s, which went with the deleted file: exit %d\n%s%s; want a failure naming it", before, code, out, errOut)
	}
	if res, again, wrote := write("before.txt"); !res.IsError || wrote || again == "" || again == before {
		t.Errorf("the call whose request was deleted, retried = %q (approval %q, written %v); want a new request", resultText(res), again, wrote)
	}

	stopReads()
	if err := g.client.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	recs := logRecords(t, cfg)
	got := map[string]int{}
	for _, r := range recs {
		if r["tool"] == "get_file_info" {
			if args, ok := r["arguments"].(map[string]any); ok {
				got[fmt.Sprint(args["path"])]++
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(afterDeletion) == 0 {
		t.Fatal("no read ran after the deletion")
	}
	for _, p := range afterDeletion {
		if got[p] != 1 {
			t.Errorf("read of %s, made after the deletion, has %d records in the new file; want 1", p, got[p])
		}
	}
	t.Logf("%d reads after the deletion, each with its record; %d records in the new file", len(afterDeletion), len(recs))
}
