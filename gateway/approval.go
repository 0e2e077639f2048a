package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
)

// A call held for approval (Verdict.Approval) runs only on the yes of the
// person at the client. A 2025-11-25 client is asked with elicitation/create
// on its session: its answer can only be the answer to that request. A
// 2026-07-28 client gets an input_required result whose requestState is
// signed and bound to the session, the tool and the arguments (parking);
// its retry must bring it back with the answer, once, before the timeout.
// Anything else — answers the gateway never asked for, a replay, a state
// for other arguments or altered — is refused and recorded.

// approvalRequestID keys the approval question among a result's input
// requests.
const approvalRequestID = "gatehouse-approval"

// errUnaskedInput refuses a call that brings answers without the state of
// a question the gateway asked.
var errUnaskedInput = errors.New("it carries answers to questions the gateway did not ask (no requestState); make the call again without them")

// canAsk reports whether the client can put a question to the person: it
// declared elicitation, on this request (2026-07-28) or when it
// initialized its session (2025-11-25).
func canAsk(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && info.ClientCapabilities.Elicitation != nil
	}
	sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	return ok && sess.GetClientCapabilities().Elicitation != nil
}

// approvalQuestion is the elicitation that asks for a yes or a no.
func approvalQuestion(a *Approval) mcp.ElicitationParams {
	return mcp.ElicitationParams{
		Message: a.Message,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"approve": map[string]any{
					"type":        "boolean",
					"title":       "Approve this call",
					"description": "Yes runs this call once; no refuses it.",
					"default":     false,
				},
			},
			"required": []string{"approve"},
		},
	}
}

// approvalAnswer reads the person's answer: only an accepted form with
// approve set to true approves.
func approvalAnswer(r *mcp.ElicitationResult) policy.ApprovalState {
	if r == nil {
		return policy.ApprovalCancelled
	}
	switch r.Action {
	case mcp.ElicitationResponseActionAccept:
		if m, ok := r.Content.(map[string]any); ok && m["approve"] == true {
			return policy.ApprovalApproved
		}
		return policy.ApprovalDeclined
	case mcp.ElicitationResponseActionDecline:
		return policy.ApprovalDeclined
	}
	return policy.ApprovalCancelled
}

// notApproved is the tool error of a call whose approval was not given.
func notApproved(verdict Verdict, state policy.ApprovalState, timeout time.Duration) *mcp.CallToolResult {
	why := map[policy.ApprovalState]string{
		policy.ApprovalDeclined:  "the person declined",
		policy.ApprovalCancelled: "the question was dismissed",
		policy.ApprovalExpired:   fmt.Sprintf("nobody answered within %s", timeout),
	}[state]
	if why == "" {
		why = "it could not be asked"
	}
	res := toolError(verdict.Message + " The call was not approved (" + why + "), so it was not run.")
	addMeta(res, verdict.Meta)
	return res
}

// approvedVerdict is verdict for the call once approved: its Done learns
// that the call ran by approval.
func approvedVerdict(verdict Verdict) Verdict {
	v := verdict
	if done := verdict.Done; done != nil {
		v.Done = func(ctx context.Context, end CallEnd) {
			end.Approval = policy.ApprovalApproved
			done(ctx, end)
		}
	}
	return v
}

// endUnapproved tells the enforcer that a held call ended without running.
func endUnapproved(ctx context.Context, verdict Verdict, state policy.ApprovalState) {
	if verdict.Done != nil {
		verdict.Done(context.WithoutCancel(ctx), CallEnd{Approval: state})
	}
}

// askApproval puts a held call to the person at the client.
func (s *wsServer) askApproval(ctx context.Context, exposed string, req mcp.CallToolRequest, conn *upstream.Conn, toolName, upstreamName string, args json.RawMessage, verdict Verdict) (*mcp.CallToolResult, error) {
	a := verdict.Approval
	if !mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		actx, cancel := context.WithTimeout(ctx, a.Timeout)
		res, err := s.mcp.RequestElicitation(actx, mcp.ElicitationRequest{
			Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
			Params:  approvalQuestion(a),
		})
		expired := actx.Err() != nil && ctx.Err() == nil
		cancel()
		state := approvalAnswer(res)
		switch {
		case err == nil:
		case expired:
			state = policy.ApprovalExpired
		default:
			s.log.Warn("the approval question could not be put to the client", "tool", toolName, "err", err)
			state = policy.ApprovalCancelled
		}
		if state != policy.ApprovalApproved {
			endUnapproved(ctx, verdict, state)
			return notApproved(verdict, state, a.Timeout), nil
		}
		return s.forward(ctx, exposed, req, conn, toolName, upstreamName, args, approvedVerdict(verdict))
	}

	q := mcp.NewElicitationInputRequest(approvalQuestion(a))
	c := &parked{
		verdict:  verdict,
		bind:     func() string { return binding(ctx, exposed, req.Params.Arguments) },
		waiting:  &q,
		upstream: upstreamName, tool: toolName,
		hold: func(ctx context.Context, retry mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return s.forward(ctx, exposed, retry, conn, toolName, upstreamName, args, approvedVerdict(verdict))
		},
	}
	// Unanswered in time, the held call ends as expired: the timer and a
	// retry cannot both have it (claim takes it from the table).
	c.cancel = func() { endUnapproved(context.Background(), verdict, policy.ApprovalExpired) }
	s.parking.park(c, a.Timeout)
	res := &mcp.CallToolResult{
		Result:               mcp.Result{ResultType: mcp.ResultTypeInputRequired},
		MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: mcp.InputRequests{approvalRequestID: q}, RequestState: s.parking.state(c)},
	}
	addMeta(res, verdict.Meta) // the held call's verdict id, as on every result
	return res, nil
}

// resumeApproval settles a held call with the answer its retry brings: the
// call runs on a yes, and ends not approved on anything else — a no, a
// dismissal, or a retry without the answer.
func (s *wsServer) resumeApproval(ctx context.Context, c *parked, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var answer *mcp.ElicitationResult
	if in, ok := req.Params.InputResponses[approvalRequestID]; ok && in.DecodeFor(mcp.MethodElicitationCreate) == nil {
		answer = in.Elicitation
	}
	state := approvalAnswer(answer)
	if state != policy.ApprovalApproved {
		endUnapproved(ctx, c.verdict, state)
		return notApproved(c.verdict, state, 0), nil
	}
	return c.hold(ctx, req)
}
