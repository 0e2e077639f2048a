package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// quickBound is what the p99 latency of a quick request must stay under
// while calls are held.
const quickBound = 50 * time.Millisecond

// slowJudge is an LLM provider on loopback that holds every request until
// it is released, then finds that the call complies.
type slowJudge struct {
	*llmjudgetest.Server
	release chan struct{}
	once    sync.Once
}

func newSlowJudge(t *testing.T) *slowJudge {
	j := &slowJudge{Server: llmjudgetest.New(t), release: make(chan struct{})}
	policyID := regexp.MustCompile(`\{"id":"([^"]+)"`)
	j.Respond(func(r llmjudgetest.Request) llmjudgetest.Reply {
		select {
		case <-j.release:
		case <-time.After(2 * time.Minute):
		}
		id := policyID.FindStringSubmatch(r.System)
		if id == nil {
			return llmjudgetest.Reply{Content: "no policy asked"}
		}
		b, _ := json.Marshal(map[string]any{"results": []map[string]string{{"policy": id[1], "verdict": "comply", "reason": "kind words"}}})
		return llmjudgetest.Reply{Content: string(b)}
	})
	t.Cleanup(j.let) // before the server closes: it waits for its handlers
	return j
}

// let releases every request held and every one to come.
func (j *slowJudge) let() { j.once.Do(func() { close(j.release) }) }

// gatedPerson answers the gateway's approval question with a yes when the
// test lets it.
type gatedPerson struct {
	asked  chan string
	answer chan struct{}
	once   sync.Once
}

// yes lets the person answer, now and from now on.
func (p *gatedPerson) yes() { p.once.Do(func() { close(p.answer) }) }

func (p *gatedPerson) Elicit(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	p.asked <- r.Params.Message
	select {
	case <-p.answer:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := &mcp.ElicitationResult{}
	res.Action = mcp.ElicitationResponseActionAccept
	res.Content = map[string]any{"approve": true}
	return res, nil
}

// starveGateway serves workspace w with upstream up: its echo is judged
// by judge (a plain-English policy), its kinds needs the person's yes, and
// no policy matches its add. At most limit calls of a session may be in
// flight.
func starveGateway(t *testing.T, judge *slowJudge, plainStdio bool, limit int) (*gateway.Gateway, *upstreamtest.Server, *records) {
	t.Helper()
	model, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: llmjudge.ProviderOpenAI, Model: "judge-model", BaseURL: judge.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(policy.Set{Global: []policy.Policy{
		{Name: "kind-echo", Enabled: true, Strict: true, Tools: []string{"echo"}, Rules: "Echo only kind words."},
		{Name: "ask-kinds", Enabled: true, Tools: []string{"kinds"}, Action: policy.ActionRequireApproval, Message: "Kinds need a yes."},
	}}, policy.Options{Judge: llmjudge.New(model, llmjudge.Options{Logger: testLogger(t)}), JudgeTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	enf := &enforce.Enforcer{Engine: engine, Recorder: recs, Logger: testLogger(t)}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada", PlainStdio: plainStdio, MaxCallsInFlight: limit},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	return g, up, recs
}

// connectOSPipes serves workspace ws of g to a client over operating
// system pipes, as `gatehouse serve` does over its stdin and stdout.
func connectOSPipes(t *testing.T, g *gateway.Gateway, ws string, p protocol, opts ...client.ClientOption) *client.Client {
	t.Helper()
	toServer, fromClient, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	toClient, fromServer, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.ServeStdio(ctx, ws, toServer, fromServer) }()
	t.Cleanup(func() {
		// The client's ends first: a gateway still answering calls then
		// gets a broken pipe, as it would when the client exits.
		cancel()
		_ = fromClient.Close()
		_ = toClient.Close()
		<-done
		_ = fromServer.Close()
		_ = toServer.Close()
	})
	c, _ := connect(t, transport.NewIO(toClient, fromClient, io.NopCloser(strings.NewReader(""))), p, opts...)
	return c
}

// callAsync starts a call and returns where its outcome will arrive.
func callAsync(ctx context.Context, c *client.Client, name string, args map[string]any) <-chan callOutcome {
	done := make(chan callOutcome, 1)
	go func() {
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
		done <- callOutcome{res, err}
	}()
	return done
}

type callOutcome struct {
	res *mcp.CallToolResult
	err error
}

// p99 is the 99th percentile of d.
func p99(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99+99)/100-1]
}

