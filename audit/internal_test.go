package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

func rec(at time.Time) policy.Record {
	return policy.Record{ID: ulid.Make().String(), Time: at, Call: policy.Call{Workspace: "w", Tool: "t", Arguments: json.RawMessage(`{"x":"` + strings.Repeat("y", 2000) + `"}`)},
		Verdict: policy.Verdict{Decision: policy.DecisionAllow}, Upstream: policy.UpstreamOK}
}

func count(t *testing.T, l *Log) int {
	t.Helper()
	var n int
	if err := l.db.QueryRow(`SELECT count(*) FROM verdicts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A full disk stops the writes: Err says so, the records wait in memory in
// order, and once there is room they are all written.
func TestDiskFull(t *testing.T) {
	l, err := Open(filepath.Join(testdir.New(t), "v.db"), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	if err := l.Record(rec(time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The disk is "full": the file may not grow past its present size.
	var pages int
	if err := l.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := l.db.Exec(`PRAGMA max_page_count = ` + itoa(pages)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 50 {
		r := rec(time.Now())
		ids = append(ids, r.ID)
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	err = l.Flush(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Flush on a full disk = %v; want the disk named", err)
	}
	if l.Err() == nil || l.Pending() != 50 {
		t.Fatalf("Err = %v, Pending = %d; want an error and 50 waiting", l.Err(), l.Pending())
	}
	if _, err := l.db.Exec(`PRAGMA max_page_count = 1000000`); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil {
		t.Errorf("Err after recovery = %v", l.Err())
	}
	rows, err := l.db.Query(`SELECT id FROM verdicts ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		got = append(got, id)
	}
	if len(got) != 51 || strings.Join(got[1:], ",") != strings.Join(ids, ",") {
		t.Errorf("after recovery the log holds %d records; want 51, in the order queued", len(got))
	}
}

// Records older than the retention are pruned in the background; newer
// ones stay.
func TestRetention(t *testing.T) {
	l, err := Open(filepath.Join(testdir.New(t), "v.db"), Options{Retention: 90 * 24 * time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	l.pruneEvery = 50 * time.Millisecond
	for i := range 20 {
		at := time.Now()
		if i%2 == 0 {
			at = at.Add(-100 * 24 * time.Hour)
		}
		if err := l.Record(rec(at)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if count(t, l) == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records left; want the 10 recent ones", count(t, l))
		}
		_ = l.Record(rec(time.Now().Add(-200 * 24 * time.Hour))) // wakes the writer; pruned too
		time.Sleep(100 * time.Millisecond)
	}
	var old int
	if err := l.db.QueryRow(`SELECT count(*) FROM verdicts WHERE time < ?`, formatTime(time.Now().Add(-90*24*time.Hour))).Scan(&old); err != nil || old != 0 {
		t.Errorf("%d records older than the retention remain (%v)", old, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkNewRow is the log's cost on the caller's goroutine: turning a
// call's record into its masked row (a small call without policies).
func BenchmarkNewRow(b *testing.B) {
	r := policy.Record{ID: ulid.Make().String(), Time: time.Now(),
		Call:    policy.Call{Workspace: "w", Upstream: "up", Tool: "echo", Exposed: "up__echo", User: "ada", Client: "claude-ai", Arguments: json.RawMessage(`{"path":"/tmp/report.txt","mode":"read"}`)},
		Verdict: policy.Verdict{Decision: policy.DecisionAllow, Version: "v1"}, Upstream: policy.UpstreamOK}
	b.ReportAllocs()
	for b.Loop() {
		_ = newRow(&r, policy.ArgumentsMasked)
	}
}

// A log so far behind that it refuses records says so in Err, as a log
// that fails does, and recovers once the writer catches up.
func TestFullQueue(t *testing.T) {
	file := filepath.Join(testdir.New(t), "v.db")
	l, err := Open(file, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	l.mu.Lock()
	l.maxQueue = 5
	l.mu.Unlock()
	// Another process holds the write lock: the writer waits on it.
	other, err := sql.Open("sqlite3", file)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	if _, err := other.Exec(`BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(rec(time.Now())); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * linger) // the writer takes that one and waits for the lock
	for i := range 5 {
		if err := l.Record(rec(time.Now())); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := l.Record(rec(time.Now())); err == nil || l.Err() == nil || !strings.Contains(l.Err().Error(), "takes no more") {
		t.Fatalf("Record beyond the queue = %v, Err = %v; want both to say the log takes no more", err, l.Err())
	}
	if _, err := other.Exec(`ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil || count(t, l) != 6 {
		t.Errorf("after the writer caught up: Err = %v, %d records; want nil and 6", l.Err(), count(t, l))
	}
}
