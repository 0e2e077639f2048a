//go:build unix

package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/gatehouse-mcp/gatehouse/audit"
)

// The gateway's own files sit in the root of the real server-filesystem it
// serves: its config, the workspace file that defines the upstream, and
// the verdict database. No call reads, writes, edits or moves them, in
// any spelling, over stdio and HTTP and both protocol generations; each
// refusal is recorded as decided by gatehouse-self-protection. An
// ordinary file beside them reads, and the directory lists (issue 14,
// item 5).
func TestGuardOwnFiles(t *testing.T) {
	requireAll(t)
	root := sandboxDir(t)
	const config = "version: 1\naudit:\n  database: gatehouse.db\nworkspaces_dir: workspaces\n"
	cfg := writeFile(t, root, "gatehouse.yaml", config)
	workspaceFile := "upstreams:\n  - name: fs\n    command: " + npmBin(binFilesystem) + "\n    args: [" + root + "]\n"
	if err := os.Mkdir(filepath.Join(root, "workspaces"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "workspaces"), "dev.yaml", workspaceFile)
	writeFile(t, root, "notes.txt", "ordinary notes")

	httpGW := startHTTP(t, cfg)
	blockedCalls := []struct {
		name string
		tool string
		args map[string]any
	}{
		{"absolute", "fs__read_text_file", map[string]any{"path": filepath.Join(root, "gatehouse.yaml")}},
		{"relative", "fs__read_text_file", map[string]any{"path": "gatehouse.yaml"}},
		{"dot segments", "fs__read_text_file", map[string]any{"path": "./x/../gatehouse.yaml"}},
		{"absolute dot segments", "fs__read_text_file", map[string]any{"path": root + "/./workspaces/../gatehouse.yaml"}},
		{"case", "fs__read_text_file", map[string]any{"path": filepath.Join(root, "GateHouse.YAML")}},
		{"trailing slash", "fs__read_text_file", map[string]any{"path": filepath.Join(root, "gatehouse.yaml") + "/"}},
		{"write", "fs__write_file", map[string]any{"path": filepath.Join(root, "gatehouse.yaml"), "content": "version: 1\n"}},
		{"write relative", "fs__write_file", map[string]any{"path": "gatehouse.yaml", "content": "version: 1\n"}},
		{"edit", "fs__edit_file", map[string]any{"path": "gatehouse.yaml", "edits": []any{map[string]any{"oldText": "version: 1", "newText": "version: 1 "}}}},
		{"move away", "fs__move_file", map[string]any{"source": filepath.Join(root, "gatehouse.yaml"), "destination": filepath.Join(root, "old.yaml")}},
		{"move over", "fs__move_file", map[string]any{"source": filepath.Join(root, "notes.txt"), "destination": "gatehouse.yaml"}},
		{"workspace file", "fs__write_file", map[string]any{"path": "workspaces/dev.yaml", "content": "upstreams: []\n"}},
		{"new workspace file", "fs__write_file", map[string]any{"path": filepath.Join(root, "workspaces", "lax.yaml"), "content": "upstreams: []\n"}},
		{"database", "fs__read_text_file", map[string]any{"path": filepath.Join(root, "gatehouse.db")}},
		{"database wal", "fs__read_text_file", map[string]any{"path": "gatehouse.db-wal"}},
		{"several files", "fs__read_multiple_files", map[string]any{"paths": []any{filepath.Join(root, "notes.txt"), filepath.Join(root, "gate*.yaml")}}},
		{"move the directory", "fs__move_file", map[string]any{"source": root, "destination": root + "-moved"}},
	}
	eachFace(t, cfg, httpGW, func(t *testing.T, cl *client.Client, prefix string) {
		for _, c := range blockedCalls {
			res, err := callTool(t, cl, c.tool, c.args)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, c.tool, err)
			}
			if !res.IsError || !strings.Contains(resultText(res), `Blocked by policy "gatehouse-self-protection"`) {
				t.Errorf("%s: %s(%v) = %q; want it blocked by gatehouse-self-protection", c.name, c.tool, c.args, resultText(res))
			}
		}
		res, err := callTool(t, cl, "fs__read_text_file", map[string]any{"path": filepath.Join(root, "notes.txt")})
		if err != nil || res.IsError || resultText(res) != "ordinary notes" {
			t.Errorf("read_text_file of notes.txt beside the config = %v, %q; want its content", err, resultText(res))
		}
		res, err = callTool(t, cl, "fs__list_directory", map[string]any{"path": root})
		if err != nil || res.IsError || !strings.Contains(resultText(res), "gatehouse.yaml") {
			t.Errorf("list_directory of the config's directory = %v, %q; want the listing", err, resultText(res))
		}
	})
	if b, err := os.ReadFile(cfg); err != nil || string(b) != config {
		t.Errorf("config after the calls = %q, %v; want it untouched", b, err)
	}
	for _, gone := range []string{"old.yaml", "workspaces/lax.yaml"} {
		if _, err := os.Stat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s exists after the calls (%v); want no call to have reached the upstream", gone, err)
		}
	}
	if err := httpGW.stop(t); err != nil {
		t.Errorf("gateway exit: %v", err)
	}
	want := 4 * len(blockedCalls)
	var entries []audit.Entry
	for deadline := time.Now().Add(10 * time.Second); len(entries) < want && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		r, err := audit.OpenReader(filepath.Join(root, "gatehouse.db"))
		if err != nil {
			continue
		}
		entries, err = r.List(t.Context(), audit.Filter{Policy: "gatehouse-self-protection", Decision: "block"})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(entries) != want {
		t.Errorf("%d records blocked by gatehouse-self-protection; want %d (one per blocked call)", len(entries), want)
	}
}
