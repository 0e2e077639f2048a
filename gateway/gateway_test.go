package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// Every transport an upstream can use, in one workspace, reached by every
// kind of downstream client: the tools are listed under their prefixed
// names with their schemas as the upstream sent them, and calls return
// what a direct call returns.
func TestPassThroughAcrossTransports(t *testing.T) {
	httpUp := upstreamtest.NewServer(upstreamtest.Options{Name: "h", Pages: 3})
	modernUp := upstreamtest.NewServer(upstreamtest.Options{Name: "m", Pages: 4})
	sseUp := upstreamtest.NewServer(upstreamtest.Options{Name: "s"})
	cmd, args := upstreamtest.StdioCommand(t)
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		httpUpstream("h", httpUp.ServeHTTP(t)),
		modernUpstream("m", modernUp.ServeHTTP(t)),
		{Name: "s", Transport: upstream.TransportSSE, URL: sseUp.ServeSSE(t), Prefix: true},
		{Name: "c", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
	}})
	base := serveHTTP(t, g)
	direct, _ := connectHTTP(t, upstreamtest.NewServer(upstreamtest.Options{}).ServeHTTP(t), modern)

	clients := map[string]func(t *testing.T) *client.Client{
		"stdio/modern": func(t *testing.T) *client.Client { c, _ := connectStdio(t, g, "w", modern); return c },
		"stdio/legacy": func(t *testing.T) *client.Client { c, _ := connectStdio(t, g, "w", legacy); return c },
		"http/modern":  func(t *testing.T) *client.Client { c, _ := connectHTTP(t, base+"/w/w/mcp", modern); return c },
		"http/legacy":  func(t *testing.T) *client.Client { c, _ := connectHTTP(t, base+"/mcp", legacy); return c },
	}
	for name, dial := range clients {
		t.Run(name, func(t *testing.T) {
			c := dial(t)
			res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			var got []string
			for _, tool := range res.Tools {
				got = append(got, tool.Name)
			}
			var want []string
			for _, up := range []string{"h", "m", "s", "c"} {
				for _, base := range upstreamtest.ToolNames() {
					want = append(want, up+"__"+base)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("tools = %v\nwant %v", got, want)
			}
			for _, up := range []string{"h", "m", "s", "c"} {
				for _, tc := range []struct {
					tool string
					args map[string]any
				}{
					{upstreamtest.ToolEcho, map[string]any{"message": "héllo"}},
					{upstreamtest.ToolAdd, map[string]any{"a": 2, "b": 3}},
					{upstreamtest.ToolKinds, map[string]any{}},
					{upstreamtest.ToolFail, map[string]any{"message": "no such row"}},
				} {
					got := comparable(t, call(t, c, up+"__"+tc.tool, tc.args))
					want := comparable(t, call(t, direct, tc.tool, tc.args))
					if got != want {
						t.Errorf("%s__%s through the gateway = %s\nwant (direct) %s", up, tc.tool, got, want)
					}
				}
			}
		})
	}
}

// The gateway's tools/list carries each tool's input and output schema
// byte for byte as the upstream sent it, including what mcp.Tool cannot
// represent.
func TestRawSchemasKept(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	base := serveHTTP(t, g)

	raw := rawToolsList(t, base+"/mcp")
	for _, name := range upstreamtest.ToolNames() {
		tool, ok := raw["up__"+name]
		if !ok {
			t.Fatalf("tools/list has no up__%s", name)
		}
		var got, want any
		_ = json.Unmarshal(tool["inputSchema"], &got)
		_ = json.Unmarshal(upstreamtest.InputSchema(name), &want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("inputSchema of up__%s = %s\nwant %s", name, tool["inputSchema"], upstreamtest.InputSchema(name))
		}
	}
	if _, ok := raw["up__add"]["outputSchema"]; !ok {
		t.Errorf("up__add lost its outputSchema: %v", raw["up__add"])
	}
}

// rawSession is a 2025-11-25 client made of plain HTTP requests, for what
// the mcp-go client will not send or decodes lossily.
type rawSession struct {
	t       *testing.T
	url, id string
}

func newRawSession(t *testing.T, url string) *rawSession {
	r := &rawSession{t: t, url: url}
	r.send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	r.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return r
}

