package gateway

// HTTPSessions is how many HTTP sessions workspace ws of g has open.
func HTTPSessions(g *Gateway, ws string) int {
	s, ok := g.server(ws)
	if !ok {
		return 0
	}
	return s.sessionIDs.count()
}

// QueueDepths is, over the HTTP sessions of workspace ws of g, the most
// notifications waiting for one session in the gateway's queue, and in
// mcp-go's.
func QueueDepths(g *Gateway, ws string) (gatehouse, mcpgo int) {
	s, ok := g.server(ws)
	if !ok {
		return 0, 0
	}
	for _, id := range s.sessions.ids() {
		sess, d := s.sessions.target(id)
		if sess == nil || d == nil {
			continue
		}
		gatehouse = max(gatehouse, d.q.waiting())
		mcpgo = max(mcpgo, len(sess.NotificationChannel()))
	}
	return gatehouse, mcpgo
}

// HTTPListens is how many subscriptions/listen streams workspace ws of g
// has open.
func HTTPListens(g *Gateway, ws string) int {
	s, ok := g.server(ws)
	if !ok {
		return 0
	}
	s.listens.mu.Lock()
	defer s.listens.mu.Unlock()
	return s.listens.open
}
