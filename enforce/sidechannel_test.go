package enforce_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

const sideKey = "AKIAQWERTYUIOPASDFGH"

func sideEnforcer(t *testing.T, set policy.Set) (*enforce.Enforcer, *records) {
	t.Helper()
	engine, err := policy.NewEngine(set, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := &records{}
	return &enforce.Enforcer{Engine: engine, Recorder: recs, ScanOutput: map[string]bool{"w": true}}, recs
}

func resourceCall(method, uri string) policy.Call {
	args, _ := json.Marshal(map[string]string{"uri": uri})
	return policy.Call{Kind: policy.KindResource, Method: method, Workspace: "w", Upstream: "up", Tool: uri, Exposed: uri, Arguments: args}
}

// What a side channel cannot do that a tool call can: be approved, or be
// forwarded with its resource URI redacted. Both end blocked, recorded,
// and never allowed.
func TestSideChannelDecisions(t *testing.T) {
	enf, recs := sideEnforcer(t, policy.Set{Global: []policy.Policy{
		{Name: "ask-etc", Enabled: true, Resources: []string{"file:///etc/*"}, Action: policy.ActionRequireApproval},
		{Name: "ask-review", Enabled: true, Prompts: []string{"review"}, Action: policy.ActionRequireApproval},
		{Name: "redact-keys", Enabled: true, Action: policy.ActionRedact, When: policy.When{Threats: []policy.Threat{policy.ThreatSecret}}},
	}})
	promptArgs, _ := json.Marshal(map[string]string{"code": "key " + sideKey})
	tests := []struct {
		name    string
		call    policy.Call
		allowed bool
		message string
		args    string
	}{
		{"a read held for approval", resourceCall(policy.MethodResourcesRead, "file:///etc/hosts"), false, "Approvals are for tool calls only, so this resources/read request was blocked.", ""},
		{"a subscription held for approval", resourceCall(policy.MethodResourcesSubscribe, "file:///etc/hosts"), false, "Approvals are for tool calls only, so this resources/subscribe request was blocked.", ""},
		{"a prompt held for approval", policy.Call{Kind: policy.KindPrompt, Method: policy.MethodPromptsGet, Workspace: "w", Tool: "review", Exposed: "up__review", Arguments: []byte(`{}`)}, false, "Approvals are for tool calls only", ""},
		{"a URI to redact", resourceCall(policy.MethodResourcesRead, "https://x.test/?k="+sideKey), false, `Blocked by policy "redact-keys": the resource's URI holds what a policy redacts`, ""},
		{"a prompt's arguments are redacted", policy.Call{Kind: policy.KindPrompt, Method: policy.MethodPromptsGet, Workspace: "w", Tool: "other", Exposed: "up__other", Arguments: promptArgs}, true, "", `{"code":"key [REDACTED]"}`},
		{"a prompts: policy does not hold a tool of that name", policy.Call{Workspace: "w", Tool: "review", Exposed: "up__review", Arguments: []byte(`{}`)}, true, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(recs.all())
			d := enf.Decide(t.Context(), tc.call, time.Now(), nil)
			if d.Allowed != tc.allowed || !strings.Contains(d.Message, tc.message) {
				t.Fatalf("Decide(%s) = allowed %v, %q; want %v, %q", tc.name, d.Allowed, d.Message, tc.allowed, tc.message)
			}
			if tc.args != "" && string(d.Arguments) != tc.args {
				t.Errorf("Decide(%s) arguments = %s; want %s", tc.name, d.Arguments, tc.args)
			}
			if d.Allowed {
				enf.Settle(t.Context(), d, nil, false, time.Millisecond)
			}
			rs := recs.all()[before:]
			if len(rs) != 1 {
				t.Fatalf("%d records; want 1", len(rs))
			}
			if want := map[bool]policy.Decision{true: policy.DecisionAllow, false: policy.DecisionBlock}[tc.allowed]; rs[0].Verdict.Decision != want {
				t.Errorf("recorded decision %s; want %s", rs[0].Verdict.Decision, want)
			}
		})
	}
}

