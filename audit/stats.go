package audit

import (
	"context"
	"database/sql"
	"math"
	"time"
)

// Stats summarise the records of a window. Their JSON form is what
// `gatehouse stats --json` prints; the field names are stable.
type Stats struct {
	Since     time.Time `json:"since"`
	Workspace string    `json:"workspace,omitempty"`
	Calls     int       `json:"calls"`
	Allowed   int       `json:"allowed"`
	Blocked   int       `json:"blocked"`
	Approval  int       `json:"approval_required"`
	// Violations are the calls not allowed: blocked or sent for approval.
	Violations int `json:"violations"`
	// FailOpen counts calls allowed although a non-strict plain-English
	// policy could not be judged.
	FailOpen int `json:"fail_open"`
	// JudgeFailures counts calls whose judge failed (fail-open or not).
	JudgeFailures int `json:"judge_failures"`
	// UpstreamErrors counts allowed calls the upstream failed: a tool
	// error or a transport error.
	UpstreamErrors int `json:"upstream_errors"`
	// Unknown counts calls forwarded whose end was never recorded: the
	// gateway was killed or crashed while they ran.
	Unknown int `json:"outcome_unknown"`
	// MostViolated are the deciding policies of the violations, most
	// first.
	MostViolated []Count `json:"most_violated"`
	ByUser       []Count `json:"violations_by_user"`
	ByTool       []Count `json:"violations_by_tool"`
	// Fired is how often each policy fired (see firedOutcomes), most first.
	Fired []PolicyCount `json:"fired"`
	// JudgeLatency is over the calls the judge was asked for (cached
	// answers included); nil when it was never asked.
	JudgeLatency *Latency `json:"judge_latency_ms"`
	// Overhead is the gateway's own time per call.
	Overhead *Latency `json:"overhead_ms"`
	// Held counts the calls held for approval by what became of them.
	Held HeldCounts `json:"held_for_approval"`
	// Requests counts the out-of-band approval requests made in the
	// window by their status now.
	Requests RequestCounts `json:"approval_requests"`
}

// HeldCounts count calls held for approval by their approval state now
// (see policy.ApprovalState): a call parked for an out-of-band request
// counts under what became of the request (see currentApprovalSQL).
type HeldCounts struct {
	Approved    int `json:"approved"`
	Declined    int `json:"declined"`
	Cancelled   int `json:"cancelled"`
	Expired     int `json:"expired"`
	Pending     int `json:"pending"`
	Unavailable int `json:"unavailable"`
}

// RequestCounts count out-of-band approval requests by status.
type RequestCounts struct {
	Pending  int `json:"pending"`
	Approved int `json:"approved"`
	Denied   int `json:"denied"`
	Used     int `json:"used"`
	Expired  int `json:"expired"`
}

// Count is a name and how many.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// PolicyCount is how often one policy fired.
type PolicyCount struct {
	Policy string `json:"policy"`
	Layer  string `json:"layer"`
	// Workspace is the workspace of a workspace-layer policy; "" for a
	// global one.
	Workspace string `json:"workspace,omitempty"`
	Count     int    `json:"count"`
}

// Latency is a distribution in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// topN is how many entries the "most" lists of Stats keep.
const topN = 10

