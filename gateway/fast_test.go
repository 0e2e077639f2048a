package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// rawStdio serves workspace ws over pipes and returns the client's ends:
// write a line to in, read lines from out. closeIn ends the client's input.
func rawStdio(t *testing.T, g *gateway.Gateway, ws string) (in io.Writer, out <-chan map[string]any, closeIn func(), served <-chan error) {
	t.Helper()
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- g.ServeStdio(ctx, ws, toServer, fromServer)
		close(finished)
	}()
	lines := make(chan map[string]any, 64)
	go func() {
		sc := bufio.NewScanner(toClient)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("the gateway wrote a line that is not JSON: %q", sc.Text())
				continue
			}
			lines <- m
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = fromClient.Close()
		_ = fromServer.Close()
		<-finished // mcp-go has one stdio session per process: let it go
	})
	return fromClient, lines, func() { _ = fromClient.Close() }, done
}

// answer waits for the response to id, skipping notifications.
func answer(t *testing.T, out <-chan map[string]any, id any) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-out:
			if _, isNote := m["method"]; isNote {
				continue
			}
			if fmt.Sprint(m["id"]) != fmt.Sprint(id) {
				t.Fatalf("answer %v; want the answer to %v", m, id)
			}
			return m
		case <-timeout:
			t.Fatalf("no answer to %v", id)
		}
	}
}

// modernMeta is the _meta of a 2026-07-28 request.
const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`

// fastCase is the params of one tools/call, and whether the fast path
// takes it.
type fastCase struct {
	name, params string
	fast         bool
}

// The fast path answers every call it takes exactly as mcp-go does, for
// clients of both protocol generations: the same JSON-RPC response, field
// for field, and the same call at the upstream.
func TestStdioFastPathAnswersAsMCPGo(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	enf, _ := blockEcho(t)
	spec := workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}}
	gateways := [2]*gateway.Gateway{ // without and with the fast path
		startGateway(t, gateway.Options{Enforcer: enf, PlainStdio: true}, spec),
		startGateway(t, gateway.Options{Enforcer: enf}, spec),
	}
	cases := []fastCase{
		{"structured content", `"name":"up__add","arguments":{"a":1,"b":2.5}`, true},
		{"every content kind", `"name":"up__kinds","arguments":{}`, true},
		{"tool error", `"name":"up__fail","arguments":{"message":"no"}`, true},
		{"upstream JSON-RPC error", `"name":"up__jsonrpc_error","arguments":{}`, true},
		{"blocked by the enforcer", `"name":"up__echo","arguments":{"message":"x"}`, true},
		{"no arguments", `"name":"up__kinds"`, true},
		{"unknown tool", `"name":"up__nope","arguments":{}`, false},
		{"arguments not an object", `"name":"up__add","arguments":[1,2]`, true},
	}
	for _, gen := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(gen, func(t *testing.T) {
			meta := modernMeta
			cases := slices.Clone(cases)
			if gen == "2026-07-28" {
				cases = append(cases,
					fastCase{"_meta of the request's own", `"name":"up__add","arguments":{"a":1,"b":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"2"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{},"sampling":{}},"example.com/trace":{"span":"s1","n":[1,2.5]},"example.com/null":null}`, true},
					fastCase{"malformed client capabilities", `"name":"up__echo","arguments":{"message":"m"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":"all"}`, false},
					fastCase{"unsupported protocol version", `"name":"up__echo","arguments":{"message":"m"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}`, false},
					fastCase{"progress token", `"name":"up__slow","arguments":{"ms":20,"steps":2},"_meta":{"progressToken":"tok","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`, true},
				)
			} else {
				meta = ""
				cases = append(cases,
					fastCase{"_meta of the request's own", `"name":"up__add","arguments":{"a":1,"b":1},"_meta":{"example.com/trace":{"span":"s1"}}`, true},
					fastCase{"progress token", `"name":"up__slow","arguments":{"ms":20,"steps":2},"_meta":{"progressToken":7}`, true})
			}
			// Each case is sent to the gateway without the fast path, then
			// to the one with it, each in one stdio session (mcp-go has
			// one per process: the first must end before the second).
			var got [2][]map[string]any
			var sent [2][][]upstreamtest.Call // what the upstream received
			var took [2][]bool
			for i, g := range gateways {
				in, out, closeIn, served := rawStdio(t, g, "w")
				if meta == "" {
					fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
					answer(t, out, "init")
					fmt.Fprintf(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
				}
				for n, tc := range cases {
					id := fmt.Sprintf(`"%s-%d"`, strings.ReplaceAll(tc.name, " ", "-"), n)
					before := gateway.FastServed(g)
					params := tc.params
					if meta != "" && !strings.Contains(params, `"_meta"`) {
						params += "," + meta
					}
					calls := len(up.Calls.All())
					fmt.Fprintf(in, `{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{%s}}`+"\n", id, params)
					a := answer(t, out, strings.Trim(id, `"`))
					var s []upstreamtest.Call
					if all := up.Calls.All(); len(all) > calls {
						s = all[calls:]
					}
					delete(a, "id")
					sameVerdictID(a)
					got[i], sent[i], took[i] = append(got[i], a), append(sent[i], s), append(took[i], gateway.FastServed(g) > before)
				}
				closeIn()
				<-served
			}
			for n, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if took[0][n] || took[1][n] != tc.fast {
						t.Errorf("the fast path took the call: without it %v, with it %v; want false, %v", took[0][n], took[1][n], tc.fast)
					}
					if !reflect.DeepEqual(got[0][n], got[1][n]) {
						t.Errorf("answers differ:\nmcp-go:    %v\nfast path: %v", got[0][n], got[1][n])
					}
					if !reflect.DeepEqual(sent[0][n], sent[1][n]) {
						t.Errorf("the upstream received different calls:\nmcp-go:    %+v\nfast path: %+v", sent[0][n], sent[1][n])
					}
				})
			}
		})
	}
}

