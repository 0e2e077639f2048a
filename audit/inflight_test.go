package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// openLog opens a verdict log in a new folder, closed when t ends.
func openLog(t *testing.T, opts Options) (*Log, string) {
	t.Helper()
	file := filepath.Join(testdir.New(t), "v.db")
	l, err := Open(file, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l, file
}

// journals lists the journals of the database at file.
func journals(t *testing.T, file string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(JournalDir(file), "*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// outcomes reads the upstream outcome of every record of the log at file,
// by id.
func outcomes(t *testing.T, file string) map[string]string {
	t.Helper()
	r, err := OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	es, err := r.List(t.Context(), Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		out[e.ID] = e.UpstreamOutcome
		if e.UpstreamOutcome == string(policy.UpstreamUnknown) && e.UpstreamError != stoppedError {
			t.Errorf("record %s: outcome unknown with the error %q; want %q", e.ID, e.UpstreamError, stoppedError)
		}
	}
	return out
}

// The child of TestStartOutlivesAKill: it starts calls, ends some, says
// which, and waits to be killed.
func TestJournalChild(t *testing.T) {
	file := os.Getenv("GATEHOUSE_JOURNAL_CHILD")
	if file == "" {
		t.Skip("run by TestStartOutlivesAKill")
	}
	l, err := Open(file, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		r := rec(time.Now())
		if err := l.Start(r); err != nil {
			t.Fatal(err)
		}
		state := "running"
		if i%2 == 0 {
			r.Upstream = policy.UpstreamOK
			if err := l.Record(r); err != nil {
				t.Fatal(err)
			}
			state = "ended"
		}
		fmt.Printf("%s %s\n", state, r.ID)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

// A call whose start was journaled is in the log after its gateway is
// killed — with its outcome unknown when its end was not written — and a
// call that ended keeps its end.
func TestStartOutlivesAKill(t *testing.T) {
	file := filepath.Join(testdir.New(t), "v.db")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestJournalChild$")
	cmd.Env = append(os.Environ(), "GATEHOUSE_JOURNAL_CHILD="+file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	running, ended := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		state, id, _ := strings.Cut(sc.Text(), " ")
		if state == "ready" {
			break
		}
		map[string]map[string]bool{"running": running, "ended": ended}[state][id] = true
	}
	if len(running) != 3 || len(ended) != 3 {
		t.Fatalf("the child started %d and ended %d calls; want 3 and 3", len(running), len(ended))
	}

	// While the child runs, its journal is its own: nothing to recover.
	if n, err := Recover(t.Context(), file); n != 0 || err != nil {
		t.Fatalf("Recover while its gateway runs = %d, %v; want 0, nil", n, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	if _, err := Recover(t.Context(), file); err != nil {
		t.Fatal(err)
	}
	got := outcomes(t, file)
	for id := range running {
		if got[id] != string(policy.UpstreamUnknown) {
			t.Errorf("call %s, started and killed before its end: outcome %q; want unknown", id, got[id])
		}
	}
	for id := range ended {
		// Its end was queued, not written: killed within the linger, the
		// call is in the log all the same.
		if o := got[id]; o != string(policy.UpstreamOK) && o != string(policy.UpstreamUnknown) {
			t.Errorf("call %s, ended before the kill: outcome %q; want ok or unknown", id, o)
		}
	}
	if len(got) != 6 {
		t.Errorf("the log holds %d records; want 6", len(got))
	}
	if j := journals(t, file); len(j) != 0 {
		t.Errorf("journals left after recovery: %v", j)
	}

	// A gateway opening the log later finds nothing more to add.
	l, err := Open(file, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, l); n != 6 {
		t.Errorf("after a reopen the log holds %d records; want 6", n)
	}
	l.Close(t.Context())
}

// A call's whole record replaces its start, keeps the start's masked
// arguments, and lets the journal empty; the end of a call recorded as
// unknown by a recovery replaces that too.
func TestEndCompletesStart(t *testing.T) {
	l, file := openLog(t, Options{})
	r := rec(time.Now())
	r.Call.Arguments = json.RawMessage(`{"token":"ghp_` + strings.Repeat("aB3", 12) + `"}`)
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	if j := journals(t, file); len(j) != 1 {
		t.Fatalf("journals after a start: %v; want one", j)
	}
	b, _ := os.ReadFile(journals(t, file)[0])
	if !strings.Contains(string(b), r.ID) || strings.Contains(string(b), "ghp_") {
		t.Fatalf("the journal does not hold the call's start, masked: %s", b)
	}
	r.Upstream, r.UpstreamLatency, r.Overhead = policy.UpstreamToolError, 3*time.Millisecond, time.Millisecond
	r.UpstreamError = "failed with ghp_" + strings.Repeat("aB3", 12)
	if err := l.Record(r); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var outcome, upErr, args string
	var lat float64
	if err := l.db.QueryRow(`SELECT upstream_outcome, upstream_error, upstream_latency_ms, arguments FROM verdicts WHERE id = ?`, r.ID).Scan(&outcome, &upErr, &lat, &args); err != nil {
		t.Fatal(err)
	}
	if outcome != "tool_error" || lat != 3 || strings.Contains(upErr, "ghp_") || strings.Contains(args, "ghp_") || !strings.Contains(args, "[REDACTED]") {
		t.Errorf("record = %s %q %v ms, arguments %s; want tool_error, masked, 3 ms", outcome, upErr, lat, args)
	}
	waitFor(t, "the journal to be emptied", func() bool {
		st, err := os.Stat(journals(t, file)[0])
		return err == nil && st.Size() == 0
	})

	// A record recovered as unknown gives way to the call's end.
	r2 := rec(time.Now())
	stopped := newRow(&r2, policy.ArgumentsMasked)
	stopped.UpstreamOutcome, stopped.UpstreamError = string(policy.UpstreamUnknown), stoppedError
	if _, err := l.db.Exec(insertSQL, stopped.values()...); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(r2); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(t, file)[r2.ID]; got != "ok" {
		t.Errorf("a recovered record followed by its end reads %q; want ok", got)
	}
	// A whole record is never replaced.
	again := r2
	again.Upstream = policy.UpstreamCancelled
	if err := l.Record(again); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(t, file)[r2.ID]; got != "ok" {
		t.Errorf("a record written twice reads %q; want the first, ok", got)
	}
}

// Close records the calls still in flight as stopped, and removes the
// journal once everything is written.
func TestCloseRecordsCallsInFlight(t *testing.T) {
	l, file := openLog(t, Options{})
	r := rec(time.Now())
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(t, file)[r.ID]; got != "unknown" {
		t.Errorf("a call in flight at Close reads %q; want unknown", got)
	}
	if j := journals(t, file); len(j) != 0 {
		t.Errorf("journals left after Close: %v", j)
	}
	if err := l.Start(rec(time.Now())); err != policy.ErrRecorderClosed {
		t.Errorf("Start after Close = %v; want ErrRecorderClosed", err)
	}
}

// Under way, the journal holds the calls in flight and not much more: it
// is started afresh with the live entries once it has grown.
func TestJournalRotates(t *testing.T) {
	l, file := openLog(t, Options{})
	first := ""
	live := map[string]bool{}
	for i := range 3000 { // ≈ 2 KB each: past journalRotate
		r := rec(time.Now())
		if err := l.Start(r); err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = journals(t, file)[0]
		}
		if i%100 == 0 {
			live[r.ID] = true
			continue
		}
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			if err := l.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.compactJournal()
	names := journals(t, file)
	if len(names) != 1 || names[0] == first {
		t.Fatalf("journals %v; want one, not the first (%s): it grew past %d bytes", names, first, journalRotate)
	}
	b, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > journalRotate {
		t.Errorf("the journal holds %d bytes; want it started afresh past %d", len(b), journalRotate)
	}
	held := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var r row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		held[r.ID] = true
	}
	for id := range live {
		if !held[id] {
			t.Errorf("call %s in flight is missing from the fresh journal", id)
		}
	}
}

// A journal removed while the gateway runs is written again, with the
// calls in flight. On Windows it cannot be removed while the gateway holds
// it (RemoveHeld), and keeps the calls in flight.
func TestJournalRemovedIsWrittenAgain(t *testing.T) {
	l, file := openLog(t, Options{})
	r := rec(time.Now())
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	RemoveHeld(t, journals(t, file)[0])
	if err := l.Record(rec(time.Now())); err != nil { // wakes the writer
		t.Fatal(err)
	}
	waitFor(t, "the journal written again", func() bool {
		j := journals(t, file)
		if len(j) != 1 {
			return false
		}
		b, _ := os.ReadFile(j[0])
		return strings.Contains(string(b), r.ID)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Live entries larger than journalRotate (slow calls with large
// arguments) are not rewritten at every batch: a fresh journal is started
// only once the lapsed entries have doubled it.
func TestJournalLargeLiveEntriesNotRewritten(t *testing.T) {
	l, file := openLog(t, Options{Arguments: policy.ArgumentsMasked})
	for range 3 { // 1.5 MB each, in flight throughout
		r := rec(time.Now())
		r.Call.Arguments = json.RawMessage(`{"x":"` + strings.Repeat("y", 3<<19) + `"}`)
		if err := l.Start(r); err != nil {
			t.Fatal(err)
		}
	}
	names := map[string]bool{}
	for range 20 {
		r := rec(time.Now())
		if err := l.Start(r); err != nil {
			t.Fatal(err)
		}
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		l.compactJournal()
		for _, n := range journals(t, file) {
			names[n] = true
		}
	}
	if len(names) > 1 {
		t.Errorf("%d journals written for 20 small calls beside 4.5 MB of calls in flight; want the first kept", len(names))
	}
}

// Lapsed entries do not stay in the journal past journalMaxAge while a
// call stays in flight: a record pruned by the retention is never brought
// back by a recovery.
func TestJournalLapsedEntriesAgeOut(t *testing.T) {
	l, file := openLog(t, Options{})
	long := rec(time.Now())
	if err := l.Start(long); err != nil {
		t.Fatal(err)
	}
	short := rec(time.Now())
	if err := l.Start(short); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(short); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	lines := func() []string {
		j := journals(t, file)
		if len(j) != 1 {
			t.Fatalf("journals %v; want one", j)
		}
		b, _ := os.ReadFile(j[0])
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	l.compactJournal()
	if n := len(lines()); n != 2 {
		t.Fatalf("the journal holds %d lines within journalMaxAge; want both, the lapsed one kept", n)
	}
	l.jmu.Lock()
	l.journalMaxAge = 0
	l.jmu.Unlock()
	l.compactJournal()
	if ls := lines(); len(ls) != 1 || !strings.Contains(ls[0], long.ID) {
		t.Errorf("past journalMaxAge the journal holds %d lines; want the call in flight alone", len(ls))
	}
}

// A call's end that the log refuses (its queue full) is written as it
// ended when the log closes, not as stopped.
func TestRefusedEndIsNotWrittenAsStopped(t *testing.T) {
	l, file := openLog(t, Options{})
	r := rec(time.Now())
	if err := l.Start(r); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.maxQueue = 0
	l.mu.Unlock()
	r.Upstream = policy.UpstreamToolError
	if err := l.Record(r); err == nil {
		t.Fatal("Record with a full queue succeeded")
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := outcomes(t, file)[r.ID]; got != string(policy.UpstreamToolError) {
		t.Errorf("a call whose end the full log refused reads %q at Close; want %s", got, policy.UpstreamToolError)
	}
}

// A running log writes the calls of a gateway that stopped beside it on
// the same database, without waiting for a restart.
func TestRunningLogRecoversDeadJournals(t *testing.T) {
	l, file := openLog(t, Options{})
	l.recoverEvery = 0 // before any write, as pruneEvery in TestPrune
	dead := rec(time.Now())
	line, _ := json.Marshal(newRow(&dead, policy.ArgumentsMasked))
	if err := os.Mkdir(JournalDir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(JournalDir(file), "999999-00000000"), append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead journal recovered", func() bool {
		if err := l.Record(rec(time.Now())); err != nil { // a write, then a look
			t.Fatal(err)
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		return outcomes(t, file)[dead.ID] == string(policy.UpstreamUnknown)
	})
}