// send posts one JSON-RPC message and returns the JSON-RPC answer, if any.
func (r *rawSession) send(body string) []byte {
	r.t.Helper()
	req, _ := http.NewRequestWithContext(r.t.Context(), http.MethodPost, r.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if r.id != "" {
		req.Header.Set("Mcp-Session-Id", r.id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		r.id = id
	}
	b, _ := io.ReadAll(resp.Body)
	if i := bytes.Index(b, []byte("data: ")); i >= 0 { // an SSE-framed answer
		b = bytes.TrimSpace(bytes.SplitN(b[i+6:], []byte("\n"), 2)[0])
	}
	return b
}

// rawToolsList returns each tool's JSON fields by name, as the wire has
// them.
func rawToolsList(t *testing.T, url string) map[string]map[string]json.RawMessage {
	t.Helper()
	body := newRawSession(t, url).send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	var msg struct {
		Result struct {
			Tools []map[string]json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("tools/list answer %q: %v", body, err)
	}
	out := map[string]map[string]json.RawMessage{}
	for _, tool := range msg.Result.Tools {
		var name string
		_ = json.Unmarshal(tool["name"], &name)
		out[name] = tool
	}
	return out
}

func TestUnknownToolIsJSONRPCError(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	c, _ := connectStdio(t, g, "w", modern)
	req := mcp.CallToolRequest{}
	req.Params.Name = "up__no_such_tool"
	_, err := c.CallTool(t.Context(), req)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("CallTool(unknown) error = %v; want a JSON-RPC 'not found' error", err)
	}
}

// An upstream's JSON-RPC error reaches the client as a tool error naming
// the upstream, not as a protocol error of the gateway.
func TestUpstreamErrorIsToolError(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	c, _ := connectStdio(t, g, "w", modern)
	res := call(t, c, "up__jsonrpc_error", map[string]any{})
	if !res.IsError || !strings.Contains(text(res), `"up"`) {
		t.Fatalf("jsonrpc_error through the gateway = %+v; want isError naming upstream \"up\"", res)
	}
}

// A stdio child that dies mid-session: the next call fails with a tool
// error naming the upstream, and calls work again once it is restarted.
func TestDeadChildIsRestarted(t *testing.T) {
	cmd, args := upstreamtest.StdioCommand(t)
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
	}})
	c, _ := connectStdio(t, g, "w", modern)
	if got := text(call(t, c, "kid__echo", map[string]any{"message": "before"})); got != "before" {
		t.Fatalf("echo before crash = %q", got)
	}
	res := call(t, c, "kid__crash", map[string]any{})
	if !res.IsError {
		t.Fatalf("crash = %+v; want a tool error", res)
	}
	res = call(t, c, "kid__echo", map[string]any{"message": "during"})
	if res.IsError && !strings.Contains(text(res), `"kid"`) {
		t.Errorf("call while the child is down = %q; want it to name upstream \"kid\"", text(res))
	}
	waitFor(t, "the child to be restarted", 15*time.Second, func() bool {
		res := call(t, c, "kid__echo", map[string]any{"message": "after"})
		return !res.IsError && text(res) == "after"
	})
}

// A stdio child sees only the environment its spec lists, plus PATH and
// HOME: the gateway's own secrets never reach it.
func TestChildEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-test-secret")
	t.Setenv("GATEHOUSE_TEST_OTHER", "other")
	cmd, args := upstreamtest.StdioCommand(t)
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true, Env: []string{"LISTED=yes"}},
	}})
	c, _ := connectStdio(t, g, "w", modern)
	for name, want := range map[string]string{
		"OPENAI_API_KEY":       "<unset>",
		"GATEHOUSE_TEST_OTHER": "<unset>",
		"LISTED":               "yes",
		"PATH":                 os.Getenv("PATH"),
	} {
		if got := text(call(t, c, "kid__env", map[string]any{"name": name})); got != want {
			t.Errorf("child env %s = %q; want %q", name, got, want)
		}
	}
	names := strings.Fields(text(call(t, c, "kid__env", map[string]any{"name": "*"})))
	for _, n := range names {
		if n != "PATH" && n != "HOME" && n != "LISTED" {
			t.Errorf("child has variable %s; want only PATH, HOME and LISTED", n)
		}
	}
}

// Progress notifications reach the caller under its own token, and a
// cancelled call is cancelled upstream.
func TestProgressAndCancellation(t *testing.T) {
	cmd, args := upstreamtest.StdioCommand(t)
	httpUp := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
		httpUpstream("web", httpUp.ServeHTTP(t)),
	}})
	for _, p := range []protocol{modern, legacy} {
		t.Run(string(p), func(t *testing.T) {
			c, n := connectStdio(t, g, "w", p)
			req := mcp.CallToolRequest{}
			req.Params.Name = "kid__slow"
			req.Params.Arguments = map[string]any{"ms": 200, "steps": 4}
			req.Params.Meta = &mcp.Meta{ProgressToken: "my-token"}
			if _, err := c.CallTool(t.Context(), req); err != nil {
				t.Fatalf("slow: %v", err)
			}
			waitFor(t, "4 progress notifications", 5*time.Second, func() bool { return len(n.methods("notifications/progress")) == 4 })
			for _, pn := range n.methods("notifications/progress") {
				if tok := pn.Params.AdditionalFields["progressToken"]; tok != "my-token" {
					t.Errorf("progress token = %v; want the caller's my-token", tok)
				}
			}

			before := httpUp.Cancelled()
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			req = mcp.CallToolRequest{}
			req.Params.Name = "web__slow"
			req.Params.Arguments = map[string]any{"ms": 5000, "steps": 1}
			if _, err := c.CallTool(ctx, req); err == nil {
				t.Fatalf("slow call with a 300ms deadline succeeded")
			}
			waitFor(t, "the upstream to see the cancellation", 5*time.Second, func() bool { return httpUp.Cancelled() > before })
		})
	}
}

