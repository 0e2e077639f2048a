package audit_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

const lifetime = time.Hour

// clock is a settable time for the stores of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openApprovals opens the approvals of file, on the clock c when not nil.
func openApprovals(t *testing.T, file string, c *clock) *audit.Approvals {
	t.Helper()
	a, err := audit.OpenApprovals(file, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	if c != nil {
		audit.SetClock(a, c.now)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func key(args string) policy.ApprovalKey {
	return policy.ApprovalKey{Workspace: "prod", User: "ada", Upstream: "db", Tool: "drop_table", Exposed: "db__drop_table",
		Policy: "approve-drops", Arguments: policy.HashArguments(json.RawMessage(args))}
}

func request(k policy.ApprovalKey, expires time.Time, approvers ...string) policy.ApprovalRequest {
	return policy.ApprovalRequest{
		Key: k, Arguments: `{"table":"users"}`, Reason: "dropping a table needs approval", Approvers: approvers,
		Verdict: newID(), Expires: expires,
	}
}

func mustRequest(t *testing.T, a *audit.Approvals, r policy.ApprovalRequest) string {
	t.Helper()
	id, err := a.Request(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func status(t *testing.T, a *audit.Approvals, id string) string {
	t.Helper()
	e, err := a.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.Status
}

func TestApprovalRequest(t *testing.T) {
	c := newClock()
	a := openApprovals(t, filepath.Join(testdir.New(t), "v.db"), c)
	ctx := t.Context()
	k := key(`{"table":"users"}`)
	id := mustRequest(t, a, request(k, c.now().Add(lifetime)))
	if !strings.HasPrefix(id, "ap-") || len(id) != 13 || strings.ToLower(id) != id {
		t.Errorf("request id %q; want ap- and 10 lowercase characters", id)
	}
	// The same call again while the request is pending: the same request.
	if again := mustRequest(t, a, request(k, c.now().Add(lifetime))); again != id {
		t.Errorf("Request of the same call = %s; want the pending %s", again, id)
	}
	// Another call: another request.
	other := mustRequest(t, a, request(key(`{"table":"orders"}`), c.now().Add(lifetime)))
	if other == id {
		t.Error("Request of other arguments reused the request")
	}

	e, err := a.Get(ctx, strings.ToUpper(strings.TrimPrefix(id, "ap-")))
	if err != nil {
		t.Fatalf("Get of the id typed in upper case without ap-: %v", err)
	}
	if e.ID != id || e.Status != audit.StatusPending || e.Workspace != "prod" || e.User != "ada" || e.Tool != "drop_table" ||
		e.Exposed != "db__drop_table" || e.Upstream != "db" || e.ArgsHash != k.Arguments || string(e.Arguments) != `{"table":"users"}` ||
		e.Policy != "approve-drops" || e.Reason == "" || e.Approvers == nil || len(e.Approvers) != 0 || e.Verdict == "" ||
		!e.Created.Equal(c.now()) || !e.Expires.Equal(c.now().Add(lifetime)) || !e.DecidedAt.IsZero() {
		t.Errorf("Get(%s) = %+v", id, e)
	}

	// Pending ones only, newest first; with All, every one.
	c.advance(time.Minute)
	third := mustRequest(t, a, request(key(`{"table":"t3"}`), c.now().Add(lifetime)))
	if err := a.Deny(ctx, third, approver("bob"), "no"); err != nil {
		t.Fatal(err)
	}
	ids := func(f audit.ListFilter) []string {
		es, err := a.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	if got := ids(audit.ListFilter{}); len(got) != 2 || !slices.Contains(got, id) || !slices.Contains(got, other) {
		t.Errorf("List = %v; want the two pending %s and %s", got, id, other)
	}
	if got := ids(audit.ListFilter{All: true}); len(got) != 3 || got[0] != third {
		t.Errorf("List(All) = %v; want 3, %s first", got, third)
	}
	if got := ids(audit.ListFilter{Workspace: "dev", All: true}); len(got) != 0 {
		t.Errorf("List(dev) = %v; want none", got)
	}

	// Once the request lapsed, the call makes a new one; the old one
	// reads as expired and is no longer listed as pending.
	c.advance(lifetime)
	renewed := mustRequest(t, a, request(k, c.now().Add(lifetime)))
	if renewed == id {
		t.Error("Request after the pending one expired reused it")
	}
	if s := status(t, a, id); s != audit.StatusExpired {
		t.Errorf("status of the lapsed request = %s; want expired", s)
	}
	if got := ids(audit.ListFilter{}); !slices.Equal(got, []string{renewed}) {
		t.Errorf("List after expiry = %v; want only %s", got, renewed)
	}
}

func TestApprovalClaim(t *testing.T) {
	c := newClock()
	a := openApprovals(t, filepath.Join(testdir.New(t), "v.db"), c)
	ctx := t.Context()
	k := key(`{"table":"users"}`)
	id := mustRequest(t, a, request(k, c.now().Add(10*time.Minute)))

	// Pending: nothing to claim.
	if _, ok, err := a.Claim(ctx, k); ok || err != nil {
		t.Fatalf("Claim of a pending request = %v, %v; want nothing", ok, err)
	}
	c.advance(time.Minute)
	decided := c.now()
	if err := a.Approve(ctx, id, approver("bob")); err != nil {
		t.Fatal(err)
	}
	e, _ := a.Get(ctx, id)
	if e.Status != audit.StatusApproved || e.DecidedBy != "bob" || !e.DecidedAt.Equal(decided) || !e.Expires.Equal(decided.Add(lifetime)) {
		t.Errorf("after Approve: %+v; want approved by bob, expiring a lifetime after", e)
	}

	// Any other call finds nothing.
	changed := func(change func(*policy.ApprovalKey)) policy.ApprovalKey {
		o := k
		change(&o)
		return o
	}
	for name, other := range map[string]policy.ApprovalKey{
		"arguments":    key(`{"table":"orders"}`),
		"user":         changed(func(o *policy.ApprovalKey) { o.User = "bob" }),
		"tool":         changed(func(o *policy.ApprovalKey) { o.Tool = "truncate" }),
		"workspace":    changed(func(o *policy.ApprovalKey) { o.Workspace = "dev" }),
		"upstream":     changed(func(o *policy.ApprovalKey) { o.Upstream, o.Exposed = "db2", "db2__drop_table" }),
		"exposed name": changed(func(o *policy.ApprovalKey) { o.Exposed = "drop_table" }),
		"policy":       changed(func(o *policy.ApprovalKey) { o.Policy = "another-policy" }),
	} {
		if _, ok, err := a.Claim(ctx, other); ok || err != nil {
			t.Errorf("Claim with other %s = %v, %v; want nothing", name, ok, err)
		}
	}
	// Arguments in another order are the same call.
	same := key(`{ "table" : "users" }`)
	c.advance(time.Minute)
	got, ok, err := a.Claim(ctx, same)
	if !ok || err != nil || got.ID != id || got.By != "bob" || !got.At.Equal(decided) {
		t.Fatalf("Claim = %+v, %v, %v; want %s by bob at %v", got, ok, err, id, decided)
	}
	// Once.
	if _, ok, err := a.Claim(ctx, k); ok || err != nil {
		t.Errorf("second Claim = %v, %v; want nothing", ok, err)
	}
	e, _ = a.Get(ctx, id)
	if e.Status != audit.StatusUsed || !e.UsedAt.Equal(c.now()) {
		t.Errorf("after Claim: status %s, used at %v; want used at %v", e.Status, e.UsedAt, c.now())
	}
	if err := a.Approve(ctx, id, approver("carol")); !errors.Is(err, audit.ErrApprovalNotPending) {
		t.Errorf("Approve of a used request = %v; want ErrApprovalNotPending", err)
	}
}

func TestApprovalExpiry(t *testing.T) {
	c := newClock()
	a := openApprovals(t, filepath.Join(testdir.New(t), "v.db"), c)
	ctx := t.Context()

	// A pending request lapses: it can be neither approved nor denied.
	k := key(`{"table":"a"}`)
	lapsed := mustRequest(t, a, request(k, c.now().Add(time.Minute)))
	c.advance(time.Minute)
	if err := a.Approve(ctx, lapsed, approver("bob")); !errors.Is(err, audit.ErrApprovalExpired) || !strings.Contains(err.Error(), lapsed) {
		t.Errorf("Approve of a lapsed request = %v; want ErrApprovalExpired naming it", err)
	}
	if err := a.Deny(ctx, lapsed, approver("bob"), ""); !errors.Is(err, audit.ErrApprovalExpired) {
		t.Errorf("Deny of a lapsed request = %v; want ErrApprovalExpired", err)
	}

	// An approval not used within the lifetime lapses too.
	k = key(`{"table":"b"}`)
	id := mustRequest(t, a, request(k, c.now().Add(time.Minute)))
	if err := a.Approve(ctx, id, approver("bob")); err != nil {
		t.Fatal(err)
	}
	c.advance(lifetime - time.Second)
	if s := status(t, a, id); s != audit.StatusApproved {
		t.Errorf("status within the lifetime = %s; want approved", s)
	}
	c.advance(time.Second)
	if _, ok, err := a.Claim(ctx, k); ok || err != nil {
		t.Errorf("Claim after the lifetime = %v, %v; want nothing", ok, err)
	}
	if s := status(t, a, id); s != audit.StatusExpired {
		t.Errorf("status after the lifetime = %s; want expired", s)
	}
}

func TestApprovalDecisionRules(t *testing.T) {
	c := newClock()
	a := openApprovals(t, filepath.Join(testdir.New(t), "v.db"), c)
	ctx := t.Context()
	n := 0
	fresh := func(approvers ...string) string {
		n++
		return mustRequest(t, a, request(key(`{"n":`+strconv.Itoa(n)+`}`), c.now().Add(time.Hour), approvers...))
	}
	for _, tc := range []struct {
		name      string
		approvers []string
		deny      bool
		by        audit.Approver
		want      error
	}{
		{"anyone approves", nil, false, approver("bob"), nil},
		{"the caller may not approve", nil, false, approver("ada"), audit.ErrNotApprover},
		{"nobody named", nil, false, approver(""), audit.ErrNotApprover},
		{"an identity not established", nil, false, audit.Approver{Name: "bob"}, audit.ErrNotApprover},
		{"a listed approver", []string{"carol", "dave"}, false, approver("dave"), nil},
		{"an approver not listed", []string{"carol"}, false, approver("bob"), audit.ErrNotApprover},
		{"the caller, listed", []string{"ada"}, false, approver("ada"), nil},
		{"the caller denies", nil, true, approver("ada"), nil},
		{"the caller denies, approvers listed", []string{"carol"}, true, approver("ada"), nil},
		{"anyone denies", nil, true, approver("bob"), nil},
		{"a listed approver denies", []string{"carol"}, true, approver("carol"), nil},
		{"a stranger denies, approvers listed", []string{"carol"}, true, approver("bob"), audit.ErrNotApprover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fresh(tc.approvers...)
			var err error
			want := audit.StatusApproved
			if tc.deny {
				err, want = a.Deny(ctx, id, tc.by, "not now"), audit.StatusDenied
			} else {
				err = a.Approve(ctx, id, tc.by)
			}
			if tc.want != nil {
				want = audit.StatusPending
			}
			if !errors.Is(err, tc.want) || (err != nil && !strings.Contains(err.Error(), id)) {
				t.Errorf("decision by %q = %v; want %v naming %s", tc.by.Name, err, tc.want, id)
			}
			e, _ := a.Get(ctx, id)
			if e.Status != want {
				t.Errorf("status = %s; want %s", e.Status, want)
			}
			if tc.want == nil && (e.DecidedBy != tc.by.Name || e.DecidedAt.IsZero()) {
				t.Errorf("decided by %q at %v; want %q", e.DecidedBy, e.DecidedAt, tc.by.Name)
			}
			if tc.deny && tc.want == nil && e.DecisionReason != "not now" {
				t.Errorf("decision reason = %q; want %q", e.DecisionReason, "not now")
			}
		})
	}

	// A denied request stays denied, and finds no claim.
	id := fresh()
	if err := a.Deny(ctx, id, approver("bob"), ""); err != nil {
		t.Fatal(err)
	}
	if err := a.Approve(ctx, id, approver("carol")); !errors.Is(err, audit.ErrApprovalNotPending) || !strings.Contains(err.Error(), "denied by bob") {
		t.Errorf("Approve of a denied request = %v; want ErrApprovalNotPending saying who denied", err)
	}
	if err := a.Deny(ctx, id, approver("carol"), ""); !errors.Is(err, audit.ErrApprovalNotPending) {
		t.Errorf("Deny of a denied request = %v; want ErrApprovalNotPending", err)
	}
	if _, ok, _ := a.Claim(ctx, key(`{"n":`+strconv.Itoa(n)+`}`)); ok {
		t.Error("Claim found a denied request")
	}
	id = fresh()
	if err := a.Approve(ctx, id, approver("bob")); err != nil {
		t.Fatal(err)
	}
	if err := a.Approve(ctx, id, approver("carol")); !errors.Is(err, audit.ErrApprovalNotPending) {
		t.Errorf("second Approve = %v; want ErrApprovalNotPending", err)
	}
	for _, f := range []func() error{
		func() error { return a.Approve(ctx, "ap-nosuchthing", approver("bob")) },
		func() error { return a.Deny(ctx, "ap-nosuchthing", approver("bob"), "") },
		func() error { _, err := a.Get(ctx, "ap-nosuchthing"); return err },
	} {
		if err := f(); !errors.Is(err, audit.ErrApprovalNotFound) || !strings.Contains(err.Error(), "ap-nosuchthing") {
			t.Errorf("unknown id: %v; want ErrApprovalNotFound naming it", err)
		}
	}
}

// Two processes' stores on one file, claiming at once: each approval runs
// exactly one call.
func TestApprovalConcurrentClaims(t *testing.T) {
	file := filepath.Join(testdir.New(t), "v.db")
	stores := []*audit.Approvals{openApprovals(t, file, nil), openApprovals(t, file, nil)}
	ctx := t.Context()
	k := key(`{"table":"users"}`)
	const approvals, claimers = 5, 24
	want := map[string]bool{}
	for range approvals {
		id := mustRequest(t, stores[0], request(k, time.Now().Add(time.Hour)))
		if err := stores[1].Approve(ctx, id, approver("bob")); err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	var mu sync.Mutex
	got := map[string]int{}
	var failures atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() {
			<-start
			ap, ok, err := stores[i%2].Claim(ctx, k)
			if err != nil {
				t.Errorf("Claim: %v", err)
				failures.Add(1)
				return
			}
			if ok {
				mu.Lock()
				got[ap.ID]++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(got) != approvals {
		t.Errorf("%d approvals claimed; want all %d", len(got), approvals)
	}
	for id, n := range got {
		if n != 1 || !want[id] {
			t.Errorf("approval %s claimed %d times; want once", id, n)
		}
	}
}

// The gateway and the CLI see a closed store as closed.
func TestApprovalsClosed(t *testing.T) {
	a, err := audit.OpenApprovals(filepath.Join(testdir.New(t), "v.db"), lifetime)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Request(t.Context(), request(key(`{}`), time.Now().Add(time.Hour))); !errors.Is(err, policy.ErrApprovalsClosed) {
		t.Errorf("Request after Close = %v", err)
	}
	if _, _, err := a.Claim(t.Context(), key(`{}`)); !errors.Is(err, policy.ErrApprovalsClosed) {
		t.Errorf("Claim after Close = %v", err)
	}
	if _, err := audit.OpenApprovals(filepath.Join(testdir.New(t), "v.db"), 0); err == nil {
		t.Error("OpenApprovals with no lifetime succeeded")
	}
}

// A record's approval part is kept and read back with the state of the
// call now; Get adds the request as it stands now; stats count both.
func TestRecordApproval(t *testing.T) {
	l, file := newLog(t, audit.Options{})
	a := openApprovals(t, file, nil)
	ctx := t.Context()
	k := key(`{"table":"users"}`)
	parked := record(newID(), "prod", `{"table":"users"}`)
	parked.Verdict.Decision = policy.DecisionRequireApproval
	parked.Upstream = policy.UpstreamNotRun
	r := request(k, time.Now().Add(time.Hour))
	r.Verdict = parked.ID
	id := mustRequest(t, a, r)
	parked.Approval = policy.ApprovalOutcome{State: policy.ApprovalPending, Via: policy.ApprovalViaOutOfBand, ID: id}
	if err := a.Approve(ctx, id, approver("bob")); err != nil {
		t.Fatal(err)
	}
	ap, ok, err := a.Claim(ctx, k)
	if !ok || err != nil {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	retry := record(newID(), "prod", `{"table":"users"}`)
	retry.Verdict.Decision = policy.DecisionRequireApproval
	retry.Approval = policy.ApprovalOutcome{State: policy.ApprovalApproved, Via: policy.ApprovalViaOutOfBand, ID: ap.ID, By: ap.By}
	plain := record(newID(), "prod", `{}`)
	declined := record(newID(), "dev", `{}`)
	declined.Approval = policy.ApprovalOutcome{State: policy.ApprovalDeclined, Via: policy.ApprovalViaClient, By: "ada"}
	for _, rec := range []policy.Record{parked, retry, plain, declined} {
		if err := l.Record(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	es := list(t, file, audit.Filter{})
	wants := []*audit.EntryApproval{
		{State: "pending", Via: "out_of_band", ID: id, Now: "approved"}, // its retry ran on the approval since
		{State: "approved", Via: "out_of_band", ID: id, By: "bob", Now: "approved"},
		nil,
		{State: "declined", Via: "client", By: "ada", Now: "declined"},
	}
	for i, e := range es {
		if (e.Approval == nil) != (wants[i] == nil) || (e.Approval != nil && *e.Approval != *wants[i]) {
			t.Errorf("entry %d approval = %+v; want %+v", i, e.Approval, wants[i])
		}
	}
	b, _ := json.Marshal(es[2])
	if strings.Contains(string(b), `"approval"`) {
		t.Errorf("a call not held has an approval in JSON: %s", b)
	}

	rd, err := audit.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	e, err := rd.Get(ctx, parked.ID)
	if err != nil {
		t.Fatal(err)
	}
	req := e.Approval.Request
	if req == nil || req.ID != id || req.Status != audit.StatusUsed || req.DecidedBy != "bob" || req.Verdict != parked.ID || req.UsedVerdict != retry.ID {
		t.Errorf("Get(parked).Approval.Request = %+v; want %s used, decided by bob, used by %s", req, id, retry.ID)
	}
	if e, _ := rd.Get(ctx, declined.ID); e.Approval == nil || e.Approval.Request != nil {
		t.Errorf("Get(declined in client).Approval = %+v; want no request", e.Approval)
	}

	st, err := rd.Stats(ctx, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The parked call and the retry that ran on its approval are two
	// calls, both approved now.
	if want := (audit.HeldCounts{Approved: 2, Declined: 1}); st.Held != want {
		t.Errorf("Stats.Held = %+v; want %+v", st.Held, want)
	}
	if want := (audit.RequestCounts{Used: 1}); st.Requests != want {
		t.Errorf("Stats.Requests = %+v; want %+v", st.Requests, want)
	}
	if st, _ := rd.Stats(ctx, time.Time{}, "dev"); st.Held != (audit.HeldCounts{Declined: 1}) || st.Requests != (audit.RequestCounts{}) {
		t.Errorf("Stats(dev) held %+v, requests %+v; want one declined, no request", st.Held, st.Requests)
	}
}

// A log of schema version 1 is read as it is, and upgraded in place when a
// gateway or the approvals open it: its records stay.
func TestMigrateVersion1(t *testing.T) {
	file := filepath.Join(testdir.New(t), "v1.db")
	v1, err := os.ReadFile("migrations/0001_verdicts.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", file)
	if err != nil {
		t.Fatal(err)
	}
	oldID := newID()
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		string(v1),
		`INSERT INTO schema_migrations VALUES (1, '0001_verdicts.sql', '2025-01-01T00:00:00.000000Z')`,
		`INSERT INTO verdicts (id, time, pid, workspace, user, client, session, upstream, tool, exposed, arguments, arguments_form,
			decision, policy, layer, reason, message, results, warnings, redactions, findings, risk, judge_asked, judge_model,
			judge_prompt_version, judge_latency_ms, judge_cached, judge_error, fail_open, policy_version, upstream_outcome,
			upstream_error, upstream_latency_ms, overhead_ms)
			VALUES ('` + oldID + `', '` + time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") + `', 1, 'w', 'ada', 'c', '', 'up', 'echo', 'up__echo', '{}', 'masked',
			'require_approval', 'p', 'global', 'r', 'm', '[]', '[]', '[]', '[]', 0, 0, '', '', NULL, 0, '', 0, 'v1', 'not_run', '', NULL, 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	// Read as it is.
	es := list(t, file, audit.Filter{})
	if len(es) != 1 || es[0].ID != oldID || es[0].Approval != nil {
		t.Fatalf("v1 log read back as %+v; want its one record, not held", es)
	}
	rd, err := audit.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := rd.Stats(t.Context(), time.Time{}, ""); err != nil || st.Calls != 1 || st.Approval != 1 {
		t.Errorf("Stats of a v1 log = %+v, %v", st, err)
	}
	if e, err := rd.Get(t.Context(), oldID); err != nil || e.Approval != nil {
		t.Errorf("Get of a v1 log = %+v, %v", e, err)
	}
	rd.Close()
	if st, err := audit.Check(t.Context(), file); err != nil || st.Version != 1 || st.Records != 1 {
		t.Errorf("Check of a v1 log = %+v, %v", st, err)
	}

	// Upgraded by the approvals, then written by a log.
	a := openApprovals(t, file, nil)
	if _, err := a.List(t.Context(), audit.ListFilter{All: true}); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(file, audit.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	held := record(newID(), "w", `{}`)
	held.Approval = policy.ApprovalOutcome{State: policy.ApprovalUnavailable}
	if err := l.Record(held); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, err := audit.Check(t.Context(), file); err != nil || st.Version != 2 || st.Records != 2 {
		t.Errorf("Check after the upgrade = %+v, %v; want version 2, 2 records", st, err)
	}
	es = list(t, file, audit.Filter{})
	if len(es) != 2 || es[0].ID != oldID || es[0].Approval != nil || es[0].Decision != "require_approval" ||
		es[1].Approval == nil || es[1].Approval.State != "unavailable" {
		t.Errorf("after the upgrade the log reads %+v; want the old record kept and the new one held", es)
	}
}

// approver is name as an established approver (as the CLI establishes the
// OS user).
func approver(name string) audit.Approver {
	return audit.Approver{Name: name, Via: audit.ApproverViaOS}
}

// OSApprover is the OS user running the process, established as such.
func TestOSApprover(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skip("no OS user:", err)
	}
	a, err := audit.OSApprover()
	if err != nil || a.Name != me.Username || a.Via != audit.ApproverViaOS {
		t.Errorf("OSApprover() = %+v, %v; want %s via %s", a, err, me.Username, audit.ApproverViaOS)
	}
}

// A call parked pending out of band reads, in logs and stats, as what
// became of its request since: denied, expired, or still pending.
func TestParkedCallShowsItsRequestNow(t *testing.T) {
	l, file := newLog(t, audit.Options{})
	c := newClock()
	c.advance(-2 * time.Hour) // the requests were made two hours ago
	a := openApprovals(t, file, c)
	ctx := t.Context()
	park := func(args string, expires time.Time) (policy.Record, string) {
		rec := record(newID(), "prod", args)
		rec.Verdict.Decision = policy.DecisionRequireApproval
		rec.Upstream = policy.UpstreamNotRun
		r := request(key(args), expires)
		r.Verdict = rec.ID
		id := mustRequest(t, a, r)
		rec.Approval = policy.ApprovalOutcome{State: policy.ApprovalPending, Via: policy.ApprovalViaOutOfBand, ID: id}
		return rec, id
	}
	denied, deniedID := park(`{"n":1}`, time.Now().Add(time.Hour))
	lapsed, _ := park(`{"n":2}`, time.Now().Add(-time.Hour))
	waiting, _ := park(`{"n":3}`, time.Now().Add(time.Hour))
	if err := a.Deny(ctx, deniedID, approver("bob"), "not today"); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []policy.Record{denied, lapsed, waiting} {
		if err := l.Record(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	es := list(t, file, audit.Filter{})
	for i, want := range []string{"declined", "expired", "pending"} {
		if got := es[i].Approval; got == nil || got.State != "pending" || got.Now != want {
			t.Errorf("entry %d approval = %+v; want parked pending, now %s", i, got, want)
		}
	}
	rd, err := audit.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if e, err := rd.Get(ctx, denied.ID); err != nil || e.Approval.Now != "declined" {
		t.Errorf("Get(denied) = %+v, %v; want now declined", e.Approval, err)
	}
	st, err := rd.Stats(ctx, time.Time{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := (audit.HeldCounts{Declined: 1, Expired: 1, Pending: 1}); st.Held != want {
		t.Errorf("Stats.Held = %+v; want %+v", st.Held, want)
	}
}

// Approvals follow the database: after its file is removed (and the
// verdict log creates it again), a new request is kept in the new file,
// can be approved there, and its approval is claimed — never kept in a
// deleted file until a restart (issue 18, 3). On Windows the file cannot
// be removed while the store holds it (RemoveHeld), and the same holds of
// the file as it stays.
func TestApprovalsFollowARemovedDatabase(t *testing.T) {
	file := filepath.Join(testdir.New(t), "gatehouse.db")
	store, err := audit.OpenApprovals(file, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	key := policy.ApprovalKey{Workspace: "w", User: "ada", Upstream: "db", Tool: "drop", Exposed: "db__drop", Policy: "p", Arguments: policy.HashArguments([]byte(`{"t":"users"}`))}
	if _, err := store.Request(t.Context(), policy.ApprovalRequest{Key: key, Arguments: `{"t":"users"}`, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if audit.RemoveHeld(t, file) {
		_ = os.Remove(file + "-wal")
		_ = os.Remove(file + "-shm")
	}
	id, err := store.Request(t.Context(), policy.ApprovalRequest{Key: key, Arguments: `{"t":"users"}`, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatalf("request after the file was removed: %v", err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the database was not created again: %v", err)
	}
	// Another process (the CLI) sees it in the file as it is now.
	cli, err := audit.OpenApprovals(file, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.Approve(t.Context(), id, audit.Approver{Name: "bob", Via: audit.ApproverViaOS}); err != nil {
		t.Fatalf("approve the new request from the file as it is now: %v", err)
	}
	if _, ok, err := store.Claim(t.Context(), key); err != nil || !ok {
		t.Errorf("claim after the approval: ok %v, err %v; want the approval", ok, err)
	}
}

// RequestBounded parks at most max requests pending per workspace and
// user, counted in the database (another store on the same file, as after
// a restart, sees the same count); the same call still pending is reused
// at the bound; another user, another workspace, and requests decided or
// expired do not count.
func TestApprovalRequestBounded(t *testing.T) {
	c := newClock()
	file := filepath.Join(testdir.New(t), "v.db")
	a := openApprovals(t, file, c)
	ctx := t.Context()
	const max = 3
	park := func(a *audit.Approvals, k policy.ApprovalKey) (string, bool) {
		t.Helper()
		id, ok, err := a.RequestBounded(ctx, request(k, c.now().Add(lifetime)), max)
		if err != nil {
			t.Fatal(err)
		}
		return id, ok
	}
	var first string
	for n := range max {
		id, ok := park(a, key(`{"n":`+strconv.Itoa(n)+`}`))
		if !ok {
			t.Fatalf("request %d of %d refused", n+1, max)
		}
		if n == 0 {
			first = id
		}
	}
	if id, ok := park(a, key(`{"n":99}`)); ok || id != "" {
		t.Errorf("RequestBounded beyond %d = %q, %v; want refused", max, id, ok)
	}
	if id, ok := park(a, key(`{"n":0}`)); !ok || id != first {
		t.Errorf("the same call at the bound = %q, %v; want %s reused", id, ok, first)
	}
	restarted := openApprovals(t, file, c)
	if _, ok := park(restarted, key(`{"n":98}`)); ok {
		t.Error("another store on the same file parked beyond the bound")
	}
	other := key(`{"n":99}`)
	other.User = "bob"
	if _, ok := park(a, other); !ok {
		t.Error("another user's request refused")
	}
	other = key(`{"n":99}`)
	other.Workspace = "dev"
	if _, ok := park(a, other); !ok {
		t.Error("another workspace's request refused")
	}
	if err := a.Deny(ctx, first, audit.Approver{Name: "boss", Via: audit.ApproverViaOS}, "no"); err != nil {
		t.Fatal(err)
	}
	if _, ok := park(a, key(`{"n":99}`)); !ok {
		t.Error("refused after one request was decided")
	}
	c.advance(lifetime + time.Second)
	for n := range max {
		if _, ok := park(a, key(`{"n":`+strconv.Itoa(100+n)+`}`)); !ok {
			t.Errorf("refused after the pending requests expired (request %d)", n+1)
		}
	}
}
