//go:build unix

package e2e_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
)

// TestHTTPWorkspaces serves two workspaces from one `serve --http`: each
// has its own catalog at /w/{workspace}/mcp, /mcp is not served (it exists
// only for a single workspace), and `prefix: false` exposes bare names.
func TestHTTPWorkspaces(t *testing.T) {
	requireAll(t)
	noPrefix := false
	bare := memoryUpstream(t.TempDir() + "/memory.jsonl")
	bare.Prefix = &noPrefix
	cfg := writeConfig(t, map[string][]upstreamConfig{
		"alpha": {everythingUpstream()},
		"beta":  {bare},
	})
	g := startHTTP(t, cfg)

	names := func(cl *client.Client) []string { return sortedKeys(listTools(t, rawVia(cl))) }
	for _, gen := range generations {
		t.Run(gen.name, func(t *testing.T) {
			alpha := names(connectHTTP(t, g.url("/w/alpha/mcp"), gen))
			beta := names(connectHTTP(t, g.url("/w/beta/mcp"), gen))
			if !slices.Contains(alpha, "everything__echo") || containsPrefix(alpha, "memory") || slices.Contains(alpha, "read_graph") {
				t.Errorf("workspace alpha lists %v; want everything__* only", alpha)
			}
			if !slices.Contains(beta, "read_graph") || !slices.Contains(beta, "create_entities") || containsPrefix(beta, "everything__") || containsPrefix(beta, "memory__") {
				t.Errorf("workspace beta (memory, prefix: false) lists %v; want bare memory tool names only", beta)
			}
		})
	}

	for _, tc := range []struct {
		name, path, origin string
		want               int
	}{
		{"no /mcp with two workspaces", "/mcp", "", http.StatusNotFound},
		{"unknown workspace", "/w/gamma/mcp", "", http.StatusNotFound},
		{"foreign Origin", "/w/alpha/mcp", "http://evil.example", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.url(tc.path), strings.NewReader(
				`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("POST %s (Origin %q): status %d; want %d", tc.path, tc.origin, resp.StatusCode, tc.want)
			}
		})
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}
