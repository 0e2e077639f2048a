package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
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

// DefaultBodyTimeout bounds the reading of a request body when HTTPOptions
// sets none.
const DefaultBodyTimeout = 30 * time.Second

// HTTPOptions configure the streamable HTTP face.
type HTTPOptions struct {
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed
	// besides loopback ones. A request with any other Origin is refused.
	AllowedOrigins []string
	// MaxRequestBytes bounds a request body; zero means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// BodyTimeout bounds how long a client may take to send a request
	// body; zero means DefaultBodyTimeout.
	BodyTimeout time.Duration
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
// bodies, in size and in the time they take to arrive: the body is read
// whole before mcp-go sees the request, so that a client that sends it
// slowly holds nothing but its own connection, and only until the
// timeout. (mcp-go's streamable server also refuses a non-loopback Host on
// a loopback listener, against DNS rebinding.)
func (g *Gateway) guard(next http.Handler) http.Handler {
	limit := g.opts.HTTP.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	timeout := g.opts.HTTP.BodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin) {
			http.Error(w, "origin not allowed: "+origin, http.StatusForbidden)
			return
		}
		if r.ContentLength > limit {
			g.refuseBody(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: more than %d bytes (http.max_request_bytes)", limit))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(timeout))
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				g.refuseBody(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: more than %d bytes (http.max_request_bytes)", limit))
				return
			case errors.Is(err, os.ErrDeadlineExceeded):
				g.refuseBody(w, r, http.StatusRequestTimeout, fmt.Sprintf("request body not received within %s (http.body_timeout)", timeout))
				return
			case err != nil:
				http.Error(w, "cannot read the request body: "+err.Error(), http.StatusBadRequest)
				return
			}
			_ = rc.SetReadDeadline(time.Time{}) // a response stream may be long
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// refuseBody answers a request whose body breaks a limit, naming it, and
// logs it.
func (g *Gateway) refuseBody(w http.ResponseWriter, r *http.Request, status int, why string) {
	g.log.Warn("HTTP request refused: "+why, "remote", r.RemoteAddr, "path", r.URL.Path)
	w.Header().Set("Connection", "close")
	http.Error(w, why, status)
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
