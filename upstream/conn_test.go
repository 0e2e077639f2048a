package upstream_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/mcp"
)

func startConn(t *testing.T, spec upstream.Spec, opts upstream.Options) *upstream.Conn {
	t.Helper()
	c := upstream.New(spec, opts)
	c.Start(context.Background())
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.State != upstream.StateReady {
		t.Fatalf("status = %+v; want ready", st)
	}
	return c
}

func callTool(t *testing.T, c *upstream.Conn, name string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return c.CallTool(ctx, upstream.Call{Name: name, Arguments: args})
}

// An upstream that sends a message over the limit is cut off and
// reconnected; messages under it pass, on every transport.
func TestMessageLimit(t *testing.T) {
	const limit = 64 << 10
	cmd, args := upstreamtest.StdioCommand(t)
	specs := map[string]upstream.Spec{
		"stdio":       {Name: "up", Transport: upstream.TransportStdio, Command: cmd, Args: args},
		"http legacy": {Name: "up", Transport: upstream.TransportHTTP, URL: upstreamtest.NewServer(upstreamtest.Options{}).ServeHTTP(t)},
		"http modern": {Name: "up", Transport: upstream.TransportHTTP, URL: upstreamtest.NewServer(upstreamtest.Options{}).ServeHTTP(t), Protocol: upstream.ProtocolModern},
		"sse":         {Name: "up", Transport: upstream.TransportSSE, URL: upstreamtest.NewServer(upstreamtest.Options{}).ServeSSE(t)},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			c := startConn(t, spec, upstream.Options{MaxMessageBytes: limit})
			if res, err := callTool(t, c, "big", map[string]any{"bytes": limit / 2}); err != nil || res.IsError {
				t.Fatalf("big under the limit = %+v, %v", res, err)
			}
			if res, err := callTool(t, c, "big", map[string]any{"bytes": 2 * limit}); err == nil {
				t.Fatalf("big over the limit succeeded with %d content items", len(res.Content))
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				res, err := callTool(t, c, "echo", map[string]any{"message": "again"})
				if err == nil && !res.IsError {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("upstream not usable again after the oversized message: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
