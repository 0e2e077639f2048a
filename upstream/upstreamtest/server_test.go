package upstreamtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
)

// waitFor bounds every wait for something asynchronous.
const waitFor = 5 * time.Second

// mode is one way of reaching a Server: a transport and a protocol
// generation.
type mode struct {
	name string
	// modern says which protocol generation the client settles on.
	modern bool
	// inProcess says whether the Server runs in the test process, so that
	// its Calls and Cancelled can be checked.
	inProcess bool
	// dial starts a Server with opts, connects an initialized client with
	// copts, and returns both (the Server is nil for a child process).
	dial func(t *testing.T, opts upstreamtest.Options, copts ...client.ClientOption) (*client.Client, *upstreamtest.Server)
}

var modes = []mode{
	{name: "http", modern: true, inProcess: true, dial: dialHTTP(false)},
	{name: "http-legacy", inProcess: true, dial: dialHTTP(true)},
	{name: "sse", modern: true, inProcess: true, dial: dialSSE(false)},
	{name: "sse-legacy", inProcess: true, dial: dialSSE(true)},
	{name: "stdio", modern: true, dial: dialStdio(false)},
	{name: "stdio-legacy", dial: dialStdio(true)},
}

// dialHTTP serves over streamable HTTP. The legacy client keeps a GET
// stream open (continuous listening): mcp-go sends sampling requests of
// legacy sessions only there.
func dialHTTP(legacy bool) func(*testing.T, upstreamtest.Options, ...client.ClientOption) (*client.Client, *upstreamtest.Server) {
	return func(t *testing.T, opts upstreamtest.Options, copts ...client.ClientOption) (*client.Client, *upstreamtest.Server) {
		s := upstreamtest.NewServer(opts)
		// Each client gets its own connection pool: mcp-go's clients call
		// CloseIdleConnections when they close, which on the shared
		// default transport breaks the connections of parallel tests.
		topts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(ownHTTPClient())}
		if legacy {
			topts = append(topts, transport.WithContinuousListening())
			copts = append(copts, client.WithLegacyProtocolOnly())
		}
		tr, err := transport.NewStreamableHTTP(s.ServeHTTP(t), topts...)
		if err != nil {
			t.Fatalf("NewStreamableHTTP: %v", err)
		}
		return start(t, tr, copts...), s
	}
}

func dialSSE(legacy bool) func(*testing.T, upstreamtest.Options, ...client.ClientOption) (*client.Client, *upstreamtest.Server) {
	return func(t *testing.T, opts upstreamtest.Options, copts ...client.ClientOption) (*client.Client, *upstreamtest.Server) {
		s := upstreamtest.NewServer(opts)
		if legacy {
			copts = append(copts, client.WithLegacyProtocolOnly())
		}
		tr, err := transport.NewSSE(s.ServeSSE(t), transport.WithHTTPClient(ownHTTPClient()))
		if err != nil {
			t.Fatalf("NewSSE: %v", err)
		}
		return start(t, tr, copts...), s
	}
}

func dialStdio(legacy bool) func(*testing.T, upstreamtest.Options, ...client.ClientOption) (*client.Client, *upstreamtest.Server) {
	return func(t *testing.T, opts upstreamtest.Options, copts ...client.ClientOption) (*client.Client, *upstreamtest.Server) {
		if legacy {
			copts = append(copts, client.WithLegacyProtocolOnly())
		}
		command, args := upstreamtest.StdioCommand(t, opts)
		tr := transport.NewStdio(command, []string{"UPSTREAMTEST_PROBE=probe value"}, args...)
		return start(t, tr, copts...), nil
	}
}

// start starts and initializes a client on tr, closed when the test ends.
func start(t *testing.T, tr transport.Interface, copts ...client.ClientOption) *client.Client {
	t.Helper()
	c := client.NewClient(tr, copts...)
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	var init mcp.InitializeRequest
	init.Params.ClientInfo = mcp.Implementation{Name: "upstreamtest-test", Version: "1.0.0"}
	if _, err := c.Initialize(t.Context(), init); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	return c
}

