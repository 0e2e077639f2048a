package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The side channels (DESIGN §7): resources/read, resources/subscribe (and
// the resource subscriptions of a 2026-07-28 subscriptions/listen),
// prompts/get and completion/complete take the path of a tools/call —
// resolve, decide, forward, scan, record — through the same enforcer (see
// enforce/sidechannel.go). What the policies do not allow is answered with
// a JSON-RPC error whose message is the violation message.

// sideRequest is one side-channel request on its way: its call, its
// decision, and when it came.
type sideRequest struct {
	enf      *enforce.Enforcer
	call     policy.Call
	d        *enforce.Decision
	received time.Time
	start    time.Time // when it was forwarded
	done     func()    // ends its count among the session's calls in flight
}

// decideSide decides call. It returns the request to forward, or the
// error the client reads when it is not allowed (the decision is then
// recorded already). Like a tools/call, it counts among its session's
// calls in flight until it is settled, and beyond their bound it is
// refused at once.
func (s *wsServer) decideSide(ctx context.Context, call policy.Call, received time.Time) (*sideRequest, error) {
	enf := s.enforcer()
	done, ok := s.inflight.begin(sessionOf(ctx))
	if !ok {
		message, reason := s.inflight.refusal()
		enf.Refuse(ctx, call, received, reason)
		return nil, errors.New(message)
	}
	r := &sideRequest{enf: enf, call: call, received: received, done: done}
	defer func() {
		if p := recover(); p != nil {
			done()
			panic(p)
		}
	}()
	d := enf.Decide(ctx, call, received, nil)
	r.d = d
	if !d.Allowed {
		done()
		return nil, errors.New(d.Message)
	}
	r.start = time.Now()
	return r, nil
}

// settle records how the forwarded request ended: err is the upstream's
// failure, or nil. It returns err as the client may read it.
func (r *sideRequest) settle(ctx context.Context, err error) error {
	defer r.done()
	r.enf.Settle(ctx, r.d, err, ctx.Err() != nil, time.Since(r.start))
	return r.enf.ScanError(r.d, err)
}

// abandon records a request whose path panicked before it was settled.
func (r *sideRequest) abandon(ctx context.Context, cause any) {
	defer r.done()
	r.enf.Abandon(ctx, r.call, r.received, r.d, fmt.Errorf("panic: %v", cause))
}

// sideCall is the call of a side-channel request: who sent it, and args
// as its arguments.
func (s *wsServer) sideCall(ctx context.Context, kind policy.Kind, method, upstreamName, name, exposed string, args any) policy.Call {
	call := policy.Call{Kind: kind, Method: method, Workspace: s.ws.Name(), Upstream: upstreamName, Tool: name, Exposed: exposed, User: s.user}
	call.Arguments, _ = json.Marshal(args) // maps and structs of strings: always encode
	call.Client, call.Session = clientIdentity(ctx)
	call.Client = s.sessions.pinName(call.Session, call.Client)
	return call
}

// resourceDescription is the description the upstream gave the resource
// at uri, or the template it matches: untrusted text, for the judge.
func (s *wsServer) resourceDescription(uri string) string {
	cat := s.ws.Catalog()
	if r, ok := cat.Resource(uri); ok {
		return r.Resource.Description
	}
	for _, t := range cat.Templates {
		if t.Template.URITemplate != nil && t.Template.URITemplate.Regexp().MatchString(uri) {
			return t.Template.Description
		}
	}
	return ""
}

// addMeta adds meta (the verdict id, warnings) to a result's _meta.
func addMeta(res *mcp.Result, meta map[string]any) {
	if len(meta) == 0 {
		return
	}
	if res.Meta == nil {
		res.Meta = &mcp.Meta{}
	}
	if res.Meta.AdditionalFields == nil {
		res.Meta.AdditionalFields = map[string]any{}
	}
	for k, v := range meta {
		res.Meta.AdditionalFields[k] = v
	}
}

func (s *wsServer) promptHandler(exposed string) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcp.GetPromptRequest) (res *mcp.GetPromptResult, err error) {
		received := time.Now()
		p, ok := s.ws.Catalog().Prompt(exposed)
		if !ok {
			return nil, fmt.Errorf("prompt %q: %w", exposed, server.ErrPromptNotFound)
		}
		conn, ok := s.ws.Upstream(p.Upstream)
		if !ok {
			return nil, fmt.Errorf("prompt %q: %w", exposed, server.ErrPromptNotFound)
		}
		args := req.Params.Arguments
		if args == nil {
			args = map[string]string{}
		}
		call := s.sideCall(ctx, policy.KindPrompt, policy.MethodPromptsGet, p.Upstream, p.Prompt.Name, exposed, args)
		call.Description = p.Prompt.Description
		r, err := s.decideSide(ctx, call, received)
		if err != nil {
			return nil, err
		}
		defer func() {
			if c := recover(); c != nil {
				r.abandon(ctx, c)
				panic(c)
			}
		}()

		// Forward the arguments as decided: redacted where a policy said.
		var fwd map[string]string
		if err := json.Unmarshal(r.d.Arguments, &fwd); err != nil {
			return nil, r.settle(ctx, fmt.Errorf("read the decided arguments: %w", err))
		}
		if len(req.Params.Arguments) > 0 || len(fwd) > 0 {
			req.Params.Arguments = fwd
		}
		req.Params.Name = p.Prompt.Name
		req.Params.Meta = forwardMeta(req.Params.Meta)
		res, err = conn.GetPrompt(ctx, req)
		if err != nil {
			return nil, r.settle(ctx, err)
		}
		clearProtocolFields(&res.Result)
		res, err = r.enf.ScanPrompt(r.d, res)
		r.settle(ctx, nil)
		if err != nil {
			return nil, err
		}
		addMeta(&res.Result, r.d.Meta)
		return res, nil
	}
}

