package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
)

// DefaultMaxCallsInFlight bounds the calls of one session when
// Options.MaxCallsInFlight sets no bound.
const DefaultMaxCallsInFlight = 1024

// inflight counts the calls each session has running or held — waiting
// for the judge, for a person, for the upstream — and refuses a call
// beyond the bound at once: a client cannot make the gateway hold calls,
// goroutines and memory without end, and a refusal is an answer, never a
// wait behind other calls. The count is per session (a stdio client, an
// HTTP session); the requests that have no session (2026-07-28 over HTTP)
// share their workspace's.
type inflight struct {
	max int
	log *slog.Logger

	mu   sync.Mutex
	n    map[string]int  // by session
	full map[string]bool // a refusal was logged, and the session has not come down to half the bound since
}

func newInflight(max int, log *slog.Logger) *inflight {
	if max <= 0 {
		max = DefaultMaxCallsInFlight
	}
	return &inflight{max: max, log: log, n: map[string]int{}, full: map[string]bool{}}
}

// begin counts a call of session, or reports false when the session has
// max calls in flight already. done ends the call's count; it may be
// called more than once.
func (c *inflight) begin(session string) (done func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[session] >= c.max {
		if !c.full[session] {
			c.full[session] = true
			c.log.Warn("calls refused: the session has reached limits.max_calls_in_flight", "session", sessionTag(session), "limit", c.max)
		}
		return nil, false
	}
	c.n[session]++
	var once sync.Once
	return func() { once.Do(func() { c.end(session) }) }, true
}

func (c *inflight) end(session string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[session]--
	if c.n[session] <= 0 {
		delete(c.n, session)
	}
	// Logged once per crossing: the next refusal is logged again once the
	// session has come down to half the bound, not at every call that ends
	// while it hovers at the bound.
	if c.full[session] && c.n[session] <= c.max/2 {
		delete(c.full, session)
		c.log.Info("calls accepted again: the session is well under limits.max_calls_in_flight", "session", sessionTag(session), "limit", c.max)
	}
}

// refusal is what the client reads of a call refused at the bound, and
// the reason its record gives.
func (c *inflight) refusal() (message, reason string) {
	reason = fmt.Sprintf("%d calls of this session were already running or waiting (limits.max_calls_in_flight)", c.max)
	return "Gatehouse refused the call: " + reason + "; it was not run. Try again when some have finished.", reason
}

// sessionTag names session in the log without giving its id away: an HTTP
// session's id is all a client needs to act in the session.
func sessionTag(session string) string {
	if session == "" {
		return "session-less requests"
	}
	sum := sha256.Sum256([]byte(session))
	return hex.EncodeToString(sum[:4])
}