// forEachMode runs f as a parallel subtest for every mode.
func forEachMode(t *testing.T, f func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m)
		})
	}
}

func call(t *testing.T, c *client.Client, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := callErr(t.Context(), c, tool, args)
	if err != nil {
		t.Fatalf("CallTool(%s) error: %v", tool, err)
	}
	return res
}

func callErr(ctx context.Context, c *client.Client, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	var req mcp.CallToolRequest
	req.Params.Name = tool
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}

// text returns the text of a result's only content item.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("result has %d content items; want 1: %+v", len(res.Content), res.Content)
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok {
		t.Fatalf("content is %T; want mcp.TextContent", res.Content[0])
	}
	return tc.Text
}

func TestProtocolGeneration(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{Name: "named"})
		want := mcp.LATEST_LEGACY_PROTOCOL_VERSION
		if m.modern {
			want = mcp.LATEST_PROTOCOL_VERSION
		}
		if got := c.ProtocolVersion(); got != want {
			t.Errorf("ProtocolVersion() = %q; want %q", got, want)
		}
	})
}

func TestListToolsPaginated(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{ToolPrefix: "p_", Pages: 2})

		page, err := c.ListToolsByPage(t.Context(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("ListToolsByPage: %v", err)
		}
		if len(page.Tools) != 2 || page.NextCursor == "" {
			t.Errorf("first page has %d tools, next cursor %q; want 2 tools and a cursor", len(page.Tools), page.NextCursor)
		}

		all, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatalf("ListTools: %v", err)
		}
		var got, want []string
		for _, tool := range all.Tools {
			got = append(got, tool.Name)
		}
		for _, base := range upstreamtest.ToolNames() {
			want = append(want, "p_"+base)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListTools() names = %v; want %v", got, want)
		}
	})
}

func TestCallTools(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, s := m.dial(t, upstreamtest.Options{})

		echo := call(t, c, "echo", map[string]any{"message": "hi there"})
		if got := text(t, echo); got != "hi there" {
			t.Errorf("echo text = %q; want %q", got, "hi there")
		}
		if echo.Meta == nil || echo.Meta.AdditionalFields[upstreamtest.EchoMetaKey] != true {
			t.Errorf("echo _meta = %+v; want %s: true", echo.Meta, upstreamtest.EchoMetaKey)
		}

		add := call(t, c, "add", map[string]any{"a": 2, "b": 3})
		if got := text(t, add); got != "5" {
			t.Errorf("add text = %q; want 5", got)
		}
		if sc, _ := add.StructuredContent.(map[string]any); sc["sum"] != 5.0 {
			t.Errorf("add structuredContent = %#v; want sum 5", add.StructuredContent)
		}

		checkKinds(t, call(t, c, "kinds", nil))

		fail := call(t, c, "fail", map[string]any{"message": "broken"})
		if !fail.IsError || text(t, fail) != "broken" {
			t.Errorf("fail = isError %v, %+v; want isError true, text broken", fail.IsError, fail.Content)
		}

		_, err := callErr(t.Context(), c, "jsonrpc_error", nil)
		if !errors.Is(err, mcp.ErrInternalError) || !strings.Contains(err.Error(), "always fails with a Go error") {
			t.Errorf("jsonrpc_error error = %v; want mcp.ErrInternalError carrying the handler's text", err)
		}

		_, err = callErr(t.Context(), c, "no_such_tool", map[string]any{"x": 1})
		if !errors.Is(err, mcp.ErrInvalidParams) {
			t.Errorf("no_such_tool error = %v; want mcp.ErrInvalidParams", err)
		}

		big := call(t, c, "big", map[string]any{"bytes": 100000})
		if got := text(t, big); len(got) != 100000 || strings.Trim(got, "x") != "" {
			t.Errorf("big text has %d bytes; want 100000 times x", len(got))
		}

		if !m.inProcess {
			return // the child's crash would end it; see TestStdioEnvAndCrash
		}
		if _, err := callErr(t.Context(), c, "crash", nil); !errors.Is(err, mcp.ErrInternalError) {
			t.Errorf("crash in process error = %v; want mcp.ErrInternalError", err)
		}
		if n := s.Calls.CallCount("echo"); n != 1 {
			t.Errorf("CallCount(echo) = %d; want 1", n)
		}
		if args := s.Calls.LastArgs("add"); !reflect.DeepEqual(args, map[string]any{"a": 2.0, "b": 3.0}) {
			t.Errorf("LastArgs(add) = %v; want a 2, b 3", args)
		}
		if n := s.Calls.CallCount("no_such_tool"); n != 1 {
			t.Errorf("CallCount(no_such_tool) = %d; want 1: unknown tools are recorded too", n)
		}
		if n := s.Calls.CallCount("sample"); n != 0 {
			t.Errorf("CallCount(sample) = %d; want 0", n)
		}
	})
}

