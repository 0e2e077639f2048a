// Package gateway is Gatehouse's downstream face: one MCP server per
// workspace, served over stdio or streamable HTTP, that passes tools,
// prompts, resources, completions, logging and progress through to the
// workspace's upstreams — and sends every tools/call through the
// enforcement step (package enforce) before it is forwarded.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/mark3labs/mcp-go/mcp"
)

// Options configure a Gateway. Every field may be zero.
type Options struct {
	// Logger receives the gateway's log; nil means slog.Default().
	Logger *slog.Logger
	// Version is reported to clients and upstreams.
	Version string
	// User is who the gateway acts for over stdio (the --user flag, or the
	// OS user).
	User string
	// Enforcer decides every tools/call; nil allows every call and
	// records none.
	Enforcer *enforce.Enforcer
	// HTTP configures the streamable HTTP face.
	HTTP HTTPOptions
	// Stdio configures the stdio face.
	Stdio StdioOptions
	// PlainStdio serves stdio through mcp-go alone, without the fast path
	// for tools/call (package stdiofast); each call still runs on a
	// goroutine of its own, never in mcp-go's read loop.
	PlainStdio bool
	// MaxCallsInFlight bounds the calls one session (a stdio client, an
	// HTTP session; the session-less requests of a workspace together)
	// has running or held at once; a call beyond it is refused at once.
	// Zero means DefaultMaxCallsInFlight.
	MaxCallsInFlight int
}

// Gateway serves a set of workspaces. Its workspaces can be replaced while
// it runs (Apply), without dropping upstreams whose spec did not change.
type Gateway struct {
	opts     Options
	log      *slog.Logger
	enforcer atomic.Pointer[enforce.Enforcer]
	calls    callTracker

	mu      sync.RWMutex
	servers map[string]*wsServer
	order   []string // workspace names in config order
	ctx     context.Context

	retiring sync.WaitGroup // workspaces removed by Apply, closing

	fastServed atomic.Int64 // calls the stdio fast path took
	stdioPool  int          // mcp-go's stdio workers for the sessions to come; zero: stdioWorkers
}

// New returns a Gateway for the workspaces. It does no I/O: Start does.
func New(specs []workspace.Spec, opts Options) *Gateway {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	g := &Gateway{opts: opts, log: opts.Logger, servers: map[string]*wsServer{}}
	g.SetEnforcer(opts.Enforcer)
	for _, spec := range specs {
		g.servers[spec.Name] = g.newServer(spec)
		g.order = append(g.order, spec.Name)
	}
	return g
}

func (g *Gateway) newServer(spec workspace.Spec) *wsServer {
	var s *wsServer
	ws := workspace.New(spec, workspace.Options{
		Logger:     g.log,
		ClientInfo: mcp.Implementation{Name: "gatehouse", Version: g.opts.Version},
		OnChange:   func() { s.sync() },
		OnNotification: func(up string, n mcp.JSONRPCNotification) {
			s.notify(up, n)
		},
	})
	s = newWSServer(ws, g.opts.Version, g.currentEnforcer, g.opts.User, &g.calls, g.log)
	s.limits = g.opts.HTTP.sessionLimits()
	s.inflight = newInflight(g.opts.MaxCallsInFlight, s.log)
	s.http = g.newHTTPHandler(s)
	stop, swept := make(chan struct{}), make(chan struct{})
	s.stopIdle = sync.OnceFunc(func() { close(stop); <-swept })
	go func() {
		defer close(swept)
		s.idleSweeper(stop)
	}()
	s.sync()
	return s
}

func (g *Gateway) currentEnforcer() *enforce.Enforcer { return g.enforcer.Load() }

// SetEnforcer replaces the enforcement step for calls that start from now;
// nil allows every call and records none.
func (g *Gateway) SetEnforcer(e *enforce.Enforcer) {
	if e == nil {
		e = &enforce.Enforcer{}
	}
	if e.Latest == nil {
		// A call approved at the client runs under the policies in force
		// when it is about to run.
		e.Latest = g.currentEnforcer
	}
	g.enforcer.Store(e)
}

// Start connects every workspace's upstreams in the background.
func (g *Gateway) Start(ctx context.Context) {
	g.mu.Lock()
	g.ctx = ctx
	servers := g.serversLocked()
	g.mu.Unlock()
	for _, s := range servers {
		s.ws.Start(ctx)
	}
}

