package gateway

import (
	"context"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gatehouse-mcp/gatehouse/enforce"
)

// An upstream's log messages carry no request id, and may hold data of
// the call that produced them. They go where that call came from when the
// gateway can tell, and otherwise only to the sessions that asked for log
// messages (logging/setLevel):
//
//   - one call in flight to the upstream: to that call's request, on its
//     own stream (a 2026-07-28 request gets them only if its _meta asked);
//   - calls of one session only: to that session;
//   - none, or calls of several sessions: to every session that set a
//     level — never to one that did not ask.
//
// Only a message sent for a call counts in that call's delivery barrier
// (delivery.go): the fan-out of an unattributed message never delays a
// result.

// forwarding marks f as a call in flight to its upstream, until done.
func (s *wsServer) forwarding(f *flight) (done func()) {
	s.sessions.mu.Lock()
	s.sessions.flying[f] = true
	s.sessions.mu.Unlock()
	return func() {
		s.sessions.mu.Lock()
		delete(s.sessions.flying, f)
		s.sessions.mu.Unlock()
	}
}

// askedForLogs notes that session id set a logging level.
func (s *sessions) askedForLogs(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.all[id]; ok {
		s.logs[id] = true
	}
}

// logTargets says where a log message of upstream goes: the one call in
// flight to it, or the one session whose calls are, or (neither) the
// sessions that asked for log messages (askedIDs).
func (s *sessions) logTargets(upstream string) (one *flight, session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var flights []*flight
	for f := range s.flying {
		if f.upstream == upstream {
			flights = append(flights, f)
		}
	}
	switch {
	case len(flights) == 1:
		return flights[0], ""
	case len(flights) > 1 && flights[0].session != "" && !slices.ContainsFunc(flights, func(f *flight) bool { return f.session != flights[0].session }):
		return nil, flights[0].session
	}
	return nil, ""
}

// askedIDs are the sessions that asked for log messages.
func (s *sessions) askedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.logs))
	for id := range s.logs {
		ids = append(ids, id)
	}
	return ids
}

// relayLog passes an upstream's log message on (see above).
func (s *wsServer) relayLog(upstreamName string, msg mcp.LoggingMessageNotification) {
	msg.Params.Data = enforce.ScanRelayed(s.enforcer(), s.ws.Name(), msg.Params.Data)
	one, session := s.sessions.logTargets(upstreamName)
	switch {
	case one != nil:
		one.log(msg)
	case session != "":
		s.sendLog(session, msg, true)
	default:
		s.fanOut(msg) // to every session that asked: not on this goroutine
	}
}

// sendLog sends a log message to session id if its level lets it through;
// counted for the session's delivery when it belongs to one of its calls.
func (s *wsServer) sendLog(id string, msg mcp.LoggingMessageNotification, counted bool) {
	s.sendLogNote(id, msg.Params.Level, logNotification(msg), counted)
}

// sendLogNote is sendLog of a message made a notification (shared by the
// sessions of a fan-out: nobody writes to it).
func (s *wsServer) sendLogNote(id string, level mcp.LoggingLevel, n mcp.JSONRPCNotification, counted bool) {
	sess, ok := s.sessions.session(id).(server.SessionWithLogging)
	if !ok || !level.ShouldSendTo(sess.GetLogLevel()) {
		return // mcp-go would not send it
	}
	s.sendBounded(id, n, counted)
}

// logNotification is msg as mcp-go sends it.
func logNotification(msg mcp.LoggingMessageNotification) mcp.JSONRPCNotification {
	n := mcp.JSONRPCNotification{JSONRPC: mcp.JSONRPC_VERSION}
	n.Method = msg.Method
	n.Params.AdditionalFields = map[string]any{"level": msg.Params.Level, "logger": msg.Params.Logger, "data": msg.Params.Data}
	return n
}

// log passes an upstream's log message to the client request that awaits
// the call now, as progress goes (see progress), if the level the client
// asked for lets it through.
func (f *flight) log(msg mcp.LoggingMessageNotification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.answered || f.req == nil || !msg.Params.Level.ShouldSendTo(logLevel(f.req)) {
		return
	}
	if f.s.queueFull(f.req) {
		return
	}
	if err := f.s.mcp.SendLogMessageToClient(f.req, msg); err != nil {
		f.s.log.Debug("log message not delivered", "err", err)
		return
	}
	if d := deliveryOf(f.req); d != nil {
		d.sent()
	}
}

// logLevel is the level of log messages the client request ctx asked for,
// as mcp-go reads it: a 2026-07-28 request's own _meta level (none: no
// messages at all), else its session's (error until it sets one).
func logLevel(ctx context.Context) mcp.LoggingLevel {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		if info.LogLevel == "" {
			return noLogs
		}
		return info.LogLevel
	}
	if sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithLogging); ok {
		return sess.GetLogLevel()
	}
	return noLogs
}

// noLogs is a level no message reaches.
const noLogs mcp.LoggingLevel = "none"

// sessionOf is the id of ctx's session; "" for a stateless request.
func sessionOf(ctx context.Context) string {
	if sess := server.ClientSessionFromContext(ctx); sess != nil {
		return sess.SessionID()
	}
	return ""
}