// checkKinds checks the kinds tool's result: one content item of every kind.
func checkKinds(t *testing.T, res *mcp.CallToolResult) {
	t.Helper()
	if len(res.Content) != 5 {
		t.Fatalf("kinds has %d content items; want 5", len(res.Content))
	}
	tc, ok := res.Content[0].(mcp.TextContent)
	if !ok || tc.Annotations == nil || len(tc.Annotations.Audience) != 2 ||
		tc.Annotations.Priority == nil || *tc.Annotations.Priority != 0.5 {
		t.Errorf("kinds[0] = %#v; want text with audience and priority 0.5", res.Content[0])
	}
	img, ok := res.Content[1].(mcp.ImageContent)
	if !ok || img.MIMEType != "image/png" || !hasPrefix(t, img.Data, "\x89PNG\r\n\x1a\n") {
		t.Errorf("kinds[1] = %#v; want a PNG image", res.Content[1])
	}
	audio, ok := res.Content[2].(mcp.AudioContent)
	if !ok || audio.MIMEType != "audio/wav" || !hasPrefix(t, audio.Data, "RIFF") {
		t.Errorf("kinds[2] = %#v; want WAV audio", res.Content[2])
	}
	link, ok := res.Content[3].(mcp.ResourceLink)
	if !ok || link.URI != "test://static/1" {
		t.Errorf("kinds[3] = %#v; want a link to test://static/1", res.Content[3])
	}
	embedded, ok := res.Content[4].(mcp.EmbeddedResource)
	if !ok || embedded.Meta == nil || embedded.Meta.AdditionalFields[upstreamtest.KindsMetaKey] != "embedded" {
		t.Errorf("kinds[4] = %#v; want an embedded resource with _meta", res.Content[4])
	} else if contents, ok := embedded.Resource.(mcp.TextResourceContents); !ok || contents.Text != "static 2" {
		t.Errorf("kinds[4].resource = %#v; want text static 2", embedded.Resource)
	}
}

func hasPrefix(t *testing.T, b64, prefix string) bool {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && strings.HasPrefix(string(data), prefix)
}

// notes collects the notifications a client receives.
type notes struct {
	mu   sync.Mutex
	list []mcp.JSONRPCNotification
}

func collect(c *client.Client) *notes {
	n := &notes{}
	c.OnNotification(func(note mcp.JSONRPCNotification) {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.list = append(n.list, note)
	})
	return n
}

// of returns the notifications received so far with the given method.
func (n *notes) of(method string) []mcp.JSONRPCNotification {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, note := range n.list {
		if note.Method == method {
			out = append(out, note)
		}
	}
	return out
}

