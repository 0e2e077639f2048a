package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// serverName is the name the gateway gives itself in MCP.
const serverName = "gatehouse"

// wsServer is the MCP server of one workspace: an mcp-go server whose
// tools, prompts and resources mirror the workspace's catalog, and whose
// handlers forward to the upstreams.
type wsServer struct {
	ws       *workspace.Workspace
	mcp      *server.MCPServer
	version  string
	enforcer func() *enforce.Enforcer
	user     string
	log      *slog.Logger
	calls    *callTracker
	inflight *inflight // each session's calls running or held

	syncMu   sync.Mutex
	lastSync catalogPrint

	sessions   sessions
	sessionIDs *sessionIDs // of the HTTP face
	listens    admission   // 2026-07-28 subscriptions/listen streams open (admitSession)
	limits     sessionLimits
	fanout     fanout // log messages on their way to the sessions that asked
	parking    *parking
	workers    *workers
	stopIdle   func()                       // ends idleSweeper and waits for it
	http       *server.StreamableHTTPServer // the streamable HTTP face
}

func newWSServer(ws *workspace.Workspace, version string, enforcer func() *enforce.Enforcer, user string, calls *callTracker, logger *slog.Logger) *wsServer {
	s := &wsServer{ws: ws, version: version, enforcer: enforcer, user: user, log: logger.With("workspace", ws.Name()), calls: calls}
	s.sessions.init()
	s.sessionIDs = newSessionIDs()
	s.parking = newParking()
	s.workers = newWorkers()
	hooks := &server.Hooks{}
	hooks.AddOnRegisterSession(func(ctx context.Context, sess server.ClientSession) {
		s.sessions.add(sess)
		s.sessionIDs.register(sess.SessionID())
	})
	hooks.AddOnUnregisterSession(func(ctx context.Context, sess server.ClientSession) { s.unregister(sess) })
	hooks.AddAfterSubscribe(func(ctx context.Context, id any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		s.subscribeSession(ctx, req.Params.URI)
	})
	hooks.AddAfterUnsubscribe(func(ctx context.Context, id any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		s.unsubscribeSession(ctx, req.Params.URI)
	})
	hooks.AddBeforeSubscriptionsListen(func(ctx context.Context, id any, req *mcp.SubscriptionsListenRequest) {
		s.listen(ctx, req.Params.Notifications.ResourceSubscriptions)
	})
	hooks.AddOnError(func(ctx context.Context, _ any, method mcp.MCPMethod, message any, err error) {
		if req, ok := message.(*mcp.CallToolRequest); ok && method == mcp.MethodToolsCall && errors.Is(err, server.ErrToolNotFound) {
			s.refuse(ctx, req.Params.Name, req, "", "the workspace has no tool of that name")
		}
		s.refuseSide(ctx, method, message, err)
	})
	hooks.AddAfterSetLevel(func(ctx context.Context, id any, req *mcp.SetLevelRequest, _ *mcp.EmptyResult) {
		if id := sessionOf(ctx); id != "" {
			s.sessions.askedForLogs(id)
		}
		s.setLevel(ctx, req.Params.Level)
	})
	s.mcp = server.NewMCPServer(serverName, version,
		server.WithToolCapabilities(true),
		server.WithPromptCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(completer{s}),
		server.WithResourceCompletionProvider(completer{s}),
		server.WithHooks(hooks),
		server.WithInstructions(fmt.Sprintf("Gatehouse workspace %q: tools of several MCP servers, checked against the organisation's policies before they run.", ws.Name())),
	)
	return s
}

// catalogPrint is what was last given to the mcp-go server, to send
// list_changed only when a list really changed.
type catalogPrint struct{ tools, prompts, resources, templates string }

func fingerprint(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("unmarshalable %p", v) // never equal: always resync
	}
	return string(b)
}