type sampler struct{}

func (sampler) CreateMessage(ctx context.Context, r mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	return &mcp.CreateMessageResult{
		SamplingMessage: mcp.SamplingMessage{Role: mcp.RoleAssistant, Content: mcp.NewTextContent("the sampled answer")},
		Model:           "test-model",
	}, nil
}

type elicitor struct{ action mcp.ElicitationResponseAction }

// Elicit answers with e.action — but declines a question that does not
// say which upstream asks it: an upstream's question must never pass for
// Gatehouse's own.
func (e elicitor) Elicit(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	res := &mcp.ElicitationResult{}
	res.Action = e.action
	if !strings.HasPrefix(r.Params.Message, `Upstream "`) {
		res.Action = mcp.ElicitationResponseActionDecline
	}
	if e.action == mcp.ElicitationResponseActionAccept {
		res.Content = map[string]any{"ok": true}
	}
	return res, nil
}

// An upstream's sampling and elicitation requests reach the client that
// made the call, whatever the transports and protocol generations.
func TestSamplingAndElicitationRelayed(t *testing.T) {
	cmd, args := upstreamtest.StdioCommand(t)
	httpUp := upstreamtest.NewServer(upstreamtest.Options{})
	modernUp := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
		httpUpstream("web", httpUp.ServeHTTP(t)),
		modernUpstream("webm", modernUp.ServeHTTP(t)),
	}})
	base := serveHTTP(t, g)
	opts := []client.ClientOption{client.WithSamplingHandler(sampler{}), client.WithElicitationHandler(elicitor{mcp.ElicitationResponseActionAccept})}
	for _, p := range []protocol{modern, legacy} {
		for _, via := range []string{"stdio", "http"} {
			t.Run(string(p)+"/"+via, func(t *testing.T) {
				var c *client.Client
				if via == "stdio" {
					c, _ = connectStdio(t, g, "w", p, opts...)
				} else {
					c, _ = connectHTTP(t, base+"/mcp", p, opts...)
				}
				for _, up := range []string{"kid", "web", "webm"} {
					res := call(t, c, up+"__sample", map[string]any{"prompt": "hi"})
					if res.IsError || !strings.Contains(text(res), "the sampled answer") {
						t.Errorf("%s__sample = %q (isError %v); want the client's sampled answer", up, text(res), res.IsError)
					}
					res = call(t, c, up+"__elicit", map[string]any{"question": "ok?"})
					if res.IsError || !strings.Contains(text(res), "accepted") {
						t.Errorf("%s__elicit = %q (isError %v); want accepted", up, text(res), res.IsError)
					}
				}
			})
		}
	}
}

