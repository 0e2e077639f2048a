package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// impatientUpstream serves one tool, "impatient", that asks the client a
// question (legacy server-initiated elicitation) but gives up after wait and
// returns a result anyway: an upstream with its own timeout.
func impatientUpstream(t *testing.T, wait time.Duration) string {
	t.Helper()
	srv := server.NewMCPServer("imp", "1", server.WithToolCapabilities(false), server.WithLegacyServerInitiatedRequests())
	srv.AddTool(mcp.NewTool("impatient", mcp.WithString("q")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		actx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		_, err := srv.RequestElicitation(actx, mcp.ElicitationRequest{
			Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)},
			Params: mcp.ElicitationParams{Message: "ok?", RequestedSchema: map[string]any{
				"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}},
			}},
		})
		if err != nil {
			return mcp.NewToolResultText("gave up: " + err.Error()), nil
		}
		return mcp.NewToolResultText("answered"), nil
	})
	ts := httptest.NewServer(server.NewStreamableHTTPServer(srv))
	t.Cleanup(ts.Close)
	return ts.URL
}

// postModern posts one 2026-07-28 tools/call over HTTP and returns the
// decoded result, or an error when the request fails (e.g. times out).
func postModern(ctx context.Context, url, tool, params string) (map[string]any, error) {
	s, err := postModernRaw(ctx, url, tool, params)
	if err != nil {
		return nil, err
	}
	// the last SSE data line is the answer
	if i := strings.LastIndex(s, "data: "); i >= 0 {
		s = strings.TrimSpace(strings.SplitN(s[i+6:], "\n", 2)[0])
	}
	var msg struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal([]byte(s), &msg); err != nil {
		return nil, err
	}
	if msg.Result == nil {
		return map[string]any{"jsonrpcError": msg.Error}, nil
	}
	return msg.Result, nil
}

