//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestOnboardClaudeDesktop is the done-when, with the real
// binary and real servers: a Claude Desktop config whose servers hold a
// secret in env is imported (the secret becomes ${VAR}, never copied),
// check --connect reaches the servers, install points the file at the
// gateway, and a client started as Claude Desktop would start that entry
// lists the same servers' tools through the gateway, the secret reaching
// its server; uninstall puts the file back byte for byte.
func TestOnboardClaudeDesktop(t *testing.T) {
	requireAll(t)
	dir := t.TempDir()
	const secret = "ghp_e2eSecret0123456789abcdefghijklmnopq"
	clientFile := filepath.Join(dir, "claude_desktop_config.json")
	memFile := filepath.Join(dir, "memory.jsonl")
	original := `{
  "mcpServers": {
    "memory": {
      "command": ` + quote(npmBin(binMemory)) + `,
      "args": [],
      "env": {"MEMORY_FILE_PATH": ` + quote(memFile) + `, "GITHUB_TOKEN": "` + secret + `"}
    },
    "everything": {
      "command": ` + quote(npmBin(binEverything)) + `,
      "env": {"SERVICE_API_KEY": "` + secret + `"}
    }
  },
  "preferences": {"sidebarMode": "chat"}
}
`
	if err := os.WriteFile(clientFile, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gatehouse.yaml")

	stdout, stderr, code := runGatehouseEnv(t, nil, "import", "claude-desktop", clientFile, "--workspace", "dev", "--out", cfg)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	yaml, _ := os.ReadFile(cfg)
	if strings.Contains(string(yaml), secret) || strings.Contains(stdout+stderr, secret) {
		t.Fatalf("import copied the secret:\n%s\n%s", yaml, stdout)
	}
	if !strings.Contains(string(yaml), "GITHUB_TOKEN=${GITHUB_TOKEN}") || !strings.Contains(stdout, "GITHUB_TOKEN") || !strings.Contains(stdout, "SERVICE_API_KEY") {
		t.Fatalf("import did not name the variables:\n%s\n%s", yaml, stdout)
	}

	secretEnv := []string{"GITHUB_TOKEN=" + secret, "SERVICE_API_KEY=" + secret}
	if stdout, stderr, code := runGatehouseEnv(t, secretEnv, "check", "--config", cfg, "--connect"); code != 0 {
		t.Fatalf("check --connect on the imported config: exit %d\n%s%s", code, stdout, stderr)
	}

	if stdout, stderr, code := runGatehouseEnv(t, nil, "install", "claude-desktop", "--config", cfg, "--workspace", "dev", "--config-file", clientFile); code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, stdout, stderr)
	}
	var installed struct {
		MCPServers map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	data, _ := os.ReadFile(clientFile)
	if err := json.Unmarshal(data, &installed); err != nil {
		t.Fatal(err)
	}
	entry, ok := installed.MCPServers["gatehouse"]
	if len(installed.MCPServers) != 1 || !ok {
		t.Fatalf("installed client file:\n%s", data)
	}
	abs, _ := filepath.Abs(cfg)
	if entry.Command != gatehouseBin || !slices.Equal(entry.Args, []string{"serve", "--config", abs, "--workspace", "dev"}) {
		t.Fatalf("gatehouse entry: %+v", entry)
	}
	var env []string
	for k, v := range entry.Env {
		env = append(env, k+"="+v)
	}
	// Started as the client starts it: that command, those args, that env.
	g := startStdio(t, cfg, "dev", legacy, env...)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tools, err := g.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	for _, want := range []string{"memory__create_entities", "everything__echo", "everything__get-env"} {
		if !slices.Contains(names, want) {
			t.Errorf("the gateway does not serve %s: %v", want, names)
		}
	}
	res, err := callTool(t, g.client, "everything__get-env", map[string]any{})
	if err != nil || !strings.Contains(resultText(res), "SERVICE_API_KEY") {
		t.Errorf("the upstream did not get its variable: %v %s", err, resultText(res))
	}

	if stdout, stderr, code := runGatehouseEnv(t, nil, "uninstall", "claude-desktop", "--config-file", clientFile); code != 0 {
		t.Fatalf("uninstall: exit %d\n%s%s", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(clientFile); string(data) != original {
		t.Errorf("uninstall did not restore the file byte for byte:\n%s", data)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// runGatehouseEnv is runGatehouse with extra environment.
func runGatehouseEnv(t *testing.T, extra []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gatehouseBin, args...)
	cmd.Env = gatewayEnv(extra...)
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("gatehouse %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}
