package gateway

import (
	"bytes"
	"encoding/json"
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

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// DefaultMaxRequestBytes bounds a request body when HTTPOptions sets none.
const DefaultMaxRequestBytes = 4 << 20

// DefaultBodyTimeout bounds the reading of a request body when HTTPOptions
// sets none.
const DefaultBodyTimeout = 30 * time.Second

// The defaults of the session bounds of HTTPOptions.
const (
	DefaultMaxSessions        = 1000
	DefaultSessionIdleTimeout = 30 * time.Minute
	DefaultSessionQueue       = 32
)

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
	// MaxSessions bounds the live sessions (protocol 2025-11-25) of each
	// workspace: a request that would open one more gets 503 and a
	// JSON-RPC error naming the limit (admitSession). Zero means
	// DefaultMaxSessions.
	MaxSessions int
	// SessionIdleTimeout ends a session that has had no request open, and
	// none started, for that long (idle.go); its id then gets 404. Zero
	// means DefaultSessionIdleTimeout.
	SessionIdleTimeout time.Duration
	// SessionQueue bounds the notifications waiting for one session, in
	// the gateway's queue and in mcp-go's (which holds 100 at most);
	// beyond it the oldest are dropped for that session (queue.go). Zero
	// means DefaultSessionQueue.
	SessionQueue int
}

// sessionLimits are HTTPOptions' session bounds, defaults applied.
type sessionLimits struct {
	max   int
	idle  time.Duration
	queue int
}

func (o HTTPOptions) sessionLimits() sessionLimits {
	l := sessionLimits{max: o.MaxSessions, idle: o.SessionIdleTimeout, queue: o.SessionQueue}
	if l.max <= 0 {
		l.max = DefaultMaxSessions
	}
	if l.idle <= 0 {
		l.idle = DefaultSessionIdleTimeout
	}
	if l.queue <= 0 {
		l.queue = DefaultSessionQueue
	}
	l.queue = min(l.queue, mcpSessionQueue)
	return l
}

// mcpSessionQueue is how many notifications mcp-go's queue of an HTTP
// session holds.
const mcpSessionQueue = 100

func (g *Gateway) newHTTPHandler(s *wsServer) *server.StreamableHTTPServer {
	return server.NewStreamableHTTPServer(s.mcp,
		server.WithStreamableHTTPLogger(s.log),
		// Session ids are this workspace's own: another's, or an ended
		// one, is unknown (404).
		server.WithSessionIdManager(s.sessionIDs),
		// A 2025-11-25 client that vanished without DELETE does not hold
		// its session forever: idle.go ends it.
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

// admitSession refuses a request that would open a session (protocol
// 2025-11-25) beyond http.max_sessions: 503, with a JSON-RPC error naming
// the limit, and a log line when the workspace reaches it. mcp-go opens a
// session for an initialize POST, whatever its headers, and for a GET that
// names none (a stream with a session of its own, for as long as it
// lasts); a GET naming a session that is not live here gets 404, as any
// other request of it does, rather than a session of that id. A
// 2026-07-28 client holds no session, but its subscriptions/listen stream
// holds as much (a goroutine and a queue, for as long as it lasts): those
// streams are bounded by the same number, apart.
//
// When it admits a request, done ends the reservation, and untilEnd says
// when: a session's, once the response is first written (mcp-go has
// registered the session by then, and it counts from then on); a listen
// stream's, when the request ends. Other requests pass with a nil done.
func (s *wsServer) admitSession(w http.ResponseWriter, r *http.Request) (done func(), untilEnd, ok bool) {
	modern := mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion))
	id := json.RawMessage("null")
	switch r.Method {
	case http.MethodGet:
		if modern {
			return nil, false, true // no sessions
		}
		if sid := r.Header.Get(server.HeaderKeySessionID); sid != "" {
			if terminated, err := s.sessionIDs.Validate(sid); err != nil || terminated {
				http.Error(w, "session not found", http.StatusNotFound)
				return nil, false, false
			}
			return nil, false, true
		}
	case http.MethodPost:
		if r.Body == nil {
			return nil, false, true
		}
		body, err := io.ReadAll(r.Body) // already read whole and bounded (guard)
		if err != nil {
			return nil, false, true // mcp-go answers the broken body
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !mayOpen(body) {
			return nil, false, true // a tools/call and the like: no decoding
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(body, &msg) != nil {
			return nil, false, true
		}
		if len(msg.ID) > 0 {
			id = msg.ID
		}
		switch {
		case modern && msg.Method == string(mcp.MethodSubscriptionsListen):
			ok, first, done := s.listens.admit(s.limits.max)
			if ok {
				return done, true, true
			}
			s.refuseSession(w, r, id, first, fmt.Sprintf("too many listening streams: this workspace has %d subscriptions/listen streams open, the most allowed (http.max_sessions); close one or try again later", s.limits.max))
			return nil, false, false
		case modern || msg.Method != string(mcp.MethodInitialize):
			return nil, false, true
		}
	default:
		return nil, false, true
	}
	ok, first, done := s.sessionIDs.admit(s.limits.max)
	if ok {
		return done, false, true
	}
	s.refuseSession(w, r, id, first, fmt.Sprintf("too many sessions: this workspace has %d open, the most allowed (http.max_sessions); end one (DELETE) or try again later", s.limits.max))
	return nil, false, false
}

// mayOpen says whether body may be a request admitSession bounds: its
// method, initialize or subscriptions/listen, spelled out, or any method
// spelled with an escape (a backslash), which only decoding can read.
// Every other request — each tools/call — passes undecoded.
func mayOpen(body []byte) bool {
	return bytes.Contains(body, []byte(mcp.MethodInitialize)) ||
		bytes.Contains(body, []byte(mcp.MethodSubscriptionsListen)) ||
		bytes.IndexByte(body, '\\') >= 0
}

// refuseSession answers a request admitSession refuses: 503 with a
// JSON-RPC error saying why, logged when the workspace reaches the bound
// (first).
func (s *wsServer) refuseSession(w http.ResponseWriter, r *http.Request, id json.RawMessage, first bool, why string) {
	if first {
		s.log.Warn("HTTP session refused: "+why, "remote", r.RemoteAddr, "method", r.Method)
	}
	b, _ := json.Marshal(struct {
		JSONRPC string                  `json:"jsonrpc"`
		ID      json.RawMessage         `json:"id"`
		Error   mcp.JSONRPCErrorDetails `json:"error"`
	}{mcp.JSONRPC_VERSION, id, mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR, why, nil)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "10")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write(b)
}
