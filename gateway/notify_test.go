package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// notifiedCalls is how many calls TestCallNotificationsBeforeResult makes
// on each path: without the delivery barrier (delivery.go), the client got
// about half of the progress notifications the gateway relayed.
const notifiedCalls = 300

// Over streamable HTTP a call's notifications reach the client on the
// call's stream before its result, even when the upstream sends them an
// instant before it answers: every progress notification the gateway
// relays for a call, and every log message, arrives. (mcp-go's own HTTP
// and stdio servers lose or reorder some of an upstream's notifications
// sent just before its result on their way to the gateway: the test counts
// what the gateway relayed, from its log.)
func TestCallNotificationsBeforeResult(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	relayed := &countingHandler{message: "progress relayed"}
	g := startGateway(t, gateway.Options{Logger: slog.New(relayed)}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	for _, p := range []protocol{legacy, modern} {
		t.Run("progress/"+string(p), func(t *testing.T) {
			c, n := connectPOSTOnly(t, url, p)
			before := relayed.count.Load()
			for i := range notifiedCalls {
				req := mcp.CallToolRequest{}
				req.Params.Name = "up__slow"
				req.Params.Arguments = map[string]any{"ms": 0, "steps": 2}
				req.Params.Meta = &mcp.Meta{ProgressToken: fmt.Sprint("call-", i)}
				if _, err := c.CallTool(t.Context(), req); err != nil {
					t.Fatalf("CallTool: %v", err)
				}
			}
			want := int(relayed.count.Load() - before)
			if want < notifiedCalls {
				t.Fatalf("the gateway relayed %d progress notifications of %d calls: too few to tell", want, notifiedCalls)
			}
			expectNotes(t, n, "notifications/progress", want)
		})
	}
	t.Run("log/"+string(legacy), func(t *testing.T) {
		c, n := connectPOSTOnly(t, url, legacy)
		req := mcp.SetLevelRequest{}
		req.Params.Level = mcp.LoggingLevelInfo
		if err := c.SetLevel(t.Context(), req); err != nil {
			t.Fatalf("SetLevel: %v", err)
		}
		for i := range notifiedCalls {
			call(t, c, "up__log", map[string]any{"level": "info", "message": fmt.Sprint("line ", i)})
		}
		expectNotes(t, n, "notifications/message", notifiedCalls)
	})
}

// countingHandler is a log handler that counts the records of one message.
type countingHandler struct {
	message string
	count   atomic.Int64
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.message {
		h.count.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

// expectNotes waits a moment for the client to have handled want
// notifications of method (it may hand them on after the result), and
// fails if fewer come.
func expectNotes(t *testing.T, n *notes, method string, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for len(n.methods(method)) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := len(n.methods(method)); got != want {
		t.Errorf("the client got %d %s; want %d", got, method, want)
	}
}

// connectPOSTOnly is a client over streamable HTTP that opens no
// standalone GET stream: everything it gets comes on its requests' own
// streams.
func connectPOSTOnly(t *testing.T, url string, p protocol) (*client.Client, *notes) {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatalf("http transport: %v", err)
	}
	return connect(t, tr, p)
}
