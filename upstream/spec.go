// Package upstream is one connection to one upstream MCP server — a stdio
// child process, a streamable HTTP endpoint or a legacy SSE endpoint —
// through the mcp-go client: it starts, supervises and restarts the
// connection, lists what the server offers (following pagination), calls
// it, and reports the server's notifications.
package upstream

import (
	"slices"
	"time"
)

// Transport names how Gatehouse reaches an upstream.
type Transport string

// The transports an upstream can use.
const (
	// TransportStdio runs the upstream as a child process and speaks
	// JSON-RPC over its stdin and stdout.
	TransportStdio Transport = "stdio"
	// TransportHTTP speaks MCP streamable HTTP to a URL.
	TransportHTTP Transport = "http"
	// TransportSSE speaks the legacy HTTP+SSE transport to a URL.
	TransportSSE Transport = "sse"
)

// Spec says how to reach one upstream MCP server. It is plain data: the
// command line turns config files into Specs, and two equal Specs describe
// the same connection (a reload keeps an upstream whose Spec is unchanged).
type Spec struct {
	// Name identifies the upstream within its workspace. It prefixes the
	// upstream's tool and prompt names unless Prefix is false.
	Name string
	// Transport is stdio when Command is set, otherwise http or sse.
	Transport Transport

	// Command, Args, Env and Dir describe a stdio child. The child gets
	// only Env (KEY=VALUE entries) plus PATH and HOME of the gateway (and on
	// Windows the system variables inheritedEnv names).
	Command string
	Args    []string
	Env     []string
	Dir     string

	// URL and Headers (Name=Value entries) describe an HTTP or SSE upstream.
	URL     string
	Headers []string

	// Prefix exposes names as upstream__name when true (the default in
	// config); false exposes the upstream's own names.
	Prefix bool

	// Timeout bounds connecting and each list request; zero means
	// DefaultTimeout. Tool calls are bounded by the caller's context.
	Timeout time.Duration

	// Protocol is the protocol generation spoken to the upstream:
	// ProtocolLegacy (also when empty) or ProtocolModern.
	Protocol string

	// MaxMessageBytes bounds one message from the upstream; zero means
	// the Conn's Options.MaxMessageBytes.
	MaxMessageBytes int
}

// The protocol generations Gatehouse can speak to an upstream.
//
// ProtocolLegacy, the default, is the most compatible: a server of either
// generation serves it, and a 2026-07-28 mcp-go server bridges its handlers'
// multi round-trip input requests to it — while a handler that sends its own
// sampling or elicitation request (the pre-2026 API) fails under
// ProtocolModern. ProtocolModern prefers the stateless protocol and falls back
// to the legacy one for servers that do not speak it.
const (
	ProtocolLegacy = "2025-11-25"
	ProtocolModern = "2026-07-28"
)

// DefaultTimeout bounds a connection attempt and each list request when a
// Spec sets no Timeout.
const DefaultTimeout = 30 * time.Second

// Equal reports whether two Specs describe the same connection.
func (s Spec) Equal(o Spec) bool {
	return s.Name == o.Name && s.Transport == o.Transport &&
		s.Command == o.Command && slices.Equal(s.Args, o.Args) &&
		slices.Equal(s.Env, o.Env) && s.Dir == o.Dir &&
		s.URL == o.URL && slices.Equal(s.Headers, o.Headers) &&
		s.Prefix == o.Prefix && s.Timeout == o.Timeout && s.Protocol == o.Protocol
}