// Everything of a side channel's result the client receives is scanned:
// texts, _meta, blobs that hold text, a prompt's embedded resources; a
// blob that is binary is passed unchanged, one that is not base64 is
// withheld.
func TestScanSideChannelResults(t *testing.T) {
	enf, _ := sideEnforcer(t, policy.Set{Global: []policy.Policy{{Name: "watch", Enabled: true, Action: policy.ActionWarn}}})
	d := enf.Decide(t.Context(), resourceCall(policy.MethodResourcesRead, "file:///x"), time.Now(), nil)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	binary := base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, 0x00, 'A', 'K', 'I', 'A'})

	contents, err := enf.ScanResourceContents(d, []mcp.ResourceContents{
		mcp.TextResourceContents{URI: "file:///x", Text: "id " + sideKey, Meta: map[string]any{"k": sideKey}},
		mcp.BlobResourceContents{URI: "file:///y", Blob: b64("token " + sideKey)},
		mcp.BlobResourceContents{URI: "file:///z", Blob: binary},
	})
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := json.Marshal(contents)
	if strings.Contains(string(sent), sideKey) || !strings.Contains(string(sent), "id [REDACTED]") {
		t.Errorf("ScanResourceContents sent %s; want the key redacted", sent)
	}
	if b := contents[1].(mcp.BlobResourceContents).Blob; b != b64("token [REDACTED]") {
		t.Errorf("text blob = %s; want it redacted", b)
	}
	wrapped := b64("token " + sideKey + strings.Repeat(" and more", 10))
	wrapped = wrapped[:40] + "\r\n" + wrapped[40:]
	if got, err := enf.ScanResourceContents(d, []mcp.ResourceContents{mcp.BlobResourceContents{URI: "file:///w", Blob: wrapped}}); err != nil || strings.Contains(decodeText(t, got[0].(mcp.BlobResourceContents).Blob), sideKey) {
		t.Errorf("a blob with a line break = %v, %v; want it decoded and redacted", got, err)
	}
	if b := contents[2].(mcp.BlobResourceContents).Blob; b != binary {
		t.Errorf("binary blob = %s; want it unchanged", b)
	}
	if _, err := enf.ScanResourceContents(d, []mcp.ResourceContents{mcp.BlobResourceContents{URI: "file:///y", Blob: "not base64!"}}); err == nil {
		t.Error("a blob that is not base64 was passed on")
	}

	p, err := enf.ScanPrompt(d, mcp.NewGetPromptResult("about "+sideKey, []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("use "+sideKey)),
		mcp.NewPromptMessage(mcp.RoleAssistant, mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: "file:///e", Text: sideKey})),
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewEmbeddedResource(mcp.BlobResourceContents{URI: "file:///b", Blob: b64(sideKey)})),
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewResourceLink("file:///"+sideKey, "link", "", "")),
	}))
	if err != nil {
		t.Fatal(err)
	}
	sent, _ = json.Marshal(p)
	if strings.Contains(string(sent), sideKey) || strings.Contains(string(sent), b64(sideKey)) || !strings.Contains(string(sent), "use [REDACTED]") {
		t.Errorf("ScanPrompt sent %s; want every key redacted", sent)
	}

	c, err := enf.ScanCompletion(d, &mcp.Completion{Values: []string{"a", sideKey}})
	if err != nil || c.Values[1] != "[REDACTED]" || c.Values[0] != "a" {
		t.Errorf("ScanCompletion = %v, %v; want the key redacted", c, err)
	}
	if err := enf.ScanError(d, &textError{"no such file " + sideKey}); strings.Contains(err.Error(), sideKey) {
		t.Errorf("ScanError = %v; want the key redacted", err)
	}
}

type textError struct{ s string }

func (e *textError) Error() string { return e.s }

func decodeText(t *testing.T, b64 string) string {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