// A retry that carries a requestState the gateway never issued, one that
// was altered, or one already used, is refused and never reaches the
// upstream.
func TestForgedRequestStateRefused(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	base := serveHTTP(t, g)
	r := newRawSession(t, base+"/mcp")
	answer := `{"upstream":{"model":"m","role":"assistant","content":{"type":"text","text":"forged"}}}`
	for name, state := range map[string]string{
		"made up":       "bm9wZQ.c2lnbmF0dXJl",
		"no signature":  "bm9wZQ",
		"wrong binding": "bm9wZQ.AAAA",
	} {
		t.Run(name, func(t *testing.T) {
			body := r.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"up__sample","arguments":{"prompt":"x"},"requestState":"` + state + `","inputResponses":` + answer + `}}`)
			if !strings.Contains(string(body), "refused") {
				t.Errorf("retry with state %q = %s; want a refusal", state, body)
			}
		})
	}
	if n := up.Calls.CallCount("sample"); n != 0 {
		t.Errorf("upstream saw %d sample calls; want 0", n)
	}
}

// Two upstreams exposing the same bare name: the first in config order
// keeps it, the clash is reported, and nothing is silently overwritten.
func TestNameCollision(t *testing.T) {
	a := upstreamtest.NewServer(upstreamtest.Options{Name: "a"})
	b := upstreamtest.NewServer(upstreamtest.Options{Name: "b"})
	sa, sb := httpUpstream("a", a.ServeHTTP(t)), httpUpstream("b", b.ServeHTTP(t))
	sa.Prefix, sb.Prefix = false, false
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{sa, sb}})
	st := g.Status()[0]
	if len(st.Conflicts) != len(upstreamtest.ToolNames())+2 /* prompts */ +5+1 /* resources */ +1 /* template */ {
		t.Errorf("conflicts = %d: %v", len(st.Conflicts), st.Conflicts)
	}
	for _, cf := range st.Conflicts {
		if cf.Kept != "a" || cf.Dropped != "b" {
			t.Errorf("conflict %v: want a kept, b dropped", cf)
		}
	}
	c, _ := connectStdio(t, g, "w", modern)
	call(t, c, "echo", map[string]any{"message": "who"})
	if a.Calls.CallCount("echo") != 1 || b.Calls.CallCount("echo") != 0 {
		t.Errorf("echo went to a %d times, b %d times; want a once", a.Calls.CallCount("echo"), b.Calls.CallCount("echo"))
	}
}

// Apply (a config reload) keeps unchanged upstreams connected, starts new
// ones, and tells clients their tool list changed.
func TestApplyKeepsUnchangedUpstreams(t *testing.T) {
	a := upstreamtest.NewServer(upstreamtest.Options{Name: "a"})
	b := upstreamtest.NewServer(upstreamtest.Options{Name: "b"})
	sa, sb := httpUpstream("a", a.ServeHTTP(t)), httpUpstream("b", b.ServeHTTP(t))
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{sa}})
	ws, _ := g.Workspace("w")
	connA, _ := ws.Upstream("a")
	c, n := connectStdio(t, g, "w", legacy)

	g.Apply([]workspace.Spec{{Name: "w", Upstreams: []upstream.Spec{sa, sb}}})
	waitFor(t, "b's tools", 10*time.Second, func() bool {
		_, ok := ws.Catalog().Tool("b__echo")
		return ok
	})
	if again, _ := ws.Upstream("a"); again != connA {
		t.Errorf("upstream a was reconnected by a reload that did not change it")
	}
	waitFor(t, "tools/list_changed", 5*time.Second, func() bool { return len(n.methods("notifications/tools/list_changed")) > 0 })
	if got := text(call(t, c, "b__echo", map[string]any{"message": "new"})); got != "new" {
		t.Errorf("b__echo after reload = %q", got)
	}

	g.Apply([]workspace.Spec{{Name: "w", Upstreams: []upstream.Spec{sb}}})
	if _, ok := ws.Catalog().Tool("a__echo"); ok {
		t.Errorf("a__echo still served after a was removed")
	}
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "a__echo"}})
	if err == nil && !res.IsError {
		t.Errorf("a__echo after removal succeeded")
	}
}

// An upstream's list_changed refreshes the catalog and is passed on.
func TestUpstreamListChangedPassedOn(t *testing.T) {
	for _, mk := range []func(string, string) upstream.Spec{httpUpstream, modernUpstream} {
		up := upstreamtest.NewServer(upstreamtest.Options{})
		spec := mk("up", up.ServeHTTP(t))
		t.Run(spec.Protocol, func(t *testing.T) {
			g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{spec}})
			c, n := connectStdio(t, g, "w", legacy)
			call(t, c, "up__notify_tools_changed", map[string]any{})
			waitFor(t, "up__extra", 10*time.Second, func() bool {
				res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
				return err == nil && slices.ContainsFunc(res.Tools, func(t mcp.Tool) bool { return t.Name == "up__extra" })
			})
			waitFor(t, "tools/list_changed", 5*time.Second, func() bool { return len(n.methods("notifications/tools/list_changed")) > 0 })
		})
	}
}

// Prompts, resources, templates and completions pass through.
func TestPromptsResourcesCompletions(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	for _, p := range []protocol{modern, legacy} {
		t.Run(string(p), func(t *testing.T) {
			c, _ := connectStdio(t, g, "w", p)
			ctx := t.Context()
			pr := mcp.GetPromptRequest{}
			pr.Params.Name = "up__greet"
			pr.Params.Arguments = map[string]string{"name": "Ada"}
			got, err := c.GetPrompt(ctx, pr)
			if err != nil || len(got.Messages) != 1 || !strings.Contains(fmt.Sprint(got.Messages[0].Content), "Hello, Ada") {
				t.Errorf("GetPrompt(up__greet) = %+v, %v", got, err)
			}
			rr := mcp.ReadResourceRequest{}
			rr.Params.URI = "test://static/3"
			res, err := c.ReadResource(ctx, rr)
			if err != nil || len(res.Contents) != 1 || res.Contents[0].(mcp.TextResourceContents).Text != "static 3" {
				t.Errorf("ReadResource(static/3) = %+v, %v", res, err)
			}
			rr.Params.URI = "test://dyn/42"
			res, err = c.ReadResource(ctx, rr)
			if err != nil || len(res.Contents) != 1 || res.Contents[0].(mcp.TextResourceContents).Text != "dynamic 42" {
				t.Errorf("ReadResource(dyn/42) = %+v, %v", res, err)
			}
			cr := mcp.CompleteRequest{}
			cr.Params.Ref = mcp.PromptReference{Type: "ref/prompt", Name: "up__greet"}
			cr.Params.Argument = mcp.CompleteArgument{Name: "name", Value: "al"}
			comp, err := c.Complete(ctx, cr)
			if err != nil || !slices.Equal(comp.Completion.Values, []string{"albert", "alice"}) && !slices.Equal(comp.Completion.Values, []string{"alice", "albert"}) {
				t.Errorf("Complete(greet name al) = %+v, %v", comp, err)
			}
		})
	}
}

// The HTTP face refuses foreign browser origins and oversized bodies, and
// an unknown workspace is a 404.
func TestHTTPGuards(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{HTTP: gateway.HTTPOptions{AllowedOrigins: []string{"https://app.example.com"}, MaxRequestBytes: 1024}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	base := serveHTTP(t, g)
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	for _, tc := range []struct {
		name, path, origin, body string
		want                     int
		host                     string
	}{
		{"no origin", "/w/w/mcp", "", init, http.StatusOK, ""},
		{"rebinding host", "/w/w/mcp", "", init, http.StatusForbidden, "evil.example:80"},
		{"loopback origin", "/w/w/mcp", "http://localhost:5173", init, http.StatusOK, ""},
		{"allowed origin", "/w/w/mcp", "https://app.example.com", init, http.StatusOK, ""},
		{"foreign origin", "/w/w/mcp", "https://evil.example", init, http.StatusForbidden, ""},
		{"too large", "/w/w/mcp", "", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2048) + `"}}`, http.StatusRequestEntityTooLarge, ""},
		{"unknown workspace", "/w/nope/mcp", "", init, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("POST %s with Origin %q, Host %q = %d; want %d", tc.path, tc.origin, tc.host, resp.StatusCode, tc.want)
			}
		})
	}
}