func (s *wsServer) resourceHandler(upstreamName string) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		received := time.Now()
		uri := req.Params.URI
		conn, ok := s.ws.Upstream(upstreamName)
		if !ok {
			return nil, fmt.Errorf("resource %q: %w", uri, server.ErrResourceNotFound)
		}
		call := s.sideCall(ctx, policy.KindResource, policy.MethodResourcesRead, upstreamName, uri, uri, policy.ResourceArguments(uri))
		call.Description = s.resourceDescription(uri)
		r, err := s.decideSide(ctx, call, received)
		if err != nil {
			return nil, err
		}
		defer func() {
			if c := recover(); c != nil {
				r.abandon(ctx, c)
				panic(c)
			}
		}()
		req.Params.Arguments = nil // template variables are ours, not the upstream's
		req.Params.Meta = forwardMeta(req.Params.Meta)
		res, err := conn.ReadResource(ctx, req)
		if err != nil {
			return nil, r.settle(ctx, err)
		}
		contents, err := r.enf.ScanResourceContents(r.d, res.Contents)
		r.settle(ctx, nil)
		if err != nil {
			return nil, err
		}
		return contents, nil
	}
}

// allowSubscribe decides a subscription to uri — a resources/subscribe, or
// one of the resource subscriptions of a 2026-07-28 subscriptions/listen —
// as a read of the URI, and records it. A subscription the policies do not
// allow is never made: no update of the resource reaches the client. (The
// client's request itself is answered by mcp-go, which offers no way to
// refuse it short of a request hook, and such a hook would take the stdio
// fast path away from every tools/call; an update is only a URI, and
// reading the resource is decided as any read.)
func (s *wsServer) allowSubscribe(ctx context.Context, uri string) bool {
	received := time.Now()
	name, _ := s.upstreamNameForURI(uri)
	call := s.sideCall(ctx, policy.KindResource, policy.MethodResourcesSubscribe, name, uri, uri, policy.ResourceArguments(uri))
	r, err := s.decideSide(ctx, call, received)
	if err != nil {
		s.log.Info("a resource subscription was refused", "upstream", name, "err", policy.MaskText(err.Error()))
		return false
	}
	r.settle(ctx, nil) // the upstream subscription follows
	return true
}

