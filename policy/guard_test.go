package policy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// guardedEngine is an engine without policies whose guard protects a
// config, a workspace directory and a database in root, the working
// directory of the upstream "fs" of workspace "w".
func guardedEngine(t testing.TB) (e *policy.Engine, root string) {
	t.Helper()
	root = t.TempDir()
	files := []string{"gatehouse.yaml", "gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", "README.md", "src/main.go"}
	for _, f := range append(files, "workspaces/dev.yaml") {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "gatehouse.yaml"), filepath.Join(root, "innocent.txt")); err != nil {
		t.Fatal(err)
	}
	spec := policy.GuardSpec{
		Files:        []string{filepath.Join(root, "gatehouse.yaml"), filepath.Join(root, "gatehouse.db"), filepath.Join(root, "gatehouse.db-wal"), filepath.Join(root, "gatehouse.db-shm")},
		Dirs:         []string{filepath.Join(root, "workspaces")},
		Bases:        map[string][]string{policy.UpstreamKey("w", "fs"): {root}},
		DefaultBases: []string{"/nonexistent-gateway-cwd"},
		Home:         root,
	}
	e, err := policy.NewEngine(policy.Set{}, policy.Options{Guard: policy.NewGuard(spec)})
	if err != nil {
		t.Fatal(err)
	}
	return e, root
}

func TestGuard(t *testing.T) {
	e, root := guardedEngine(t)
	blocked := []struct{ name, tool, args string }{
		{"absolute", "read_file", `{"path":"ROOT/gatehouse.yaml"}`},
		{"relative", "read_file", `{"path":"gatehouse.yaml"}`},
		{"dot segments", "write_file", `{"path":"./x/../gatehouse.yaml","content":"policies: []"}`},
		{"repeated separators", "read_file", `{"path":"ROOT//gatehouse.yaml"}`},
		{"trailing slash", "read_file", `{"path":"ROOT/gatehouse.yaml/"}`},
		{"upper case", "read_file", `{"path":"ROOT/GATEHOUSE.YAML"}`},
		{"file url", "read", `{"uri":"file://ROOT/gatehouse%2Eyaml"}`},
		{"home", "read_file", `{"path":"~/gatehouse.yaml"}`},
		{"backslashes", "read_file", `{"path":"ROOT\\gatehouse.yaml"}`},
		{"quoted in a command", "run", `{"command":"sed -i s/block/allow/ 'gatehouse.yaml'"}`},
		{"glob", "read_multiple_files", `{"paths":["ROOT/gate*.yaml"]}`},
		{"database wal", "read_file", `{"path":"gatehouse.db-wal"}`},
		{"edit", "edit_file", `{"path":"gatehouse.yaml","edits":[{"oldText":"a","newText":"b"}]}`},
		{"move destination", "move_file", `{"source":"README.md","destination":"gatehouse.yaml"}`},
		{"workspace file", "write_file", `{"path":"workspaces/dev.yaml","content":"x"}`},
		{"new workspace file", "write_file", `{"path":"workspaces/lax.yaml","content":"x"}`},
		{"symbolic link", "read_file", `{"path":"innocent.txt"}`},
		{"moving the directory that holds it", "move_file", `{"source":"ROOT","destination":"/tmp/elsewhere"}`},
		{"rm of the directory", "run", `{"command":"rm -rf ROOT"}`},
		{"brace expansion", "run", `{"command":"cat {README.md,gatehouse.yaml}"}`},
		{"shell escape", "run", `{"command":"cat gate\\house.yaml"}`},
		{"percent-encoded", "read_file", `{"path":"gatehouse%2Eyaml"}`},
		{"dollar home", "read_file", `{"path":"$HOME/gatehouse.yaml"}`},
		{"a new line in a segment", "write_file", `{"path":"ROOT/x\n/../gatehouse.yaml","content":"policies: []"}`},
		{"padded past the bound with ./", "read_file", `{"path":"ROOT/` + strings.Repeat("./", 2100) + `gatehouse.yaml"}`},
		{"padded past the bound with a/..", "read_file", `{"path":"ROOT/` + strings.Repeat("a/../", 1000) + `gatehouse.yaml"}`},
		{"padded with slashes", "read_file", `{"path":"ROOT` + strings.Repeat("/", 5000) + `gatehouse.yaml"}`},
		{"a key of a map of path to content", "write_files", `{"files":{"ROOT/gatehouse.yaml":"policies: []"}}`},
	}
	for _, tc := range blocked {
		t.Run(tc.name, func(t *testing.T) {
			v := evaluateGuarded(t, e, tc.tool, strings.ReplaceAll(tc.args, "ROOT", jsonPath(root)))
			if v.Decision != policy.DecisionBlock || v.Policy != policy.GuardPolicy {
				t.Fatalf("Evaluate(%s %s) = %s by %q; want block by %s", tc.tool, tc.args, v.Decision, v.Policy, policy.GuardPolicy)
			}
			if !strings.Contains(v.Message, "gateway's own files") {
				t.Errorf("Evaluate(%s).Message = %q; want it to say the file is the gateway's own", tc.args, v.Message)
			}
		})
	}
	allowed := []struct{ name, tool, args string }{
		{"ordinary file", "read_file", `{"path":"README.md"}`},
		{"ordinary file, absolute", "read_file", `{"path":"ROOT/src/main.go"}`},
		{"list the directory that holds it", "list_directory", `{"path":"ROOT"}`},
		{"search the directory", "search_files", `{"path":".","pattern":"*"}`},
		{"write a file that mentions it", "write_file", `{"path":"NOTES.md","content":"edit gatehouse.yaml to change the policies"}`},
		{"same name elsewhere", "read_file", `{"path":"/etc/gatehouse.yaml.example"}`},
		{"other upstream, other base", "read_file", `{"path":"README.md"}`},
	}
	for _, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			v := evaluateGuarded(t, e, tc.tool, strings.ReplaceAll(tc.args, "ROOT", jsonPath(root)))
			if v.Decision != policy.DecisionAllow {
				t.Fatalf("Evaluate(%s %s) = %s (%s); want allow", tc.tool, tc.args, v.Decision, v.Reason)
			}
		})
	}
}