// sync mirrors the workspace's catalog into the mcp-go server. Lists whose
// content did not change are left alone, so clients are told list_changed
// only when something they see changed.
func (s *wsServer) sync() {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	cat := s.ws.Catalog()

	tools := make([]server.ServerTool, len(cat.Tools))
	toolDefs := make([]mcp.Tool, len(cat.Tools))
	for i, t := range cat.Tools {
		def := t.Tool
		def.Name = t.Exposed
		toolDefs[i] = def
		tools[i] = server.ServerTool{Tool: def, Handler: s.toolHandler(t.Exposed)}
	}
	prompts := make([]server.ServerPrompt, len(cat.Prompts))
	promptDefs := make([]mcp.Prompt, len(cat.Prompts))
	for i, p := range cat.Prompts {
		def := p.Prompt
		def.Name = p.Exposed
		promptDefs[i] = def
		prompts[i] = server.ServerPrompt{Prompt: def, Handler: s.promptHandler(p.Exposed)}
	}
	resources := make([]server.ServerResource, len(cat.Resources))
	resourceDefs := make([]mcp.Resource, len(cat.Resources))
	for i, r := range cat.Resources {
		resourceDefs[i] = r.Resource
		resources[i] = server.ServerResource{Resource: r.Resource, Handler: s.resourceHandler(r.Upstream)}
	}
	templates := make([]server.ServerResourceTemplate, 0, len(cat.Templates))
	templateDefs := make([]mcp.ResourceTemplate, 0, len(cat.Templates))
	for _, t := range cat.Templates {
		if t.Template.URITemplate == nil {
			continue
		}
		templateDefs = append(templateDefs, t.Template)
		templates = append(templates, server.ServerResourceTemplate{Template: t.Template, Handler: server.ResourceTemplateHandlerFunc(s.resourceHandler(t.Upstream))})
	}

	next := catalogPrint{fingerprint(toolDefs), fingerprint(promptDefs), fingerprint(resourceDefs), fingerprint(templateDefs)}
	if next.tools != s.lastSync.tools {
		s.log.Debug("tools changed", "tools", len(tools))
		s.mcp.SetTools(tools...)
	}
	if next.prompts != s.lastSync.prompts {
		s.mcp.SetPrompts(prompts...)
	}
	if next.resources != s.lastSync.resources {
		s.mcp.SetResources(resources...)
	}
	if next.templates != s.lastSync.templates {
		s.mcp.SetResourceTemplates(templates...)
	}
	s.lastSync = next
}

// toolHandler is the handler of every tools/call: the call is counted for
// shutdown's drain, then takes callTool; over HTTP its result waits for
// the notifications sent before it (see delivery.go). A panic on the way
// fails the call, in mcp-go's words, and not the gateway (the handler
// recovers itself rather than through mcp-go's WithRecovery middleware,
// which the stdio fast path does not run).
func (s *wsServer) toolHandler(exposed string) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				res, err = nil, fmt.Errorf("panic recovered in %s tool handler: %v", exposed, r)
			}
		}()
		done, ok := s.calls.begin()
		if !ok {
			return s.refuse(ctx, exposed, &req, "Gatehouse is shutting down; the call was not run.", "the gateway was shutting down"), nil
		}
		defer done()
		res, err = s.callTool(ctx, exposed, req)
		if d := deliveryOf(ctx); d != nil && !d.flush(ctx) {
			s.log.Debug("a call's notifications were not all written before its result", "tool", exposed)
		}
		return res, err
	}
}

