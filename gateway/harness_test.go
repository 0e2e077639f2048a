package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// testLogger logs to the test's output at debug level when -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startGateway runs a gateway for the workspaces until the test ends and
// waits for every upstream's first connection attempt.
func startGateway(t *testing.T, opts gateway.Options, specs ...workspace.Spec) *gateway.Gateway {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	g := gateway.New(specs, opts)
	ctx, cancel := context.WithCancel(context.Background())
	g.Start(ctx)
	t.Cleanup(func() {
		cancel()
		_ = g.Close()
	})
	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	if err := g.WaitReady(wctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	return g
}

// serveHTTP serves the gateway over HTTP until the test ends and returns
// its base URL.
func serveHTTP(t *testing.T, g *gateway.Gateway) string {
	t.Helper()
	ts := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts.URL
}

// protocol is a downstream client's protocol generation.
type protocol string

const (
	modern protocol = "2026-07-28"
	legacy protocol = "2025-11-25"
)

// notes collects the notifications a client received.
type notes struct {
	mu   sync.Mutex
	list []mcp.JSONRPCNotification
}

func (n *notes) add(x mcp.JSONRPCNotification) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, x)
}

func (n *notes) methods(method string) []mcp.JSONRPCNotification {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, x := range n.list {
		if x.Method == method {
			out = append(out, x)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connect initializes a client over tr and records its notifications.
func connect(t *testing.T, tr transport.Interface, p protocol, opts ...client.ClientOption) (*client.Client, *notes) {
	t.Helper()
	if p == legacy {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	c := client.NewClient(tr, opts...)
	n := &notes{}
	c.OnNotification(n.add)
	// The transport keeps the context of Start for its own streams and for
	// answering the server's requests: it must live as long as the client.
	if err := c.Start(context.WithoutCancel(t.Context())); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "gateway-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if got := c.ProtocolVersion(); got != string(p) {
		t.Fatalf("negotiated protocol %s; want %s", got, p)
	}
	return c, n
}

// connectHTTP is a client of one workspace over streamable HTTP.
func connectHTTP(t *testing.T, url string, p protocol, opts ...client.ClientOption) (*client.Client, *notes) {
	t.Helper()
	// A pool of its own: mcp-go's client closes its pool's idle connections
	// when it closes, which on the shared default transport would race
	// other clients' requests.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	topts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(hc)}
	if p == legacy {
		// 2025-11-25 servers send their own requests (sampling, elicitation)
		// on the standalone GET stream.
		topts = append(topts, transport.WithContinuousListening())
	}
	tr, err := transport.NewStreamableHTTP(url, topts...)
	if err != nil {
		t.Fatalf("http transport: %v", err)
	}
	return connect(t, tr, p, opts...)
}

// connectStdio serves the workspace over in-process pipes, as
// `gatehouse serve` does over its stdin and stdout.
func connectStdio(t *testing.T, g *gateway.Gateway, ws string, p protocol, opts ...client.ClientOption) (*client.Client, *notes) {
	t.Helper()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.ServeStdio(ctx, ws, toServer, fromServer) }()
	t.Cleanup(func() {
		cancel()
		_ = fromClient.Close()
		_ = fromServer.Close()
		<-done
	})
	return connect(t, transport.NewIO(toClient, fromClient, io.NopCloser(strings.NewReader(""))), p, opts...)
}

// call calls a tool and fails the test on a protocol-level error.
func call(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("CallTool(%s): %v", name, err)
	}
	return res
}

// slowCall starts a call of an upstreamtest slow tool that takes ms
// milliseconds, and returns where its result (nil on error) will arrive.
func slowCall(c *client.Client, name string, ms int) <-chan *mcp.CallToolResult {
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.Arguments = map[string]any{"ms": ms, "steps": 1}
		res, _ := c.CallTool(context.Background(), req)
		done <- res
	}()
	return done
}

// text is the concatenated text content of a result.
func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// comparable renders a result as JSON without the per-server decorations
// that protocol 2026-07-28 adds (serverInfo in _meta, resultType), so that a
// direct result and one through the gateway can be compared.
func comparable(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "resultType")
	if meta, ok := m["_meta"].(map[string]any); ok {
		delete(meta, "io.modelcontextprotocol/serverInfo")
		if len(meta) == 0 {
			delete(m, "_meta")
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// httpUpstream is an upstream spec for a server over streamable HTTP,
// spoken to in the default protocol (2025-11-25).
func httpUpstream(name, url string) upstream.Spec {
	return upstream.Spec{Name: name, Transport: upstream.TransportHTTP, URL: url, Prefix: true, Protocol: upstream.ProtocolLegacy}
}

// modernUpstream is an upstream spec for a server over streamable HTTP,
// spoken to in 2026-07-28.
func modernUpstream(name, url string) upstream.Spec {
	s := httpUpstream(name, url)
	s.Protocol = upstream.ProtocolModern
	return s
}
