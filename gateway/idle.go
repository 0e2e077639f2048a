package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// An HTTP session (2025-11-25) with no request open — neither a POST nor
// its GET stream — and none started for longer than
// http.session_idle_timeout ends: the gateway ends it as the client's
// DELETE would, so that mcp-go frees its state and its id gets 404 (the
// client then initializes again). mcp-go's own idle sweeper is not used:
// it counts from the start of a session's last request, and would end a
// session whose call has been waiting longer than that for a person.

// idleSweeper ends idle sessions until stop is closed.
func (s *wsServer) idleSweeper(stop <-chan struct{}) {
	t := time.NewTicker(min(max(s.limits.idle/4, 50*time.Millisecond), time.Minute))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.endIdle()
		}
	}
}

// endIdle ends the sessions idle longer than the timeout, and logs each.
func (s *wsServer) endIdle() {
	for _, id := range s.sessions.idle(s.limits.idle) {
		s.log.Info("HTTP session ended: no request for longer than http.session_idle_timeout; its id now gets 404, and its client must initialize again",
			"session", id, "http.session_idle_timeout", s.limits.idle)
		s.endSession(id)
	}
}

// idle are the HTTP sessions with no request open, and none started or
// written to for longer than timeout.
func (s *sessions) idle(timeout time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	before := time.Now().Add(-timeout).UnixNano()
	var ids []string
	for id, sess := range s.all {
		if _, isHTTP := sess.(server.SessionWithStreamableHTTPConfig); !isHTTP {
			continue
		}
		if d := s.deliveries[id]; d != nil && d.lastUse.Load() < before && d.q.open() == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// endSession ends HTTP session id as its client's DELETE does.
func (s *wsServer) endSession(id string) {
	r, err := http.NewRequestWithContext(context.Background(), http.MethodDelete, "/mcp", nil)
	if err != nil {
		s.log.Error("cannot end an idle HTTP session", "session", id, "err", err)
		return
	}
	r.Header.Set(server.HeaderKeySessionID, id)
	r.Header.Set(mcp.HeaderProtocolVersion, idleDeleteVersion)
	s.http.ServeHTTP(discardResponse{http.Header{}}, r)
}

// discardResponse is the response to the gateway's own DELETE: nobody
// reads it.
type discardResponse struct{ h http.Header }

func (d discardResponse) Header() http.Header         { return d.h }
func (d discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d discardResponse) WriteHeader(int)             {}

// idleDeleteVersion is the protocol version of the gateway's own DELETE:
// the one with sessions.
const idleDeleteVersion = "2025-11-25"
