package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Reader answers queries on a verdict log, on connections of its own: it
// never blocks the writers.
type Reader struct {
	db   *sql.DB
	file string
	// version is the schema version of the file: a log not upgraded yet
	// has no approval columns nor approvals table.
	version int
	// cols are the columns scanEntry reads, in its order.
	cols string
}

// OpenReader opens the verdict log at file for reading. It fails with
// ErrNoLog when there is none yet.
func OpenReader(file string) (*Reader, error) {
	return OpenReaderContext(context.Background(), file)
}

// OpenReaderContext is OpenReader bounded by ctx.
func OpenReaderContext(ctx context.Context, file string) (*Reader, error) {
	db, err := openReader(ctx, file)
	if err != nil {
		return nil, err
	}
	v, err := schemaVersion(ctx, db)
	if err != nil {
		db.Close()
		return nil, describe(file, err)
	}
	r := &Reader{db: db, file: file, version: v, cols: `seq, ` + columns + `, ` + currentApprovalSQL}
	if !r.hasApprovals() {
		r.cols = `seq, ` + baseColumns + `, '', '', '', '', ''`
	}
	return r, nil
}

// currentApprovalSQL is, in a query on verdicts, the approval state of the
// record's call now (policy.ApprovalState): a call parked pending for an
// out-of-band request takes what became of the request since — approved
// (also once its retry ran on it), declined (denied) or expired (nobody
// decided in time, or the approval lapsed unused) — and stays pending
// while the request does, or when the request is gone. Its one parameter
// is now.
const currentApprovalSQL = `CASE WHEN approval_state = 'pending' AND approval_id != '' THEN coalesce((
		SELECT CASE
			WHEN a.status IN ('pending', 'approved') AND a.expires <= ? THEN 'expired'
			WHEN a.status IN ('approved', 'used') THEN 'approved'
			WHEN a.status = 'denied' THEN 'declined'
			ELSE 'pending' END
		FROM approvals a WHERE a.id = verdicts.approval_id), 'pending')
	ELSE approval_state END`

// colArgs are the parameters of r.cols, which come before a query's own.
func (r *Reader) colArgs(now time.Time, args ...any) []any {
	if !r.hasApprovals() {
		return args
	}
	return append([]any{formatTime(now)}, args...)
}

// hasApprovals says whether the log has the approval columns and the
// approvals table (schema version 2 and later).
func (r *Reader) hasApprovals() bool { return r.version >= 2 }

// Close closes the reader.
func (r *Reader) Close() error { return r.db.Close() }