// sameVerdictID replaces the verdict id in an answer's _meta, which is
// new for every call, by a mark that says it was there.
func sameVerdictID(answer map[string]any) {
	res, _ := answer["result"].(map[string]any)
	meta, _ := res["_meta"].(map[string]any)
	if id, ok := meta[enforce.MetaVerdict].(string); ok && len(id) == 26 {
		meta[enforce.MetaVerdict] = "a verdict id"
	}
}

// Calls the fast path does not take go to mcp-go and are answered as
// before: a task, a call without an id or with a null one (which mcp-go
// neither runs nor answers).
func TestStdioFastPathPassesTheRestOn(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	in, out, _, _ := rawStdio(t, g, "w")
	before := gateway.FastServed(g)
	fmt.Fprintf(in, `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"up__add","arguments":{"a":1,"b":2},%s}}`+"\n", modernMeta)
	fmt.Fprintf(in, `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"up__add","arguments":{"a":1,"b":2},%s}}`+"\n", modernMeta)
	fmt.Fprintf(in, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"up__echo","arguments":{"message":"m"},"task":{"ttl":1000}}}`+"\n")
	if a := answer(t, out, 2); a["result"] == nil && a["error"] == nil {
		t.Errorf("call with a task = %v; want mcp-go's answer", a)
	}
	if gateway.FastServed(g) != before {
		t.Errorf("the fast path took %d of these calls; want none", gateway.FastServed(g)-before)
	}
	if n := up.Calls.CallCount("add"); n != 0 {
		t.Errorf("the upstream ran %d calls that had no id to answer; want none", n)
	}
}

// A call the client cancels is cancelled upstream; the end of the
// client's input cancels the calls still running, and ServeStdio returns.
func TestStdioFastPathCancels(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	g := startGateway(t, gateway.Options{}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	in, out, closeIn, served := rawStdio(t, g, "w")
	before := gateway.FastServed(g)
	fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"slow-1","method":"tools/call","params":{"name":"up__slow","arguments":{"ms":10000,"steps":1},%s}}`+"\n", modernMeta)
	waitFor(t, "the slow call to start", 5*time.Second, func() bool { return up.Calls.CallCount("slow") == 1 })
	if gateway.FastServed(g) != before+1 {
		t.Fatal("the fast path did not take the call")
	}
	cancelled := up.Cancelled()
	fmt.Fprintf(in, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow-1"}}`+"\n")
	waitFor(t, "the upstream to see the cancellation", 5*time.Second, func() bool { return up.Cancelled() > cancelled })
	select {
	case a := <-out:
		if a["id"] != "slow-1" || a["error"] == nil {
			t.Errorf("answer to a cancelled call = %v; want an error", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to the cancelled call")
	}

	fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"slow-2","method":"tools/call","params":{"name":"up__slow","arguments":{"ms":10000,"steps":1},%s}}`+"\n", modernMeta)
	waitFor(t, "the second slow call to start", 5*time.Second, func() bool { return up.Calls.CallCount("slow") == 2 })
	cancelled = up.Cancelled()
	closeIn()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("ServeStdio = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeStdio did not return when the input ended")
	}
	waitFor(t, "the upstream to see the second call cancelled", 5*time.Second, func() bool { return up.Cancelled() > cancelled })
}

// A 2025-11-25 client has no input_required results: when an upstream asks
// for input during a fast call, the gateway asks the client with a request
// of its generation and answers the call when the client has answered, as
// mcp-go does for the calls it serves.
func TestStdioFastPathAsksOlderClients(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprint("fast=", fast), func(t *testing.T) {
			g := startGateway(t, gateway.Options{PlainStdio: !fast}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
			in, out, _, _ := rawStdio(t, g, "w")
			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"elicitation":{}},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
			answer(t, out, "init")
			fmt.Fprintf(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
			before := gateway.FastServed(g)
			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{"name":"up__sample","arguments":{"prompt":"hi"}}}`+"\n")
			var asked map[string]any
			timeout := time.After(20 * time.Second)
			for asked == nil {
				select {
				case m := <-out:
					if m["method"] == "sampling/createMessage" && m["id"] != nil {
						asked = m
					} else if m["id"] == "s1" {
						t.Fatalf("the call was answered before the client was asked: %v", m)
					}
				case <-timeout:
					t.Fatal("the client was never asked for a sample")
				}
			}
			id, _ := json.Marshal(asked["id"])
			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":%s,"result":{"role":"assistant","content":{"type":"text","text":"the sampled answer"},"model":"m"}}`+"\n", id)
			res, _ := answer(t, out, "s1")["result"].(map[string]any)
			if b, _ := json.Marshal(res); !strings.Contains(string(b), "the sampled answer") || res["resultType"] != nil {
				t.Errorf("result = %s; want the client's sample, and no resultType (not of its protocol)", b)
			}
			if took := gateway.FastServed(g) > before; took != fast {
				t.Errorf("fast path took the call: %v; want %v", took, fast)
			}
		})
	}
}

// The gateway's MCP servers use nothing of mcp-go's tools/call machinery
// that the fast path does not repeat; if one did, the fast path would
// stand aside and every stdio call would be slow without a word.
func TestGatewayServersSuitTheFastPath(t *testing.T) {
	g := gateway.New([]workspace.Spec{{Name: "w"}}, gateway.Options{})
	if !gateway.FastPathMirrors(g, "w") {
		t.Error("the stdio fast path cannot serve the gateway's workspace server: see stdiofast.Mirrors")
	}
}
