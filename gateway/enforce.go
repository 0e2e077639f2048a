// Package gateway is Gatehouse's downstream face: one MCP server per
// workspace, served over stdio or streamable HTTP, that passes tools,
// prompts, resources, completions, logging and progress through to the
// workspace's upstreams — and sends every tools/call through one
// enforcement step before it is forwarded.
package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Call is one tools/call as the enforcement step sees it.
type Call struct {
	Workspace string
	Upstream  string
	Tool      string // the upstream's own name of the tool
	Exposed   string // the name the client called
	// Description is the tool's description as the upstream gave it:
	// untrusted text.
	Description string
	// Arguments are the call's arguments exactly as the client sent them.
	Arguments json.RawMessage
	User      string // who the gateway acts for
	Client    string // the client's name from initialize (or request _meta)
	Session   string // the downstream session, empty when stateless
	// CanAsk says the client can put a question to the person (it
	// declared elicitation), so a call held for approval can be approved
	// there.
	CanAsk bool
	// Received is when the call reached the gateway.
	Received time.Time
}

// Verdict is the enforcement step's answer for one Call.
type Verdict struct {
	// Allow forwards the call; false blocks it.
	Allow bool
	// Message is what the client reads when the call is blocked.
	Message string
	// Arguments, if not nil, replace the call's arguments when it is
	// forwarded (redaction).
	Arguments json.RawMessage
	// Meta is added to the result's _meta (for example the verdict id).
	Meta map[string]any
	// Approval, when not nil, holds the call (Allow is false) until the
	// person at the client approves it; only a client with CanAsk gets
	// such a verdict. Message is then the reason it is held.
	Approval *Approval
	// Done, if not nil, is called exactly once when a forwarded call ends
	// — answered, failed, cancelled or expired — before the client gets
	// the answer. It may change the upstream's result (to redact secrets
	// in it). For a call held for approval it is called exactly once too:
	// when the call ends after its approval, or when the approval is not
	// given (CallEnd.Approval says why, and Result is nil). It is not
	// called for a call that is simply not allowed.
	Done func(ctx context.Context, end CallEnd)
}

// Approval is the question a call held for approval puts to the person at
// the client: by elicitation/create for a 2025-11-25 client, by an
// input_required result with a signed requestState for a 2026-07-28 one.
type Approval struct {
	// Message is the question, as the person reads it.
	Message string
	// Timeout bounds the wait for the answer.
	Timeout time.Duration
}

// CallEnd is how a forwarded call ended.
type CallEnd struct {
	// Result is the upstream's result, nil when it failed.
	Result *mcp.CallToolResult
	// Err is why the upstream call failed: the upstream was unavailable,
	// broke the protocol, or the call was cancelled (Cancelled).
	Err error
	// Cancelled says the client cancelled the call, went away, or let it
	// expire while the upstream waited for its input.
	Cancelled bool
	// Latency is how long the upstream took, from sending the call to its
	// end.
	Latency time.Duration
	// Approval is what became of a call held for approval: approved when
	// it ran, else why it did not; empty for a call not held.
	Approval policy.ApprovalState
}

// Enforcer decides every tools/call before it is forwarded. Enforce must
// return a verdict for every call — there is no error path, so a failure to
// decide is itself a verdict.
type Enforcer interface {
	Enforce(ctx context.Context, call Call) Verdict
}

// Refuser is implemented by an Enforcer that also wants to know of the
// calls the gateway refuses without asking it — a tool that does not
// exist, a retry that answers nothing the gateway asked, a call that
// arrives while it shuts down — so that it can record them too. Refuse
// returns the _meta for the refusal's result (its verdict id), if any.
type Refuser interface {
	Refuse(ctx context.Context, call Call, reason string) map[string]any
}

// AllowAll is the Enforcer used until policies are configured: it allows
// every call unchanged.
type AllowAll struct{}

var _ Enforcer = AllowAll{}

// Enforce allows the call.
func (AllowAll) Enforce(context.Context, Call) Verdict { return Verdict{Allow: true} }