// A client that sends its request body slowly is answered 408 naming the
// limit once http.body_timeout passes, and its connection closed; a call
// whose answer streams for longer than the timeout is not cut (the
// deadline is for the body only), nor is one that sends its body in parts
// within it (issue 14, 12).
func TestHTTPSlowBody(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	const timeout = 400 * time.Millisecond
	g := startGateway(t, gateway.Options{HTTP: gateway.HTTPOptions{BodyTimeout: timeout}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	base := serveHTTP(t, g)
	addr := strings.TrimPrefix(base, "http://")
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	send := func(t *testing.T, pause time.Duration) string {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /w/w/mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n", addr, len(body))
		half := len(body) / 2
		_, _ = conn.Write([]byte(body[:half]))
		time.Sleep(pause)
		_, _ = conn.Write([]byte(body[half:]))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, _ := io.ReadAll(conn)
		return string(reply)
	}
	t.Run("too slow", func(t *testing.T) {
		start := time.Now()
		reply := send(t, 3*timeout)
		if !strings.HasPrefix(reply, "HTTP/1.1 408") || !strings.Contains(reply, "http.body_timeout") {
			t.Errorf("slow body answered %q; want 408 naming http.body_timeout", reply)
		}
		if took := time.Since(start); took > 3*timeout+2*time.Second {
			t.Errorf("the connection was held %v", took)
		}
	})
	t.Run("in time", func(t *testing.T) {
		if reply := send(t, timeout/4); !strings.HasPrefix(reply, "HTTP/1.1 200") {
			t.Errorf("body in two parts within the timeout answered %q; want 200", reply)
		}
	})
	t.Run("long answer", func(t *testing.T) {
		c, _ := connectHTTP(t, base+"/w/w/mcp", legacy)
		res := <-slowCall(c, "up__slow", int(3*timeout/time.Millisecond))
		if res == nil || text(res) != "done" {
			t.Errorf("a call answering after %v = %+v; want done", 3*timeout, res)
		}
	})
}

// blockEcho is an enforcer whose one policy blocks the upstream's echo, to
// show the seam is on the path of every call; its records say what it saw.
func blockEcho(t *testing.T) (*enforce.Enforcer, *records) {
	t.Helper()
	engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "no-echo", Enabled: true, Strict: true, Tools: []string{"echo"}, Action: policy.ActionBlock, Message: "echo is not allowed."},
	}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	return &enforce.Enforcer{Engine: engine, Recorder: recs, Logger: testLogger(t)}, recs
}