// wait waits until count notifications with the method have arrived and
// returns them.
func (n *notes) wait(t *testing.T, method string, count int) []mcp.JSONRPCNotification {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := n.of(method)
		if len(got) >= count {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d %s notifications; want %d", len(got), method, count)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSlowProgress(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{})
		received := collect(c)

		var req mcp.CallToolRequest
		req.Params.Name = "slow"
		req.Params.Arguments = map[string]any{"ms": 60, "steps": 3}
		req.Params.Meta = &mcp.Meta{ProgressToken: "tok"}
		res, err := c.CallTool(t.Context(), req)
		if err != nil {
			t.Fatalf("CallTool(slow): %v", err)
		}
		if got := text(t, res); got != "done" {
			t.Errorf("slow text = %q; want done", got)
		}

		progress := received.wait(t, string(mcp.MethodNotificationProgress), 3)
		for i, note := range progress {
			p := note.Params.AdditionalFields
			if p["progressToken"] != "tok" || p["progress"] != float64(i+1) || p["total"] != 3.0 ||
				p["message"] != "step "+string(rune('1'+i)) {
				t.Errorf("progress %d = %v; want token tok, progress %d of 3, message step %d", i, p, i+1, i+1)
			}
		}

		// Without a progress token there is no progress.
		before := len(received.of(string(mcp.MethodNotificationProgress)))
		call(t, c, "slow", map[string]any{"ms": 10, "steps": 2})
		if after := len(received.of(string(mcp.MethodNotificationProgress))); after != before {
			t.Errorf("slow without a token sent %d progress notifications; want 0", after-before)
		}
	})
}

func TestSlowCancelled(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, s := m.dial(t, upstreamtest.Options{})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := callErr(ctx, c, "slow", map[string]any{"ms": 1000})
		if err == nil {
			t.Fatalf("CallTool(slow 1s) with a 100ms deadline succeeded; want an error")
		}
		switch {
		case !m.inProcess:
			// The child's count is out of reach; it must still serve calls.
			call(t, c, "echo", map[string]any{"message": "still there"})
		case strings.HasPrefix(m.name, "sse"):
			// The SSE client sends no notifications/cancelled, and the SSE
			// server runs each message detached from its HTTP request: the
			// call runs on.
			time.Sleep(200 * time.Millisecond)
			if n := s.Cancelled(); n != 0 {
				t.Errorf("Cancelled() over SSE = %d; want 0", n)
			}
		default:
			deadline := time.Now().Add(waitFor)
			for s.Cancelled() != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("Cancelled() = %d; want 1", s.Cancelled())
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
}

// sampler answers sampling requests with "sampled: PROMPT".
type sampler struct{}

func (sampler) CreateMessage(_ context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	var prompt struct {
		Text string `json:"text"`
	}
	if len(req.Messages) > 0 {
		raw, _ := json.Marshal(req.Messages[0].Content)
		_ = json.Unmarshal(raw, &prompt)
	}
	return &mcp.CreateMessageResult{
		SamplingMessage: mcp.SamplingMessage{Role: mcp.RoleAssistant, Content: mcp.NewTextContent("sampled: " + prompt.Text)},
		Model:           "test-model",
		StopReason:      "endTurn",
	}, nil
}

// elicitor declines questions containing "decline", cancels those
// containing "cancel" and accepts the rest with ok true.
type elicitor struct{}

func (elicitor) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	response := mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"ok": true}}
	switch {
	case strings.Contains(req.Params.Message, "decline"):
		response = mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}
	case strings.Contains(req.Params.Message, "cancel"):
		response = mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionCancel}
	}
	return &mcp.ElicitationResult{ElicitationResponse: response}, nil
}

func TestSampleAndElicit(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, s := m.dial(t, upstreamtest.Options{},
			client.WithSamplingHandler(sampler{}), client.WithElicitationHandler(elicitor{}))

		if m.name == "sse-legacy" {
			// mcp-go's SSE sessions cannot send server-initiated requests.
			_, err := callErr(t.Context(), c, "sample", map[string]any{"prompt": "x"})
			if err == nil || !strings.Contains(err.Error(), "does not support sampling") {
				t.Errorf("sample over legacy SSE error = %v; want session does not support sampling", err)
			}
			_, err = callErr(t.Context(), c, "elicit", map[string]any{"question": "x"})
			if err == nil || !strings.Contains(err.Error(), "does not support elicitation") {
				t.Errorf("elicit over legacy SSE error = %v; want session does not support elicitation", err)
			}
			return
		}

		if got := text(t, call(t, c, "sample", map[string]any{"prompt": "tell me"})); got != "sampled: tell me" {
			t.Errorf("sample text = %q; want %q", got, "sampled: tell me")
		}
		tests := []struct{ question, want string }{
			{"go?", `accepted: {"ok":true}`},
			{"decline this?", "declined"},
			{"cancel this?", "cancelled"},
		}
		for _, tt := range tests {
			if got := text(t, call(t, c, "elicit", map[string]any{"question": tt.question})); got != tt.want {
				t.Errorf("elicit(%q) = %q; want %q", tt.question, got, tt.want)
			}
		}

		if !m.inProcess {
			return
		}
		// A modern client answers the input request by calling again.
		want := 1
		if m.modern {
			want = 2
		}
		if n := s.Calls.CallCount("sample"); n != want {
			t.Errorf("CallCount(sample) = %d; want %d", n, want)
		}
	})
}

