package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// sideSecret is a secret the side channels' tests send and receive.
const sideSecret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"

// sidePolicies are the policies of TestSideChannelsEnforced: one per way a
// side channel can be stopped or changed.
var sidePolicies = policy.Set{Global: []policy.Policy{
	{Name: "no-static-2", Enabled: true, Resources: []string{"test://static/2"}, Action: policy.ActionBlock, Message: "Static 2 is closed."},
	{Name: "no-secrets", Enabled: true, Action: policy.ActionBlock, When: policy.When{Threats: []policy.Threat{policy.ThreatSecret}}},
	{Name: "greet-approval", Enabled: true, Prompts: []string{"greet"}, Action: policy.ActionRequireApproval, When: policy.When{Keywords: []string{"approve-me"}}},
	{Name: "redact-ssn", Enabled: true, Action: policy.ActionRedact, When: policy.When{Args: `\b\d{3}-\d{2}-\d{4}\b`}},
	{Name: "no-traversal", Enabled: true, Resources: []string{"test://*"}, Action: policy.ActionBlock, When: policy.When{Threats: []policy.Threat{policy.ThreatPathTraversal}}},
	{Name: "no-tools-here", Enabled: true, Tools: []string{"*"}, Action: policy.ActionBlock, When: policy.When{Keywords: []string{"static/1"}}},
}}

// addLeaks gives up resources and a prompt whose results hold sideSecret:
// in a text, in a blob of text, in embedded resources and in _meta.
func addLeaks(up *upstreamtest.Server) {
	up.MCP.AddResource(mcp.NewResource("test://leak", "leak"), func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{
			mcp.TextResourceContents{URI: "test://leak", Text: "key " + sideSecret, Meta: map[string]any{"note": sideSecret}},
			mcp.BlobResourceContents{URI: "test://leak", Blob: base64.StdEncoding.EncodeToString([]byte("token=" + sideSecret))},
		}, nil
	})
	up.MCP.AddPrompt(mcp.NewPrompt("leaky"), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return mcp.NewGetPromptResult("about "+sideSecret, []mcp.PromptMessage{
			mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("use "+sideSecret)),
			mcp.NewPromptMessage(mcp.RoleUser, mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "test://x", Text: sideSecret})),
			mcp.NewPromptMessage(mcp.RoleUser, mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: "test://y", Blob: base64.StdEncoding.EncodeToString([]byte(sideSecret))})),
		}), nil
	})
}

