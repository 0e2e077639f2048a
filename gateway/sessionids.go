package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"

	"github.com/mark3labs/mcp-go/server"
)

// maxEndedSessions bounds how many ended session ids a workspace
// remembers, to answer "terminated" rather than "unknown" (both are 404).
const maxEndedSessions = 4096

// sessionIDs issues and checks the HTTP session ids (protocol 2025-11-25)
// of one workspace. An id this workspace did not issue — another
// workspace's, a made-up one — or one that has ended (DELETE, or dropped
// for idleness) is not a session: mcp-go answers 404, and the client
// starts a new one, as the specification says.
type sessionIDs struct {
	mu    sync.Mutex
	live  map[string]bool
	ended map[string]bool
	order []string // ended, oldest first

	// The bound of http.max_sessions (admit) counts the live sessions
	// mcp-go registered and the requests admitted to open one and not yet
	// done: a session counts from its admission, whether or not its
	// registration has happened yet.
	registered map[string]bool
	opening    admission
}

var _ server.SessionIdManager = (*sessionIDs)(nil)

var errUnknownSession = errors.New("unknown session")

func newSessionIDs() *sessionIDs {
	return &sessionIDs{live: map[string]bool{}, ended: map[string]bool{}, registered: map[string]bool{}}
}

// Generate issues a new session id: 128 random bits.
func (s *sessionIDs) Generate() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	id := "gh-" + hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live[id] = true
	return id
}

// Validate says whether id is a live session of this workspace.
func (s *sessionIDs) Validate(id string) (terminated bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.live[id]:
		return false, nil
	case s.ended[id]:
		return true, nil
	}
	return false, errUnknownSession
}

// Terminate ends session id (the client's DELETE).
func (s *sessionIDs) Terminate(id string) (notAllowed bool, err error) {
	s.end(id)
	return false, nil
}

// end forgets a live session, and remembers that it ended.
func (s *sessionIDs) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live[id] {
		return
	}
	delete(s.live, id)
	delete(s.registered, id)
	s.ended[id] = true
	s.order = append(s.order, id)
	if len(s.order) > maxEndedSessions {
		delete(s.ended, s.order[0])
		s.order = s.order[1:]
	}
}

// register notes that mcp-go registered live session id.
func (s *sessionIDs) register(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[id] {
		s.registered[id] = true
	}
}

// admit reserves room for one more session, if fewer than max are
// registered or opening, until the request that opens it is done (done):
// by then mcp-go has registered the session, or failed to. Otherwise it
// reports false, and first true the first time since there was room.
func (s *sessionIDs) admit(max int) (ok, first bool, done func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opening.admit(max - len(s.registered))
}

// count is how many sessions are registered now.
func (s *sessionIDs) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.registered)
}

// admission bounds the requests of one kind open at once: those opening a
// session (sessionIDs.admit), the subscriptions/listen streams of
// 2026-07-28 clients.
type admission struct {
	mu   sync.Mutex
	open int
	full bool // the last request admit saw was refused
}

// admit reserves room for one more request, if fewer than max are open,
// until done; otherwise it reports false, and first true the first time
// since there was room.
func (c *admission) admit(max int) (ok, first bool, done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open >= max {
		first, c.full = !c.full, true
		return false, first, nil
	}
	c.full = false
	c.open++
	return true, false, sync.OnceFunc(func() {
		c.mu.Lock()
		c.open--
		c.mu.Unlock()
	})
}