// TestGuardBases checks that a relative path is resolved against the
// bases of the call's own upstream.
func TestGuardBases(t *testing.T) {
	e, _ := guardedEngine(t)
	v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "other", Tool: "read_file", Arguments: []byte(`{"path":"gatehouse.yaml"}`)})
	if v.Decision != policy.DecisionAllow {
		t.Errorf("Evaluate(other upstream, relative gatehouse.yaml) = %s; want allow (its base is elsewhere)", v.Decision)
	}
}

func evaluateGuarded(t *testing.T, e *policy.Engine, tool, args string) policy.Verdict {
	t.Helper()
	return e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: tool, Exposed: "fs__" + tool, Arguments: []byte(args)})
}

// jsonPath is p as it goes inside a JSON string.
func jsonPath(p string) string {
	b, _ := json.Marshal(p)
	return string(b[1 : len(b)-1])
}

// No policy switches the guard off: an allow policy of the highest
// priority on every tool does not let a call through to the config.
func TestGuardBeforePolicies(t *testing.T) {
	_, root := guardedEngine(t)
	spec := policy.GuardSpec{Files: []string{filepath.Join(root, "gatehouse.yaml")}, DefaultBases: []string{root}}
	set := policy.Set{Global: []policy.Policy{{Name: "allow-all", Action: policy.ActionAllow, Priority: 1 << 20, Enabled: true}}}
	e, err := policy.NewEngine(set, policy.Options{Guard: policy.NewGuard(spec)})
	if err != nil {
		t.Fatal(err)
	}
	v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: "write_file", Arguments: []byte(`{"path":"gatehouse.yaml","content":"x"}`)})
	if v.Decision != policy.DecisionBlock || v.Policy != policy.GuardPolicy {
		t.Errorf("Evaluate(write_file gatehouse.yaml) under allow-all = %s by %q; want block by %s", v.Decision, v.Policy, policy.GuardPolicy)
	}
	v = e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: "write_file", Arguments: []byte(`{"path":"notes.md","content":"x"}`)})
	if v.Decision != policy.DecisionAllow || v.Policy != "allow-all" {
		t.Errorf("Evaluate(write_file notes.md) = %s by %q; want allow by allow-all", v.Decision, v.Policy)
	}
}

// FuzzGuard holds the guard to its promise on any text around a protected
// path: a command that names the config's absolute path between spaces is
// blocked, whatever comes before and after.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"cat", "sed -i 's/a/b/'", "{a,b", "$IFS", `"quoted`, "\\", "~"} {
		f.Add(s, s)
	}
	e, root := guardedEngine(f)
	target := filepath.Join(root, "gatehouse.yaml")
	f.Fuzz(func(t *testing.T, before, after string) {
		args, _ := json.Marshal(map[string]string{"command": before + " " + target + " " + after})
		v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: "run", Arguments: args})
		if v.Decision != policy.DecisionBlock {
			t.Errorf("Evaluate(run %s) = %s; want block", args, v.Decision)
		}
	})
}