func TestEnforcerSeesEveryCall(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	e, recs := blockEcho(t)
	g := startGateway(t, gateway.Options{Enforcer: e, User: "ada"}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	c, _ := connectStdio(t, g, "w", legacy)
	res := call(t, c, "up__echo", map[string]any{"message": "x"})
	id, _ := res.Meta.AdditionalFields[enforce.MetaVerdict].(string)
	seen := recs.byID(t, id).Call
	if seen.Workspace != "w" || seen.Upstream != "up" || seen.Tool != "echo" || seen.Exposed != "up__echo" || seen.User != "ada" || seen.Client != "gateway-test" || string(seen.Arguments) != `{"message":"x"}` {
		t.Errorf("the enforcer saw %+v", seen)
	}
	if !res.IsError || text(res) != `Blocked by policy "no-echo": echo is not allowed.` {
		t.Errorf("blocked call = %+v; want isError, the message and the verdict id in _meta", res)
	}
	if n := up.Calls.CallCount("echo"); n != 0 {
		t.Errorf("a blocked call reached the upstream %d times", n)
	}
	res = call(t, c, "up__add", map[string]any{"a": 1, "b": 1})
	if got := text(res); got != "2" {
		t.Errorf("allowed call = %q", got)
	}
	id, _ = res.Meta.AdditionalFields[enforce.MetaVerdict].(string)
	if rec := recs.byID(t, id); rec.Call.Tool != "add" || rec.Upstream != policy.UpstreamOK {
		t.Errorf("allowed call's record = %+v; want add, run", rec)
	}
}

// panicJudge is a judge with a bug: it panics.
type panicJudge struct{}

func (panicJudge) Judge(context.Context, policy.JudgeRequest) (policy.JudgeAnswer, error) {
	panic("judge bug")
}

// panicEcho is an enforcer whose judge panics on the echo tool.
func panicEcho(t *testing.T) *enforce.Enforcer {
	t.Helper()
	engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "judged-echo", Enabled: true, Strict: true, Tools: []string{"echo"}, Rules: "Echo only kind words."},
	}}, policy.Options{Judge: panicJudge{}})
	if err != nil {
		t.Fatal(err)
	}
	return &enforce.Enforcer{Engine: engine}
}

func first[A, B any](a A, _ B) A { return a }

// A panic in the enforcement step fails that call, not the gateway, and the
// call does not reach the upstream.
func TestEnforcerPanicFailsTheCallOnly(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{Enforcer: panicEcho(t)}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	for _, tc := range []struct {
		name string
		c    *client.Client
	}{
		{"stdio", first(connectStdio(t, g, "w", legacy))},
		{"http", first(connectHTTP(t, serveHTTP(t, g)+"/w/w/mcp", modern))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "up__echo", Arguments: map[string]any{"message": "x"}}})
			if err == nil && !res.IsError {
				t.Fatalf("call whose enforcement panicked = %+v; want an error", res)
			}
			if n := up.Calls.CallCount("echo"); n != 0 {
				t.Errorf("a call whose enforcement panicked reached the upstream %d times", n)
			}
			if got := text(call(t, tc.c, "up__add", map[string]any{"a": 1, "b": 1})); got != "2" {
				t.Errorf("the next call = %q; want 2", got)
			}
		})
	}
}

// An upstream that cannot be reached does not stop the others, and is
// retried in the background.
func TestFailedUpstreamDoesNotStopOthers(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		{Name: "missing", Transport: upstream.TransportStdio, Command: "/nonexistent/mcp-server", Prefix: true},
		httpUpstream("up", up.ServeHTTP(t)),
	}})
	st := g.Status()[0]
	if st.Upstreams[0].Status.State != upstream.StateDown || st.Upstreams[0].Status.Err == nil {
		t.Errorf("missing upstream status = %+v; want down with an error", st.Upstreams[0].Status)
	}
	if st.Upstreams[1].Status.State != upstream.StateReady {
		t.Errorf("up status = %+v; want ready", st.Upstreams[1].Status)
	}
	c, _ := connectStdio(t, g, "w", modern)
	if got := text(call(t, c, "up__echo", map[string]any{"message": "fine"})); got != "fine" {
		t.Errorf("echo = %q", got)
	}
}

