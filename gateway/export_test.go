package gateway

import "github.com/gatehouse-mcp/gatehouse/gateway/internal/stdiofast"

// FastServed is how many calls g's stdio fast path has taken.
func FastServed(g *Gateway) int64 { return g.fastServed.Load() }

// SetFastMaxCalls sets the fast path's bound on running calls for the
// stdio sessions g serves from now on.
func SetFastMaxCalls(g *Gateway, n int) { g.fastMaxCalls = n }

// FastPathMirrors reports whether the stdio fast path can serve workspace
// ws of g (stdiofast.Mirrors of its MCP server).
func FastPathMirrors(g *Gateway, ws string) bool {
	s, ok := g.server(ws)
	return ok && stdiofast.Mirrors(s.mcp)
}
