package upstreamtest

import (
	"context"
	"slices"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// subscriptions tracks which clients want notifications/resources/updated
// for which URIs. mcp-go acknowledges resources/subscribe but keeps no
// record of it (none of its built-in sessions implements
// SessionWithResourceSubscriptions), so the server keeps its own, fed by
// hooks:
//
//   - legacy clients (2025-11-25) subscribe with resources/subscribe on a
//     registered session, and are notified by session ID;
//   - modern clients (2026-07-28) name the URIs in the filter of a
//     subscriptions/listen request, and are notified on that request's
//     stream, through its context, for as long as the request lasts.
type subscriptions struct {
	mu       sync.Mutex
	sessions map[string]map[string]struct{} // uri -> session IDs
	listens  map[*listen]struct{}
}

// listen is one open subscriptions/listen request.
type listen struct {
	ctx  context.Context
	uris []string
}

func newSubscriptions() *subscriptions {
	return &subscriptions{
		sessions: make(map[string]map[string]struct{}),
		listens:  make(map[*listen]struct{}),
	}
}

// register adds the hooks that keep the record.
func (s *subscriptions) register(hooks *server.Hooks) {
	hooks.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		if session := server.ClientSessionFromContext(ctx); session != nil {
			s.subscribe(req.Params.URI, session.SessionID())
		}
	})
	hooks.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		if session := server.ClientSessionFromContext(ctx); session != nil {
			s.unsubscribe(req.Params.URI, session.SessionID())
		}
	})
	hooks.AddOnUnregisterSession(func(_ context.Context, session server.ClientSession) {
		s.forget(session.SessionID())
	})
	hooks.AddBeforeSubscriptionsListen(func(ctx context.Context, _ any, req *mcp.SubscriptionsListenRequest) {
		if uris := req.Params.Notifications.ResourceSubscriptions; len(uris) > 0 {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.listens[&listen{ctx: ctx, uris: slices.Clone(uris)}] = struct{}{}
		}
	})
}

func (s *subscriptions) subscribe(uri, sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[uri] == nil {
		s.sessions[uri] = make(map[string]struct{})
	}
	s.sessions[uri][sessionID] = struct{}{}
}

func (s *subscriptions) unsubscribe(uri, sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions[uri], sessionID)
}

func (s *subscriptions) forget(sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ids := range s.sessions {
		delete(ids, sessionID)
	}
}

// notify sends notifications/resources/updated for uri to every subscriber
// and returns how many it reached. Listen requests that have ended are
// dropped on the way.
func (s *subscriptions) notify(mcpServer *server.MCPServer, uri string) int {
	s.mu.Lock()
	var sessionIDs []string
	for id := range s.sessions[uri] {
		sessionIDs = append(sessionIDs, id)
	}
	var contexts []context.Context
	for l := range s.listens {
		switch {
		case l.ctx.Err() != nil:
			delete(s.listens, l)
		case slices.Contains(l.uris, uri):
			contexts = append(contexts, l.ctx)
		}
	}
	s.mu.Unlock()

	params := map[string]any{"uri": uri}
	n := 0
	for _, id := range sessionIDs {
		if mcpServer.SendNotificationToSpecificClient(id, mcp.MethodNotificationResourceUpdated, params) == nil {
			n++
		}
	}
	for _, ctx := range contexts {
		if mcpServer.SendNotificationToClient(ctx, mcp.MethodNotificationResourceUpdated, params) == nil {
			n++
		}
	}
	return n
}
