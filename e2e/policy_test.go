//go:build unix

package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// policyConfig is a config whose workspace "dev" serves server-filesystem
// on sandbox under policies that block secrets, redact SSNs and warn on
// writes — the real filesystem is the upstream that records what it got.
func policyConfig(t *testing.T, sandbox string) string {
	t.Helper()
	dir := t.TempDir()
	return writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+filepath.Join(dir, "audit.db")+`
policies:
  - name: no-secrets-out
    when: {threats: [secret]}
    action: block
    priority: 100
    message: Secrets must not leave through tool arguments.
  - name: approve-moves
    tools: ["move_file"]
    action: require_approval
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
    policies:
      - name: redact-ssn
        when: {args: '\b\d{3}-\d{2}-\d{4}\b'}
        action: redact
      - name: note-writes
        tools: ["*write*"]
        action: warn
        message: Writes in dev are reviewed weekly.
`)
}

// Through the running gateway, over stdio and HTTP and both protocol
// generations: a blocked call never reaches the upstream, a redacted one
// reaches it redacted, and the client reads the violation message.
func TestPoliciesEnforced(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	cfg := policyConfig(t, sandbox)
	httpGW := startHTTP(t, cfg)
	eachFace(t, cfg, httpGW, func(t *testing.T, cl *client.Client, prefix string) {
		// Blocked: the file is never written.
		secretFile := filepath.Join(sandbox, prefix+"-secret.txt")
		res, err := callTool(t, cl, "fs__write_file", map[string]any{"path": secretFile, "content": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"})
		if err != nil {
			t.Fatalf("write_file with a secret: %v", err)
		}
		want := `Blocked by policy "no-secrets-out": Secrets must not leave through tool arguments.`
		if !res.IsError || resultText(res) != want {
			t.Errorf("write_file with a secret = %q (isError %v); want isError and %q", resultText(res), res.IsError, want)
		}
		if id := verdictID(res); len(id) != 26 {
			t.Errorf("blocked result _meta verdict id = %q; want a ULID", id)
		}
		if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
			t.Errorf("blocked write_file reached the upstream: %s exists (%v)", secretFile, err)
		}

		// Redacted: the file holds the redacted text; warned.
		noteFile := filepath.Join(sandbox, prefix+"-note.txt")
		res, err = callTool(t, cl, "fs__write_file", map[string]any{"path": noteFile, "content": "caller ssn 123-45-6789, call back"})
		if err != nil || res.IsError {
			t.Fatalf("write_file with an SSN = %v, %q; want it written", err, resultText(res))
		}
		data, err := os.ReadFile(noteFile)
		if err != nil {
			t.Fatalf("redacted write_file did not reach the upstream: %v", err)
		}
		if got := string(data); got != "caller ssn [REDACTED], call back" {
			t.Errorf("upstream wrote %q; want the SSN redacted", got)
		}
		if w := warnings(res); !strings.Contains(w, "note-writes") || !strings.Contains(w, "reviewed weekly") {
			t.Errorf("result _meta warnings = %s; want the note-writes warning", w)
		}

		// Approval required: not run.
		moved := filepath.Join(sandbox, prefix+"-moved.txt")
		res, err = callTool(t, cl, "fs__move_file", map[string]any{"source": noteFile, "destination": moved})
		if err != nil {
			t.Fatalf("move_file: %v", err)
		}
		if !res.IsError || !strings.Contains(resultText(res), `Policy "approve-moves" requires approval`) {
			t.Errorf("move_file = %q; want a tool error saying approval is required", resultText(res))
		}
		if _, err := os.Stat(moved); !os.IsNotExist(err) {
			t.Errorf("move_file needing approval reached the upstream: %s exists", moved)
		}

		// Allowed, and nothing in the way.
		res, err = callTool(t, cl, "fs__read_text_file", map[string]any{"path": noteFile})
		if err != nil || res.IsError || !strings.Contains(resultText(res), "[REDACTED]") {
			t.Errorf("read_text_file = %v, %q; want the redacted note", err, resultText(res))
		}
	})
}

func verdictID(res *mcp.CallToolResult) string {
	if res.Meta == nil {
		return ""
	}
	id, _ := res.Meta.AdditionalFields["io.gatehouse/verdict"].(string)
	return id
}

func warnings(res *mcp.CallToolResult) string {
	if res.Meta == nil {
		return ""
	}
	b, _ := json.Marshal(res.Meta.AdditionalFields["io.gatehouse/warnings"])
	return string(b)
}

// With scan_output, a secret in a file the real server-filesystem reads
// reaches no client in clear, over stdio and HTTP and both protocol
// generations: not in the text content, and not in structuredContent,
// which mcp-go sends as the upstream's own bytes (issue 14, item 1).
func TestOutputScanned(t *testing.T) {
	requireAll(t)
	const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	sandbox := sandboxDir(t)
	file := filepath.Join(sandbox, "creds.env")
	if err := os.WriteFile(file, []byte("GITHUB_TOKEN="+secret+"\nREGION=eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+filepath.Join(dir, "audit.db")+`
scan_output: true
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
`)
	httpGW := startHTTP(t, cfg)
	eachFace(t, cfg, httpGW, func(t *testing.T, cl *client.Client, prefix string) {
		res, err := callTool(t, cl, "fs__read_text_file", map[string]any{"path": file})
		if err != nil || res.IsError {
			t.Fatalf("read_text_file = %v, %v", res, err)
		}
		got, _ := json.Marshal(res) // with structuredContent as the bytes received
		if strings.Contains(string(got), secret) {
			t.Fatalf("the client received the secret: %s", got)
		}
		if !strings.Contains(string(got), "REGION=eu-west-1") || len(res.RawStructuredContent) == 0 || !strings.Contains(string(res.RawStructuredContent), "[REDACTED]") {
			t.Errorf("result = %s; want the file with the token redacted in the text and in structuredContent", got)
		}
	})
}