// Shutdown waits for calls in flight and refuses new ones.
func TestShutdownDrainsCalls(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	c, _ := connectStdio(t, g, "w", modern)
	done := slowCall(c, "up__slow", 500)
	waitFor(t, "the slow call to start", 5*time.Second, func() bool { return up.Calls.CallCount("slow") == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case res := <-done:
		if res == nil || text(res) != "done" {
			t.Errorf("in-flight call ended with %+v; want done", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("in-flight call did not finish")
	}
	res := call(t, c, "up__echo", map[string]any{"message": "late"})
	if !res.IsError || !strings.Contains(text(res), "shutting down") {
		t.Errorf("call after Shutdown = %q; want refused", text(res))
	}
}

// A client's resource subscription is passed upstream, and the upstream's
// resources/updated reaches that client, for both protocol generations and
// whatever generation the upstream speaks.
func TestResourceSubscriptions(t *testing.T) {
	cmd, args := upstreamtest.StdioCommand(t)
	for _, mk := range []func(string, string) upstream.Spec{httpUpstream, modernUpstream} {
		web := upstreamtest.NewServer(upstreamtest.Options{})
		spec := mk("web", web.ServeHTTP(t))
		g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
			spec,
			{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
		}})
		base := serveHTTP(t, g)
		resourceSubscriptions(t, base, "upstream "+spec.Protocol)
	}
}

func resourceSubscriptions(t *testing.T, base, name string) {
	const uri = "test://static/2" // both upstreams list it: web, first in order, serves it
	for _, p := range []protocol{legacy, modern} {
		t.Run(name+"/client "+string(p), func(t *testing.T) {
			c, n := connectHTTP(t, base+"/mcp", p)
			if p == legacy {
				req := mcp.SubscribeRequest{}
				req.Params.URI = uri
				if err := c.Subscribe(t.Context(), req); err != nil {
					t.Fatalf("Subscribe: %v", err)
				}
			} else {
				stop, err := c.ListenAsync(context.WithoutCancel(t.Context()), mcp.SubscriptionFilter{ResourceSubscriptions: []string{uri}}, nil)
				if err != nil {
					t.Fatalf("ListenAsync: %v", err)
				}
				defer stop()
			}
			waitFor(t, "resources/updated for "+uri, 10*time.Second, func() bool {
				call(t, c, "web__touch", map[string]any{"uri": uri})
				for _, u := range n.methods("notifications/resources/updated") {
					if u.Params.AdditionalFields["uri"] == uri {
						return true
					}
				}
				return false
			})
		})
	}
}

// A client's logging level is passed upstream, and upstream log messages
// reach the client at or above its level, named after their upstream.
func TestLoggingPassThrough(t *testing.T) {
	cmd, args := upstreamtest.StdioCommand(t)
	web := upstreamtest.NewServer(upstreamtest.Options{Name: "websrv"})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		httpUpstream("web", web.ServeHTTP(t)),
		{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
	}})
	c, n := connectStdio(t, g, "w", legacy)
	req := mcp.SetLevelRequest{}
	req.Params.Level = mcp.LoggingLevelInfo
	if err := c.SetLevel(t.Context(), req); err != nil {
		t.Fatalf("SetLevel: %v", err)
	}
	for _, up := range []string{"web", "kid"} {
		call(t, c, up+"__log", map[string]any{"level": "debug", "message": up + " quiet"})
		call(t, c, up+"__log", map[string]any{"level": "warning", "message": up + " loud"})
		waitFor(t, up+"'s warning", 5*time.Second, func() bool {
			for _, m := range n.methods("notifications/message") {
				if m.Params.AdditionalFields["data"] == up+" loud" {
					logger, _ := m.Params.AdditionalFields["logger"].(string)
					return strings.HasPrefix(logger, up)
				}
			}
			return false
		})
	}
	for _, m := range n.methods("notifications/message") {
		if d, _ := m.Params.AdditionalFields["data"].(string); strings.HasSuffix(d, "quiet") {
			t.Errorf("got a debug message %q below the client's level info", d)
		}
	}
}