// has reports whether r holds a record that match accepts.
func (r *records) has(match func(policy.Record) bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.recs, match)
}

// quickRequests times n rounds of tools/list, ping, and a tools/call of
// add (which no judged policy matches) on c.
func quickRequests(ctx context.Context, t *testing.T, c *client.Client, n int) (list, ping, add []time.Duration) {
	t.Helper()
	for i := range n {
		start := time.Now()
		if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		list = append(list, time.Since(start))
		start = time.Now()
		if err := c.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		ping = append(ping, time.Since(start))
		start = time.Now()
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "up__add", Arguments: map[string]any{"a": i, "b": 1}}})
		if err != nil || res.IsError || text(res) != fmt.Sprint(i+1) {
			t.Fatalf("add = %v, %v; want %d", res, err, i+1)
		}
		add = append(add, time.Since(start))
	}
	return list, ping, add
}

// With many calls held by a slow judge, a session's other requests —
// tools/list, ping, and a call no judged policy matches — are answered at
// once; a call held for the person's yes gets it through the same
// connection and runs; a call beyond limits.max_calls_in_flight is refused
// at once with an error naming the limit, and recorded; and the held calls
// all complete when the judge answers. Over both stdio paths, on
// operating-system pipes, and over HTTP.
//
// The default face, stdio's fast path, holds 1,500 calls: more than the
// fast path's former bound (1,024), beyond which calls went to mcp-go and
// then ran in its read loop. The others hold 400, more than mcp-go's stdio
// worker pool and queue take (64 + 256), which is the same failure
// without the fast path. (All three at 1,500 pass too, in about 90 s
// with -race.)
func TestHeldCallsStarveNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 2,300 calls")
	}
	for _, tc := range []struct {
		face      string
		heldCalls int
	}{{"stdio-fast", 1500}, {"stdio-plain", 400}, {"http", 400}} {
		face, heldCalls := tc.face, tc.heldCalls
		t.Run(face, func(t *testing.T) {
			judge := newSlowJudge(t)
			// Room for the held calls, the call held for the person, and
			// one more judged call that fills it.
			limit := heldCalls + 2
			g, up, recs := starveGateway(t, judge, face == "stdio-plain", limit)
			person := &gatedPerson{asked: make(chan string, 1), answer: make(chan struct{})}
			// The session that holds the calls, and a control session that
			// holds none, over HTTP: what the machine and the gateway's load
			// cost a quick request, measured alongside.
			url := serveHTTP(t, g) + "/w/w/mcp"
			var c *client.Client
			if face == "http" {
				c, _ = connectHTTP(t, url, legacy, client.WithElicitationHandler(person))
			} else {
				c = connectOSPipes(t, g, "w", legacy, client.WithElicitationHandler(person))
			}
			control, _ := connectHTTP(t, url, legacy)
			// Whatever fails, nothing is held when the client closes.
			t.Cleanup(func() { person.yes(); judge.let() })
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()

			list, ping, add := quickRequests(ctx, t, c, 20)
			t.Logf("%s, no call held: p99 tools/list %v, ping %v, tools/call add %v", face, p99(list), p99(ping), p99(add))

			held := make([]<-chan callOutcome, heldCalls)
			for i := range held {
				held[i] = callAsync(ctx, c, "up__echo", map[string]any{"message": fmt.Sprintf("kind words %d", i)})
			}
			waitFor(t, fmt.Sprintf("the judge to hold %d calls", heldCalls), 90*time.Second, func() bool { return judge.Count() >= heldCalls })

			// Quick requests are answered while the calls are held: within
			// quickBound of what the control session takes at the same
			// time. On a quiet machine that is about quickBound itself; on
			// one loaded by other work the bound follows the load, which a
			// stall does not: a request stuck behind the held calls waits
			// for the judge, minutes.
			list, ping, add = nil, nil, nil
			var cList, cPing, cAdd []time.Duration
			for range 100 {
				l, p, a := quickRequests(ctx, t, c, 1)
				list, ping, add = append(list, l...), append(ping, p...), append(add, a...)
				l, p, a = quickRequests(ctx, t, control, 1)
				cList, cPing, cAdd = append(cList, l...), append(cPing, p...), append(cAdd, a...)
			}
			t.Logf("%s, %d calls held by the judge: p99 tools/list %v, ping %v, tools/call add %v (max %v, %v, %v); control session: %v, %v, %v",
				face, heldCalls, p99(list), p99(ping), p99(add), slices.Max(list), slices.Max(ping), slices.Max(add), p99(cList), p99(cPing), p99(cAdd))
			for _, m := range []struct {
				what         string
				got, control []time.Duration
			}{{"tools/call add", add, cAdd}, {"ping", ping, cPing}, {"tools/list", list, cList}} {
				if got, bound := p99(m.got), p99(m.control)+quickBound; got > bound {
					t.Errorf("p99 of %s with %d calls held = %v; want under %v (%v more than the control session's)", m.what, heldCalls, got, bound, quickBound)
				}
			}

			// A call held for the person's yes, and one more judged call:
			// the session is at its bound.
			approved := callAsync(ctx, c, "up__kinds", map[string]any{})
			select {
			case <-person.asked:
			case <-time.After(20 * time.Second):
				t.Fatal("the person was never asked")
			}
			last := callAsync(ctx, c, "up__echo", map[string]any{"message": "the last kind words"})
			deadline := time.After(30 * time.Second)
			for judge.Count() < heldCalls+1 {
				select {
				case o := <-last:
					t.Fatalf("the last call within the bound = %v, %v, before the judge saw it; want it held", o.res, o.err)
				case <-deadline:
					t.Fatalf("the judge holds %d calls; want %d", judge.Count(), heldCalls+1)
				case <-time.After(10 * time.Millisecond):
				}
			}
			held = append(held, last)

			// Beyond it a call is refused at once, naming the limit, and
			// recorded.
			before := up.Calls.CallCount("add")
			start := time.Now()
			res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "up__add", Arguments: map[string]any{"a": 1, "b": 1}}})
			took := time.Since(start)
			if err != nil || !res.IsError || !strings.Contains(text(res), "limits.max_calls_in_flight") || !strings.Contains(text(res), fmt.Sprint(limit)) {
				t.Fatalf("a call beyond the bound = %v, %v; want a tool error naming limits.max_calls_in_flight (%d)", res, err, limit)
			}
			t.Logf("%s: a call beyond the bound was refused in %v", face, took)
			if took > time.Second {
				t.Errorf("a call beyond the bound was refused after %v; want at once", took)
			}
			if n := up.Calls.CallCount("add") - before; n != 0 {
				t.Errorf("a call beyond the bound reached the upstream %d times", n)
			}
			if rec := recs.byID(t, metaVerdict(t, res)); rec.Verdict.Decision != policy.DecisionBlock || !strings.Contains(rec.Verdict.Reason, "limits.max_calls_in_flight") || rec.Upstream != policy.UpstreamNotRun {
				t.Errorf("the refusal's record = %s %q, upstream %s; want block naming the limit, not run", rec.Verdict.Decision, rec.Verdict.Reason, rec.Upstream)
			}
			// Requests that are not calls are still read and answered at
			// the bound.
			if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
				t.Errorf("tools/list at the bound: %v", err)
			}
			if err := c.Ping(ctx); err != nil {
				t.Errorf("ping at the bound: %v", err)
			}
			// A prompts/get counts among the calls too: refused, naming
			// the limit, and recorded.
			get := mcp.GetPromptRequest{}
			get.Params.Name = "up__" + upstreamtest.PromptPlain
			if _, err := c.GetPrompt(ctx, get); err == nil || !strings.Contains(err.Error(), "limits.max_calls_in_flight") {
				t.Errorf("prompts/get at the bound: err = %v; want an error naming limits.max_calls_in_flight", err)
			}
			waitFor(t, "the record of the prompts/get refused at the bound", 5*time.Second, func() bool {
				return recs.has(func(r policy.Record) bool {
					return r.Call.Method == policy.MethodPromptsGet && r.Verdict.Decision == policy.DecisionBlock && strings.Contains(r.Verdict.Reason, "limits.max_calls_in_flight")
				})
			})

			// The person's yes arrives through the same connection, at the
			// bound, and the call runs.
			person.yes()
			select {
			case o := <-approved:
				if o.err != nil || o.res.IsError || up.Calls.CallCount("kinds") != 1 {
					t.Errorf("the approved call = %v, %v (upstream ran it %d times); want its result", o.res, o.err, up.Calls.CallCount("kinds"))
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the approved call never completed: the person's answer was not read")
			}

			// The judge answers: every held call runs.
			judge.let()
			for i, h := range held {
				select {
				case o := <-h:
					if o.err != nil || o.res.IsError {
						t.Fatalf("held call %d = %v, %v; want its result", i, o.res, o.err)
					}
				case <-ctx.Done():
					t.Fatalf("held call %d never completed", i)
				}
			}
			if n := up.Calls.CallCount("echo"); n != heldCalls+1 {
				t.Errorf("the upstream ran %d judged calls; want %d", n, heldCalls+1)
			}
			if got := text(call(t, c, "up__add", map[string]any{"a": 2, "b": 2})); got != "4" {
				t.Errorf("a call once the held ones ended = %q; want 4", got)
			}
			if _, err := c.GetPrompt(ctx, get); err != nil {
				t.Errorf("prompts/get once the held ones ended: %v", err)
			}
		})
	}
}

