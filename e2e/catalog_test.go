//go:build unix

package e2e_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// capabilityTools are the server-everything tools that it registers only
// for clients declaring sampling, elicitation or roots. The reference
// client declares none, so the gateway may list these and the reference
// not.
var capabilityTools = []string{
	"get-roots-list",
	"trigger-elicitation-request",
	"trigger-elicitation-request-async",
	"trigger-sampling-request",
	"trigger-sampling-request-async",
	"trigger-url-elicitation",
}

// sampleCall is one tools/call made directly and through the gateway.
type sampleCall struct {
	upstream, tool string
	args           map[string]any
	// repeatable calls are made a second time through the gateway with a
	// raw client, to compare the result's JSON as sent.
	repeatable bool
}

// sampleCalls covers text, numbers, structured content, images, content
// annotations, an upstream tool error, and stateful filesystem and memory
// tools. The memory calls leave the graph as they found it, so the sequence
// gives the same results each time it is run against the same server.
func sampleCalls(sandbox string) []sampleCall {
	notes := filepath.Join(sandbox, "notes.txt")
	entity := map[string]any{"name": "gatehouse", "entityType": "project", "observations": []string{"an MCP gateway", "checks every call"}}
	return []sampleCall{
		{"everything", "echo", map[string]any{"message": "hello through the gateway: ünïcode, <tags> & quotes \""}, true},
		{"everything", "get-sum", map[string]any{"a": 2, "b": 3.5}, true},
		{"everything", "get-sum", map[string]any{"a": "two", "b": 1}, true}, // the upstream's own validation error
		{"everything", "get-structured-content", map[string]any{"location": "Chicago"}, true},
		{"everything", "get-tiny-image", map[string]any{}, true},
		{"everything", "get-annotated-message", map[string]any{"messageType": "error", "includeImage": true}, true},
		{"fs", "write_file", map[string]any{"path": notes, "content": "written through Gatehouse\nline two\n"}, true},
		{"fs", "read_text_file", map[string]any{"path": notes}, true},
		{"fs", "list_directory", map[string]any{"path": sandbox}, true},
		{"fs", "read_text_file", map[string]any{"path": "/etc/passwd"}, true}, // outside the sandbox: the upstream refuses
		{"memory", "create_entities", map[string]any{"entities": []any{entity}}, false},
		{"memory", "read_graph", map[string]any{}, true},
		{"memory", "delete_entities", map[string]any{"entityNames": []string{"gatehouse"}}, false},
		{"memory", "read_graph", map[string]any{}, true},
	}
}

// TestCatalogAndCalls puts server-everything, server-filesystem and
// server-memory behind one workspace and checks, over stdio and streamable
// HTTP and with both protocol generations, that the gateway lists every
// upstream tool under upstream__tool with the upstream's own definition,
// and that calls return exactly what a direct call returns.
func TestCatalogAndCalls(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	upstreams := func(t *testing.T) []upstreamConfig {
		// Each gateway gets an empty memory graph of its own.
		return []upstreamConfig{
			everythingUpstream(),
			filesystemUpstream(sandbox),
			memoryUpstream(filepath.Join(t.TempDir(), "memory.jsonl")),
		}
	}

	// The reference: the same servers, started directly.
	direct := map[string]*directServer{
		"everything": startDirect(t, npmBin(binEverything), nil),
		"fs":         startDirect(t, npmBin(binFilesystem), []string{sandbox}),
		"memory":     startDirect(t, npmBin(binMemory), nil, "MEMORY_FILE_PATH="+filepath.Join(t.TempDir(), "memory.jsonl")),
	}
	want := map[string]json.RawMessage{}
	for up, s := range direct {
		for name, tool := range listTools(t, s.caller()) {
			exposed := up + "__" + name
			want[exposed] = renamed(t, tool, exposed)
		}
	}
	calls := sampleCalls(sandbox)
	wantResults := make([]json.RawMessage, len(calls))
	for i, c := range calls {
		wantResults[i] = callDirect(t, direct[c.upstream], c.tool, c.args)
	}
	optional := func(name string) bool {
		return slices.ContainsFunc(capabilityTools, func(tool string) bool { return name == "everything__"+tool })
	}

	check := func(t *testing.T, cl *client.Client) {
		got := listTools(t, rawVia(cl))
		compareCatalog(t, got, want, optional)
		checkTypedList(t, cl, got)
		for i, c := range calls {
			exposed := c.upstream + "__" + c.tool
			res, err := callTool(t, cl, exposed, c.args)
			if err != nil {
				t.Errorf("tools/call %s %v: %v", exposed, c.args, err)
				continue
			}
			gotJSON, wantJSON := marshalResult(t, res), marshalResult(t, typedResult(t, wantResults[i]))
			if !sameBytes(gotJSON, wantJSON) {
				t.Errorf("tools/call %s %v through the gateway:\n got %s\nwant %s", exposed, c.args, gotJSON, wantJSON)
				continue
			}
			if !c.repeatable {
				continue
			}
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			raw, err := rawVia(cl)(ctx, "tools/call", map[string]any{"name": exposed, "arguments": c.args})
			cancel()
			if err != nil {
				t.Errorf("raw tools/call %s: %v", exposed, err)
				continue
			}
			if g, w := stripRawResult(t, raw), stripRawResult(t, wantResults[i]); g != w {
				t.Errorf("raw tools/call %s %v through the gateway:\n got %s\nwant %s", exposed, c.args, g, w)
			}
		}
	}

	for _, gen := range generations {
		t.Run("stdio-"+gen.name, func(t *testing.T) {
			cfg := writeConfig(t, map[string][]upstreamConfig{"dev": upstreams(t)})
			g := startStdio(t, cfg, "dev", gen)
			check(t, g.client)
		})
	}
	t.Run("http", func(t *testing.T) {
		cfg := writeConfig(t, map[string][]upstreamConfig{"dev": upstreams(t)})
		g := startHTTP(t, cfg)
		for _, path := range []string{"/w/dev/mcp", "/mcp"} {
			for _, gen := range generations {
				t.Run(gen.name+path, func(t *testing.T) {
					check(t, connectHTTP(t, g.url(path), gen))
				})
			}
		}
	})
}

// checkTypedList checks that the mcp-go client's own tools/list sees the
// same names as the raw listing.
func checkTypedList(t *testing.T, cl *client.Client, raw map[string]json.RawMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	res, err := cl.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Errorf("ListTools: %v", err)
		return
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := sortedKeys(raw); !slices.Equal(names, want) {
		t.Errorf("ListTools names = %v; want %v", names, want)
	}
}
