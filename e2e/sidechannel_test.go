//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/audit"
)

// sideSecret is a secret the side channels' tests keep in a resource.
const sideSecret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"

// sideConfig serves the real server-everything — resources, resource
// templates, prompts and completions — and server-memory, whose knowledge
// graph resource holds sideSecret, under policies of every scope, with
// output scanning on.
func sideConfig(t *testing.T) (cfg, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "audit.db")
	graph := writeFile(t, dir, "memory.jsonl", `{"type":"entity","name":"deploy","entityType":"note","observations":["the deploy token is `+sideSecret+`"]}`+"\n")
	cfg = writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+db+`
scan_output: true
policies:
  - name: no-secret-prompts
    prompts: ["*"]
    when: {threats: [secret]}
    action: block
    message: Secrets stay out of prompts.
  - name: no-blobs
    resources: ["demo://resource/dynamic/blob/*"]
    action: block
    message: Blobs are closed.
  - name: hush
    when: {keywords: [hush-hush]}
    action: block
workspaces:
  dev:
    upstreams:
      - name: everything
        command: `+npmBin(binEverything)+`
      - name: memory
        command: `+npmBin(binMemory)+`
        env: ["MEMORY_FILE_PATH=`+graph+`"]
`)
	return cfg, db
}

// resources/read, prompts/get and completion/complete through the gateway
// with the real server-everything, over stdio and HTTP and both protocol
// generations: the policies decide them (resources:, prompts: and a policy
// without scope), what is read is scanned, and each leaves a record.
func TestSideChannelsEnforced(t *testing.T) {
	requireAll(t)
	const secret = sideSecret
	cfg, db := sideConfig(t)
	httpGW := startHTTP(t, cfg)
	eachFace(t, cfg, httpGW, func(t *testing.T, cl *client.Client, prefix string) {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		read := func(uri string) (*mcp.ReadResourceResult, error) {
			req := mcp.ReadResourceRequest{}
			req.Params.URI = uri
			return cl.ReadResource(ctx, req)
		}
		get := func(name string, args map[string]string) (*mcp.GetPromptResult, error) {
			req := mcp.GetPromptRequest{}
			req.Params.Name, req.Params.Arguments = name, args
			return cl.GetPrompt(ctx, req)
		}

		// resources: blocks the reads of its URIs, with its message.
		if _, err := read("demo://resource/dynamic/blob/1"); err == nil || !strings.Contains(err.Error(), `Blocked by policy "no-blobs": Blobs are closed.`) {
			t.Errorf("read a blob: err = %v; want the violation message", err)
		}
		// A policy without scope covers a resource's URI.
		if _, err := read("demo://resource/dynamic/text/hush-hush"); err == nil || !strings.Contains(err.Error(), `Blocked by policy "hush"`) {
			t.Errorf("read hush-hush: err = %v; want it blocked", err)
		}
		// A secret in what a resource reads is redacted in what the client
		// receives.
		res, err := read("memory://knowledge-graph")
		if err != nil {
			t.Fatalf("read the knowledge graph: %v", err)
		}
		got, _ := json.Marshal(res)
		if strings.Contains(string(got), secret) || !strings.Contains(string(got), "the deploy token is [REDACTED]") {
			t.Errorf("read the knowledge graph sent %s; want the secret redacted", got)
		}
		// The bytes on the wire, not only what the typed client kept.
		raw, err := rawVia(cl)(ctx, "resources/read", map[string]any{"uri": "memory://knowledge-graph"})
		if err != nil || bytes.Contains(raw, []byte(secret)) || !bytes.Contains(raw, []byte("[REDACTED]")) {
			t.Errorf("resources/read on the wire = %s, %v; want the secret redacted", raw, err)
		}
		// A secret in a URI meets no policy here, and the upstream's error,
		// which repeats the URI, is redacted too.
		if _, err := read("demo://resource/dynamic/text/" + secret); err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("read an unknown resource with a secret: err = %v; want the upstream's error, redacted", err)
		}

		// prompts: with threats blocks a prompts/get whose arguments hold a secret.
		if _, err := get("everything__args-prompt", map[string]string{"city": secret}); err == nil || !strings.Contains(err.Error(), `Blocked by policy "no-secret-prompts": Secrets stay out of prompts.`) {
			t.Errorf("args-prompt with a secret: err = %v; want it blocked", err)
		}
		p, err := get("everything__args-prompt", map[string]string{"city": "Paris"})
		if err != nil || len(p.Messages) == 0 {
			t.Fatalf("args-prompt = %v, %v", p, err)
		}
		if tc, ok := p.Messages[0].Content.(mcp.TextContent); !ok || !strings.Contains(tc.Text, "Paris") {
			t.Errorf("args-prompt message = %#v; want the weather in Paris", p.Messages[0].Content)
		}

		// A completion passes too, and is recorded.
		req := mcp.CompleteRequest{}
		req.Params.Ref = mcp.PromptReference{Type: "ref/prompt", Name: "everything__completable-prompt"}
		req.Params.Argument = mcp.CompleteArgument{Name: "department", Value: "E"}
		if c, err := cl.Complete(ctx, req); err != nil || len(c.Completion.Values) == 0 {
			t.Errorf("complete department = %v, %v; want values", c, err)
		}
	})

	// One record each, by method and target; the secret nowhere.
	if err := httpGW.stop(t); err != nil {
		t.Errorf("gateway exit: %v", err)
	}
	want := map[string]int{
		"resources/read demo://resource/dynamic/blob/1":         4,
		"resources/read demo://resource/dynamic/text/hush-hush": 4,
		"prompts/get everything__args-prompt":                   8,
		"completion/complete everything__completable-prompt":    4,
	}
	var entries []audit.Entry
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) { // the stdio gateways flush as they exit
		r, err := audit.OpenReader(db)
		if err == nil {
			entries, err = r.List(t.Context(), audit.Filter{Workspace: "dev"})
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(entries) >= 32 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := map[string]int{}
	for _, e := range entries {
		got[e.Exposed]++
		if raw, _ := json.Marshal(e); bytes.Contains(raw, []byte(secret)) {
			t.Errorf("record %s keeps the secret", e.ID)
		}
	}
	for exposed, n := range want {
		if got[exposed] != n {
			t.Errorf("%d records of %q; want %d (all: %v)", got[exposed], exposed, n, got)
		}
	}

	// `gatehouse logs` shows them by method and target.
	out, _, code := runGatehouse(t, "logs", "--config", cfg, "--tool", "demo://resource/dynamic/blob/1")
	if code != 0 || !strings.Contains(out, "resources/read demo://resource/dynamic/blob/1") {
		t.Errorf("logs --tool URI (exit %d):\n%s\nwant the reads of the URI", code, out)
	}
}

// The MCP Inspector's CLI, a client on the TypeScript SDK, reads what the
// gateway lets through: a resource's text with its secret redacted.
func TestSideChannelsInspector(t *testing.T) {
	requireAll(t)
	const secret = sideSecret
	cfg, _ := sideConfig(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	args := []string{"--cli", "--method", "resources/read", "--uri", "memory://knowledge-graph",
		"--", gatehouseBin, "serve", "--config", cfg, "--workspace", "dev"}
	cmd := exec.CommandContext(ctx, npmBin(binInspector), args...)
	cmd.Env = gatewayEnv("HOME=" + t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mcp-inspector resources/read: %v\n%s%s", err, stdout.String(), tail(stderr.String(), 4000))
	}
	if strings.Contains(stdout.String(), sideSecret) || !strings.Contains(stdout.String(), "[REDACTED]") {
		t.Errorf("mcp-inspector resources/read printed %s; want the secret redacted", stdout.String())
	}
}
