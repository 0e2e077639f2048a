package main

import (
	"fmt"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/mcp"
)

// The transports a path can use.
const (
	transportStdio = "stdio"
	transportHTTP  = "http"
)

// route says what stands between the client and the upstream.
type route int

const (
	direct    route = iota // nothing: the client talks to the upstream
	forwarder              // a byte forwarder (see forwardCommand)
	gateway                // the gatehouse binary
	compared               // the second gatehouse binary of -compare
)

func (r route) String() string { return [...]string{"direct", "forwarder", "gateway", "gateway B"}[r] }

// protocol is the MCP protocol generation the client speaks.
type protocol int

const (
	modern protocol = iota // 2026-07-28, stateless
	legacy                 // 2025-11-25, initialize and sessions
)

func (p protocol) String() string {
	return [...]string{mcp.ProtocolVersion20260728, mcp.ProtocolVersion20251125}[p]
}

// path is one way for the client to reach the echo tool.
type path struct {
	transport string
	route     route
	protocol  protocol
	judge     judging // on a gateway path
}

func (p path) String() string {
	return fmt.Sprintf("%s %s%s (%s)", p.transport, p.route, p.judge, p.protocol)
}

// Names the gateway config gives the workspace and the upstream, and so the
// tool the client calls through the gateway.
const (
	benchWorkspace = "bench"
	benchUpstream  = "up"
)

// toolName is the name the client calls on path p.
func (p path) toolName() string {
	if p.route != direct {
		return benchUpstream + "__" + upstreamtest.ToolEcho
	}
	return upstreamtest.ToolEcho
}