// A legacy streamable HTTP client without a GET stream never sees the
// sampling request: the call hangs until the client gives up.
func TestSampleLegacyHTTPNeedsListening(t *testing.T) {
	s := upstreamtest.NewServer(upstreamtest.Options{})
	tr, err := transport.NewStreamableHTTP(s.ServeHTTP(t), transport.WithHTTPBasicClient(ownHTTPClient()))
	if err != nil {
		t.Fatalf("NewStreamableHTTP: %v", err)
	}
	c := start(t, tr, client.WithLegacyProtocolOnly(), client.WithSamplingHandler(sampler{}), client.WithElicitationHandler(elicitor{}))

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := callErr(ctx, c, "sample", map[string]any{"prompt": "x"}); err == nil {
		t.Errorf("sample without a GET stream succeeded; want it to time out")
	}
	// Elicitation, unlike sampling, goes out on the call's own stream.
	if got := text(t, call(t, c, "elicit", map[string]any{"question": "go?"})); got != `accepted: {"ok":true}` {
		t.Errorf("elicit without a GET stream = %q; want accepted", got)
	}
}

func TestLog(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{})
		received := collect(c)
		if err := c.SetLevel(t.Context(), mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelInfo}}); err != nil {
			t.Fatalf("SetLevel: %v", err)
		}
		for _, level := range []string{"debug", "warning"} {
			if got := text(t, call(t, c, "log", map[string]any{"level": level, "message": level + " message"})); got != "logged" {
				t.Errorf("log text = %q; want logged", got)
			}
		}
		logs := received.wait(t, string(mcp.MethodNotificationMessage), 1)
		time.Sleep(50 * time.Millisecond) // let a wrongly sent debug message arrive
		logs = received.of(string(mcp.MethodNotificationMessage))
		if len(logs) != 1 || logs[0].Params.AdditionalFields["level"] != "warning" ||
			logs[0].Params.AdditionalFields["data"] != "warning message" {
			t.Errorf("log notifications = %+v; want only the warning", logs)
		}
	})
}

