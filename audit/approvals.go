package audit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The errors of deciding an out-of-band approval request. They come
// wrapped with what was being done and the request's id.
var (
	ErrApprovalNotFound   = errors.New("no such approval request")
	ErrApprovalNotPending = errors.New("the approval request is not pending")
	ErrApprovalExpired    = errors.New("the approval request has expired")
	ErrNotApprover        = errors.New("not an approver of the request")
)

// The statuses of an out-of-band approval request.
const (
	// StatusPending: waiting for a decision.
	StatusPending = "pending"
	// StatusApproved: approved; the call's retry may run once.
	StatusApproved = "approved"
	// StatusDenied: denied; the call will not run.
	StatusDenied = "denied"
	// StatusUsed: approved, and a retry of the call ran on it.
	StatusUsed = "used"
	// StatusExpired: pending or approved past its expiry. It is not
	// stored: a request reads as expired once its time has passed.
	StatusExpired = "expired"
)

// approvalIDPrefix starts every request id.
const approvalIDPrefix = "ap-"

// Approvals keeps the out-of-band approvals in the verdict log's database:
// a policy.Approvals for the gateway, and the requests `gatehouse
// approvals` lists and decides. Several processes may share one file:
// every change is one immediate transaction.
type Approvals struct {
	file     string
	mu       sync.Mutex // guards db and stat
	db       *sql.DB
	stat     os.FileInfo // of file when db was opened
	lifetime time.Duration
	closed   atomic.Bool
	// now is the clock; tests replace it.
	now func() time.Time
}

var _ policy.Approvals = (*Approvals)(nil)

