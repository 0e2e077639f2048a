package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
)

// signalConfig is a config with reload: signal, one workspace w with a
// stdio test server per name, and the global block policies named.
func signalConfig(t *testing.T, upstreams, policies []string) string {
	t.Helper()
	cmd, args := upstreamtest.StdioCommand(t)
	var b strings.Builder
	b.WriteString("version: 1\nreload: signal\npolicies:\n")
	for _, p := range policies {
		fmt.Fprintf(&b, "  - {name: %s, action: block, tools: [%q]}\n", p, "never_"+p)
	}
	b.WriteString("workspaces:\n  w:\n    upstreams:\n")
	for _, n := range upstreams {
		fmt.Fprintf(&b, "      - name: %s\n        command: %q\n        args: [", n, cmd)
		for i, a := range args {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", a)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// With reload: signal, a change to the config file is not applied; SIGHUP
// applies it, and the changed policies are logged at WARN by name.
func TestServeReloadSignalOnly(t *testing.T) {
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	writeAtomically(t, cfgPath, signalConfig(t, []string{"a"}, []string{"kept", "dropped", "edited"}))

	proc, logs, c := startServeHTTP(t, bin, cfgPath)
	logs.wait(t, regexp.MustCompile(`reload: signal`), 10*time.Second)

	next := signalConfig(t, []string{"a", "b"}, []string{"kept", "edited", "added"})
	next = strings.Replace(next, `"never_edited"`, `"never_edited_either"`, 1)
	writeAtomically(t, cfgPath, next)
	time.Sleep(3 * reloadDebounce)
	if names := toolNames(t, c); slices.Contains(names, "b__echo") {
		t.Fatalf("tools after the file changed under reload: signal = %v; want no reload (no b__echo)", names)
	}
	if m := logs.find(regexp.MustCompile(`config reloaded`)); m != nil {
		t.Fatalf("log after the file changed under reload: signal: %q; want no reload", m[0])
	}

	if err := proc.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "b__echo after SIGHUP", func() bool { return slices.Contains(toolNames(t, c), "b__echo") })
	warn := logs.wait(t, regexp.MustCompile(`level=WARN msg="policy version changed.*`), 10*time.Second)[0]
	for _, want := range []string{`added=[global:added]`, `removed=[global:dropped]`, `changed=[global:edited]`} {
		if !strings.Contains(warn, want) {
			t.Errorf("policy change log = %q; want %s in it", warn, want)
		}
	}
}
