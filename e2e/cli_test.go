//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runGatehouse runs the binary with args and returns its output and exit
// code.
func runGatehouse(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gatehouseBin, args...)
	cmd.Env = gatewayEnv()
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("gatehouse %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestCheck runs `gatehouse check` on good, invalid and missing configs.
func TestCheck(t *testing.T) {
	requireGatehouse(t)
	dir := t.TempDir()
	audit := "audit:\n  database: " + filepath.Join(dir, "audit.db") + "\n"
	upstream := func(extra string) string {
		return "version: 1\n" + audit + "workspaces:\n  dev:\n    upstreams:\n      - name: fs\n        command: " + npmBin(binFilesystem) + "\n        args: [" + dir + "]\n" + extra
	}
	missing := filepath.Join(dir, "no-such-dir", "gatehouse.yaml")

	tests := []struct {
		name string
		file string // config text; "" means the file does not exist
		args []string
		code int
		// want are substrings the output must contain.
		want []string
	}{
		{name: "valid", file: upstream(""), code: 0},
		{
			name: "unknown key",
			file: upstream("        comand: typo\n"),
			code: 2, want: []string{"comand"},
		},
		{
			name: "unknown transport",
			file: "version: 1\n" + audit + "workspaces:\n  dev:\n    upstreams:\n      - name: remote\n        url: http://127.0.0.1:9/mcp\n        transport: carrier-pigeon\n",
			code: 2, want: []string{"transport", "carrier-pigeon"},
		},
		{
			name: "unsupported version",
			file: strings.Replace(upstream(""), "version: 1", "version: 7", 1),
			code: 2, want: []string{"version", "7"},
		},
		{
			name: "duplicate upstream",
			file: upstream("      - name: fs\n        command: " + npmBin(binFilesystem) + "\n"),
			code: 2, want: []string{"fs"},
		},
		{
			name: "not YAML",
			file: "version: 1\nworkspaces: [unclosed\n",
			code: 2,
		},
		{name: "missing file", args: []string{"check", "--config", missing}, code: 2, want: []string{missing}},
		{name: "bad flag", args: []string{"check", "--no-such-flag"}, code: 2, want: []string{"no-such-flag"}},
	}
	outputs := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			var path string
			if args == nil {
				path = writeFile(t, t.TempDir(), "gatehouse.yaml", tc.file)
				args = []string{"check", "--config", path}
			}
			stdout, stderr, code := runGatehouse(t, args...)
			out := stdout + stderr
			outputs[tc.name] = out
			if code != tc.code {
				t.Errorf("gatehouse %s: exit %d; want %d\n%s", strings.Join(args, " "), code, tc.code, out)
			}
			want := tc.want
			if tc.code == 2 && path != "" {
				want = append(want, filepath.Base(path)) // errors name the file (DESIGN §3)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("gatehouse %s: output does not mention %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
			if tc.code != 0 && strings.TrimSpace(out) == "" {
				t.Errorf("gatehouse %s: exit %d with no message", strings.Join(args, " "), code)
			}
		})
	}
	if m, u := outputs["missing file"], outputs["unknown key"]; m != "" && u != "" {
		first := func(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }
		if first(m) == first(u) {
			t.Errorf("a missing config and an invalid one give the same message %q", first(m))
		}
	}
}

// TestCheckConnect runs `gatehouse check --connect`, which reaches every
// upstream: 0 when all answer, 1 (a runtime failure) naming the one that
// does not.
func TestCheckConnect(t *testing.T) {
	requireAll(t)
	good := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream()}})
	if stdout, stderr, code := runGatehouse(t, "check", "--config", good, "--connect"); code != 0 {
		t.Errorf("check --connect with a working upstream: exit %d; want 0\n%s%s", code, stdout, stderr)
	}
	bad := writeConfig(t, map[string][]upstreamConfig{"dev": {
		everythingUpstream(),
		{Name: "broken", Command: filepath.Join(t.TempDir(), "no-such-server")},
	}})
	stdout, stderr, code := runGatehouse(t, "check", "--config", bad, "--connect")
	if code != 1 {
		t.Errorf("check --connect with an upstream that cannot start: exit %d; want 1\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout+stderr, "broken") {
		t.Errorf("check --connect does not name the failing upstream %q:\n%s%s", "broken", stdout, stderr)
	}
}

// TestToolsCommand checks that `gatehouse tools` prints every tool a client
// of the workspace would see.
func TestToolsCommand(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream(), filesystemUpstream(sandbox)}})
	want := map[string]bool{}
	for name := range listTools(t, startDirect(t, npmBin(binEverything), nil).caller()) {
		want["everything__"+name] = true
	}
	for name := range listTools(t, startDirect(t, npmBin(binFilesystem), []string{sandbox}).caller()) {
		want["fs__"+name] = true
	}
	stdout, stderr, code := runGatehouse(t, "tools", "--config", cfg, "--workspace", "dev")
	if code != 0 {
		t.Fatalf("gatehouse tools: exit %d\n%s%s", code, stdout, stderr)
	}
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(stdout, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		words[w] = true
	}
	for _, name := range sortedKeys(want) {
		if !words[name] {
			t.Errorf("gatehouse tools does not print %q:\n%s", name, stdout)
		}
	}
	if _, _, code := runGatehouse(t, "tools", "--config", cfg, "--workspace", "no-such-workspace"); code != 2 {
		t.Errorf("gatehouse tools --workspace no-such-workspace: exit %d; want 2", code)
	}
}