// refuseSide records a resources/read of a URI no upstream serves and a
// prompts/get of a prompt the workspace does not have, which mcp-go
// refuses before a handler sees them: a probe for what is not listed is
// in the log too.
func (s *wsServer) refuseSide(ctx context.Context, method mcp.MCPMethod, message any, err error) {
	var call policy.Call
	switch req := message.(type) {
	case *mcp.ReadResourceRequest:
		if method != mcp.MethodResourcesRead || !errors.Is(err, server.ErrResourceNotFound) || req.Params.URI == "" {
			return
		}
		uri := enforce.Truncate(req.Params.URI, maxRefusedURI)
		call = s.sideCall(ctx, policy.KindResource, policy.MethodResourcesRead, "", uri, uri, policy.ResourceArguments(uri))
	case *mcp.GetPromptRequest:
		if method != mcp.MethodPromptsGet || !errors.Is(err, server.ErrPromptNotFound) {
			return
		}
		name := enforce.Truncate(req.Params.Name, maxRefusedName)
		args := req.Params.Arguments
		if args == nil {
			args = map[string]string{}
		}
		call = s.sideCall(ctx, policy.KindPrompt, policy.MethodPromptsGet, "", name, name, args)
	default:
		return
	}
	s.enforcer().Refuse(ctx, call, time.Now(), "the workspace has no "+string(call.CallKind())+" of that name")
}

// maxRefusedURI bounds the length of the URI a refusal records: an
// unknown URI is whatever the client sent.
const maxRefusedURI = 2048

// completionArgs are the arguments of a completion/complete as the
// policies see them: the argument completed and the others already set.
type completionArgs struct {
	Argument mcp.CompleteArgument `json:"argument"`
	Context  mcp.CompleteContext  `json:"context"`
}

// completer routes completion/complete to the upstream of the prompt or
// resource template it is about, through the policies: a prompt's under
// its prompts scope, a template's under its resources scope (by its URI
// template).
type completer struct{ s *wsServer }

func (c completer) CompletePromptArgument(ctx context.Context, name string, arg mcp.CompleteArgument, cctx mcp.CompleteContext) (*mcp.Completion, error) {
	received := time.Now()
	p, ok := c.s.ws.Catalog().Prompt(name)
	if !ok {
		return nil, fmt.Errorf("prompt %q: %w", name, server.ErrPromptNotFound)
	}
	if _, ok := c.s.ws.Upstream(p.Upstream); !ok {
		return nil, fmt.Errorf("prompt %q: %w", name, server.ErrPromptNotFound)
	}
	call := c.s.sideCall(ctx, policy.KindPrompt, policy.MethodCompletionComplete, p.Upstream, p.Prompt.Name, name, completionArgs{arg, cctx})
	call.Description = p.Prompt.Description
	return c.complete(ctx, call, received, mcp.PromptReference{Type: "ref/prompt", Name: p.Prompt.Name})
}

func (c completer) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, cctx mcp.CompleteContext) (*mcp.Completion, error) {
	received := time.Now()
	for _, t := range c.s.ws.Catalog().Templates {
		if t.Template.URITemplate == nil || t.Template.URITemplate.Raw() != uri {
			continue
		}
		if _, ok := c.s.ws.Upstream(t.Upstream); !ok {
			break
		}
		call := c.s.sideCall(ctx, policy.KindResource, policy.MethodCompletionComplete, t.Upstream, uri, uri, completionArgs{arg, cctx})
		call.Description = t.Template.Description
		return c.complete(ctx, call, received, mcp.ResourceReference{Type: "ref/resource", URI: uri})
	}
	return &mcp.Completion{Values: []string{}}, nil
}

// complete decides a completion and forwards it, with its arguments as
// decided, to call's upstream.
func (c completer) complete(ctx context.Context, call policy.Call, received time.Time, ref any) (*mcp.Completion, error) {
	conn, ok := c.s.ws.Upstream(call.Upstream)
	if !ok {
		return nil, fmt.Errorf("upstream %q is gone", call.Upstream)
	}
	r, err := c.s.decideSide(ctx, call, received)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			r.abandon(ctx, p)
			panic(p)
		}
	}()
	var args completionArgs
	if err := json.Unmarshal(r.d.Arguments, &args); err != nil {
		return nil, r.settle(ctx, fmt.Errorf("read the decided arguments: %w", err))
	}
	req := mcp.CompleteRequest{}
	req.Params.Ref = ref
	req.Params.Argument = args.Argument
	req.Params.Context = args.Context
	res, err := conn.Complete(ctx, req)
	if err != nil {
		return nil, r.settle(ctx, err)
	}
	out, err := r.enf.ScanCompletion(r.d, &res.Completion)
	r.settle(ctx, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}