// OpenApprovals opens the approvals kept in the verdict log at file,
// creating the file and its schema if needed, as Open does. lifetime is
// how long an approval, once granted, waits for the call's retry.
func OpenApprovals(file string, lifetime time.Duration) (*Approvals, error) {
	if lifetime <= 0 {
		return nil, fmt.Errorf("approvals in %s: lifetime %s: want more than 0", file, lifetime)
	}
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout+5*time.Second)
	defer cancel()
	a := &Approvals{file: file, lifetime: lifetime, now: time.Now}
	if _, err := a.conn(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// conn is the open database, reopened — created again, with its schema —
// when its file was removed or replaced since it was opened, as the
// verdict log does (Log.ensureOpen): approvals follow the database the
// gateway writes, never a deleted file.
func (a *Approvals) conn(ctx context.Context) (*sql.DB, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.db != nil {
		if st, err := os.Stat(a.file); err == nil && os.SameFile(st, a.stat) {
			return a.db, nil
		}
		_ = a.db.Close()
		a.db = nil
	}
	db, err := openWriter(ctx, a.file)
	if err != nil {
		return nil, describe(a.file, err)
	}
	st, err := os.Stat(a.file)
	if err != nil {
		_ = db.Close()
		return nil, describe(a.file, err)
	}
	a.db, a.stat = db, st
	return db, nil
}

// Close closes the database. Later calls fail with
// policy.ErrApprovalsClosed.
func (a *Approvals) Close() error {
	if a.closed.Swap(true) {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.db == nil {
		return nil
	}
	return a.db.Close()
}

// Lifetime is how long an approval waits for the call's retry.
func (a *Approvals) Lifetime() time.Duration { return a.lifetime }

// ApprovalEntry is an out-of-band approval request as read back. Its JSON
// form is what `gatehouse approvals list --json` prints, one per line;
// the field names are stable.
type ApprovalEntry struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	// Expires is when a pending request lapses, or, once approved, when
	// the approval does.
	Expires   time.Time `json:"expires"`
	Workspace string    `json:"workspace"`
	User      string    `json:"user"`
	// Tool is the upstream's name of the tool; Exposed the one the client
	// called.
	Tool     string `json:"tool"`
	Exposed  string `json:"exposed"`
	Upstream string `json:"upstream"`
	// ArgsHash is policy.HashArguments of the call's arguments.
	ArgsHash string `json:"args_hash"`
	// Arguments are as the verdict log keeps them: the masked JSON object,
	// a "sha256:…" string, or absent.
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Policy    string          `json:"policy"`
	Reason    string          `json:"reason"`
	// Approvers may approve; empty means anyone but the caller.
	Approvers []string `json:"approvers"`
	// Verdict is the verdict id of the parked call.
	Verdict string `json:"verdict"`
	// Status is pending, approved, denied, used or expired.
	Status         string    `json:"status"`
	DecidedBy      string    `json:"decided_by,omitempty"`
	DecidedAt      time.Time `json:"decided_at,omitzero"`
	DecisionReason string    `json:"decision_reason,omitempty"`
	UsedAt         time.Time `json:"used_at,omitzero"`
	// UsedVerdict is the verdict id of the call that ran on the approval,
	// once its record is written.
	UsedVerdict string `json:"used_verdict,omitempty"`
}

// ListFilter selects approval requests.
type ListFilter struct {
	// Workspace selects one workspace's requests; "" all.
	Workspace string
	// All selects every request; otherwise only those pending.
	All bool
}

// Request parks a call for an out-of-band decision and returns the
// request's id. A request for the same call still pending is reused. A
// zero r.Expires means now plus the lifetime.
func (a *Approvals) Request(ctx context.Context, r policy.ApprovalRequest) (string, error) {
	id, _, err := a.RequestBounded(ctx, r, 0)
	return id, err
}

// RequestBounded parks a call as Request does, unless max (when positive)
// requests of the same workspace and user are pending already, in which
// case it parks nothing and reports ok false. A request for the same call
// still pending is reused even then. The count is of the rows in the
// database, in the transaction that adds the request: it holds across
// restarts and for every process sharing the file.
func (a *Approvals) RequestBounded(ctx context.Context, r policy.ApprovalRequest, max int) (id string, ok bool, err error) {
	if a.closed.Load() {
		return "", false, policy.ErrApprovalsClosed
	}
	k := r.Key
	if k.Tool == "" || k.Arguments == "" {
		return "", false, errors.New("request approval: the tool and the arguments' hash are required")
	}
	now := a.now()
	expires := r.Expires
	if expires.IsZero() {
		expires = now.Add(a.lifetime)
	}
	approvers := r.Approvers
	if approvers == nil {
		approvers = []string{}
	}
	approversJSON, err := json.Marshal(approvers)
	if err != nil {
		return "", false, err
	}
	full := false
	err = a.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM approvals
			WHERE `+keyMatches+` AND approvers = ? AND status = 'pending' AND expires > ?
			ORDER BY created DESC LIMIT 1`,
			append(keyArgs(k), string(approversJSON), formatTime(now))...).Scan(&id)
		if !errors.Is(err, sql.ErrNoRows) {
			return err // reused, or failed
		}
		if max > 0 {
			var pending int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM approvals
				WHERE workspace = ? AND user = ? AND status = 'pending' AND expires > ?`,
				k.Workspace, k.User, formatTime(now)).Scan(&pending); err != nil {
				return err
			}
			if full = pending >= max; full {
				return nil
			}
		}
		for range 3 { // 50 random bits: a collision is all but impossible
			id = newApprovalID()
			_, err = tx.ExecContext(ctx, `INSERT INTO approvals (id, created, expires, workspace, user, tool, exposed, upstream,
				args_hash, arguments, policy, reason, approvers, verdict, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, formatTime(now), formatTime(expires), k.Workspace, k.User, k.Tool, k.Exposed, k.Upstream,
				k.Arguments, r.Arguments, k.Policy, policy.MaskText(r.Reason), string(approversJSON), r.Verdict, StatusPending)
			if !isUniqueViolation(err) {
				break
			}
		}
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("request approval: %w", err)
	}
	if full {
		return "", false, nil
	}
	return id, true, nil
}

// keyMatches is the condition that a request is for the call a
// policy.ApprovalKey binds; keyArgs are its arguments.
const keyMatches = `workspace = ? AND user = ? AND upstream = ? AND tool = ? AND exposed = ? AND policy = ? AND args_hash = ?`

func keyArgs(k policy.ApprovalKey) []any {
	return []any{k.Workspace, k.User, k.Upstream, k.Tool, k.Exposed, k.Policy, k.Arguments}
}

// Claim finds an approval granted for the call key binds, not used and not
// expired, under the rule in force now (the same approvers, key.Approvers),
// and marks it used, in one immediate transaction: of two processes
// claiming at once, one gets it.
func (a *Approvals) Claim(ctx context.Context, key policy.ApprovalKey) (policy.Approval, bool, error) {
	if a.closed.Load() {
		return policy.Approval{}, false, policy.ErrApprovalsClosed
	}
	now := formatTime(a.now())
	approvers := "[]"
	if len(key.Approvers) > 0 {
		b, err := json.Marshal(key.Approvers)
		if err != nil {
			return policy.Approval{}, false, err
		}
		approvers = string(b)
	}
	var got policy.Approval
	var at string
	found := false
	err := a.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE approvals SET status = 'used', used_at = ?
			WHERE id = (SELECT id FROM approvals
				WHERE `+keyMatches+` AND status = 'approved' AND expires > ?
					AND approvers = ?
				ORDER BY decided_at LIMIT 1)
			RETURNING id, decided_by, decided_at`,
			append(append([]any{now}, keyArgs(key)...), now, approvers)...).Scan(&got.ID, &got.By, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		found = true
		return nil
	})
	if err != nil {
		return policy.Approval{}, false, fmt.Errorf("claim approval: %w", err)
	}
	if !found {
		return policy.Approval{}, false, nil
	}
	got.At = parseTime(at)
	return got, true, nil
}

