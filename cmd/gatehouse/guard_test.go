package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The engine a config builds guards the files that config reads, the
// verdict log still open, and resolves relative paths against each
// upstream's directory and root arguments, with symbolic links resolved.
func TestGuardOfConfig(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(real, "project")
	if err := os.MkdirAll(filepath.Join(real, "ws"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(link, "gatehouse.yaml") // loaded through the link
	if err := os.WriteFile(filepath.Join(real, "ws", "dev.yaml"), []byte("upstreams:\n  - {name: fs, command: srv, args: [--root, project]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte("version: 1\nworkspaces_dir: ws\naudit: {database: state/gh.db}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEngine(cfg, nil, nil, "/var/lib/old/verdicts.db")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want policy.Decision
	}{
		{filepath.Join(real, "gatehouse.yaml"), policy.DecisionBlock}, // the link resolved
		{filepath.Join(link, "gatehouse.yaml"), policy.DecisionBlock},
		{"../gatehouse.yaml", policy.DecisionBlock}, // relative to the root argument
		{"../ws/dev.yaml", policy.DecisionBlock},
		{"ws/new.yaml", policy.DecisionBlock}, // relative to the upstream's dir
		{filepath.Join(real, "state", "gh.db-shm"), policy.DecisionBlock},
		{"/var/lib/old/verdicts.db-wal", policy.DecisionBlock},
		{filepath.Join(real, "state", "gh.db-inflight", "4242-0a1b2c3d"), policy.DecisionBlock}, // a journal of calls in flight
		{filepath.Join(link, "state", "gh.db-inflight"), policy.DecisionBlock},
		{"/var/lib/old/verdicts.db-inflight/17-ffffffff", policy.DecisionBlock},
		{"../README.md", policy.DecisionAllow},
		{filepath.Join(real, "project"), policy.DecisionAllow},
	} {
		args := `{"path":` + strings.ReplaceAll(`"`+tc.path+`"`, `\`, `\\`) + `}`
		v := e.Evaluate(t.Context(), policy.Call{Workspace: "dev", Upstream: "fs", Tool: "read_file", Arguments: []byte(args)})
		if v.Decision != tc.want {
			t.Errorf("Evaluate(read_file %s) = %s (%s); want %s", args, v.Decision, v.Reason, tc.want)
		}
	}
}
