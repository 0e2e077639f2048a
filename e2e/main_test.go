//go:build unix

// Package e2e_test drives the gatehouse binary from the outside, the way an
// MCP client and an operator do: it builds cmd/gatehouse once, puts real
// upstream MCP servers from the npm registry behind it (server-everything,
// server-filesystem, server-memory, installed by `npm ci` at the repository
// root) and compares what a client sees through the gateway with what the
// same servers answer directly.
//
// The tests skip when node_modules/.bin lacks the servers, unless
// GATEHOUSE_E2E=1 is set (as .ci/run does): then a missing prerequisite is a
// failure.
package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The npm executables the tests launch, relative to node_modules/.bin.
const (
	binEverything = "mcp-server-everything"
	binFilesystem = "mcp-server-filesystem"
	binMemory     = "mcp-server-memory"
	binInspector  = "mcp-inspector"
	binNode       = "node"
)

var (
	// repoRoot is the module root (the parent of this package's directory).
	repoRoot string
	// nodeBinDir is repoRoot/node_modules/.bin.
	nodeBinDir string
	// gatehouseBin is the gatehouse binary built by TestMain; buildErr says
	// why it could not be built.
	gatehouseBin string
	buildErr     error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	nodeBinDir = filepath.Join(repoRoot, "node_modules", ".bin")

	dir, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	gatehouseBin = filepath.Join(dir, "gatehouse")
	buildErr = buildGatehouse(gatehouseBin)
	return m.Run()
}

// buildGatehouse builds cmd/gatehouse into out, with the race detector when
// this test binary has it, so that races in the gateway surface here too.
func buildGatehouse(out string) error {
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/gatehouse")
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// requireGatehouse fails the test when the binary did not build.
func requireGatehouse(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("build gatehouse: %v", buildErr)
	}
}

// requireNPM skips the test (or, with GATEHOUSE_E2E=1, fails it) when the
// npm servers and Node are not installed under node_modules/.bin.
func requireNPM(t *testing.T) {
	t.Helper()
	var missing []string
	for _, name := range []string{binEverything, binFilesystem, binMemory, binInspector, binNode} {
		if _, err := os.Stat(filepath.Join(nodeBinDir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("%s lacks %s: run `npm ci` at the repository root", nodeBinDir, strings.Join(missing, ", "))
	if os.Getenv("GATEHOUSE_E2E") == "1" {
		t.Fatal(msg + " (GATEHOUSE_E2E=1 makes this a failure)")
	}
	t.Skip(msg)
}

// requireAll is requireGatehouse and requireNPM together: what every test
// that runs the gateway in front of npm servers needs.
func requireAll(t *testing.T) {
	t.Helper()
	requireNPM(t)
	requireGatehouse(t)
}

// npmBin is the path of an executable under node_modules/.bin.
func npmBin(name string) string { return filepath.Join(nodeBinDir, name) }

// searchPath is the PATH given to the gateway and to directly started
// servers: node_modules/.bin first, so `#!/usr/bin/env node` finds Node 22.
func searchPath() string {
	return nodeBinDir + string(os.PathListSeparator) + os.Getenv("PATH")
}
