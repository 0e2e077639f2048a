package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
)

// auditConfig writes a config whose workspace w has the upstreamtest
// server as upstream "up", a policy that blocks the word "forbidden", and
// its verdict log at db; it returns the config's path.
func auditConfig(t *testing.T, db string) string {
	t.Helper()
	cmd, args := upstreamtest.StdioCommand(t)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
policies:
  - name: no-forbidden
    when: {keywords: [forbidden]}
    action: block
    message: That word is not allowed.
workspaces:
  w:
    upstreams:
      - name: up
        command: %q
        args: [%s]
`, db, cmd, strings.Join(quoted, ", ")))
}

// dialWorkspace connects a new initialised client to workspace w of the
// gateway listening at addr.
func dialWorkspace(t *testing.T, addr string) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP("http://" + addr + "/w/w/mcp")
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	if err := c.Start(context.WithoutCancel(t.Context())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{}); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// callVerdict calls a tool and returns the verdict id of its result, or ""
// when the call failed or its result carries none.
func callVerdict(ctx context.Context, c *client.Client, tool string, args map[string]any) (string, *mcp.CallToolResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return "", nil, err
	}
	id := ""
	if res.Meta != nil {
		id, _ = res.Meta.AdditionalFields[enforce.MetaVerdict].(string)
	}
	return id, res, nil
}

// recordedIDs reads every verdict id of the log at db, with how many
// records each has.
func recordedIDs(t *testing.T, db string) map[string]int {
	t.Helper()
	r, err := audit.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	es, err := r.List(t.Context(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, e := range es {
		ids[e.ID]++
	}
	return ids
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// Two gateway processes — as Claude Desktop and an IDE each start one —
// with 16 clients between them write to one verdict log: every call has
// exactly one record, and neither process reports a failure.
func TestTwoGatewaysShareOneLog(t *testing.T) {
	bin := gatehouseBinary(t)
	db := filepath.Join(t.TempDir(), "shared.db")
	cfg := auditConfig(t, db)
	type gw struct {
		proc *exec.Cmd
		logs *logWatcher
		addr string
	}
	var gws []gw
	for range 2 {
		proc, logs, _ := startServeHTTP(t, bin, cfg)
		gws = append(gws, gw{proc, logs, logs.find(listenRE)[1]})
	}

	const clients, calls = 16, 30
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for i := range clients {
		c := dialWorkspace(t, gws[i%2].addr)
		wg.Go(func() {
			for j := range calls {
				msg := fmt.Sprintf("client %d call %d", i, j)
				if j%3 == 0 {
					msg += " forbidden"
				}
				id, res, err := callVerdict(t.Context(), c, "up__echo", map[string]any{"message": msg})
				if err != nil || id == "" {
					t.Errorf("client %d call %d: %v (result %+v)", i, j, err, res)
					return
				}
				if blocked := j%3 == 0; res.IsError != blocked {
					t.Errorf("client %d call %d: isError %v; want %v", i, j, res.IsError, blocked)
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, g := range gws {
		if err := g.proc.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := g.proc.Wait(); err != nil {
			t.Errorf("gateway exit: %v", err)
		}
		for _, bad := range []string{"locked", "VERDICT", "verdict log"} {
			if lines := g.logs.find(regexp.MustCompile(`.*` + bad + `.*`)); lines != nil {
				t.Errorf("gateway logged %q", lines[0])
			}
		}
	}
	recorded := recordedIDs(t, db)
	if len(ids) != clients*calls || len(recorded) != len(ids) {
		t.Errorf("%d calls answered, %d records; want %d of each", len(ids), len(recorded), clients*calls)
	}
	for _, id := range ids {
		if recorded[id] != 1 {
			t.Errorf("verdict %s has %d records; want 1", id, recorded[id])
		}
	}
}

// SIGTERM while calls are in flight: the gateway finishes them, and every
// call that got an answer has its record when the log is read after.
func TestSIGTERMKeepsEveryAnsweredCall(t *testing.T) {
	bin := gatehouseBinary(t)
	db := filepath.Join(t.TempDir(), "verdicts.db")
	proc, logs, _ := startServeHTTP(t, bin, auditConfig(t, db))
	addr := logs.find(listenRE)[1]

	var mu sync.Mutex
	var answered []string
	inFlight := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range 16 {
		c := dialWorkspace(t, addr)
		wg.Go(func() {
			for j := 0; ; j++ {
				tool, args := "up__echo", map[string]any{"message": "hi"}
				if i%2 == 0 {
					tool, args = "up__slow", map[string]any{"ms": 300, "steps": 1}
				}
				select {
				case inFlight <- struct{}{}:
				default:
				}
				id, _, err := callVerdict(context.Background(), c, tool, args)
				if err != nil {
					return // the gateway is gone
				}
				if id != "" { // "shutting down" refusals are recorded too
					mu.Lock()
					answered = append(answered, id)
					mu.Unlock()
				}
			}
		})
	}
	for range 32 {
		<-inFlight
	}
	time.Sleep(500 * time.Millisecond)
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(); err != nil {
		t.Errorf("gateway exit after SIGTERM: %v", err)
	}
	wg.Wait()
	recorded := recordedIDs(t, db)
	if len(answered) < 16 {
		t.Fatalf("only %d calls answered before the gateway stopped", len(answered))
	}
	for _, id := range answered {
		if recorded[id] != 1 {
			t.Errorf("answered call %s has %d records after restart; want 1", id, recorded[id])
		}
	}
	t.Logf("%d answered calls, %d records", len(answered), len(recorded))
}

// check says whether the verdict log can be written.
func TestCheckVerdictLog(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfigText(t, fmt.Sprintf("version: 1\naudit: {database: %q}\nworkspaces:\n  w:\n    upstreams:\n      - {name: a, command: /bin/true}\n", filepath.Join(dir, "v.db")))
	out, err := runCLI(t, "check", "--config", cfg)
	if err != nil || !strings.Contains(out, "v.db: ok (not created yet") {
		t.Errorf("check, no log yet = %v\n%s", err, out)
	}

	cfg = writeConfigText(t, fmt.Sprintf("version: 1\naudit: {database: %q}\nworkspaces:\n  w:\n    upstreams:\n      - {name: a, command: /bin/true}\n", filepath.Join(dir, "missing", "v.db")))
	out, err = runCLI(t, "check", "--config", cfg)
	if code := exitCode(err); code != exitRuntime || !strings.Contains(out, "CANNOT BE WRITTEN") {
		t.Errorf("check, log in a missing directory: exit %d\n%s", code, out)
	}

	notDB := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("plain text ", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = writeConfigText(t, fmt.Sprintf("version: 1\naudit: {database: %q}\nworkspaces:\n  w:\n    upstreams:\n      - {name: a, command: /bin/true}\n", notDB))
	out, err = runCLI(t, "check", "--config", cfg)
	if code := exitCode(err); code != exitRuntime || !strings.Contains(out, "not a Gatehouse verdict log") {
		t.Errorf("check, a file that is not a log: exit %d\n%s", code, out)
	}
}

// exitCode is the exit code run would give for err.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if ee, ok := err.(*exitError); ok {
		return ee.code
	}
	return exitUsage
}

// A reload applies new audit settings to the next call: here the arguments
// are hashed instead of masked from then on.
func TestReloadAppliesAuditSettings(t *testing.T) {
	bin := gatehouseBinary(t)
	db := filepath.Join(t.TempDir(), "verdicts.db")
	cfg := auditConfig(t, db)
	proc, logs, c := startServeHTTP(t, bin, cfg)
	before, _, err := callVerdict(t.Context(), c, "up__echo", map[string]any{"message": "one"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, cfg, strings.Replace(string(body), "audit: {database:", "audit: {arguments: hash, database:", 1))
	logs.wait(t, regexp.MustCompile(`msg="config reloaded"`), 10*time.Second)
	after, _, err := callVerdict(t.Context(), c, "up__echo", map[string]any{"message": "two"})
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(); err != nil {
		t.Fatalf("gateway exit: %v", err)
	}
	r, err := audit.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for id, want := range map[string]string{before: "masked", after: "hash"} {
		e, err := r.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if e.ArgumentsForm != want {
			t.Errorf("record %s kept arguments as %s (%s); want %s", id, e.ArgumentsForm, e.Arguments, want)
		}
	}
}

// A reload that changes a setting the gateway reads only at start (the
// bounds of its faces) says so, naming the key, the value in force and the
// one configured, rather than let it look applied; the policies still
// reload.
func TestReloadWarnsOfStartOnlySettings(t *testing.T) {
	bin := gatehouseBinary(t)
	cfg := auditConfig(t, filepath.Join(t.TempDir(), "verdicts.db"))
	proc, logs, _ := startServeHTTP(t, bin, cfg)
	body, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, cfg, string(body)+"limits: {max_calls_in_flight: 7}\n")
	logs.wait(t, regexp.MustCompile(`level=WARN msg="config reload: limits.max_calls_in_flight changed; the gateway keeps the value it started with until it is restarted" in_force=1024 configured=7`), 10*time.Second)
	logs.wait(t, regexp.MustCompile(`msg="config reloaded"`), 10*time.Second)
	if m := logs.find(regexp.MustCompile(`http\.max_sessions changed|listen changed`)); m != nil {
		t.Errorf("a reload warned of a setting it did not change: %s", m[0])
	}
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = proc.Wait()
}
