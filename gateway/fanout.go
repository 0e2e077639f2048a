package gateway

import (
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// maxFanoutBacklog bounds the log messages waiting to go to every session
// that asked for log messages (relayLog).
const maxFanoutBacklog = 256

// fanout carries an upstream's unattributed log messages to the sessions
// that asked for them, off the goroutine that reads the upstream: a
// message for thousands of sessions takes time to hand out, and the
// upstream's results, read by that goroutine, must not wait for it. Its
// goroutine runs while messages wait, and ends when none do; sends to the
// sessions never block (sendBounded), so it never runs for long without
// making progress. Beyond maxFanoutBacklog waiting messages the oldest
// are dropped, counted, and the overflow logged when it begins and ends.
type fanout struct {
	mu      sync.Mutex
	queue   []mcp.LoggingMessageNotification
	running bool
	dropped int64
}

// fanOut queues msg for every session that asked for log messages; it
// never waits.
func (s *wsServer) fanOut(msg mcp.LoggingMessageNotification) {
	f := &s.fanout
	f.mu.Lock()
	if len(f.queue) >= maxFanoutBacklog {
		f.queue[0] = mcp.LoggingMessageNotification{}
		f.queue = f.queue[1:]
		f.dropped++
		if f.dropped == 1 {
			s.log.Warn("upstream log messages dropped, the oldest first: they come faster than they can be handed to the sessions that asked for them", "waiting", maxFanoutBacklog)
		}
	}
	f.queue = append(f.queue, msg)
	start := !f.running
	f.running = true
	f.mu.Unlock()
	if start {
		s.workers.run(s.deliverFanout) // stopped and waited for with the server
	}
}

// deliverFanout hands out the waiting messages until none wait.
func (s *wsServer) deliverFanout() {
	f := &s.fanout
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.running = false
			f.queue = nil // a burst's backlog is not kept
			if f.dropped > 0 {
				s.log.Warn("upstream log messages dropped for the sessions that asked for them", "dropped", f.dropped)
				f.dropped = 0
			}
			f.mu.Unlock()
			return
		}
		msg := f.queue[0]
		f.queue[0] = mcp.LoggingMessageNotification{}
		f.queue = f.queue[1:]
		f.mu.Unlock()
		n := logNotification(msg)
		for _, id := range s.sessions.askedIDs() {
			s.sendLogNote(id, msg.Params.Level, n, false)
		}
	}
}