// Stats summarises the records since the time given, of one workspace or
// ("") all.
func (r *Reader) Stats(ctx context.Context, since time.Time, workspace string) (Stats, error) {
	s := Stats{Since: since, Workspace: workspace}
	where, args := Filter{Since: since, Workspace: workspace}.where()
	and := where + andOrWhere(where)
	err := r.db.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum(decision = 'allow'), 0), coalesce(sum(decision = 'block'), 0), coalesce(sum(decision = 'require_approval'), 0),
		coalesce(sum(fail_open), 0), coalesce(sum(judge_error != ''), 0),
		coalesce(sum(upstream_outcome IN ('tool_error', 'transport_error')), 0),
		coalesce(sum(upstream_outcome = 'unknown'), 0)
		FROM verdicts`+where, args...).
		Scan(&s.Calls, &s.Allowed, &s.Blocked, &s.Approval, &s.FailOpen, &s.JudgeFailures, &s.UpstreamErrors, &s.Unknown)
	if err != nil {
		return s, describe(r.file, err)
	}
	s.Violations = s.Blocked + s.Approval
	violations := and + "decision != 'allow'"
	for _, q := range []struct {
		col  string
		into *[]Count
	}{{"policy", &s.MostViolated}, {"user", &s.ByUser}, {"exposed", &s.ByTool}} {
		if *q.into, err = r.counts(ctx, `SELECT `+q.col+`, count(*) AS n FROM verdicts`+violations+
			` GROUP BY `+q.col+` ORDER BY n DESC, `+q.col+` LIMIT ?`, append(args, topN)...); err != nil {
			return s, err
		}
	}
	if s.Fired, err = r.fired(ctx, where, args); err != nil {
		return s, err
	}
	if s.JudgeLatency, err = r.latency(ctx, `SELECT judge_latency_ms FROM verdicts`+and+`judge_latency_ms IS NOT NULL ORDER BY 1`, args); err != nil {
		return s, err
	}
	if s.Overhead, err = r.latency(ctx, `SELECT overhead_ms FROM verdicts`+where+` ORDER BY 1`, args); err != nil {
		return s, err
	}
	if !r.hasApprovals() {
		return s, nil
	}
	h := &s.Held
	err = r.db.QueryRowContext(ctx, `SELECT
		coalesce(sum(st = 'approved'), 0), coalesce(sum(st = 'declined'), 0),
		coalesce(sum(st = 'cancelled'), 0), coalesce(sum(st = 'expired'), 0),
		coalesce(sum(st = 'pending'), 0), coalesce(sum(st = 'unavailable'), 0)
		FROM (SELECT `+currentApprovalSQL+` AS st FROM verdicts`+and+`approval_state != '')`,
		append([]any{formatTime(time.Now())}, args...)...).
		Scan(&h.Approved, &h.Declined, &h.Cancelled, &h.Expired, &h.Pending, &h.Unavailable)
	if err != nil {
		return s, describe(r.file, err)
	}
	if s.Requests, err = requestCounts(ctx, r.db, since, workspace, time.Now()); err != nil {
		return s, describe(r.file, err)
	}
	return s, nil
}

// FireCounts is how often each policy fired since the time given, in one
// workspace or ("") all.
func (r *Reader) FireCounts(ctx context.Context, since time.Time, workspace string) ([]PolicyCount, error) {
	where, args := Filter{Since: since, Workspace: workspace}.where()
	return r.fired(ctx, where, args)
}

func (r *Reader) fired(ctx context.Context, where string, args []any) ([]PolicyCount, error) {
	// A workspace policy is told apart by its workspace: two workspaces
	// may each have one of a name.
	rows, err := r.db.QueryContext(ctx, `SELECT p.value ->> 'policy', p.value ->> 'layer',
		CASE WHEN p.value ->> 'layer' = 'workspace' THEN verdicts.workspace ELSE '' END, count(*)
		FROM verdicts, json_each(verdicts.results) p`+where+andOrWhere(where)+`p.value ->> 'outcome' IN `+firedSQL+`
		GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3`, args...)
	if err != nil {
		return nil, describe(r.file, err)
	}
	defer rows.Close()
	out := []PolicyCount{}
	for rows.Next() {
		var c PolicyCount
		if err := rows.Scan(&c.Policy, &c.Layer, &c.Workspace, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func andOrWhere(where string) string {
	if where == "" {
		return " WHERE "
	}
	return " AND "
}

func (r *Reader) counts(ctx context.Context, q string, args ...any) ([]Count, error) {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, describe(r.file, err)
	}
	defer rows.Close()
	out := []Count{}
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Name, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// latency reads a sorted column of milliseconds into its distribution.
func (r *Reader) latency(ctx context.Context, q string, args []any) (*Latency, error) {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, describe(r.file, err)
	}
	defer rows.Close()
	var xs []float64
	for rows.Next() {
		var x sql.NullFloat64
		if err := rows.Scan(&x); err != nil {
			return nil, err
		}
		xs = append(xs, x.Float64)
	}
	if err := rows.Err(); err != nil || len(xs) == 0 {
		return nil, err
	}
	return &Latency{N: len(xs), P50: quantile(xs, 0.50), P95: quantile(xs, 0.95), P99: quantile(xs, 0.99), Max: xs[len(xs)-1]}, nil
}

// quantile is the nearest-rank quantile q of sorted xs.
func quantile(xs []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}