// Entry is one verdict record as read back. Its JSON form is what
// `gatehouse logs --json` prints, one per line; the field names are stable.
type Entry struct {
	// Seq orders records by when they were written, across processes.
	Seq       int64     `json:"seq"`
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	PID       int       `json:"pid"`
	Workspace string    `json:"workspace"`
	User      string    `json:"user"`
	Client    string    `json:"client"`
	Session   string    `json:"session,omitempty"`
	Upstream  string    `json:"upstream"`
	Tool      string    `json:"tool"`
	Exposed   string    `json:"exposed"`
	// Arguments are as ArgumentsForm says: the masked JSON object, a
	// "sha256:…" string, or absent.
	Arguments     json.RawMessage `json:"arguments,omitempty"`
	ArgumentsForm string          `json:"arguments_form"`
	Decision      string          `json:"decision"`
	Policy        string          `json:"policy,omitempty"`
	Layer         string          `json:"layer,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Message       string          `json:"message,omitempty"`
	Results       []Result        `json:"results"`
	Warnings      []Warning       `json:"warnings"`
	Redactions    []Redaction     `json:"redactions"`
	Findings      []Finding       `json:"findings"`
	Risk          float64         `json:"risk"`
	Judge         Judge           `json:"judge"`
	PolicyVersion string          `json:"policy_version"`
	// UpstreamOutcome is not_run, ok, tool_error, transport_error or
	// cancelled.
	UpstreamOutcome   string   `json:"upstream_outcome"`
	UpstreamError     string   `json:"upstream_error,omitempty"`
	UpstreamLatencyMS *float64 `json:"upstream_latency_ms"`
	OverheadMS        float64  `json:"overhead_ms"`
	// Approval is what became of a call held for approval; nil when the
	// call was not held.
	Approval *EntryApproval `json:"approval,omitempty"`
}

// EntryApproval is the approval part of a record.
type EntryApproval struct {
	// State is approved, declined, cancelled, expired, pending or
	// unavailable (policy.ApprovalState).
	State string `json:"state"`
	// Via is client or out_of_band.
	Via string `json:"via,omitempty"`
	// ID is the out-of-band request's id.
	ID string `json:"id,omitempty"`
	// By is who approved or denied.
	By string `json:"by,omitempty"`
	// Now is the call's approval state now: State, except for a call
	// parked pending out of band, whose request may have been approved,
	// denied or have expired since (see currentApprovalSQL).
	Now string `json:"now"`
	// Request is the out-of-band request ID names as it stands now: Get
	// fills it, List does not. Nil when there is none (or it is gone).
	Request *ApprovalEntry `json:"request,omitempty"`
}

// Judge is what happened with the LLM judge for a call.
type Judge struct {
	Asked         bool     `json:"asked"`
	Model         string   `json:"model,omitempty"`
	PromptVersion string   `json:"prompt_version,omitempty"`
	LatencyMS     *float64 `json:"latency_ms"`
	Cached        bool     `json:"cached"`
	Error         string   `json:"error,omitempty"`
	FailOpen      bool     `json:"fail_open"`
}

// Filter selects records. Empty fields select everything.
type Filter struct {
	Workspace string
	// Policy selects the records the policy fired in (see firedOutcomes) or
	// decided.
	Policy   string
	Decision string
	User     string
	// Tool matches the upstream's name of the tool or the exposed one.
	Tool  string
	Since time.Time
	// After selects records written after the one with this Seq.
	After int64
	// Limit keeps the last Limit records; 0 keeps all.
	Limit int
}

// firedOutcomes are the outcomes with which a policy fired for a call: it
// matched and acted (allow, block, require_approval, warn, redact, a rate
// limit counted or exceeded), or, judged, found a violation or asked for
// approval. A policy that complied, was not judged, or could not be judged
// did not fire.
var firedOutcomes = []policy.Outcome{
	policy.OutcomeAllow, policy.OutcomeBlock, policy.OutcomeApproval, policy.OutcomeWarn, policy.OutcomeRedact,
	policy.OutcomeCounted, policy.OutcomeRateExceeded, policy.OutcomeViolate, policy.OutcomeNeedsApproval,
}

// firedSQL is firedOutcomes as an SQL list.
var firedSQL = func() string {
	quoted := make([]string, len(firedOutcomes))
	for i, o := range firedOutcomes {
		quoted[i] = "'" + string(o) + "'"
	}
	return "(" + strings.Join(quoted, ",") + ")"
}()

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if f.Workspace != "" {
		add("workspace = ?", f.Workspace)
	}
	if f.Decision != "" {
		add("decision = ?", f.Decision)
	}
	if f.User != "" {
		add("user = ?", f.User)
	}
	if f.Tool != "" {
		add("(tool = ? OR exposed = ?)", f.Tool, f.Tool)
	}
	if f.Policy != "" {
		add(`(policy = ? OR EXISTS (SELECT 1 FROM json_each(verdicts.results) r
			WHERE r.value ->> 'policy' = ? AND r.value ->> 'outcome' IN `+firedSQL+`))`, f.Policy, f.Policy)
	}
	if !f.Since.IsZero() {
		add("time >= ?", formatTime(f.Since))
	}
	if f.After > 0 {
		add("seq > ?", f.After)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// List returns the records f selects, oldest first.
func (r *Reader) List(ctx context.Context, f Filter) ([]Entry, error) {
	where, args := f.where()
	q := `SELECT ` + r.cols + ` FROM verdicts` + where + ` ORDER BY seq DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := r.db.QueryContext(ctx, q, r.colArgs(time.Now(), args...)...)
	if err != nil {
		return nil, describe(r.file, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, describe(r.file, err)
	}
	slices.Reverse(out)
	return out, nil
}

// Get returns the record with id; a unique prefix of an id will do.
func (r *Reader) Get(ctx context.Context, id string) (Entry, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	if id == "" {
		return Entry{}, errors.New("no verdict id given")
	}
	rows, err := r.db.QueryContext(ctx, `SELECT `+r.cols+` FROM verdicts WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`, r.colArgs(time.Now(), id, id+"\U0010FFFF")...)
	if err != nil {
		return Entry{}, describe(r.file, err)
	}
	defer rows.Close()
	var found []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return Entry{}, err
		}
		found = append(found, e)
	}
	if err := rows.Err(); err != nil {
		return Entry{}, describe(r.file, err)
	}
	switch {
	case len(found) == 0:
		return Entry{}, fmt.Errorf("no verdict %q in %s", id, r.file)
	case len(found) > 1 && found[0].ID != id:
		return Entry{}, fmt.Errorf("%q is the start of more than one verdict id; give more of it", id)
	}
	e := found[0]
	if a := e.Approval; a != nil && a.ID != "" && r.hasApprovals() {
		req, err := getApproval(ctx, r.db, a.ID, time.Now())
		switch {
		case err == nil:
			a.Request = &req
		case !errors.Is(err, ErrApprovalNotFound):
			return e, describe(r.file, err)
		}
	}
	return e, nil
}

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	var t string
	var args sql.NullString
	var results, warnings, redactions, findings string
	var approval EntryApproval
	err := rows.Scan(&e.Seq, &e.ID, &t, &e.PID, &e.Workspace, &e.User, &e.Client, &e.Session, &e.Upstream, &e.Tool, &e.Exposed,
		&args, &e.ArgumentsForm, &e.Decision, &e.Policy, &e.Layer, &e.Reason, &e.Message,
		&results, &warnings, &redactions, &findings, &e.Risk,
		&e.Judge.Asked, &e.Judge.Model, &e.Judge.PromptVersion, &e.Judge.LatencyMS, &e.Judge.Cached, &e.Judge.Error, &e.Judge.FailOpen,
		&e.PolicyVersion, &e.UpstreamOutcome, &e.UpstreamError, &e.UpstreamLatencyMS, &e.OverheadMS,
		&approval.State, &approval.Via, &approval.ID, &approval.By, &approval.Now)
	if err != nil {
		return e, err
	}
	if approval.State != "" {
		e.Approval = &approval
	}
	e.Time = parseTime(t)
	if args.Valid {
		if e.ArgumentsForm == "masked" && json.Valid([]byte(args.String)) {
			e.Arguments = json.RawMessage(args.String)
		} else {
			e.Arguments, _ = json.Marshal(args.String)
		}
	}
	for _, c := range []struct {
		text string
		into any
	}{{results, &e.Results}, {warnings, &e.Warnings}, {redactions, &e.Redactions}, {findings, &e.Findings}} {
		if err := json.Unmarshal([]byte(c.text), c.into); err != nil {
			return e, fmt.Errorf("verdict %s: unreadable column: %w", e.ID, err)
		}
	}
	return e, nil
}

// Follow calls fn with every record f selects that is written after
// after (a Seq; 0 for all), polling every interval, until ctx ends or fn
// fails.
func (r *Reader) Follow(ctx context.Context, f Filter, after int64, interval time.Duration, fn func(Entry) error) error {
	f.Limit = 0
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		f.After = after
		es, err := r.List(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range es {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// LastSeq is the Seq of the last record written; 0 when there is none.
func (r *Reader) LastSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := r.db.QueryRowContext(ctx, `SELECT max(seq) FROM verdicts`).Scan(&n)
	return n.Int64, err
}
