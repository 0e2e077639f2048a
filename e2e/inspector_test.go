//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestInspectorCLI drives a stdio gateway with the MCP Inspector's CLI, a
// client built on the TypeScript SDK, as a person checking a setup would.
func TestInspectorCLI(t *testing.T) {
	requireAll(t)
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream()}})
	inspect := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		args = append(append([]string{"--cli"}, args...), "--", gatehouseBin, "serve", "--config", cfg, "--workspace", "dev")
		cmd := exec.CommandContext(ctx, npmBin(binInspector), args...)
		// HOME: the Inspector keeps a catalog file there.
		cmd.Env = gatewayEnv("HOME=" + t.TempDir())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("mcp-inspector %v: %v\n%s%s", args, err, stdout.String(), tail(stderr.String(), 4000))
		}
		return stdout.Bytes()
	}

	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	out := inspect("--method", "tools/list")
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("mcp-inspector tools/list: %v\n%s", err, out)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	for _, want := range []string{"everything__echo", "everything__get-sum", "everything__get-env"} {
		if !slices.Contains(names, want) {
			t.Errorf("mcp-inspector tools/list = %v; want %s among them", names, want)
		}
	}

	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	out = inspect("--method", "tools/call", "--tool-name", "everything__get-sum", "--tool-arg", "a=2", "b=40")
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("mcp-inspector tools/call: %v\n%s", err, out)
	}
	if want := "The sum of 2 and 40 is 42."; res.IsError || len(res.Content) != 1 || res.Content[0].Text != want {
		t.Errorf("mcp-inspector tools/call everything__get-sum = %s; want the text %q", out, want)
	}
}
