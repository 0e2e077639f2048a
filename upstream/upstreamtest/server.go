// Package upstreamtest provides a real MCP server with known tools, prompts
// and resources, for tests.
//
// A [Server] is an mcp-go server in miniature. Tests put it behind Gatehouse
// in one of three ways: over streamable HTTP on loopback ([Server.ServeHTTP]),
// over the legacy SSE transport on loopback ([Server.ServeSSE]), or as a
// compiled stdio child process ([StdioCommand]). It records every tools/call
// it receives ([Calls]) so a test can prove that a call did, or did not,
// reach the upstream.
//
// The same handlers serve both protocol generations: clients that speak
// 2025-11-25 (initialize handshake, sessions, server-initiated requests) and
// clients that speak the stateless 2026-07-28 (per-request _meta, multi
// round-trip input requests). The sample and elicit tools are written once as
// multi round-trip handlers; mcp-go issues the old server-initiated requests
// for legacy clients.
package upstreamtest

import (
	"sync/atomic"

	"github.com/mark3labs/mcp-go/server"
)

// DefaultName is the server name reported when [Options.Name] is empty.
const DefaultName = "upstreamtest"

// Version is the server version reported in initialize and server/discover.
const Version = "1.0.0"

// Options configures a [Server].
type Options struct {
	// Name is the server name reported to clients. Empty means DefaultName.
	Name string
	// ToolPrefix is prepended to every tool name and every prompt name, so
	// that two servers can offer distinct names. Resource URIs are never
	// prefixed.
	ToolPrefix string
	// Pages is the page size of tools/list, prompts/list, resources/list and
	// resources/templates/list. Zero means no pagination.
	Pages int
	// ExitOnCrash makes the crash tool end the process with exit status 3.
	// Only the stdio child sets it; otherwise crash returns an error.
	ExitOnCrash bool
}

// Server is an MCP server with the tools, prompts and resources this package
// documents. Build it with [NewServer]; serve it with [Server.ServeHTTP],
// [Server.ServeSSE] or the stdio child of [StdioCommand].
type Server struct {
	// MCP is the underlying mcp-go server. Tests may add to it.
	MCP *server.MCPServer
	// Calls records every tools/call the server received.
	Calls *Calls

	opts          Options
	cancelled     atomic.Int64
	subscriptions *subscriptions
}

// NewServer builds a Server from opts. It does no I/O.
func NewServer(opts Options) *Server {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	s := &Server{
		Calls:         &Calls{},
		opts:          opts,
		subscriptions: newSubscriptions(),
	}

	hooks := &server.Hooks{}
	hooks.AddBeforeCallTool(s.Calls.record)
	s.subscriptions.register(hooks)

	serverOpts := []server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithPromptCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(promptCompletions{prefix: opts.ToolPrefix}),
		server.WithResourceCompletionProvider(resourceCompletions{}),
		server.WithHooks(hooks),
	}
	if opts.Pages > 0 {
		serverOpts = append(serverOpts, server.WithPaginationLimit(opts.Pages))
	}
	s.MCP = server.NewMCPServer(opts.Name, Version, serverOpts...)

	s.addTools()
	s.addPrompts()
	s.addResources()
	return s
}

// Name returns the server name reported to clients.
func (s *Server) Name() string { return s.opts.Name }

// ToolName returns the name under which the server offers the tool called
// base: base with the ToolPrefix prepended.
func (s *Server) ToolName(base string) string { return s.opts.ToolPrefix + base }

// Cancelled counts the calls of the slow tool whose context ended before the
// tool finished: the client cancelled or went away.
func (s *Server) Cancelled() int { return int(s.cancelled.Load()) }
