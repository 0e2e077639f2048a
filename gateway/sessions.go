package gateway

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// sessions tracks a workspace server's downstream sessions and the
// resources their clients subscribed to, so that upstream notifications
// reach the clients that asked for them. A 2025-11-25 client subscribes
// with resources/subscribe on its session; a 2026-07-28 client names the
// URIs in a subscriptions/listen request and is notified on that request's
// stream for as long as it lasts.
type sessions struct {
	mu         sync.Mutex
	all        map[string]server.ClientSession
	deliveries map[string]*delivery           // of the HTTP sessions
	names      map[string]string              // the client name each session first gave
	subs       map[string]map[subscriber]bool // uri → subscribers
	logs       map[string]bool                // the sessions that set a logging level
	flying     map[*flight]bool               // the calls forwarded now (logs.go)
}

// subscriber is a session (by id) or an open subscriptions/listen request.
type subscriber struct {
	session string
	listen  *listenStream
}

// listenStream is one open subscriptions/listen request.
type listenStream struct{ ctx context.Context }

func (s *sessions) init() {
	s.all = map[string]server.ClientSession{}
	s.deliveries = map[string]*delivery{}
	s.names = map[string]string{}
	s.subs = map[string]map[subscriber]bool{}
	s.logs = map[string]bool{}
	s.flying = map[*flight]bool{}
}

func (s *sessions) add(sess server.ClientSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all[sess.SessionID()] = sess
	s.deliveries[sess.SessionID()] = newDelivery()
}

// pinName is the client name of session id for policies and the log: the
// first name the session gave, so that one request's _meta (a 2026-07-28
// client's clientInfo, which mcp-go writes into the session) cannot
// rename the client for the calls after it. A call without a session
// keeps its own name.
func (s *sessions) pinName(id, name string) string {
	if id == "" {
		return name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.all[id]; !known {
		return name
	}
	if first, ok := s.names[id]; ok {
		return first
	}
	s.names[id] = name
	return name
}

// delivery is the notification count of session id, or nil.
func (s *sessions) delivery(id string) *delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveries[id]
}

// remove forgets a session and returns the URIs nobody subscribes to any
// more.
func (s *sessions) remove(id string) (orphaned []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.all, id)
	delete(s.deliveries, id)
	delete(s.names, id)
	delete(s.logs, id)
	return s.dropLocked(subscriber{session: id})
}

// dropListen forgets an ended listen request; see remove.
func (s *sessions) dropListen(l *listenStream) (orphaned []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropLocked(subscriber{listen: l})
}

func (s *sessions) dropLocked(who subscriber) (orphaned []string) {
	for uri, subs := range s.subs {
		if subs[who] {
			delete(subs, who)
			if len(subs) == 0 {
				delete(s.subs, uri)
				orphaned = append(orphaned, uri)
			}
		}
	}
	return orphaned
}

// subscribe records a subscription and reports whether it is the first
// one for uri.
func (s *sessions) subscribe(uri string, who subscriber) (first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	subs := s.subs[uri]
	if subs == nil {
		subs = map[subscriber]bool{}
		s.subs[uri] = subs
	}
	first = len(subs) == 0
	subs[who] = true
	return first
}

// unsubscribe drops a subscription and reports whether it was the last one
// for uri.
func (s *sessions) unsubscribe(uri string, who subscriber) (last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	subs := s.subs[uri]
	if !subs[who] {
		return false
	}
	delete(subs, who)
	if len(subs) == 0 {
		delete(s.subs, uri)
		return true
	}
	return false
}

func (s *sessions) subscribers(uri string) []subscriber {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []subscriber
	for who := range s.subs[uri] {
		out = append(out, who)
	}
	return out
}

func (s *sessions) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.all))
	for id := range s.all {
		ids = append(ids, id)
	}
	return ids
}

// unregister forgets an ended session: deleted, ended for idleness
// (idle.go), or a stdio client gone.
func (s *wsServer) unregister(sess server.ClientSession) {
	id := sess.SessionID()
	if d := s.sessions.delivery(id); d != nil {
		if n := d.q.droppedCount(); n > 0 {
			s.log.Info("HTTP session ended; notifications were dropped for it (http.session_queue)", "session", id, "dropped", n)
		}
	}
	s.sessionIDs.end(id)
	s.unsubscribeUpstream(s.sessions.remove(id))
}

