package stdiofast

import (
	"context"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mark3labs/mcp-go/tracing"
)

// The fast path repeats what mcp-go does for a tools/call. These tests fail
// when mcp-go changes under it, so that stdio and HTTP cannot silently
// drift apart: read what changed in mcp-go's server (HandleMessage's
// tools/call case, handleToolCall, the response decoration, the input
// bridge for 2025-11-25 clients), make the fast path do the same or stand
// aside (Mirrors), then update the lists here.

// verifiedMCPGo is the mcp-go release the fast path mirrors.
const verifiedMCPGo = "v1.2.1"

func TestMCPGoIsTheMirroredRelease(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", "github.com/mark3labs/mcp-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/mark3labs/mcp-go: %v", err)
	}
	if v := strings.TrimSpace(string(out)); v != verifiedMCPGo {
		t.Fatalf("mcp-go is %s; the stdio fast path mirrors %s: see the comment above verifiedMCPGo", v, verifiedMCPGo)
	}
}

// mcpServerFields are the fields of the verified release's MCPServer, and
// hookFields those of its Hooks: a new one may be behaviour the fast path
// does not repeat.
var (
	mcpServerFields = []string{
		"resourcesMu", "resourceMiddlewareMu", "promptsMu", "toolsMu", "toolMiddlewareMu", "promptMiddlewareMu",
		"notificationHandlersMu", "capabilitiesMu", "toolFiltersMu", "promptFiltersMu", "tasksMu",
		"name", "version", "implementation", "instructions", "resources", "resourceTemplates", "prompts",
		"promptHandlers", "tools", "taskTools", "toolHandlerMiddlewares", "resourceHandlerMiddlewares",
		"promptHandlerMiddlewares", "toolFilters", "promptFilters", "notificationHandlers",
		"promptCompletionProvider", "resourceCompletionProvider", "capabilities", "cacheHints",
		"allowServerInitiatedRequests", "paginationLimit", "sessions", "listenSessions", "hooks", "taskHooks",
		"tasks", "expiredTasks", "maxConcurrentTasks", "activeTasks", "inflightCancels", "inputValidator",
		"outputValidator", "strictInputSchemaDefault", "tracer", "propagator", "metaPropagator", "requestLogger",
	}
	hookFields = []string{
		"OnRegisterSession", "OnUnregisterSession", "OnBeforeAny", "OnSuccess", "OnError", "OnRequestInitialization",
		"OnBeforeInitialize", "OnAfterInitialize", "OnBeforePing", "OnAfterPing", "OnBeforeDiscover", "OnAfterDiscover",
		"OnBeforeSubscriptionsListen", "OnAfterSubscriptionsListen", "OnBeforeSetLevel", "OnAfterSetLevel",
		"OnBeforeListResources", "OnAfterListResources", "OnBeforeListResourceTemplates", "OnAfterListResourceTemplates",
		"OnBeforeReadResource", "OnAfterReadResource", "OnBeforeSubscribe", "OnAfterSubscribe", "OnBeforeUnsubscribe",
		"OnAfterUnsubscribe", "OnBeforeListPrompts", "OnAfterListPrompts", "OnBeforeGetPrompt", "OnAfterGetPrompt",
		"OnBeforeListTools", "OnAfterListTools", "OnBeforeCallTool", "OnAfterCallTool", "OnBeforeGetTask",
		"OnAfterGetTask", "OnBeforeListTasks", "OnAfterListTasks", "OnBeforeTaskResult", "OnAfterTaskResult",
		"OnBeforeCancelTask", "OnAfterCancelTask", "OnBeforeComplete", "OnAfterComplete",
	}
)

func TestMCPGoServerHasNothingNew(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[server.MCPServer](), mcpServerFields},
		{reflect.TypeFor[server.Hooks](), hookFields},
	} {
		var got []string
		for f := range tc.typ.Fields() {
			got = append(got, f.Name)
		}
		for _, name := range got {
			if !slices.Contains(tc.want, name) {
				t.Errorf("mcp-go's %s has a new field %s: does the stdio fast path need to mirror it?", tc.typ, name)
			}
		}
		for _, name := range tc.want {
			if !slices.Contains(got, name) {
				t.Errorf("mcp-go's %s no longer has the field %s: review the stdio fast path", tc.typ, name)
			}
		}
	}
}

// Mirrors stands aside for a server that uses what the fast path skips.
func TestMirrors(t *testing.T) {
	handler := func(next server.ToolHandlerFunc) server.ToolHandlerFunc { return next }
	hooks := &server.Hooks{}
	hooks.AddOnError(func(context.Context, any, mcp.MCPMethod, any, error) {})
	callHooks := &server.Hooks{}
	callHooks.AddBeforeCallTool(func(context.Context, any, *mcp.CallToolRequest) {})
	for _, tc := range []struct {
		name string
		opts []server.ServerOption
		want bool
	}{
		{"plain", nil, true},
		{"an OnError hook", []server.ServerOption{server.WithHooks(hooks)}, true},
		{"a before-call hook", []server.ServerOption{server.WithHooks(callHooks)}, false},
		{"tool middleware", []server.ServerOption{server.WithToolHandlerMiddleware(handler)}, false},
		{"input validation", []server.ServerOption{server.WithInputSchemaValidation()}, false},
		{"trace context in _meta", []server.ServerOption{server.WithMetaPropagator(tracing.NoopMetaPropagator())}, false},
	} {
		srv := server.NewMCPServer("t", "1", append([]server.ServerOption{server.WithToolCapabilities(true)}, tc.opts...)...)
		if got := Mirrors(srv); got != tc.want {
			t.Errorf("Mirrors(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}
}