// List returns the requests f selects, newest first.
func (a *Approvals) List(ctx context.Context, f ListFilter) ([]ApprovalEntry, error) {
	if a.closed.Load() {
		return nil, policy.ErrApprovalsClosed
	}
	db, err := a.conn(ctx)
	if err != nil {
		return nil, err
	}
	es, err := listApprovals(ctx, db, f, a.now())
	if err != nil {
		return nil, describe(a.file, err)
	}
	return es, nil
}

// Get returns the request with id ("ap-" may be left out). It fails with
// ErrApprovalNotFound when there is none.
func (a *Approvals) Get(ctx context.Context, id string) (ApprovalEntry, error) {
	if a.closed.Load() {
		return ApprovalEntry{}, policy.ErrApprovalsClosed
	}
	id = normalizeApprovalID(id)
	db, err := a.conn(ctx)
	if err != nil {
		return ApprovalEntry{}, err
	}
	e, err := getApproval(ctx, db, id, a.now())
	if errors.Is(err, ErrApprovalNotFound) {
		return e, fmt.Errorf("%s: %w", id, err)
	}
	if err != nil {
		return e, describe(a.file, err)
	}
	return e, nil
}

// Approve approves the pending request id in the name of by: the call's
// retry may then run once, within the lifetime. It refuses a request that
// is unknown, not pending or expired, and an approver the request does
// not allow: one not among its approvers, or, when it names none, the
// caller.
func (a *Approvals) Approve(ctx context.Context, id string, by Approver) error {
	return a.decide(ctx, "approve", id, func(e *ApprovalEntry) error {
		switch {
		case len(e.Approvers) > 0 && !slices.Contains(e.Approvers, by.Name):
			return fmt.Errorf("%w: %s is not one of its approvers (%s)", ErrNotApprover, by.Name, strings.Join(e.Approvers, ", "))
		case len(e.Approvers) == 0 && by.Name == e.User:
			return fmt.Errorf("%w: %s made the call and may not approve it; someone else must", ErrNotApprover, by.Name)
		}
		return nil
	}, StatusApproved, by, "")
}

// Deny denies the pending request id in the name of by, for reason. It
// refuses as Approve does, except that the caller may deny their own
// request.
func (a *Approvals) Deny(ctx context.Context, id string, by Approver, reason string) error {
	return a.decide(ctx, "deny", id, func(e *ApprovalEntry) error {
		if len(e.Approvers) > 0 && !slices.Contains(e.Approvers, by.Name) && by.Name != e.User {
			return fmt.Errorf("%w: %s is neither one of its approvers (%s) nor the caller", ErrNotApprover, by.Name, strings.Join(e.Approvers, ", "))
		}
		return nil
	}, StatusDenied, by, reason)
}