// However a client spells a tools/call that mcp-go would run, the gateway
// runs it off mcp-go's read loop: held by the judge, such calls never stop
// the reading of the lines after them. mcp-go's pool is cut to one worker
// and a queue of four, so that a sixth call of a spelling that reached it
// would run in its read loop and stop it.
func TestOddCallLinesRunOffTheReadLoop(t *testing.T) {
	const perForm = 8
	// Each call's words differ: the judge would answer identical calls once.
	args := `"arguments":{"message":"kind words %[1]d"},` + modernMeta
	forms := []struct{ name, line string }{
		{"plain", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools/call","params":{"name":"up__echo",` + args + `}}`},
		{"method with an escaped slash", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools\/call","params":{"name":"up__echo",` + args + `}}`},
		{"method with a unicode escape", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools\u002fcall","params":{"name":"up__echo",` + args + `}}`},
		{"member names in capitals", `{"JSONRPC":"2.0","ID":%[1]d,"Method":"tools/call","Params":{"Name":"up__echo",` + args + `}}`},
		{"a null result", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools/call","result":null,"params":{"name":"up__echo",` + args + `}}`},
		{"an error member", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools/call","error":{"code":-1,"message":"no"},"params":{"name":"up__echo",` + args + `}}`},
		{"a line of 200 KiB", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools/call","params":{"name":"up__echo","arguments":{"message":"kind words %[1]d ` + strings.Repeat("a", 200<<10) + `"},` + modernMeta + `}}`},
		{"CRLF", `{"jsonrpc":"2.0","id":%[1]d,"method":"tools/call","params":{"name":"up__echo",` + args + "}}\r"},
	}
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			judge := newSlowJudge(t)
			g, up, _ := starveGateway(t, judge, plain, 0)
			gateway.SetStdioPool(g, 1)
			in, out, _, _ := rawStdio(t, g, "w")
			var ids []int
			for i, f := range forms {
				for j := range perForm {
					id := 100*i + j
					ids = append(ids, id)
					fmt.Fprintf(in, f.line+"\n", id)
				}
				want := (i + 1) * perForm
				waitFor(t, fmt.Sprintf("the judge to hold %d calls (%s)", want, f.name), 30*time.Second, func() bool { return judge.Count() >= want })
				start := time.Now()
				fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"ping-%d","method":"ping"}`+"\n", i)
				answer(t, out, fmt.Sprintf("ping-%d", i))
				if took := time.Since(start); took > time.Second {
					t.Errorf("a ping after %d calls held (%s) took %v", want, f.name, took)
				}
			}
			judge.let()
			got := map[string]bool{}
			for range ids {
				select {
				case m := <-out:
					if m["result"] == nil {
						t.Errorf("answer %.300v; want a result", m)
					}
					got[fmt.Sprint(m["id"])] = true
				case <-time.After(30 * time.Second):
					t.Fatalf("%d answers of %d", len(got), len(ids))
				}
			}
			for _, id := range ids {
				if !got[fmt.Sprint(id)] {
					t.Errorf("no answer to call %d (%s)", id, forms[id/100].name)
				}
			}
			if n := up.Calls.CallCount("echo"); n != len(ids) {
				t.Errorf("the upstream ran %d calls; want %d", n, len(ids))
			}
		})
	}
}