// flightMeta is the _meta of a 2026-07-28 request from a client that can
// be asked.
const flightMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}`

// An upstream that stops waiting for its question (its own timeout, or
// mcp-go's 30 s bound on a server request over streamable HTTP) finishes
// the call while it is parked: the client's retry with the answer gets the
// call's result, instead of waiting for an answer nobody reads.
func TestRetryAfterUpstreamGaveUp(t *testing.T) {
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("imp", impatientUpstream(t, 300*time.Millisecond))}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	params := func(extra string) string {
		p := `{"name":"imp__impatient","arguments":{"q":"x"},` + flightMeta
		if extra != "" {
			p += "," + extra
		}
		return p + "}"
	}
	first, err := postModern(t.Context(), url, "imp__impatient", params(""))
	if err != nil {
		t.Fatal(err)
	}
	state, _ := first["requestState"].(string)
	if first["resultType"] != "input_required" || state == "" {
		t.Fatalf("first round = %v; want input_required", first)
	}
	time.Sleep(time.Second) // the upstream has given up and returned its result by now

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	res, err := postModern(ctx, url, "imp__impatient", params(`"requestState":"`+state+`","inputResponses":{"upstream":{"action":"accept","content":{"ok":true}}}`))
	if err != nil {
		t.Fatalf("the retry with the answer got no answer within %v: %v (flight stuck in resume)", time.Since(start).Round(time.Millisecond), err)
	}
	if content, _ := res["content"].([]any); len(content) == 0 || !strings.Contains(fmt.Sprint(content), "gave up") {
		t.Errorf("the retry's answer = %v; want the call's result", res)
	}
}

// goroutinesIn counts the goroutines whose stack mentions fn.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<22)
	n := runtime.Stack(buf, true)
	count := 0
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, fn) {
			count++
		}
	}
	return count
}

// A call that ends while an upstream's question is pending (here: the
// client's retry lacks the answer) ends the question too: no relay
// goroutine stays blocked for as long as the upstream's connection lives.
func TestQuestionEndsWithItsCall(t *testing.T) {
	cmd, args := upstreamtest.StdioCommand(t)
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{
		{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true},
	}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	params := func(extra string) string {
		p := `{"name":"kid__sample","arguments":{"prompt":"hi"},` + flightMeta
		if extra != "" {
			p += "," + extra
		}
		return p + "}"
	}
	before := goroutinesIn("gateway.(*flight).ask")
	for i := 0; i < 5; i++ {
		first, err := postModern(t.Context(), url, "kid__sample", params(""))
		if err != nil {
			t.Fatal(err)
		}
		state, _ := first["requestState"].(string)
		if first["resultType"] != "input_required" {
			t.Fatalf("first round = %v", first)
		}
		// A retry without the answer: the gateway cancels the call.
		res, err := postModern(t.Context(), url, "kid__sample", params(`"requestState":"`+state+`"`))
		if err != nil {
			t.Fatal(err)
		}
		if res["isError"] != true {
			t.Fatalf("a retry without the answer = %v; want it refused", res)
		}
	}
	time.Sleep(2 * time.Second)
	if n := goroutinesIn("gateway.(*flight).ask") - before; n > 0 {
		t.Errorf("%d goroutines still blocked in flight.ask after their calls ended", n)
	}
}

// postModernRaw posts one modern tools/call and returns the raw response
// body (all SSE events).
func postModernRaw(ctx context.Context, url, tool, params string) (string, error) {
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":` + params + `}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", tool)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// A 2026-07-28 client approves a held call with a retry that has a
// progress token of its own: the call runs with the retry's _meta, and its
// progress comes under the retry's token on the retry's stream; the
// question carries the call's verdict id.
func TestApprovedCallFollowsTheRetry(t *testing.T) {
	set := policy.Set{Global: []policy.Policy{
		{Name: "ask-slow", Enabled: true, Tools: []string{"slow"}, Action: policy.ActionRequireApproval, Message: "Slow needs a yes."},
	}}
	engine, err := policy.NewEngine(set, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enf := &enforce.Enforcer{Engine: engine, Recorder: &records{}, ApprovalTimeout: time.Minute}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada"}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	meta := func(token string) string {
		return `"_meta":{"progressToken":"` + token + `","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}`
	}
	params := func(token, extra string) string {
		p := `{"name":"up__slow","arguments":{"ms":200,"steps":3},` + meta(token)
		if extra != "" {
			p += "," + extra
		}
		return p + "}"
	}
	first, err := postModern(t.Context(), url, "up__slow", params("first", ""))
	if err != nil {
		t.Fatal(err)
	}
	state, _ := first["requestState"].(string)
	if state == "" {
		t.Fatalf("first = %v", first)
	}
	if meta, _ := first["_meta"].(map[string]any); meta[enforce.MetaVerdict] == nil {
		t.Errorf("the approval question's _meta = %v; want the call's verdict id", first["_meta"])
	}
	body, err := postModernRaw(t.Context(), url, "up__slow", params("second", `"requestState":"`+state+`","inputResponses":{"gatehouse-approval":{"action":"accept","content":{"approve":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, `"progressToken":"first"`) || !strings.Contains(body, `"progressToken":"second"`) {
		t.Errorf("the retry's stream carries progress for the first request's token, not its own:\n%s", body)
	}
}

type panickyJudge struct{}

func (panickyJudge) Judge(context.Context, policy.JudgeRequest) (policy.JudgeAnswer, error) {
	panic("provider library bug")
}

// A panic on the way of a call (here: in the judge, inside Decide) fails
// the call and still leaves its one record.
func TestPanicLeavesRecord(t *testing.T) {
	set := policy.Set{Global: []policy.Policy{
		{Name: "judged", Enabled: true, Tools: []string{"echo"}, Rules: "Never echo secrets."},
	}}
	engine, err := policy.NewEngine(set, policy.Options{Judge: panickyJudge{}})
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	enf := &enforce.Enforcer{Engine: engine, Recorder: recs}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada", Logger: testLogger(t)}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	c, _ := connectStdio(t, g, "w", modern)
	req := mcp.CallToolRequest{}
	req.Params.Name = "up__echo"
	req.Params.Arguments = map[string]any{"message": "hi"}
	_, err = c.CallTool(t.Context(), req)
	if err == nil {
		t.Error("a call whose judge panicked succeeded")
	}
	if n := up.Calls.CallCount("echo"); n != 0 {
		t.Errorf("a call whose judge panicked reached the upstream %d times", n)
	}
	waitFor(t, "the call's record", 5*time.Second, func() bool {
		recs.mu.Lock()
		defer recs.mu.Unlock()
		return len(recs.recs) == 1 && recs.recs[0].Verdict.Decision == policy.DecisionBlock
	})
}

// A workspace removed by a reload ends the calls parked on its questions
// (no retry can reach it): Close does not wait for their timeouts.
func TestRemovedWorkspaceEndsParkedCalls(t *testing.T) {
	g, _, recs := approvalGateway(t, 3*time.Second)
	defer func() {
		recs.mu.Lock()
		defer recs.mu.Unlock()
		if len(recs.recs) != 1 || recs.recs[0].Approval.State != policy.ApprovalExpired {
			t.Errorf("records = %+v; want the held call recorded as expired", recs.recs)
		}
	}()
	url := serveHTTP(t, g) + "/w/w/mcp"
	res := rawModern(t, url, modernParams("held", ""))
	if res["resultType"] != "input_required" {
		t.Fatalf("first round = %v", res)
	}
	g.Apply(nil) // the workspace is removed from the config
	start := time.Now()
	_ = g.Close()
	took := time.Since(start)
	if took > time.Second {
		t.Errorf("Close took %v: it waited for the parked question of a removed workspace to time out", took.Round(time.Millisecond))
	}
}
