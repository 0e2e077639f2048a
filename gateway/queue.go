package gateway

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// What the gateway pushes to an HTTP session (2025-11-25) — an upstream's
// log messages, resource updates — reaches its client on whichever of the
// session's requests is open: its standalone GET stream, or a POST, before
// that POST's result. mcp-go's own queue of a session holds 100
// notifications, and one pushed while nobody reads waits there until a
// request comes: 5,000 sessions that asked for every log message and never
// read them held 741 MB, and the fan-out delayed another session's result
// by 40 s (issue 18).
//
// So the gateway holds a session's notifications in a queue of its own, of
// at most http.session_queue, and beyond it drops the oldest — counted,
// the session's first drop logged, and the count logged when it ends. It
// hands them to mcp-go only while one of the session's requests is open
// and mcp-go's queue holds fewer than http.session_queue; each one the
// session's stream writes (deliveryWriter) makes room for the next.
// Nothing here waits, so a session that does not read delays nobody else,
// and costs at most its two bounded queues. Results never pass through
// these queues: a response to a request is never dropped.

// noteQueue is the queue of one HTTP session.
type noteQueue struct {
	mu      sync.Mutex
	notes   []queuedNote // oldest first
	readers int          // the session's requests open now
	dropped int64
	out     chan<- mcp.JSONRPCNotification // mcp-go's queue of the session
	upgrade func()                         // as mcp-go does before it queues one
	limit   int
}

type queuedNote struct {
	n       mcp.JSONRPCNotification
	counted bool // counted in the session's delivery barrier once handed on
}

// push queues n for the session, dropping the oldest beyond limit, and
// hands on what it can. It reports whether it dropped the session's first.
func (d *delivery) push(sess server.SessionWithStreamableHTTPConfig, n queuedNote, limit int) (firstDrop bool) {
	q := &d.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.out == nil {
		q.out, q.upgrade, q.limit = sess.NotificationChannel(), sess.UpgradeToSSEWhenReceiveNotification, limit
	}
	if len(q.notes) >= q.limit {
		q.notes[0] = queuedNote{}
		q.notes = q.notes[1:]
		q.dropped++
		firstDrop = q.dropped == 1
	}
	q.notes = append(q.notes, n)
	d.pumpLocked()
	return firstDrop
}

// pump hands the session's waiting notifications to mcp-go while one of
// its requests is open and mcp-go's queue has room.
func (d *delivery) pump() {
	d.q.mu.Lock()
	defer d.q.mu.Unlock()
	d.pumpLocked()
}

func (d *delivery) pumpLocked() {
	q := &d.q
	for len(q.notes) > 0 && q.readers > 0 && len(q.out) < q.limit {
		q.upgrade()
		select {
		case q.out <- q.notes[0].n:
		default: // mcp-go's own notifications filled it meanwhile
			return
		}
		if q.notes[0].counted {
			d.sent()
		}
		q.notes[0] = queuedNote{}
		q.notes = q.notes[1:]
	}
	if len(q.notes) == 0 {
		q.notes = nil
	}
}

// open counts a request of the session as open, hands it what waits, and
// returns what ends it.
func (d *delivery) open() (closed func()) {
	d.q.mu.Lock()
	d.q.readers++
	d.pumpLocked()
	d.q.mu.Unlock()
	return func() {
		d.q.mu.Lock()
		d.q.readers--
		d.q.mu.Unlock()
	}
}

// drop counts a notification dropped for the session and reports whether
// it is the first.
func (q *noteQueue) drop() (first bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropped++
	return q.dropped == 1
}

// open is how many of the session's requests are open.
func (q *noteQueue) open() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.readers
}

func (q *noteQueue) droppedCount() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// waiting is how many notifications wait in the gateway's queue.
func (q *noteQueue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.notes)
}

// target is session id and its delivery, or nil and nil.
func (s *sessions) target(id string) (server.ClientSession, *delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all[id], s.deliveries[id]
}

// sendBounded sends n to session id: through the session's queue when it
// is an HTTP one (see above), else straight to mcp-go's queue of the
// session (stdio: one reader, always reading), dropped if that is full.
// counted counts it in the session's delivery barrier (delivery.go) once
// it is handed to mcp-go.
func (s *wsServer) sendBounded(id string, n mcp.JSONRPCNotification, counted bool) {
	sess, d := s.sessions.target(id)
	if sess == nil || d == nil || !sess.Initialized() {
		return
	}
	if h, ok := sess.(server.SessionWithStreamableHTTPConfig); ok {
		if d.push(h, queuedNote{n, counted}, s.limits.queue) {
			s.logDrop(id)
		}
		return
	}
	select {
	case sess.NotificationChannel() <- n:
		if counted {
			d.sent()
		}
	default:
	}
}

// queueFull reports whether the HTTP session of the request ctx has
// http.session_queue notifications waiting in mcp-go's queue already; a
// notification for that request's own stream is then dropped, and
// counted as the session's.
func (s *wsServer) queueFull(ctx context.Context) bool {
	sess := server.ClientSessionFromContext(ctx)
	if _, ok := sess.(server.SessionWithStreamableHTTPConfig); !ok || sess.SessionID() == "" {
		return false
	}
	if len(sess.NotificationChannel()) < s.limits.queue {
		return false
	}
	if _, d := s.sessions.target(sess.SessionID()); d != nil && d.q.drop() {
		s.logDrop(sess.SessionID())
	}
	return true
}

// logDrop logs the first notification dropped for session id.
func (s *wsServer) logDrop(id string) {
	s.log.Warn("notifications dropped for an HTTP session that does not read them as fast as they come: it holds http.session_queue, the oldest dropped first; counted until it ends",
		"session", id, "http.session_queue", s.limits.queue)
}
