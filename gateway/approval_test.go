package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// records keeps the verdict records of a test in memory.
type records struct {
	mu   sync.Mutex
	recs []policy.Record
}

func (r *records) Record(rec policy.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

func (r *records) Err() error { return nil }

func (r *records) Start(policy.Record) error { return nil }

// byID returns the record of a verdict id, waiting for it a little: a held
// call that expires is recorded by a timer.
func (r *records) byID(t *testing.T, id string) policy.Record {
	t.Helper()
	var rec policy.Record
	waitFor(t, "the record of "+id, 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, x := range r.recs {
			if x.ID == id {
				rec = x
				return true
			}
		}
		return false
	})
	return rec
}

// person answers the gateway's approval question as told, after a delay.
type person struct {
	action  mcp.ElicitationResponseAction
	approve bool
	delay   time.Duration

	mu    sync.Mutex
	asked []string
}

func (p *person) Elicit(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	p.mu.Lock()
	p.asked = append(p.asked, r.Params.Message)
	p.mu.Unlock()
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := &mcp.ElicitationResult{}
	res.Action = p.action
	if p.action == mcp.ElicitationResponseActionAccept {
		res.Content = map[string]any{"approve": p.approve}
	}
	return res, nil
}

func (p *person) questions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}

// approvalGateway serves workspace w with the upstream up, whose echo a
// policy holds for approval.
func approvalGateway(t *testing.T, timeout time.Duration) (*gateway.Gateway, *upstreamtest.Server, *records) {
	t.Helper()
	set := policy.Set{Global: []policy.Policy{
		{Name: "ask-echo", Enabled: true, Tools: []string{"echo"}, Action: policy.ActionRequireApproval, Message: "Echoes need a yes."},
		{Name: "hide-ssn", Enabled: true, Priority: 10, Action: policy.ActionRedact, When: policy.When{Args: `\b\d{3}-\d{2}-\d{4}\b`}},
	}}
	engine, err := policy.NewEngine(set, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	enf := &enforce.Enforcer{Engine: engine, Recorder: recs, Logger: testLogger(t), ApprovalTimeout: timeout}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada"}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	return g, up, recs
}

// The person at the client is asked, through either protocol generation
// and either transport: yes runs the call once, with the arguments the
// policies judged; no, a dismissal or silence does not run it; every
// outcome is recorded.
func TestApprovalInClient(t *testing.T) {
	g, up, recs := approvalGateway(t, 400*time.Millisecond)
	base := serveHTTP(t, g)
	for _, p := range []protocol{legacy, modern} {
		for _, via := range []string{"stdio", "http"} {
			t.Run(string(p)+"/"+via, func(t *testing.T) {
				connectAs := func(t *testing.T, who *person) *client.Client {
					var c *client.Client
					if via == "stdio" {
						c, _ = connectStdio(t, g, "w", p, client.WithElicitationHandler(who))
					} else {
						c, _ = connectHTTP(t, base+"/w/w/mcp", p, client.WithElicitationHandler(who))
					}
					return c
				}
				for _, tc := range []struct {
					name  string
					who   *person
					state policy.ApprovalState
					want  string
				}{
					{"approve", &person{action: mcp.ElicitationResponseActionAccept, approve: true}, policy.ApprovalApproved, ""},
					{"say no", &person{action: mcp.ElicitationResponseActionAccept, approve: false}, policy.ApprovalDeclined, "the person declined"},
					{"decline", &person{action: mcp.ElicitationResponseActionDecline}, policy.ApprovalDeclined, "the person declined"},
					{"cancel", &person{action: mcp.ElicitationResponseActionCancel}, policy.ApprovalCancelled, "the question was dismissed"},
					{"too late", &person{action: mcp.ElicitationResponseActionAccept, approve: true, delay: time.Second}, policy.ApprovalExpired, ""},
				} {
					t.Run(tc.name, func(t *testing.T) {
						c := connectAs(t, tc.who)
						before := up.Calls.CallCount("echo")
						msg := string(p) + " " + via + " " + tc.name + " ssn 123-45-6789"
						res := call(t, c, "up__echo", map[string]any{"message": msg})
						qs := tc.who.questions()
						if len(qs) != 1 || !strings.Contains(qs[0], "up__echo") && !strings.Contains(qs[0], "echo") || !strings.Contains(qs[0], `"ask-echo"`) || !strings.Contains(qs[0], "Echoes need a yes.") {
							t.Errorf("questions = %q; want one naming the tool and the policy", qs)
						}
						if len(qs) == 1 && (strings.Contains(qs[0], "123-45-6789") || !strings.Contains(qs[0], "[REDACTED]")) {
							t.Errorf("question shows the arguments unmasked: %q", qs[0])
						}
						ran := up.Calls.CallCount("echo") - before
						switch tc.state {
						case policy.ApprovalApproved:
							if res.IsError || ran != 1 || up.Calls.LastArgs("echo")["message"] != strings.Replace(msg, "123-45-6789", "[REDACTED]", 1) {
								t.Errorf("approved: %q (isError %v), upstream ran %d times with %v", text(res), res.IsError, ran, up.Calls.LastArgs("echo"))
							}
						case policy.ApprovalExpired:
							if !res.IsError || ran != 0 {
								t.Errorf("too late: %q (isError %v), upstream ran %d times; want a tool error and nothing run", text(res), res.IsError, ran)
							}
						default:
							if !res.IsError || ran != 0 || !strings.Contains(text(res), "not approved ("+tc.want+")") {
								t.Errorf("%s: %q (isError %v), upstream ran %d times; want %q", tc.name, text(res), res.IsError, ran, tc.want)
							}
						}
						id := metaVerdict(t, res)
						if tc.state == policy.ApprovalExpired && p == modern {
							// The late retry is refused and recorded as such;
							// the held call itself expired on its own.
							if !strings.Contains(text(res), "refused the retry") {
								t.Errorf("late modern answer: %q; want the retry refused", text(res))
							}
							return
						}
						rec := recs.byID(t, id)
						want := policy.ApprovalOutcome{State: tc.state, Via: policy.ApprovalViaClient, By: "ada"}
						if rec.Approval != want || rec.Verdict.Decision != policy.DecisionRequireApproval {
							t.Errorf("record: decision %s approval %+v; want %+v", rec.Verdict.Decision, rec.Approval, want)
						}
						if (rec.Upstream == policy.UpstreamOK) != (tc.state == policy.ApprovalApproved) {
							t.Errorf("record: upstream %s for %s", rec.Upstream, tc.state)
						}
					})
				}
			})
		}
	}
	// Every held call that expired was recorded as expired, modern ones by
	// their timer.
	waitFor(t, "expired records", 5*time.Second, func() bool {
		recs.mu.Lock()
		defer recs.mu.Unlock()
		n := 0
		for _, r := range recs.recs {
			if r.Approval.State == policy.ApprovalExpired {
				n++
			}
		}
		return n == 4
	})
}

// A client that cannot be asked gets a tool error saying so; nothing runs.
func TestApprovalClientCannotBeAsked(t *testing.T) {
	g, up, recs := approvalGateway(t, time.Second)
	for _, p := range []protocol{legacy, modern} {
		t.Run(string(p), func(t *testing.T) {
			c, _ := connectStdio(t, g, "w", p) // no elicitation handler: no capability
			res := call(t, c, "up__echo", map[string]any{"message": "hi"})
			if !res.IsError || !strings.Contains(text(res), "Nobody could be asked to approve it (this client cannot ask you") {
				t.Errorf("%q; want a tool error saying nobody could be asked", text(res))
			}
			if rec := recs.byID(t, metaVerdict(t, res)); rec.Approval.State != policy.ApprovalUnavailable {
				t.Errorf("record approval %+v; want unavailable", rec.Approval)
			}
		})
	}
	if n := up.Calls.CallCount("echo"); n != 0 {
		t.Errorf("upstream ran echo %d times; want 0", n)
	}
}

// rawModern posts tools/call requests as a 2026-07-28 client that declares
// elicitation, with nothing of mcp-go's client in between.
func rawModern(t *testing.T, url, params string) map[string]any {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":` + params + `}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "up__echo")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if i := strings.Index(string(b), "data: "); i >= 0 {
		b = []byte(strings.TrimSpace(strings.SplitN(string(b[i+6:]), "\n", 2)[0]))
	}
	var msg struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal(b, &msg); err != nil || msg.Result == nil {
		t.Fatalf("tools/call answered %s (%v)", b, err)
	}
	return msg.Result
}

