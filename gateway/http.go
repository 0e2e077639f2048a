package gateway

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// sessionIdleTTL is how long an HTTP session may go unused before it is
// dropped.
const sessionIdleTTL = 30 * time.Minute

// DefaultMaxRequestBytes bounds a request body when HTTPOptions sets none.
const DefaultMaxRequestBytes = 4 << 20

// HTTPOptions configure the streamable HTTP face.
type HTTPOptions struct {
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed
	// besides loopback ones. A request with any other Origin is refused.
	AllowedOrigins []string
	// MaxRequestBytes bounds a request body; zero means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

func (g *Gateway) newHTTPHandler(s *wsServer) *server.StreamableHTTPServer {
	return server.NewStreamableHTTPServer(s.mcp,
		server.WithStreamableHTTPLogger(s.log),
		// Session ids are this workspace's own: another's, or an ended
		// one, is unknown (404).
		server.WithSessionIdManager(s.sessionIDs),
		// A 2025-11-25 client that vanished without DELETE must not hold
		// its session forever.
		server.WithSessionIdleTTL(sessionIdleTTL),
	)
}

// Handler serves every workspace at /w/{workspace}/mcp, and at /mcp when
// the gateway has exactly one workspace.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/w/{workspace}/mcp", func(w http.ResponseWriter, r *http.Request) {
		s, ok := g.server(r.PathValue("workspace"))
		if !ok {
			http.Error(w, "unknown workspace "+r.PathValue("workspace"), http.StatusNotFound)
			return
		}
		s.serveHTTP(w, r)
	})
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		all := g.snapshot()
		if len(all) != 1 {
			http.Error(w, "this gateway serves several workspaces: use /w/{workspace}/mcp", http.StatusNotFound)
			return
		}
		all[0].serveHTTP(w, r)
	})
	return g.guard(mux)
}

// guard refuses requests from foreign browser origins and bounds request
// bodies. (mcp-go's streamable server also refuses a non-loopback Host on
// a loopback listener, against DNS rebinding.)
func (g *Gateway) guard(next http.Handler) http.Handler {
	limit := g.opts.HTTP.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin) {
			http.Error(w, "origin not allowed: "+origin, http.StatusForbidden)
			return
		}
		if r.ContentLength > limit {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

func (g *Gateway) originAllowed(origin string) bool {
	if slices.Contains(g.opts.HTTP.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return IsLoopbackHost(u.Hostname())
}

// IsLoopbackHost reports whether host (a name or an address, without port)
// is this machine's loopback.
func IsLoopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