func TestPromptsResourcesCompletions(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{ToolPrefix: "p_", Pages: 2})
		ctx := t.Context()

		prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
		if err != nil || len(prompts.Prompts) != 2 || prompts.Prompts[0].Name != "p_greet" || prompts.Prompts[1].Name != "p_plain" {
			t.Errorf("ListPrompts() = %+v, %v; want p_greet and p_plain", prompts, err)
		}
		var get mcp.GetPromptRequest
		get.Params.Name = "p_greet"
		get.Params.Arguments = map[string]string{"name": "Ada"}
		greet, err := c.GetPrompt(ctx, get)
		if err != nil {
			t.Fatalf("GetPrompt(p_greet): %v", err)
		}
		if tc, ok := greet.Messages[0].Content.(mcp.TextContent); !ok || len(greet.Messages) != 1 || tc.Text != "Hello, Ada" {
			t.Errorf("GetPrompt(p_greet) messages = %+v; want one: Hello, Ada", greet.Messages)
		}

		resources, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
		if err != nil || len(resources.Resources) != upstreamtest.StaticResources+1 {
			t.Errorf("ListResources() = %+v, %v; want %d resources", resources, err, upstreamtest.StaticResources+1)
		}
		templates, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
		if err != nil || len(templates.ResourceTemplates) != 1 {
			t.Errorf("ListResourceTemplates() = %+v, %v; want 1 template", templates, err)
		}
		reads := []struct{ uri, want string }{
			{"test://static/3", "static 3"},
			{"test://dyn/42", "dynamic 42"},
		}
		for _, tt := range reads {
			if got := readText(t, c, tt.uri); got != tt.want {
				t.Errorf("ReadResource(%s) = %q; want %q", tt.uri, got, tt.want)
			}
		}
		var read mcp.ReadResourceRequest
		read.Params.URI = upstreamtest.BlobURI
		blob, err := c.ReadResource(ctx, read)
		if err != nil {
			t.Fatalf("ReadResource(blob): %v", err)
		}
		if b, ok := blob.Contents[0].(mcp.BlobResourceContents); !ok || b.Blob != base64.StdEncoding.EncodeToString(upstreamtest.BlobBytes) {
			t.Errorf("ReadResource(blob) = %+v; want BlobBytes", blob.Contents)
		}

		completions := []struct {
			ref        any
			arg, value string
			want       []string
		}{
			{mcp.PromptReference{Type: "ref/prompt", Name: "p_greet"}, "name", "al", []string{"alice", "albert"}},
			{mcp.PromptReference{Type: "ref/prompt", Name: "p_greet"}, "name", "", []string{"alice", "albert", "bob"}},
			{mcp.ResourceReference{Type: "ref/resource", URI: upstreamtest.DynTemplate}, "id", "2", []string{"2"}},
		}
		for _, tt := range completions {
			var req mcp.CompleteRequest
			req.Params.Ref = tt.ref
			req.Params.Argument.Name = tt.arg
			req.Params.Argument.Value = tt.value
			res, err := c.Complete(ctx, req)
			if err != nil || !slices.Equal(res.Completion.Values, tt.want) {
				t.Errorf("Complete(%v %s=%q) = %+v, %v; want %v", tt.ref, tt.arg, tt.value, res, err, tt.want)
			}
		}
	})
}

func readText(t *testing.T, c *client.Client, uri string) string {
	t.Helper()
	var req mcp.ReadResourceRequest
	req.Params.URI = uri
	res, err := c.ReadResource(t.Context(), req)
	if err != nil {
		t.Fatalf("ReadResource(%s): %v", uri, err)
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok {
		t.Fatalf("ReadResource(%s) = %T; want text", uri, res.Contents[0])
	}
	return tc.Text
}

// listen opens a subscriptions/listen stream on a modern client until the
// test ends, and waits for the server's acknowledgement; legacy clients need
// no stream.
func listen(t *testing.T, c *client.Client, m mode, filter mcp.SubscriptionFilter) {
	t.Helper()
	if !m.modern {
		return
	}
	acks := collect(c)
	// Errors are left to the acknowledgement: the stream also ends with an
	// error when the test's context ends and takes the transport with it.
	stop, err := c.ListenAsync(t.Context(), filter, nil)
	if err != nil {
		t.Fatalf("ListenAsync: %v", err)
	}
	t.Cleanup(stop)
	acks.wait(t, string(mcp.MethodNotificationSubscriptionsAcknowledged), 1)
}

func TestToolsListChanged(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{})
		received := collect(c)
		listen(t, c, m, mcp.SubscriptionFilter{ToolsListChanged: true})

		if got := text(t, call(t, c, "notify_tools_changed", nil)); got != "ok" {
			t.Errorf("notify_tools_changed = %q; want ok", got)
		}
		received.wait(t, string(mcp.MethodNotificationToolsListChanged), 1)
		if got := text(t, call(t, c, "extra", map[string]any{"message": "more"})); got != "more" {
			t.Errorf("extra = %q; want more", got)
		}
	})
}

func TestTouchResourceUpdated(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		c, _ := m.dial(t, upstreamtest.Options{})
		received := collect(c)
		const uri = "test://static/4"
		if m.modern {
			listen(t, c, m, mcp.SubscriptionFilter{ResourceSubscriptions: []string{uri}})
		} else if err := c.Subscribe(t.Context(), mcp.SubscribeRequest{Params: mcp.SubscribeParams{URI: uri}}); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}

		if got := text(t, call(t, c, "touch", map[string]any{"uri": "test://static/5"})); got != "notified 0" {
			t.Errorf("touch(unsubscribed) = %q; want notified 0", got)
		}
		if got := text(t, call(t, c, "touch", map[string]any{"uri": uri})); got != "notified 1" {
			t.Errorf("touch(subscribed) = %q; want notified 1", got)
		}
		updated := received.wait(t, mcp.MethodNotificationResourceUpdated, 1)
		if got := updated[0].Params.AdditionalFields["uri"]; got != uri {
			t.Errorf("resources/updated uri = %v; want %s", got, uri)
		}
	})
}

