package gateway

import "github.com/gatehouse-mcp/gatehouse/gateway/internal/stdiofast"

// FastServed is how many calls g's stdio fast path has taken.
func FastServed(g *Gateway) int64 { return g.fastServed.Load() }

// SetStdioPool sets the size of mcp-go's stdio worker pool (and of its
// queue, four times that) for the stdio sessions g serves from now on.
func SetStdioPool(g *Gateway, n int) { g.stdioPool = n }

// FastPathMirrors reports whether the stdio fast path can serve workspace
// ws of g (stdiofast.Mirrors of its MCP server).
func FastPathMirrors(g *Gateway, ws string) bool {
	s, ok := g.server(ws)
	return ok && stdiofast.Mirrors(s.mcp)
}