// resources/read, resources/subscribe, prompts/get and completion/complete
// pass the policies, are recorded, and their results are scanned, over
// HTTP (both protocol generations) and stdio.
func TestSideChannelsEnforced(t *testing.T) {
	file := filepath.Join(t.TempDir(), "verdicts.db")
	log, err := audit.Open(file, audit.Options{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close(context.Background()) })
	engine, err := policy.NewEngine(sidePolicies, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	addLeaks(up)
	enf := &enforce.Enforcer{Engine: engine, Recorder: log, ScanOutput: map[string]bool{"w": true}, Logger: testLogger(t)}
	g := startGateway(t, gateway.Options{Enforcer: enf, User: "ada"}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", up.ServeHTTP(t))}})
	base := serveHTTP(t, g)
	reader := openReader(t, file)

	clients := map[string]*client.Client{}
	clients["http legacy"], _ = connectHTTP(t, base+"/w/w/mcp", legacy)
	clients["http modern"], _ = connectHTTP(t, base+"/w/w/mcp", modern)
	clients["stdio legacy"], _ = connectStdio(t, g, "w", legacy)
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			read := func(uri string) (*mcp.ReadResourceResult, error) {
				req := mcp.ReadResourceRequest{}
				req.Params.URI = uri
				return c.ReadResource(ctx, req)
			}
			get := func(prompt string, args map[string]string) (*mcp.GetPromptResult, error) {
				req := mcp.GetPromptRequest{}
				req.Params.Name, req.Params.Arguments = prompt, args
				return c.GetPrompt(ctx, req)
			}
			complete := func(value string) (*mcp.CompleteResult, error) {
				req := mcp.CompleteRequest{}
				req.Params.Ref = mcp.PromptReference{Type: "ref/prompt", Name: "up__greet"}
				req.Params.Argument = mcp.CompleteArgument{Name: "name", Value: value}
				return c.Complete(ctx, req)
			}

			// A resources: policy blocks the read of its URI, with its message.
			if _, err := read("test://static/2"); err == nil || !strings.Contains(err.Error(), `Blocked by policy "no-static-2": Static 2 is closed.`) {
				t.Errorf("read test://static/2: err = %v; want the violation message", err)
			}
			// The detectors read the URI as a server would: percent-encoding
			// hides nothing.
			for _, uri := range []string{"test://dyn/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "test://dyn/%65tc%2fshadow"} {
				if _, err := read(uri); err == nil || !strings.Contains(err.Error(), `Blocked by policy "no-traversal"`) {
					t.Errorf("read %s: err = %v; want it blocked", uri, err)
				}
			}
			// A tools: policy does not apply to a read, even one with its keyword.
			if res, err := read("test://static/1"); err != nil || sent(t, res) == "" || !strings.Contains(sent(t, res), "static 1") {
				t.Errorf("read test://static/1 = %v, %v; want its text", res, err)
			}
			// The text of a resource, its _meta and a blob of text: scanned.
			res, err := read("test://leak")
			if err != nil {
				t.Fatalf("read test://leak: %v", err)
			}
			if s := sent(t, res); strings.Contains(s, sideSecret) || !strings.Contains(s, "key [REDACTED]") {
				t.Errorf("read test://leak sent %s; want the secret redacted", s)
			}
			if b, ok := res.Contents[1].(mcp.BlobResourceContents); !ok || decode(t, b.Blob) != "token=[REDACTED]" {
				t.Errorf("blob = %#v; want its text redacted", res.Contents[1])
			}

			// A secret in a prompt's arguments meets a policy without scope.
			if _, err := get("up__greet", map[string]string{"name": sideSecret}); err == nil || !strings.Contains(err.Error(), `Blocked by policy "no-secrets": the arguments contain a secret.`) {
				t.Errorf("greet with a secret: err = %v; want it blocked", err)
			}
			// Redacted arguments are forwarded redacted.
			if p, err := get("up__greet", map[string]string{"name": "ssn 123-45-6789"}); err != nil || promptText(p) != "Hello, ssn [REDACTED]" {
				t.Errorf("greet with an SSN = %v, %v; want it redacted before the upstream", promptText(p), err)
			}
			// Approval is for tool calls: the request is blocked, and says so.
			if _, err := get("up__greet", map[string]string{"name": "approve-me"}); err == nil || !strings.Contains(err.Error(), "Approvals are for tool calls only") {
				t.Errorf("greet held for approval: err = %v; want it blocked", err)
			}
			// Every part of a prompt's result is scanned.
			p, err := get("up__leaky", nil)
			if err != nil {
				t.Fatalf("get leaky: %v", err)
			}
			if p.Meta == nil {
				t.Fatal("prompt result without _meta; want the verdict id")
			}
			if id, _ := p.Meta.AdditionalFields[enforce.MetaVerdict].(string); len(id) != 26 {
				t.Errorf("prompt result _meta = %v; want the verdict id", p.Meta)
			}
			if s := sent(t, p); strings.Contains(s, sideSecret) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(sideSecret))) || !strings.Contains(s, "use [REDACTED]") {
				t.Errorf("leaky prompt sent %s; want every secret redacted", s)
			}

			// Completions pass the policies too.
			if r, err := complete("al"); err != nil || len(r.Completion.Values) != 2 {
				t.Errorf("complete = %v, %v; want the names", r, err)
			}
			if _, err := complete(sideSecret); err == nil || !strings.Contains(err.Error(), `"no-secrets"`) {
				t.Errorf("complete a secret: err = %v; want it blocked", err)
			}
		})
	}

	// One record each, named by method and target.
	if err := log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target, exposed, decision string
		n                         int
	}{
		{"test://static/2", "resources/read test://static/2", "block", 3},
		{"test://static/1", "resources/read test://static/1", "allow", 3},
		{"test://leak", "resources/read test://leak", "allow", 3},
		{"greet", "prompts/get up__greet", "", 9},
		{"leaky", "prompts/get up__leaky", "allow", 3},
	} {
		es, err := reader.List(t.Context(), audit.Filter{Tool: tc.target})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, e := range es {
			if e.Exposed != tc.exposed {
				continue
			}
			got++
			if tc.decision != "" && e.Decision != tc.decision {
				t.Errorf("record of %s: decision %s; want %s", tc.exposed, e.Decision, tc.decision)
			}
			if strings.Contains(string(e.Arguments), sideSecret) {
				t.Errorf("record of %s keeps the secret: %s", tc.exposed, e.Arguments)
			}
		}
		if got != tc.n {
			t.Errorf("%d records of %s; want %d", got, tc.exposed, tc.n)
		}
	}
	es, err := reader.List(t.Context(), audit.Filter{Tool: "greet"})
	if err != nil {
		t.Fatal(err)
	}
	completions := 0
	for _, e := range es {
		if strings.HasPrefix(e.Exposed, "completion/complete ") {
			completions++
		}
	}
	if completions != 6 {
		t.Errorf("%d completion records; want 6", completions)
	}

	// A read of a URI no upstream serves, a prompt the workspace lacks:
	// refused, and recorded all the same.
	probe := clients["http modern"]
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = "test://nowhere/" + sideSecret
	if _, err := probe.ReadResource(t.Context(), rr); err == nil {
		t.Error("a read of an unlisted URI succeeded")
	}
	pr := mcp.GetPromptRequest{}
	pr.Params.Name = "up__nothing"
	if _, err := probe.GetPrompt(t.Context(), pr); err == nil {
		t.Error("an unknown prompt was served")
	}
	_ = log.Flush(t.Context())
	for _, want := range []string{"resources/read test://nowhere/[REDACTED]", "prompts/get up__nothing"} {
		es, err := reader.List(t.Context(), audit.Filter{Decision: "block"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range es {
			found = found || e.Exposed == want
			if strings.Contains(e.Exposed+e.Tool+string(e.Arguments), sideSecret) {
				t.Errorf("record %s keeps the secret: %s %s %s", e.ID, e.Exposed, e.Tool, e.Arguments)
			}
		}
		if !found {
			t.Errorf("no refusal recorded as %q", want)
		}
	}

	// A subscription the policies refuse is recorded and never made: no
	// update of its resource reaches the client; an allowed one is made.
	for _, p := range []protocol{legacy, modern} {
		c, n := connectHTTP(t, base+"/w/w/mcp", p)
		uris := []string{"test://static/2", "test://static/3"}
		if p == legacy {
			for _, uri := range uris {
				req := mcp.SubscribeRequest{}
				req.Params.URI = uri
				_ = c.Subscribe(t.Context(), req) // mcp-go answers it, refused or not
			}
		} else {
			stop, err := c.ListenAsync(context.WithoutCancel(t.Context()), mcp.SubscriptionFilter{ResourceSubscriptions: uris}, nil)
			if err != nil {
				t.Fatalf("ListenAsync: %v", err)
			}
			defer stop()
		}
		updated := func(uri string) bool {
			for _, u := range n.methods("notifications/resources/updated") {
				if u.Params.AdditionalFields["uri"] == uri {
					return true
				}
			}
			return false
		}
		waitFor(t, "resources/updated for the allowed subscription", 10*time.Second, func() bool {
			call(t, c, "up__touch", map[string]any{"uri": "test://static/2"})
			call(t, c, "up__touch", map[string]any{"uri": "test://static/3"})
			return updated("test://static/3")
		})
		if updated("test://static/2") {
			t.Errorf("client %s got an update of test://static/2, whose subscription the policies refused", p)
		}
	}
	_ = log.Flush(t.Context())
	subs := map[string]string{}
	for _, uri := range []string{"test://static/2", "test://static/3"} {
		es, _ := reader.List(t.Context(), audit.Filter{Tool: uri})
		for _, e := range es {
			if strings.HasPrefix(e.Exposed, "resources/subscribe ") {
				subs[uri] += e.Decision + " "
			}
		}
	}
	if subs["test://static/2"] != "block block " || subs["test://static/3"] != "allow allow " {
		t.Errorf("subscription records = %v; want two blocks of static/2 and two allows of static/3", subs)
	}
}

// sent is v as the client received it, in JSON.
func sent(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// promptText is the text of a prompt's first message.
func promptText(p *mcp.GetPromptResult) string {
	if p == nil || len(p.Messages) == 0 {
		return ""
	}
	if tc, ok := p.Messages[0].Content.(mcp.TextContent); ok {
		return tc.Text
	}
	return ""
}