func TestStdioEnvAndCrash(t *testing.T) {
	c, _ := dialStdio(false)(t, upstreamtest.Options{})

	if got := text(t, call(t, c, "env", map[string]any{"name": "UPSTREAMTEST_PROBE"})); got != "probe value" {
		t.Errorf("env(UPSTREAMTEST_PROBE) = %q; want %q", got, "probe value")
	}
	if got := text(t, call(t, c, "env", map[string]any{"name": "UPSTREAMTEST_NEVER_SET"})); got != upstreamtest.Unset {
		t.Errorf("env(UPSTREAMTEST_NEVER_SET) = %q; want %q", got, upstreamtest.Unset)
	}
	names := strings.Split(text(t, call(t, c, "env", map[string]any{"name": "*"})), "\n")
	if !slices.IsSorted(names) || !slices.Contains(names, "UPSTREAMTEST_PROBE") || slices.Contains(names, "probe value") {
		t.Errorf("env(*) = %v; want sorted names including UPSTREAMTEST_PROBE and no values", names)
	}

	ctx, cancel := context.WithTimeout(t.Context(), waitFor)
	defer cancel()
	if _, err := callErr(ctx, c, "crash", nil); err == nil {
		t.Errorf("crash succeeded; want an error")
	}
	if _, err := callErr(ctx, c, "echo", map[string]any{"message": "x"}); err == nil {
		t.Errorf("echo after crash succeeded; want an error")
	}
}

