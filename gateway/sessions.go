package gateway

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// sessions tracks a workspace server's downstream sessions and the
// resources each subscribed to, so that upstream notifications reach the
// clients that asked for them.
type sessions struct {
	mu   sync.Mutex
	all  map[string]server.ClientSession
	subs map[string]map[string]bool // uri → session ids
}

func (s *sessions) init() {
	s.all = map[string]server.ClientSession{}
	s.subs = map[string]map[string]bool{}
}

func (s *sessions) add(sess server.ClientSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all[sess.SessionID()] = sess
}

// remove forgets a session and returns the URIs that no session subscribes
// to any more.
func (s *sessions) remove(id string) (orphaned []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.all, id)
	for uri, ids := range s.subs {
		if ids[id] {
			delete(ids, id)
			if len(ids) == 0 {
				delete(s.subs, uri)
				orphaned = append(orphaned, uri)
			}
		}
	}
	return orphaned
}

// subscribe records id's subscription and reports whether it is the
// first one for uri.
func (s *sessions) subscribe(uri, id string) (first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.subs[uri]
	if ids == nil {
		ids = map[string]bool{}
		s.subs[uri] = ids
	}
	first = len(ids) == 0
	ids[id] = true
	return first
}

// unsubscribe drops id's subscription and reports whether it was the last
// one for uri.
func (s *sessions) unsubscribe(uri, id string) (last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.subs[uri]
	if !ids[id] {
		return false
	}
	delete(ids, id)
	if len(ids) == 0 {
		delete(s.subs, uri)
		return true
	}
	return false
}

func (s *sessions) subscribers(uri string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.subs[uri] {
		ids = append(ids, id)
	}
	return ids
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

func (s *wsServer) unregister(sess server.ClientSession) {
	for _, uri := range s.sessions.remove(sess.SessionID()) {
		if conn, ok := s.upstreamForURI(uri); ok {
			ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
			if err := conn.Unsubscribe(ctx, uri); err != nil {
				s.log.Debug("unsubscribe upstream", "uri", uri, "err", err)
			}
			cancel()
		}
	}
}

// subscribe passes a client's first subscription to a URI upstream.
func (s *wsServer) subscribe(ctx context.Context, uri string) {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil {
		return
	}
	if !s.sessions.subscribe(uri, sess.SessionID()) {
		return
	}
	if conn, ok := s.upstreamForURI(uri); ok {
		if err := conn.Subscribe(ctx, uri); err != nil {
			s.log.Warn("subscribe upstream", "uri", uri, "err", err)
		}
	}
}

// unsubscribe passes the last unsubscription from a URI upstream.
func (s *wsServer) unsubscribe(ctx context.Context, uri string) {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil || !s.sessions.unsubscribe(uri, sess.SessionID()) {
		return
	}
	if conn, ok := s.upstreamForURI(uri); ok {
		if err := conn.Unsubscribe(ctx, uri); err != nil {
			s.log.Debug("unsubscribe upstream", "uri", uri, "err", err)
		}
	}
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
// messages to every session at or above its level.
func (s *wsServer) notify(upstreamName string, n mcp.JSONRPCNotification) {
	switch mcp.MCPMethod(n.Method) {
	case mcp.MethodNotificationResourceUpdated:
		uri, _ := n.Params.AdditionalFields["uri"].(string)
		for _, id := range s.sessions.subscribers(uri) {
			_ = s.mcp.SendNotificationToSpecificClient(id, n.Method, n.Params.AdditionalFields)
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
		for _, id := range s.sessions.ids() {
			_ = s.mcp.SendLogMessageToSpecificClient(id, msg)
		}
	}
}
