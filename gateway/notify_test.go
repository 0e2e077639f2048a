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

// An upstream's log messages go where the call that produced them came
// from, and otherwise only to the sessions that asked for log messages:
// never, with another client's data, to a client that did not ask
// (issue 14, 19).
func TestUpstreamLogsGoWhereTheirCallCameFrom(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	a, na := connectHTTP(t, url, legacy)
	b, nb := connectHTTP(t, url, legacy)
	c, nc := connectHTTP(t, url, legacy) // never sets a level: gets error and above, if anything
	for _, cl := range []*client.Client{a, b} {
		req := mcp.SetLevelRequest{}
		req.Params.Level = mcp.LoggingLevelInfo
		if err := cl.SetLevel(t.Context(), req); err != nil {
			t.Fatalf("SetLevel: %v", err)
		}
	}
	got := func(n *notes, data string) bool {
		for _, m := range n.methods("notifications/message") {
			if m.Params.AdditionalFields["data"] == data {
				return true
			}
		}
		return false
	}
	expect := func(data string, want map[string]bool) {
		t.Helper()
		all := map[string]*notes{"a": na, "b": nb, "c": nc}
		for who, n := range all {
			if want[who] {
				waitFor(t, who+" to get "+data, 5*time.Second, func() bool { return got(n, data) })
			}
		}
		time.Sleep(300 * time.Millisecond) // time for a wrong delivery to show
		for who, n := range all {
			if !want[who] && got(n, data) {
				t.Errorf("%s got %q; want only %v", who, data, want)
			}
		}
	}
	background := func(data string) {
		t.Helper()
		up.MCP.SendNotificationToAllClients(string(mcp.MethodNotificationMessage), map[string]any{"level": "error", "logger": "bg", "data": data})
	}

	// During a's call, only a gets the call's messages.
	call(t, a, "up__log", map[string]any{"level": "error", "message": "a's data"})
	expect("a's data", map[string]bool{"a": true})
	call(t, c, "up__log", map[string]any{"level": "error", "message": "c's data"})
	expect("c's data", map[string]bool{"c": true})

	// With no call in flight: the sessions that asked.
	background("idle")
	expect("idle", map[string]bool{"a": true, "b": true})

	// With calls of two sessions in flight: nobody's in particular.
	da, dc := slowCall(a, "up__slow", 1500), slowCall(c, "up__slow", 1500)
	waitFor(t, "both slow calls to run", 5*time.Second, func() bool { return up.Calls.CallCount("slow") == 2 })
	background("two in flight")
	expect("two in flight", map[string]bool{"a": true, "b": true})
	<-da
	<-dc
}