// modernParams are the params of a tools/call of echo with message m, with
// extra fields (requestState, inputResponses) spliced in.
func modernParams(m, extra string) string {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}`
	p := `{"name":"up__echo","arguments":{"message":"` + m + `"},` + meta
	if extra != "" {
		p += "," + extra
	}
	return p + "}"
}

const yes = `"inputResponses":{"gatehouse-approval":{"action":"accept","content":{"approve":true}}}`

// Approvals cannot be forged: answers the gateway never asked for, a
// replayed answer, an answer for other arguments and an altered state are
// each refused and recorded, and the upstream never runs for them.
func TestApprovalForgeryRefused(t *testing.T) {
	g, up, recs := approvalGateway(t, time.Minute)
	url := serveHTTP(t, g) + "/w/w/mcp"
	asked := func(m string) string {
		res := rawModern(t, url, modernParams(m, ""))
		state, _ := res["requestState"].(string)
		if res["resultType"] != "input_required" || state == "" {
			t.Fatalf("first round = %v; want input_required with a requestState", res)
		}
		return state
	}
	refused := func(name string, res map[string]any) {
		t.Helper()
		b, _ := json.Marshal(res)
		if res["isError"] != true || !strings.Contains(string(b), "refused") {
			t.Errorf("%s = %s; want a refusal", name, b)
			return
		}
		meta, _ := res["_meta"].(map[string]any)
		id, _ := meta[enforce.MetaVerdict].(string)
		if rec := recs.byID(t, id); rec.Verdict.Decision != policy.DecisionBlock || !strings.Contains(rec.Verdict.Reason, "gateway") {
			t.Errorf("%s: record %s %q; want a refusal recorded", name, rec.Verdict.Decision, rec.Verdict.Reason)
		}
	}

	refused("answers never asked for", rawModern(t, url, modernParams("one", yes)))

	state := asked("two")
	res := rawModern(t, url, modernParams("two", `"requestState":"`+state+`",`+yes))
	if res["isError"] == true || up.Calls.CallCount("echo") != 1 {
		t.Fatalf("the genuine answer = %v; want the call run once", res)
	}
	refused("a replayed answer", rawModern(t, url, modernParams("two", `"requestState":"`+state+`",`+yes)))

	state = asked("three")
	refused("an answer for other arguments", rawModern(t, url, modernParams("thirty", `"requestState":"`+state+`",`+yes)))

	state = asked("four")
	tampered := []byte(state)
	tampered[len(tampered)-2] ^= 1
	refused("an altered state", rawModern(t, url, modernParams("four", `"requestState":"`+string(tampered)+`",`+yes)))
	refused("a made-up state", rawModern(t, url, modernParams("four", `"requestState":"bm9wZQ.c2lnbmF0dXJl",`+yes)))

	if n := up.Calls.CallCount("echo"); n != 1 {
		t.Errorf("upstream ran echo %d times; want only the approved one", n)
	}
	// The genuine state of "four" still works once: forgeries did not burn it.
	res = rawModern(t, url, modernParams("four", `"requestState":"`+state+`",`+yes))
	if res["isError"] == true || up.Calls.CallCount("echo") != 2 {
		t.Errorf("the genuine answer after forgeries = %v", res)
	}
}
