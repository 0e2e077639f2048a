package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/audit/audittest"
	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Fake credentials, built here so that the file holds no string a secret
// scanner would take for a real one.
var secrets = []string{
	"ghp_" + strings.Repeat("aB3", 12),
	"sk_live_" + strings.Repeat("aB3", 8),
	"sk-ant-api03-" + strings.Repeat("aB3xY9", 10),
	"AKIA" + "IOSFODNN7" + "EXAMPLE",
	"xoxb-" + "1234567890-1234567890123-" + strings.Repeat("aB3", 8),
	"4111 1111 1111 1111", // a card number (Luhn-valid)
	"123-45-6789",         // a US SSN
}

func newLog(t testing.TB, opts audit.Options) (*audit.Log, string) {
	t.Helper()
	file := filepath.Join(testdir.New(t), "verdicts.db")
	l, err := audit.Open(file, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, file
}

func record(id string, ws string, args string) policy.Record {
	return policy.Record{
		ID: id, Time: time.Now(),
		Call:     policy.Call{Workspace: ws, Upstream: "up", Tool: "echo", Exposed: "up__echo", User: "ada", Client: "test", Arguments: json.RawMessage(args)},
		Verdict:  policy.Verdict{Decision: policy.DecisionAllow, Version: "v1"},
		Upstream: policy.UpstreamOK, UpstreamLatency: time.Millisecond, Overhead: 50 * time.Microsecond,
	}
}

func newID() string { return ulid.Make().String() }

func list(t testing.TB, file string, f audit.Filter) []audit.Entry {
	t.Helper()
	r, err := audit.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	es, err := r.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// A secret a detector finds never reaches the log, wherever the call put
// it — an argument's value or key, a JSON document inside a string, split
// by invisible characters — nor in any free text of the record; in every
// arguments form.
func TestNoSecretInAnyColumn(t *testing.T) {
	engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "note-secrets", Enabled: true, Action: policy.ActionWarn, When: policy.When{Threats: []policy.Threat{policy.ThreatSecret}}, Message: "secret seen"},
	}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{policy.ArgumentsMasked, policy.ArgumentsHash, policy.ArgumentsNone} {
		l, file := newLog(t, audit.Options{Arguments: form})
		for i, s := range secrets {
			q, _ := json.Marshal(s)
			split, _ := json.Marshal(s[:3] + "\u200b" + s[3:])
			nested, _ := json.Marshal(`{"inner": ` + string(q) + `}`)
			for _, args := range []string{
				`{"message": ` + string(q) + `}`,
				`{` + string(q) + `: 1}`,
				`{"doc": ` + string(nested) + `}`,
				`{"message": ` + string(split) + `}`,
				`{"list": [1, {"deep": ["x", ` + string(q) + `]}]}`,
			} {
				rec := record(newID(), "w", args)
				rec.Call.Client = "client " + s
				rec.Call.User = "user " + s
				rec.UpstreamError = "upstream said " + s
				rec.Upstream = policy.UpstreamToolError
				// Half the records carry the engine's verdict (masks it
				// computed), half none (the log scans itself).
				if i%2 == 0 {
					rec.Verdict = engine.Evaluate(context.Background(), rec.Call)
				}
				rec.Verdict.Reason = "the judge quoted " + s
				rec.Verdict.Judge = policy.JudgeOutcome{Asked: true, Err: fmt.Errorf("model echoed %s", s)}
				rec.Verdict.Results = append(rec.Verdict.Results, policy.Result{Policy: "p", Outcome: policy.OutcomeViolate, Why: "it contains " + s, Analysis: "the analysis quotes " + s})
				if err := l.Record(rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := l.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		audittest.AssertAbsent(t, file, secrets...)
		es := list(t, file, audit.Filter{})
		if len(es) != 5*len(secrets) {
			t.Fatalf("%s: %d records; want %d", form, len(es), 5*len(secrets))
		}
		for _, e := range es {
			if last := e.Results[len(e.Results)-1]; !strings.HasPrefix(last.Analysis, "the analysis quotes ") {
				t.Errorf("the judge's analysis was not kept: %+v", last)
			}
			switch form {
			case policy.ArgumentsMasked:
				if e.ArgumentsForm != form || !strings.Contains(string(e.Arguments), policy.Redacted) {
					t.Errorf("masked arguments = %s (%s)", e.Arguments, e.ArgumentsForm)
				}
			case policy.ArgumentsHash:
				if !strings.HasPrefix(string(e.Arguments), `"sha256:`) {
					t.Errorf("hashed arguments = %s", e.Arguments)
				}
			case policy.ArgumentsNone:
				if e.Arguments != nil || e.ArgumentsForm != "none" {
					t.Errorf("arguments kept with none: %s", e.Arguments)
				}
			}
		}
	}
}

// Equal calls hash alike, whatever the order of their keys; arguments that
// cannot be read are kept as a hash even in the masked form.
func TestArgumentsHashAndUnreadable(t *testing.T) {
	l, file := newLog(t, audit.Options{Arguments: policy.ArgumentsHash})
	for _, args := range []string{`{"a": 1, "b": "x"}`, `{"b":"x","a":1}`} {
		if err := l.Record(record(newID(), "w", args)); err != nil {
			t.Fatal(err)
		}
	}
	l.SetOptions(audit.Options{Arguments: policy.ArgumentsMasked})
	if err := l.Record(record(newID(), "w", `{"a": 1, "a": 2}`)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	es := list(t, file, audit.Filter{})
	if string(es[0].Arguments) != string(es[1].Arguments) {
		t.Errorf("hashes of equal arguments differ: %s, %s", es[0].Arguments, es[1].Arguments)
	}
	if es[2].ArgumentsForm != "hash" || !strings.HasPrefix(string(es[2].Arguments), `"sha256:`) {
		t.Errorf("unreadable arguments kept as %s (%s); want a hash", es[2].Arguments, es[2].ArgumentsForm)
	}
}

// Two logs — as two gateway processes would have — and many goroutines
// write to one file at once: every record is there, none fails.
func TestConcurrentWritersShareOneFile(t *testing.T) {
	file := filepath.Join(testdir.New(t), "verdicts.db")
	var logs []*audit.Log
	for range 2 {
		l, err := audit.Open(file, audit.Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	const perWriter = 300
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			l := logs[w%2]
			for range perWriter {
				if err := l.Record(record(newID(), fmt.Sprintf("w%d", w), `{"n":1}`)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, l := range logs {
		if err := l.Close(t.Context()); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	if es := list(t, file, audit.Filter{}); len(es) != 16*perWriter {
		t.Errorf("%d records; want %d", len(es), 16*perWriter)
	}
}

// A log file removed while the gateway runs is created again, and the
// records after go to it. On Windows the file cannot be removed while the
// gateway holds it (RemoveHeld), and the records after join the ones
// before.
func TestRemovedFileIsCreatedAgain(t *testing.T) {
	l, file := newLog(t, audit.Options{})
	before := newID()
	if err := l.Record(record(before, "w", `{}`)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	removed := audit.RemoveHeld(t, file)
	if removed {
		_ = os.Remove(file + "-wal")
		_ = os.Remove(file + "-shm")
	}
	id := newID()
	if err := l.Record(record(id, "w", `{}`)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	es := list(t, file, audit.Filter{})
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	switch {
	case removed && !slices.Equal(ids, []string{id}):
		t.Errorf("after removal the file holds %v; want the record written since, %s", ids, id)
	case !removed && !slices.Equal(ids, slices.Sorted(slices.Values([]string{before, id}))):
		t.Errorf("after a removal that failed the file holds %v; want both records, %s and %s", ids, before, id)
	}
}

// Close writes everything queued before it returns.
func TestCloseWritesTheQueue(t *testing.T) {
	file := filepath.Join(testdir.New(t), "verdicts.db")
	l, err := audit.Open(file, audit.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5000 {
		if err := l.Record(record(newID(), "w", `{"x":"y"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(record(newID(), "w", `{}`)); err == nil {
		t.Error("Record after Close succeeded")
	}
	if es := list(t, file, audit.Filter{}); len(es) != 5000 {
		t.Errorf("%d records after Close; want 5000", len(es))
	}
}

// Files the gateway cannot use get errors that say what is wrong.
func TestOpenErrors(t *testing.T) {
	dir := testdir.New(t)
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(garbage, audit.Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "not a Gatehouse verdict log") {
		t.Errorf("Open(garbage) = %v", err)
	}
	if l.Err() == nil {
		t.Error("Err() = nil for a log that cannot be written")
	}
	_ = l.Close(t.Context())
	if _, err := audit.Check(t.Context(), garbage); err == nil || !strings.Contains(err.Error(), "not a Gatehouse verdict log") {
		t.Errorf("Check(garbage) = %v", err)
	}

	newer := filepath.Join(dir, "newer.db")
	l, err = audit.Open(newer, audit.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close(t.Context())
	db, err := sql.Open("sqlite3", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := audit.OpenReader(newer); err == nil || !strings.Contains(err.Error(), "newer than this gatehouse knows") {
		t.Errorf("OpenReader(newer schema) = %v", err)
	}
	if _, err := audit.Check(t.Context(), newer); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Check(newer schema) = %v", err)
	}

	if _, err := audit.OpenReader(filepath.Join(dir, "missing.db")); err == nil || !strings.Contains(err.Error(), "no verdict log") {
		t.Errorf("OpenReader(missing) = %v", err)
	}
	if st, err := audit.Check(t.Context(), filepath.Join(dir, "missing.db")); err != nil || st.Exists {
		t.Errorf("Check(missing, writable directory) = %+v, %v", st, err)
	}
	if _, err := audit.Check(t.Context(), filepath.Join(dir, "no", "such", "dir.db")); err == nil {
		t.Error("Check(missing directory) succeeded")
	}
}

// BenchmarkRecord measures the log's sustained throughput: records queued
// and written per second, with small masked arguments.
func BenchmarkRecord(b *testing.B) {
	l, _ := newLog(b, audit.Options{})
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = newID()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := l.Record(record(ids[i], "w", `{"path":"/tmp/report.txt","mode":"read"}`)); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// The log keeps a policy's own words as the client read them — a template
// whose message says "../" is not masked into "[REDACTED]" — and still
// masks what came from the call (issue 14, 13).
func TestMessageKeepsThePolicysOwnWords(t *testing.T) {
	const own = "the request refers to a path outside the project (for example through ../)"
	key := secrets[3]
	eng, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "no-climbing", Enabled: true, Action: policy.ActionBlock, Priority: 2, Message: own,
			When: policy.When{Threats: []policy.Threat{policy.ThreatPathTraversal}}},
		{Name: "no-such-user", Enabled: true, Action: policy.ActionBlock, Priority: 1, When: policy.When{Users: []string{"AKIA*"}}},
		{Name: "warn ../ climbing", Enabled: true, Action: policy.ActionWarn, Priority: 3, Message: "watch for ../ in " + "paths",
			When: policy.When{Threats: []policy.Threat{policy.ThreatPathTraversal}}},
	}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, file := newLog(t, audit.Options{})
	calls := []policy.Call{
		{Workspace: "w", Upstream: "up", Tool: "read", Exposed: "up__read", User: "ada", Arguments: json.RawMessage(`{"path":"../../etc/passwd"}`)},
		{Workspace: "w", Upstream: "up", Tool: "read", Exposed: "up__read", User: key, Arguments: json.RawMessage(`{"path":"a.txt"}`)},
	}
	var verdicts []policy.Verdict
	for _, c := range calls {
		v := eng.Evaluate(context.Background(), c)
		verdicts = append(verdicts, v)
		rec := policy.Record{ID: newID(), Time: time.Now(), Call: c, Verdict: v, Upstream: policy.UpstreamNotRun}
		if err := l.Record(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	es := list(t, file, audit.Filter{})
	if len(es) != 2 {
		t.Fatalf("%d entries; want 2", len(es))
	}
	byUser := map[bool]audit.Entry{}
	for _, e := range es {
		byUser[e.User == "ada"] = e
	}
	climb := byUser[true]
	if !strings.Contains(verdicts[0].Message, own) || climb.Message != verdicts[0].Message {
		t.Errorf("logged message %q; the client read %q", climb.Message, verdicts[0].Message)
	}
	if len(climb.Warnings) != 1 || climb.Warnings[0].Message != "watch for ../ in paths" {
		t.Errorf("logged warnings %+v; want the policy's own message", climb.Warnings)
	}
	other := byUser[false]
	if strings.Contains(other.Message, key) || strings.Contains(other.Reason, key) || !strings.Contains(other.Message, policy.Redacted) {
		t.Errorf("the user's name, a key, is not masked in the logged message %q / reason %q", other.Message, other.Reason)
	}
}

// BenchmarkStart measures what the journal of calls in flight adds to a
// forwarded call's path: writing its start (Start, on the call's
// goroutine, before it is forwarded), then queuing its whole record as
// BenchmarkRecord does, the start lapsing once that is written.
func BenchmarkStart(b *testing.B) {
	l, _ := newLog(b, audit.Options{})
	recs := make([]policy.Record, b.N)
	for i := range recs {
		recs[i] = record(newID(), "w", `{"path":"/tmp/report.txt","mode":"read"}`)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var inStart time.Duration
	for i := range b.N {
		t0 := time.Now()
		if err := l.Start(recs[i]); err != nil {
			b.Fatal(err)
		}
		inStart += time.Since(t0)
		if err := l.Record(recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(inStart.Nanoseconds())/float64(b.N), "start-ns/call")
}