// callTool is the path of every tools/call: resolve the exposed name,
// decide the call (policies, and approval if they hold it), forward it,
// record how it ended. The call runs on a flight, which can outlive this
// request while the client is asked something (see flight.go).
func (s *wsServer) callTool(ctx context.Context, exposed string, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	received := time.Now()
	if req.Params.RequestState != "" {
		// The client's answer to a question of a call in flight.
		return s.resume(ctx, exposed, req)
	}
	if len(req.Params.InputResponses) > 0 {
		// Answers to a question nobody asked: a forged approval, or a
		// client confused about which call it retries.
		return s.refuse(ctx, exposed, &req, "Gatehouse refused the call: "+errUnaskedInput.Error(),
			"answers to input requests the gateway never issued: "+errUnaskedInput.Error()), nil
	}

	// Resolve.
	tool, ok := s.ws.Catalog().Tool(exposed)
	if !ok {
		// The catalog changed between mcp-go's lookup and ours: the
		// error hook records the refusal.
		return nil, fmt.Errorf("tool %q: %w", exposed, server.ErrToolNotFound)
	}
	conn, ok := s.ws.Upstream(tool.Upstream)
	if !ok {
		return nil, fmt.Errorf("tool %q: %w", exposed, server.ErrToolNotFound)
	}
	call := s.newCall(ctx, exposed, &req)
	call.Upstream, call.Tool, call.Description = tool.Upstream, tool.Tool.Name, tool.Tool.Description
	enf, ask := s.enforcer(), canAsk(ctx)

	// Count it in flight: a session with its bound of calls running or
	// held already (inflight.go) has it refused at once.
	landed, ok := s.inflight.begin(sessionOf(ctx))
	if !ok {
		message, reason := s.inflight.refusal()
		return s.refuse(ctx, exposed, &req, message, reason), nil
	}
	return s.fly(ctx, exposed, req, landed, func(f *flight) *mcp.CallToolResult {
		var d *enforce.Decision
		defer func() { // a bug on the way still leaves the call's record
			if r := recover(); r != nil {
				enf.Abandon(f.ctx, call, received, d, fmt.Errorf("panic: %v", r))
				panic(r)
			}
		}()
		// Decide; a call held for approval is settled here too.
		var asker enforce.Asker
		if ask {
			asker = f
		}
		d = enf.Decide(f.ctx, call, received, asker)
		if !d.Allowed {
			return withMeta(enforce.ToolError(d.Message), d.Meta)
		}

		// Forward exactly the bytes the enforcement step judged, with the
		// _meta of the request that awaits the call now (an approved
		// call's retry).
		meta := f.current()
		f.upstream = call.Upstream // before the upstream can ask anything
		fwd := upstream.Call{Name: call.Tool, Meta: forwardMeta(meta), Relay: f}
		if string(d.Arguments) != "null" {
			fwd.Arguments = d.Arguments
		}
		if meta != nil && meta.ProgressToken != nil {
			fwd.OnProgress = f.progress
		}
		start := time.Now()
		landed := s.forwarding(f) // its upstream's log messages are for it
		res, err := conn.CallTool(f.ctx, fwd)
		landed()
		end := enforce.End{Result: res, Err: err, Cancelled: err != nil && f.ctx.Err() != nil, Latency: time.Since(start)}
		if err != nil {
			end.Failure = upstreamFailure(call.Upstream, err)
			if f.ctx.Err() == nil { // not cancelled by the client, nor expired
				s.log.Warn("upstream call failed", "upstream", call.Upstream, "tool", call.Tool, "err", policy.MaskText(err.Error()))
			}
		}

		// Scan and record, then answer.
		res = enf.Finish(f.ctx, d, end)
		clearProtocolFields(&res.Result)
		return withMeta(res, d.Meta)
	})
}

// newCall is the call as the enforcement step sees it, from what the
// client sent: the arguments exactly as they came where mcp-go kept the
// wire bytes.
func (s *wsServer) newCall(ctx context.Context, exposed string, req *mcp.CallToolRequest) policy.Call {
	call := policy.Call{Workspace: s.ws.Name(), Exposed: exposed, User: s.user, Arguments: req.Params.RawArguments}
	if len(call.Arguments) == 0 {
		call.Arguments, _ = json.Marshal(req.Params.Arguments) // decoded from JSON: encodes
	}
	call.Client, call.Session = clientIdentity(ctx)
	call.Client = s.sessions.pinName(call.Session, call.Client)
	return call
}

// maxRefusedName bounds the length of the tool name a refusal records: an
// unknown name is whatever the client sent.
const maxRefusedName = 256

