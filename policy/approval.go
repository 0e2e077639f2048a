package policy

import (
	"context"
	"errors"
	"time"
)

// A call that a policy holds for approval (require_approval, or the
// judge's needs_approval) runs only once a person agrees: the person at
// the client, asked through elicitation, or someone out of band, through
// `gatehouse approvals`.

// ApprovalRule says who may approve the calls a policy holds.
type ApprovalRule struct {
	// OutOfBandOnly demands an out-of-band approval (the config's
	// in_client: false); by default the person at the client may approve
	// when the client can be asked.
	OutOfBandOnly bool
	// Approvers are the users who may approve out of band; empty means
	// anyone but the caller.
	Approvers []string
	// Policies, in a verdict, are the policies whose rules this one
	// combines: the deciding policy of each layer that holds the call
	// (global first).
	Policies []string
}

// ApprovalState is what became of a call held for approval.
type ApprovalState string

// The approval states a record may carry.
const (
	// ApprovalNone: the call was not held for approval.
	ApprovalNone ApprovalState = ""
	// ApprovalApproved: a person approved; the call ran.
	ApprovalApproved ApprovalState = "approved"
	// ApprovalDeclined: the person said no.
	ApprovalDeclined ApprovalState = "declined"
	// ApprovalCancelled: the person dismissed the question, or the
	// client went away.
	ApprovalCancelled ApprovalState = "cancelled"
	// ApprovalExpired: nobody answered in time.
	ApprovalExpired ApprovalState = "expired"
	// ApprovalPending: the call was parked for an out-of-band decision.
	ApprovalPending ApprovalState = "pending"
	// ApprovalUnavailable: nobody could be asked (the client cannot be
	// asked and out-of-band approvals are not kept).
	ApprovalUnavailable ApprovalState = "unavailable"
)

// The ways an approval is asked for.
const (
	ApprovalViaClient    = "client"
	ApprovalViaOutOfBand = "out_of_band"
)

// ApprovalOutcome is the approval part of a record.
type ApprovalOutcome struct {
	State ApprovalState
	// Via is ApprovalViaClient or ApprovalViaOutOfBand; "" when not held.
	Via string
	// ID is the out-of-band approval's id.
	ID string
	// By is who approved or denied: the caller for an in-client answer,
	// the approver for an out-of-band one.
	By string
}

// ApprovalKey is what binds an out-of-band approval to the call it
// approves: the same workspace, user, upstream, tool (the upstream's name
// and the exposed one), deciding policy and canonical arguments. An
// approval for fs__write_file is not one for fs2__write_file.
type ApprovalKey struct {
	Workspace, User string
	// Upstream and Tool are the upstream and its own name of the tool;
	// Exposed is the name the client called.
	Upstream, Tool, Exposed string
	// Policy is the policy that held the call for approval.
	Policy string
	// Arguments is HashArguments of the call's arguments.
	Arguments string
	// Approvers are who may approve the call under the rule in force now
	// (empty: anyone but the caller): an approval given under a rule with
	// other approvers is not claimed.
	Approvers []string
}

// ApprovalRequest is a call parked for an out-of-band decision.
type ApprovalRequest struct {
	Key ApprovalKey
	// Arguments are the call's arguments as the verdict log keeps them
	// masked: what the approver is shown.
	Arguments string
	// Reason says why the policy of the key holds the call.
	Reason    string
	Approvers []string
	// Verdict is the id of the call's verdict record.
	Verdict string
	// Expires is when the request lapses if nobody decides it.
	Expires time.Time
}

// Approval is an out-of-band approval that let a call run.
type Approval struct {
	ID string
	By string
	At time.Time
}

// Approvals keeps the out-of-band approvals (the audit package's database
// implements it; `gatehouse approvals` decides them).
type Approvals interface {
	// Request parks a call for a decision and returns the request's id;
	// a request still pending for the same call is reused.
	Request(ctx context.Context, r ApprovalRequest) (id string, err error)
	// Claim finds an approval granted, not yet used and not expired, for
	// the call key binds, and marks it used: one approval runs one call.
	Claim(ctx context.Context, key ApprovalKey) (Approval, bool, error)
}

// ErrApprovalsClosed is the error of an Approvals that has been closed.
var ErrApprovalsClosed = errors.New("the approvals store is closed")