func TestStdioCrashExitStatus(t *testing.T) {
	command, args := upstreamtest.StdioCommand(t)
	cmd := exec.Command(command, args...)
	cmd.Stdin = strings.NewReader(strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"t","version":"1"},"capabilities":{}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"crash"}}`,
		``,
	}, "\n"))
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("stdio server after crash: %v; want exit status 3", err)
	}
}

// TestRawSchemaOnWire checks that the tools' raw input schemas reach the
// wire unchanged, and that decoding into mcp.Tool loses parts of them.
func TestRawSchemaOnWire(t *testing.T) {
	wires := []struct {
		name   string
		legacy bool
		dial   func(t *testing.T, s *upstreamtest.Server, hc *http.Client) transport.Interface
	}{
		{"http", false, func(t *testing.T, s *upstreamtest.Server, hc *http.Client) transport.Interface {
			tr, err := transport.NewStreamableHTTP(s.ServeHTTP(t), transport.WithHTTPBasicClient(hc))
			if err != nil {
				t.Fatalf("NewStreamableHTTP: %v", err)
			}
			return tr
		}},
		{"http-legacy", true, func(t *testing.T, s *upstreamtest.Server, hc *http.Client) transport.Interface {
			tr, err := transport.NewStreamableHTTP(s.ServeHTTP(t), transport.WithHTTPBasicClient(hc))
			if err != nil {
				t.Fatalf("NewStreamableHTTP: %v", err)
			}
			return tr
		}},
		{"sse", true, func(t *testing.T, s *upstreamtest.Server, hc *http.Client) transport.Interface {
			tr, err := transport.NewSSE(s.ServeSSE(t), transport.WithHTTPClient(hc))
			if err != nil {
				t.Fatalf("NewSSE: %v", err)
			}
			return tr
		}},
		{"stdio", false, nil},
	}
	for _, w := range wires {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			var tr transport.Interface
			if w.dial != nil {
				tr = w.dial(t, upstreamtest.NewServer(upstreamtest.Options{Pages: 2}), &http.Client{Transport: rec})
			} else {
				tr = stdioIO(t, rec, upstreamtest.Options{Pages: 2})
			}
			var copts []client.ClientOption
			if w.legacy {
				copts = append(copts, client.WithLegacyProtocolOnly())
			}
			c := start(t, tr, copts...)
			if _, err := c.ListTools(t.Context(), mcp.ListToolsRequest{}); err != nil {
				t.Fatalf("ListTools: %v", err)
			}

			tools := rec.tools(t)
			if len(tools) != len(upstreamtest.ToolNames()) {
				t.Fatalf("wire carried %d tools; want %d", len(tools), len(upstreamtest.ToolNames()))
			}
			for name, tool := range tools {
				want := upstreamtest.InputSchema(name)
				if !jsonEqual(t, tool.InputSchema, want) {
					t.Errorf("wire inputSchema of %s = %s; want %s", name, tool.InputSchema, want)
				}
			}
			if !jsonEqual(t, tools["add"].OutputSchema, json.RawMessage(upstreamtest.AddOutputSchema)) {
				t.Errorf("wire outputSchema of add = %s; want %s", tools["add"].OutputSchema, upstreamtest.AddOutputSchema)
			}

			// The quirk the raw comparison guards against.
			var decoded mcp.Tool
			if err := json.Unmarshal(tools["echo"].raw, &decoded); err != nil {
				t.Fatalf("decode echo into mcp.Tool: %v", err)
			}
			again, err := json.Marshal(decoded.InputSchema)
			if err != nil {
				t.Fatalf("encode decoded schema: %v", err)
			}
			if jsonEqual(t, again, upstreamtest.InputSchema("echo")) {
				t.Errorf("mcp.Tool round trip kept the echo schema whole; the raw comparison is no longer needed")
			}
		})
	}
}

// stdioIO runs the stdio server and returns a transport on its pipes whose
// server-to-client bytes rec records.
func stdioIO(t *testing.T, rec *recorder, opts upstreamtest.Options) transport.Interface {
	t.Helper()
	command, args := upstreamtest.StdioCommand(t, opts)
	cmd := exec.Command(command, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("StdinPipe: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StdoutPipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stdio server: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	return transport.NewIO(io.TeeReader(stdout, rec.stream()), stdin, io.NopCloser(strings.NewReader("")))
}

// recorder records what servers send, one buffer per HTTP response body or
// stdio stream.
type recorder struct {
	mu      sync.Mutex
	streams []*lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (r *recorder) stream() *lockedBuffer {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := &lockedBuffer{}
	r.streams = append(r.streams, b)
	return b
}

// RoundTrip records the response body of every request as its own stream.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, r.stream()), resp.Body}
	return resp, nil
}

// wireTool is a tool as it crossed the wire.
type wireTool struct {
	InputSchema  json.RawMessage `json:"inputSchema"`
	OutputSchema json.RawMessage `json:"outputSchema"`
	raw          json.RawMessage
}

// tools returns the tools of every tools/list result recorded, by name. It
// reads each stream as lines, each a JSON message or an SSE data line.
func (r *recorder) tools(t *testing.T) map[string]wireTool {
	t.Helper()
	r.mu.Lock()
	streams := slices.Clone(r.streams)
	r.mu.Unlock()
	tools := map[string]wireTool{}
	for _, stream := range streams {
		scanner := bufio.NewScanner(bytes.NewReader(stream.bytes()))
		scanner.Buffer(nil, 1<<20)
		for scanner.Scan() {
			line := strings.TrimPrefix(scanner.Text(), "data:")
			var message struct {
				Result struct {
					Tools []json.RawMessage `json:"tools"`
				} `json:"result"`
			}
			if json.Unmarshal([]byte(line), &message) != nil {
				continue
			}
			for _, raw := range message.Result.Tools {
				var tool struct {
					Name string `json:"name"`
					wireTool
				}
				if err := json.Unmarshal(raw, &tool); err != nil {
					t.Fatalf("decode wire tool %s: %v", raw, err)
				}
				tool.raw = raw
				tools[tool.Name] = tool.wireTool
			}
		}
	}
	return tools
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// ownHTTPClient is an http.Client with a connection pool of its own.
func ownHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}