// refuse records a call the gateway refuses without deciding it, for
// reason, and returns the tool error the client reads.
func (s *wsServer) refuse(ctx context.Context, exposed string, req *mcp.CallToolRequest, message, reason string) *mcp.CallToolResult {
	call := s.newCall(ctx, enforce.Truncate(exposed, maxRefusedName), req)
	if tool, ok := s.ws.Catalog().Tool(exposed); ok {
		call.Upstream, call.Tool = tool.Upstream, tool.Tool.Name
	}
	return withMeta(enforce.ToolError(message), s.enforcer().Refuse(ctx, call, time.Now(), reason))
}

// connectionMeta are the _meta keys of protocol 2026-07-28 that describe the
// client's connection rather than its request; the gateway's connection to
// the upstream has its own.
var connectionMeta = []string{
	mcp.MetaKeyProtocolVersion, mcp.MetaKeyClientInfo, mcp.MetaKeyClientCapabilities,
	mcp.MetaKeyServerInfo, mcp.MetaKeyLogLevel, mcp.MetaKeySubscriptionID,
}

// forwardMeta is the part of a client request's _meta that goes upstream:
// everything but the connection's own keys and the progress token (which
// the gateway replaces with its own where it relays progress).
func forwardMeta(m *mcp.Meta) *mcp.Meta {
	if m == nil {
		return nil
	}
	fields := make(map[string]any, len(m.AdditionalFields))
	for k, v := range m.AdditionalFields {
		if !slices.Contains(connectionMeta, k) {
			fields[k] = v
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &mcp.Meta{AdditionalFields: fields}
}

// clearProtocolFields removes from an upstream's result what belongs to the
// upstream connection's protocol rather than to the result: resultType and
// the upstream's serverInfo in _meta. mcp-go adds the gateway's own for the
// client's protocol generation.
func clearProtocolFields(r *mcp.Result) {
	r.ResultType = ""
	if r.Meta == nil {
		return
	}
	delete(r.Meta.AdditionalFields, mcp.MetaKeyServerInfo)
	if r.Meta.ProgressToken == nil && len(r.Meta.AdditionalFields) == 0 {
		r.Meta = nil
	}
}

// upstreamFailure words an upstream's failure for the client.
func upstreamFailure(name string, err error) string {
	var ue *upstream.UnavailableError
	if errors.As(err, &ue) {
		return fmt.Sprintf("Upstream %q is unavailable (%v); Gatehouse is reconnecting, try again shortly.", name, ue.Err)
	}
	return fmt.Sprintf("Upstream %q failed: %v", name, err)
}

// upstreamForURI finds the upstream serving a resource URI: a listed
// resource first, then a matching template.
func (s *wsServer) upstreamForURI(uri string) (*upstream.Conn, bool) {
	name, ok := s.upstreamNameForURI(uri)
	if !ok {
		return nil, false
	}
	return s.ws.Upstream(name)
}

// upstreamNameForURI is the name of the upstream serving a resource URI.
func (s *wsServer) upstreamNameForURI(uri string) (string, bool) {
	cat := s.ws.Catalog()
	if r, ok := cat.Resource(uri); ok {
		return r.Upstream, true
	}
	for _, t := range cat.Templates {
		if t.Template.URITemplate != nil && t.Template.URITemplate.Regexp().MatchString(uri) {
			return t.Upstream, true
		}
	}
	return "", false
}

// withMeta adds meta to res's _meta and returns res.
func withMeta(res *mcp.CallToolResult, meta map[string]any) *mcp.CallToolResult {
	if len(meta) == 0 {
		return res
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
	return res
}

// clientIdentity is the calling client's name and session id.
func clientIdentity(ctx context.Context) (name, session string) {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil {
		return "", ""
	}
	if ci, ok := sess.(server.SessionWithClientInfo); ok {
		name = ci.GetClientInfo().Name
	}
	return name, sess.SessionID()
}