// unsubscribeUpstream ends the upstream subscriptions of URIs that no
// client subscribes to any more. It runs when a client has gone, so with a
// context of its own.
func (s *wsServer) unsubscribeUpstream(uris []string) {
	for _, uri := range uris {
		if conn, ok := s.upstreamForURI(uri); ok {
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			if err := conn.Unsubscribe(ctx, uri); err != nil {
				s.log.Debug("unsubscribe upstream", "uri", uri, "err", err)
			}
			cancel()
		}
	}
}

// subscribe records a subscription and passes the first one to a URI
// upstream.
func (s *wsServer) subscribe(ctx context.Context, uri string, who subscriber) {
	if !s.sessions.subscribe(uri, who) {
		return
	}
	if conn, ok := s.upstreamForURI(uri); ok {
		if err := conn.Subscribe(ctx, uri); err != nil {
			s.log.Warn("subscribe upstream", "uri", uri, "err", err)
		}
	}
}

// subscribeSession handles a 2025-11-25 resources/subscribe.
func (s *wsServer) subscribeSession(ctx context.Context, uri string) {
	if sess := server.ClientSessionFromContext(ctx); sess != nil && s.allowSubscribe(ctx, uri) {
		s.subscribe(ctx, uri, subscriber{session: sess.SessionID()})
	}
}

// unsubscribeSession handles a 2025-11-25 resources/unsubscribe.
func (s *wsServer) unsubscribeSession(ctx context.Context, uri string) {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil || !s.sessions.unsubscribe(uri, subscriber{session: sess.SessionID()}) {
		return
	}
	s.unsubscribeUpstream([]string{uri})
}

// listen handles a 2026-07-28 subscriptions/listen: its resources are
// subscribed until the request ends.
func (s *wsServer) listen(ctx context.Context, uris []string) {
	if len(uris) == 0 {
		return
	}
	l := &listenStream{ctx: ctx}
	for _, uri := range uris {
		if s.allowSubscribe(ctx, uri) {
			s.subscribe(ctx, uri, subscriber{listen: l})
		}
	}
	context.AfterFunc(ctx, func() { s.unsubscribeUpstream(s.sessions.dropListen(l)) })
}

// setLevel passes a client's logging level to every upstream. The level is
// per upstream connection, shared by all clients: the last one set wins,
// and each client still gets only messages at or above its own level.
func (s *wsServer) setLevel(ctx context.Context, level mcp.LoggingLevel) {
	for _, conn := range s.ws.Upstreams() {
		if err := conn.SetLevel(ctx, level); err != nil {
			s.log.Debug("set upstream log level", "upstream", conn.Name(), "err", err)
		}
	}
}

// notify passes an upstream notification to the clients it concerns:
// resource updates to the sessions subscribed to the resource, log
// messages where the call that produced them came from (logs.go).
func (s *wsServer) notify(upstreamName string, n mcp.JSONRPCNotification) {
	switch mcp.MCPMethod(n.Method) {
	case mcp.MethodNotificationResourceUpdated:
		uri, _ := n.Params.AdditionalFields["uri"].(string)
		params := map[string]any{"uri": uri}
		for _, who := range s.sessions.subscribers(uri) {
			if who.listen != nil {
				_ = s.mcp.SendNotificationToClient(who.listen.ctx, n.Method, params)
			} else {
				s.sendBounded(who.session, notification(n.Method, params), true)
			}
		}
	case mcp.MethodNotificationMessage:
		msg := mcp.LoggingMessageNotification{}
		msg.Method = n.Method
		level, _ := n.Params.AdditionalFields["level"].(string)
		msg.Params.Level = mcp.LoggingLevel(level)
		logger, _ := n.Params.AdditionalFields["logger"].(string)
		msg.Params.Logger = upstreamName
		if logger != "" {
			msg.Params.Logger = upstreamName + "/" + logger
		}
		msg.Params.Data = n.Params.AdditionalFields["data"]
		s.relayLog(upstreamName, msg)
	}
}

// session is the session of id, or nil.
func (s *sessions) session(id string) server.ClientSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all[id]
}

// notification is a notification as mcp-go sends it.
func notification(method string, params map[string]any) mcp.JSONRPCNotification {
	n := mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION}
	n.Method = method
	n.Params.AdditionalFields = params
	return n
}