// decide sets the status of the pending request id, once allowed says by
// may, in one immediate transaction.
func (a *Approvals) decide(ctx context.Context, what, id string, allowed func(*ApprovalEntry) error, status string, by Approver, reason string) error {
	if a.closed.Load() {
		return policy.ErrApprovalsClosed
	}
	id = normalizeApprovalID(id)
	if err := by.check(); err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	err := a.tx(ctx, func(tx *sql.Tx) error {
		now := a.now()
		e, err := getApproval(ctx, tx, id, now)
		if err != nil {
			return err
		}
		switch e.Status {
		case StatusPending:
		case StatusExpired:
			return fmt.Errorf("%w: it lapsed at %s", ErrApprovalExpired, e.Expires.Local().Format(time.DateTime))
		default:
			how := e.Status
			if e.DecidedBy != "" {
				how += " by " + e.DecidedBy
			}
			return fmt.Errorf("%w: it was %s", ErrApprovalNotPending, how)
		}
		if err := allowed(&e); err != nil {
			return err
		}
		expires := e.Expires
		if status == StatusApproved {
			expires = now.Add(a.lifetime)
		}
		_, err = tx.ExecContext(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?, expires = ?
			WHERE id = ? AND status = 'pending'`,
			status, by.Name, formatTime(now), policy.MaskText(reason), formatTime(expires), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	return nil
}

// tx runs fn in one immediate transaction (the DSN's _txlock): it holds
// the write lock from the start, so what fn reads stays true until it
// commits. Database errors come back described.
func (a *Approvals) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	db, err := a.conn(ctx)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return describe(a.file, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		if isDecisionError(err) {
			return err
		}
		return describe(a.file, err)
	}
	if err := tx.Commit(); err != nil {
		return describe(a.file, err)
	}
	return nil
}

func isDecisionError(err error) bool {
	for _, s := range []error{ErrApprovalNotFound, ErrApprovalNotPending, ErrApprovalExpired, ErrNotApprover} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// newApprovalID is "ap-" and 10 random lowercase base32 characters: short
// enough to type, 50 bits of crypto/rand.
func newApprovalID() string {
	return approvalIDPrefix + strings.ToLower(rand.Text()[:10])
}

// normalizeApprovalID reads an id as a person may type it: any case, with
// or without its "ap-".
func normalizeApprovalID(id string) string {
	id = strings.ToLower(strings.TrimSpace(id))
	if !strings.HasPrefix(id, approvalIDPrefix) {
		id = approvalIDPrefix + id
	}
	return id
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// approvalSelect reads ApprovalEntry rows; its one parameter is now, for
// the status (see scanApproval).
const approvalSelect = `SELECT a.id, a.created, a.expires, a.workspace, a.user, a.tool, a.exposed, a.upstream,
	a.args_hash, a.arguments, a.policy, a.reason, a.approvers, a.verdict,
	` + statusSQL + `,
	a.decided_by, a.decided_at, a.decision_reason, a.used_at,
	coalesce(nullif(a.used_verdict, ''), (SELECT v.id FROM verdicts v
		WHERE v.approval_id = a.id AND v.approval_state = 'approved' ORDER BY v.seq LIMIT 1), '')
	FROM approvals a`

// statusSQL is a request's status at the time of the query's first
// parameter: a pending or approved request past its expiry is expired.
const statusSQL = `CASE WHEN a.status IN ('pending', 'approved') AND a.expires <= ? THEN 'expired' ELSE a.status END`

func getApproval(ctx context.Context, q querier, id string, now time.Time) (ApprovalEntry, error) {
	es, err := queryApprovals(ctx, q, approvalSelect+` WHERE a.id = ?`, formatTime(now), id)
	if err != nil {
		return ApprovalEntry{}, err
	}
	if len(es) == 0 {
		return ApprovalEntry{}, ErrApprovalNotFound
	}
	return es[0], nil
}

func listApprovals(ctx context.Context, q querier, f ListFilter, now time.Time) ([]ApprovalEntry, error) {
	t := formatTime(now)
	query, args := approvalSelect, []any{t}
	var conds []string
	if !f.All {
		conds = append(conds, `a.status = 'pending' AND a.expires > ?`)
		args = append(args, t)
	}
	if f.Workspace != "" {
		conds = append(conds, `a.workspace = ?`)
		args = append(args, f.Workspace)
	}
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	return queryApprovals(ctx, q, query+` ORDER BY a.created DESC, a.id`, args...)
}

func queryApprovals(ctx context.Context, q querier, query string, args ...any) ([]ApprovalEntry, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ApprovalEntry{}
	for rows.Next() {
		var e ApprovalEntry
		var created, expires, decided, used, arguments, approvers string
		if err := rows.Scan(&e.ID, &created, &expires, &e.Workspace, &e.User, &e.Tool, &e.Exposed, &e.Upstream,
			&e.ArgsHash, &arguments, &e.Policy, &e.Reason, &approvers, &e.Verdict, &e.Status,
			&e.DecidedBy, &decided, &e.DecisionReason, &used, &e.UsedVerdict); err != nil {
			return nil, err
		}
		e.Created, e.Expires = parseTime(created), parseTime(expires)
		if decided != "" {
			e.DecidedAt = parseTime(decided)
		}
		if used != "" {
			e.UsedAt = parseTime(used)
		}
		switch {
		case arguments == "":
		case json.Valid([]byte(arguments)) && strings.HasPrefix(arguments, "{"):
			e.Arguments = json.RawMessage(arguments)
		default:
			e.Arguments, _ = json.Marshal(arguments)
		}
		if err := json.Unmarshal([]byte(approvers), &e.Approvers); err != nil {
			return nil, fmt.Errorf("approval %s: unreadable approvers: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// requestCounts counts the out-of-band requests made since the time given,
// of one workspace or ("") all, by their status now.
func requestCounts(ctx context.Context, q querier, since time.Time, workspace string, now time.Time) (RequestCounts, error) {
	query := `SELECT ` + statusSQL + `, count(*) FROM approvals a WHERE a.created >= ?`
	args := []any{formatTime(now), formatTime(since)}
	if workspace != "" {
		query += ` AND a.workspace = ?`
		args = append(args, workspace)
	}
	rows, err := q.QueryContext(ctx, query+` GROUP BY 1`, args...)
	if err != nil {
		return RequestCounts{}, err
	}
	defer rows.Close()
	var c RequestCounts
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return c, err
		}
		switch status {
		case StatusPending:
			c.Pending = n
		case StatusApproved:
			c.Approved = n
		case StatusDenied:
			c.Denied = n
		case StatusUsed:
			c.Used = n
		case StatusExpired:
			c.Expired = n
		}
	}
	return c, rows.Err()
}
