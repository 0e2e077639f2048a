package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// The policy enforcer on a running gateway: blocked calls never reach the
// upstream, redacted ones reach it redacted, warnings and the verdict id
// travel in _meta, rate limits say when to retry, and output scanning
// redacts secrets in results.
func TestPoliciesEnforcer(t *testing.T) {
	const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	set := policy.Set{Global: []policy.Policy{
		{Name: "no-secret-echo", Enabled: true, Strict: true, Tools: []string{"echo"}, Action: policy.ActionBlock,
			When: policy.When{Keywords: []string{"forbidden"}}, Message: "That word is not allowed."},
		{Name: "redact-ssn", Enabled: true, Action: policy.ActionRedact, When: policy.When{Args: `\b\d{3}-\d{2}-\d{4}\b`}},
		{Name: "note-add", Enabled: true, Tools: []string{"up__add"}, Action: policy.ActionWarn, Message: "adding is watched"},
		{Name: "two-adds", Enabled: true, Tools: []string{"add"}, Action: policy.ActionRateLimit,
			RateLimit: &policy.RateLimit{Requests: 2, Per: time.Hour, Key: policy.KeyUser}},
	}}
	engine, err := policy.NewEngine(set, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	enf := &enforce.Enforcer{Engine: engine, ScanOutput: map[string]bool{"w": true}, Logger: testLogger(t)}
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada"}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	base := serveHTTP(t, g)
	for i, p := range []protocol{legacy, modern} {
		c, _ := connectHTTP(t, base+"/w/w/mcp", p)

		res := call(t, c, "up__echo", map[string]any{"message": "a FORBIDDEN word"})
		if !res.IsError || text(res) != `Blocked by policy "no-secret-echo": That word is not allowed.` {
			t.Errorf("blocked echo = %q (isError %v)", text(res), res.IsError)
		}
		if id, _ := res.Meta.AdditionalFields[enforce.MetaVerdict].(string); len(id) != 26 {
			t.Errorf("blocked echo verdict id = %v; want a ULID", res.Meta.AdditionalFields)
		}
		if n := up.Calls.CallCount("echo"); n != i {
			t.Fatalf("a blocked call reached the upstream %d times", n)
		}

		res = call(t, c, "up__echo", map[string]any{"message": "ssn 123-45-6789 and " + secret})
		if res.IsError {
			t.Fatalf("echo = %q", text(res))
		}
		if got := up.Calls.LastArgs("echo")["message"]; got != "ssn [REDACTED] and "+secret {
			t.Errorf("upstream received %q; want the SSN redacted", got)
		}
		if got := text(res); strings.Contains(got, secret) || !strings.Contains(got, "[REDACTED] and [REDACTED]") {
			t.Errorf("echo result = %q; want the secret redacted by output scanning", got)
		}
	}

	c, _ := connectStdio(t, g, "w", legacy)
	for i := range 3 {
		res := call(t, c, "up__add", map[string]any{"a": 1, "b": 2})
		switch {
		case i < 2 && (res.IsError || text(res) != "3"):
			t.Errorf("add %d = %q; want 3", i, text(res))
		case i < 2 && !strings.Contains(metaString(res, enforce.MetaWarnings), "adding is watched"):
			t.Errorf("add %d _meta = %v; want the warning", i, res.Meta)
		case i == 2 && (!res.IsError || !strings.Contains(text(res), `Blocked by policy "two-adds": the limit of 2 calls per 1h for this user was reached; retry after 3600 s.`)):
			t.Errorf("add over the limit = %q", text(res))
		}
	}
	if n := up.Calls.CallCount("add"); n != 2 {
		t.Errorf("upstream ran add %d times; want 2", n)
	}
}

// metaString is the JSON of one key of a result's _meta.
func metaString(res *mcp.CallToolResult, key string) string {
	if res.Meta == nil {
		return ""
	}
	b, _ := json.Marshal(res.Meta.AdditionalFields[key])
	return string(b)
}
