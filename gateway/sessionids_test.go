package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// A 2025-11-25 session id is good only on the workspace that issued it,
// and only until it ends: another workspace's id, a made-up one and a
// deleted one are answered 404, so that the client starts a new session
// (issue 14, item 12).
func TestSessionIDsPerWorkspace(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	url := up.ServeHTTP(t)
	g := startGateway(t, gateway.Options{},
		workspace.Spec{Name: "a", Upstreams: []upstream.Spec{httpUpstream("up", url)}},
		workspace.Spec{Name: "b", Upstreams: []upstream.Spec{httpUpstream("up", url)}})
	base := serveHTTP(t, g)
	post := func(ws, session, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/w/"+ws+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	const ping = `{"jsonrpc":"2.0","id":2,"method":"ping"}`
	id := post("a", "", initialize).Header.Get("Mcp-Session-Id")
	if id == "" {
		t.Fatal("initialize on workspace a gave no session id")
	}
	if code := post("a", id, ping).StatusCode; code != http.StatusOK {
		t.Fatalf("ping with a's own session = %d; want 200", code)
	}
	for name, tc := range map[string]struct{ ws, id string }{
		"another workspace's": {"b", id},
		"made up":             {"a", "mcp-session-8f14e45f-ceea-467f-a0f5-7e3b1c2d9a10"},
	} {
		if code := post(tc.ws, tc.id, ping).StatusCode; code != http.StatusNotFound {
			t.Errorf("ping with %s session id = %d; want 404", name, code)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, base+"/w/a/mcp", nil)
	req.Header.Set("Mcp-Session-Id", id)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if code := post("a", id, ping).StatusCode; code != http.StatusNotFound {
		t.Errorf("ping with a deleted session id = %d; want 404", code)
	}
}

// One request's _meta cannot rename the client for the calls after it:
// policies and the log see the name the session first gave (issue 14,
// item 17).
func TestClientNamePinnedPerSession(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	enf, recs := blockEcho(t)
	g := startGateway(t, gateway.Options{Enforcer: enf}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	in, out, _, _ := rawStdio(t, g, "w")
	meta := func(name string) string {
		return `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"` + name + `","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`
	}
	for i, name := range []string{"cursor", "trusted-ci-bot"} {
		fmt.Fprintf(in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"up__add","arguments":{"a":1,"b":%d},%s}}`+"\n", i, i, meta(name))
		answer(t, out, i)
	}
	all := func() []policy.Record {
		recs.mu.Lock()
		defer recs.mu.Unlock()
		return append([]policy.Record(nil), recs.recs...)
	}
	waitFor(t, "two records", 5*time.Second, func() bool { return len(all()) == 2 })
	for _, r := range all() {
		if r.Call.Client != "cursor" {
			t.Errorf("a call was recorded for client %q; want the session's first name, cursor", r.Call.Client)
		}
	}
}