// WaitReady waits until every upstream has made its first connection
// attempt, or ctx ends.
func (g *Gateway) WaitReady(ctx context.Context) error {
	for _, s := range g.snapshot() {
		if err := s.ws.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Apply moves the gateway to a new set of workspaces, as after a config
// reload: workspaces and upstreams that did not change stay connected, new
// ones start, removed ones are closed. Clients are told list_changed where
// their lists changed.
func (g *Gateway) Apply(specs []workspace.Spec) {
	g.mu.Lock()
	next := map[string]*wsServer{}
	var order []string
	var started []*wsServer
	for _, spec := range specs {
		order = append(order, spec.Name)
		if s, ok := g.servers[spec.Name]; ok {
			next[spec.Name] = s
			continue
		}
		s := g.newServer(spec)
		next[spec.Name] = s
		started = append(started, s)
	}
	var removed []*wsServer
	for name, s := range g.servers {
		if _, ok := next[name]; !ok {
			removed = append(removed, s)
		}
	}
	g.servers, g.order = next, order
	ctx := g.ctx
	g.mu.Unlock()

	for _, spec := range specs {
		if s, ok := next[spec.Name]; ok && !slices.Contains(started, s) {
			s.ws.Reconfigure(spec)
		}
	}
	if ctx != nil {
		for _, s := range started {
			s.ws.Start(ctx)
		}
	}
	for _, s := range removed {
		g.log.Info("workspace removed", "workspace", s.ws.Name())
		g.retiring.Go(func() {
			s.parking.expireAll() // no retry can reach a removed workspace
			_ = s.ws.Close()
			s.workers.stop()
			s.stopIdle()
		})
	}
}

// Shutdown stops taking tool calls and waits for the ones in flight, or for
// ctx to end; then calls held for a question end as expired, and the HTTP
// sessions' streams end, so that the HTTP server's own Shutdown can
// complete.
func (g *Gateway) Shutdown(ctx context.Context) error {
	err := g.calls.drain(ctx)
	for _, s := range g.snapshot() {
		s.parking.expireAll() // held calls end, recorded, as expired
		s.http.CloseSessions(context.WithoutCancel(ctx))
	}
	return err
}

// Close stops every upstream, and with them their child processes.
func (g *Gateway) Close() error {
	var wg sync.WaitGroup
	for _, s := range g.snapshot() {
		wg.Go(func() {
			s.parking.expireAll()
			_ = s.ws.Close()
			s.workers.stop()
			s.stopIdle()
		})
	}
	wg.Wait()
	g.retiring.Wait()
	return nil
}

func (g *Gateway) server(name string) (*wsServer, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.servers[name]
	return s, ok
}

func (g *Gateway) snapshot() []*wsServer {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.serversLocked()
}

func (g *Gateway) serversLocked() []*wsServer {
	out := make([]*wsServer, 0, len(g.order))
	for _, name := range g.order {
		out = append(out, g.servers[name])
	}
	return out
}

// Workspace returns the named workspace.
func (g *Gateway) Workspace(name string) (*workspace.Workspace, bool) {
	s, ok := g.server(name)
	if !ok {
		return nil, false
	}
	return s.ws, true
}

// UpstreamStatus is one upstream's line in a status report.
type UpstreamStatus struct {
	Name   string
	Status upstream.Status
	Tools  int
}

// WorkspaceStatus is one workspace's part of a status report.
type WorkspaceStatus struct {
	Name      string
	Upstreams []UpstreamStatus
	Tools     int // exposed tools
	Conflicts []workspace.Conflict
}

// Status reports every workspace's upstreams and catalog size.
func (g *Gateway) Status() []WorkspaceStatus {
	var out []WorkspaceStatus
	for _, s := range g.snapshot() {
		cat := s.ws.Catalog()
		ws := WorkspaceStatus{Name: s.ws.Name(), Tools: len(cat.Tools), Conflicts: cat.Conflicts}
		for _, c := range s.ws.Upstreams() {
			us := UpstreamStatus{Name: c.Name(), Status: c.Status()}
			if uc := c.Catalog(); uc != nil {
				us.Tools = len(uc.Tools)
			}
			ws.Upstreams = append(ws.Upstreams, us)
		}
		out = append(out, ws)
	}
	return out
}

// ErrUnknownWorkspace is returned for a workspace the gateway does not serve.
var ErrUnknownWorkspace = errors.New("unknown workspace")