// A reload that replaces an upstream lets the calls it is running finish.
func TestApplyLetsReplacedUpstreamFinishCalls(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	url := up.ServeHTTP(t)
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", url)}})
	c, _ := connectStdio(t, g, "w", modern)
	done := slowCall(c, "up__slow", 600)
	waitFor(t, "the slow call to start", 5*time.Second, func() bool { return up.Calls.CallCount("slow") == 1 })
	changed := httpUpstream("up", url)
	changed.Timeout = 7 * time.Second // a different spec: the upstream is replaced
	g.Apply([]workspace.Spec{{Name: "w", Upstreams: []upstream.Spec{changed}}})
	select {
	case res := <-done:
		if res == nil || res.IsError || text(res) != "done" {
			t.Errorf("call running during the reload ended with %+v; want done", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the call running during the reload did not finish")
	}
}

// Over stdio, slow calls do not starve quick ones: with more slow calls in
// flight than mcp-go's default five workers, a quick call still finishes
// before any of them.
func TestStdioSlowCallsDoNotStarveQuickOnes(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	c, _ := connectStdio(t, g, "w", modern)
	const slow = 12
	slowDone := make(chan time.Time, slow)
	for range slow {
		go func() {
			<-slowCall(c, "up__slow", 1500)
			slowDone <- time.Now()
		}()
	}
	waitFor(t, "all slow calls to reach the upstream", 5*time.Second, func() bool { return up.Calls.CallCount("slow") == slow })
	if got := text(call(t, c, "up__echo", map[string]any{"message": "quick"})); got != "quick" {
		t.Fatalf("echo = %q", got)
	}
	quickDone := time.Now()
	first := <-slowDone
	if quickDone.After(first) {
		t.Errorf("the quick call finished after a slow one: it waited for a worker")
	}
}

// A result larger than the upstream's max_message_bytes fails the call
// with an error naming the limit, never grows the gateway without bound,
// and the upstream serves the next call (issue 14, 12).
func TestUpstreamMessageLimit(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	spec := httpUpstream("up", up.ServeHTTP(t))
	spec.MaxMessageBytes = 1 << 20
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{spec}})
	c, _ := connectStdio(t, g, "w", legacy)
	res := call(t, c, "up__big", map[string]any{"bytes": 2 << 20})
	if !res.IsError || !strings.Contains(text(res), "max_message_bytes") {
		t.Errorf("a 2 MiB result through a 1 MiB limit = %.200q (isError %v); want an error naming max_message_bytes", text(res), res.IsError)
	}
	waitFor(t, "the upstream to serve again", 10*time.Second, func() bool {
		return text(call(t, c, "up__echo", map[string]any{"message": "again"})) == "again"
	})
	if res := call(t, c, "up__big", map[string]any{"bytes": 512 << 10}); res.IsError || len(text(res)) != 512<<10 {
		t.Errorf("a result within the limit = isError %v, %d bytes", res.IsError, len(text(res)))
	}
}

// recordingSampler answers like sampler and keeps the prompts it was sent.
type recordingSampler struct {
	mu   sync.Mutex
	seen []string
}

func (s *recordingSampler) CreateMessage(ctx context.Context, r mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	s.mu.Lock()
	for _, m := range r.Messages {
		if tc, ok := m.Content.(mcp.TextContent); ok {
			s.seen = append(s.seen, tc.Text)
		}
	}
	s.mu.Unlock()
	return sampler{}.CreateMessage(ctx, r)
}

// With scan_output, what an upstream sends the client outside its result —
// its log messages, the text of a sampling request it relays — has its
// secrets redacted too: everything the client receives is scanned (issue
// 14, 1). Without it, they pass as they are.
func TestRelayedTextScanned(t *testing.T) {
	const key = "ghp_" + "aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3aB3"
	for _, scan := range []bool{true, false} {
		t.Run(fmt.Sprint("scan_output=", scan), func(t *testing.T) {
			up := upstreamtest.NewServer(upstreamtest.Options{})
			e := &enforce.Enforcer{ScanOutput: map[string]bool{"w": scan}}
			g := startGateway(t, gateway.Options{Enforcer: e}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
			s := &recordingSampler{}
			c, n := connectStdio(t, g, "w", legacy, client.WithSamplingHandler(s))
			req := mcp.SetLevelRequest{}
			req.Params.Level = mcp.LoggingLevelInfo
			if err := c.SetLevel(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			call(t, c, "up__log", map[string]any{"level": "info", "message": "token " + key + " loaded"})
			call(t, c, "up__sample", map[string]any{"prompt": "summarise " + key})
			var logged string
			waitFor(t, "the log message", 5*time.Second, func() bool {
				for _, m := range n.methods("notifications/message") {
					logged, _ = m.Params.AdditionalFields["data"].(string)
				}
				return logged != ""
			})
			s.mu.Lock()
			sampled := strings.Join(s.seen, " ")
			s.mu.Unlock()
			for what, got := range map[string]string{"log message": logged, "sampling request": sampled} {
				if scan && (strings.Contains(got, key) || !strings.Contains(got, "[REDACTED]")) {
					t.Errorf("%s = %q; want the key redacted", what, got)
				}
				if !scan && !strings.Contains(got, key) {
					t.Errorf("without scan_output, %s = %q; want it as sent", what, got)
				}
			}
		})
	}
}
