//go:build unix

package e2e_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestUpstreamEnvironment checks DESIGN §7: a stdio upstream gets only the
// variables its config lists, plus PATH and HOME. The gateway runs with the
// judge's OPENAI_API_KEY and another variable of its own; server-everything's
// get-env tool shows the upstream's whole environment.
func TestUpstreamEnvironment(t *testing.T) {
	requireAll(t)
	const listed, value = "GATEHOUSE_E2E_LISTED", "given-by-config"
	cfg := writeConfig(t, map[string][]upstreamConfig{"dev": {everythingUpstream(listed + "=" + value)}})
	g := startStdio(t, cfg, "dev", modern, "GATEHOUSE_E2E_UNLISTED=gateway-only")

	res, err := callTool(t, g.client, "everything__get-env", map[string]any{})
	if err != nil || res.IsError {
		t.Fatalf("get-env: %v %+v", err, res)
	}
	text := resultText(res)
	if strings.Contains(text, secretKey) {
		t.Errorf("the upstream sees the gateway's API key %q", secretKey)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(text), &env); err != nil {
		t.Fatalf("get-env output is not a JSON object: %v\n%s", err, text)
	}
	if _, ok := env["OPENAI_API_KEY"]; ok {
		t.Errorf("the upstream's environment has OPENAI_API_KEY")
	}
	if got := env[listed]; got != value {
		t.Errorf("upstream %s = %q; want %q (from the upstream's env: list)", listed, got, value)
	}
	var extra []string
	for k := range env {
		if k != "PATH" && k != "HOME" && k != listed {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	if len(extra) > 0 {
		t.Errorf("the upstream's environment also has %v; want only PATH, HOME and %s", extra, listed)
	}
	if env["PATH"] == "" {
		t.Errorf("the upstream has no PATH")
	}
}
