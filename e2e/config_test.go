//go:build unix

package e2e_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The config file shapes of DESIGN §3 that these tests use. Fields left
// empty are omitted, so the files hold only what a test sets.
type (
	fileConfig struct {
		Version    int                        `yaml:"version"`
		Audit      auditConfig                `yaml:"audit"`
		Workspaces map[string]workspaceConfig `yaml:"workspaces"`
	}
	auditConfig struct {
		Database string `yaml:"database"`
	}
	workspaceConfig struct {
		Upstreams []upstreamConfig `yaml:"upstreams"`
	}
	upstreamConfig struct {
		Name      string   `yaml:"name"`
		Command   string   `yaml:"command,omitempty"`
		Args      []string `yaml:"args,omitempty"`
		Env       []string `yaml:"env,omitempty"`
		URL       string   `yaml:"url,omitempty"`
		Transport string   `yaml:"transport,omitempty"`
		Headers   []string `yaml:"headers,omitempty"`
		Prefix    *bool    `yaml:"prefix,omitempty"`
	}
)

// writeConfig writes a config with the given workspaces and an audit
// database, both in a fresh temporary directory, and returns its path.
func writeConfig(t *testing.T, workspaces map[string][]upstreamConfig) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fileConfig{
		Version:    1,
		Audit:      auditConfig{Database: filepath.Join(dir, "audit.db")},
		Workspaces: map[string]workspaceConfig{},
	}
	for name, ups := range workspaces {
		cfg.Workspaces[name] = workspaceConfig{Upstreams: ups}
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("marshal config: %v", err)
	}
	return writeFile(t, dir, "gatehouse.yaml", string(b))
}

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// everythingUpstream runs server-everything over stdio.
func everythingUpstream(env ...string) upstreamConfig {
	return upstreamConfig{Name: "everything", Command: npmBin(binEverything), Env: env}
}

// filesystemUpstream runs server-filesystem over stdio, confined to sandbox.
func filesystemUpstream(sandbox string) upstreamConfig {
	return upstreamConfig{Name: "fs", Command: npmBin(binFilesystem), Args: []string{sandbox}}
}

// memoryUpstream runs server-memory over stdio with its graph in file.
func memoryUpstream(file string) upstreamConfig {
	return upstreamConfig{Name: "memory", Command: npmBin(binMemory), Env: []string{"MEMORY_FILE_PATH=" + file}}
}

// sandboxDir is a fresh directory for server-filesystem, with symlinks
// resolved (the server reports resolved paths).
func sandboxDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
