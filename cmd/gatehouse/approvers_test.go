package main

import (
	"fmt"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// An approver list that the agent's own user satisfies — the user the
// gateway acts for, or the OS user it runs as — is a warning of check.
func TestCheckWarnsOfSelfApproval(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skip("no OS user:", err)
	}
	os := me.Username
	if os == "alice" || os == "bob" {
		t.Skip("the OS user has a name the cases use")
	}
	cfg := writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
policies:
  - {name: alice-alone, tools: ["*deploy*"], action: require_approval, in_client: false, approvers: [alice]}
  - {name: alice-or-bob, tools: ["*push*"], action: require_approval, in_client: false, approvers: [bob, alice]}
  - {name: bob-alone, tools: ["*drop*"], action: require_approval, in_client: false, approvers: [bob]}
  - {name: the-os-user, tools: ["*rm*"], action: require_approval, in_client: false, approvers: [%s]}
  - {name: judged, rules: "Ask before anything that costs money.", in_client: false, approvers: [alice]}
  - {name: bob-or-the-caller, tools: ["*pay*"], action: require_approval, approvers: [bob]}
  - {name: anyone-else, tools: ["*move*"], action: require_approval}
  - {name: off, enabled: false, tools: ["*copy*"], action: require_approval, approvers: [alice]}
  - {name: blocks, tools: ["*shell*"], action: block}
workspaces:
  w:
    upstreams:
      - {name: a, command: /bin/true}
    policies:
      - {name: ws-alice, tools: ["*x*"], action: require_approval, in_client: false, approvers: [alice]}
`, filepath.Join(t.TempDir(), "v.db"), os))
	t.Setenv("GATEHOUSE_USER", "")

	out, err := runCLI(t, "check", "--config", cfg, "--user", "alice")
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	const agent = ", so the agent's own user can approve its calls\n"
	for _, want := range []string{
		"warning: policy alice-alone: approvers [alice] — alice is also the user the gateway acts for" + agent,
		"warning: policy alice-or-bob: approvers [bob, alice] — alice is also the user the gateway acts for" + agent,
		"warning: policy the-os-user: approvers [" + os + "] — " + os + " is also the OS user the gateway runs as" + agent,
		"warning: policy judged: approvers [alice] — alice is also the user the gateway acts for" + agent,
		"warning: policy anyone-else: no approvers, so anyone but alice (the user the gateway acts for) may approve — " + os + ", the OS user the gateway runs as, is not alice" + agent,
		"warning: workspace w, policy ws-alice: approvers [alice] — alice is also the user the gateway acts for" + agent,
		"warning: policy bob-or-the-caller: approvers [bob], but the person at the client may also approve (in_client is not false), so the caller can approve its own calls at the client: set in_client: false for only the approvers to decide\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check --user alice lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "warning:"); n != 7 {
		t.Errorf("check --user alice gave %d warnings; want 7 (none for bob-alone, off, blocks):\n%s", n, out)
	}

	// Acting for the OS user itself: an empty list means anyone but the
	// agent's user, and only the lists naming it warn.
	out, err = runCLI(t, "check", "--config", cfg)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	if strings.Count(out, "warning:") != 2 || !strings.Contains(out, "warning: policy the-os-user: approvers ["+os+"] — "+os+" is also the user the gateway acts for"+agent) {
		t.Errorf("check as the OS user: want two warnings, for the-os-user and bob-or-the-caller:\n%s", out)
	}
}

// serve logs the same warnings at start.
func TestServeWarnsOfSelfApproval(t *testing.T) {
	cfg := writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
policies:
  - {name: alice-alone, tools: ["*deploy*"], action: require_approval, in_client: false, approvers: [alice]}
workspaces:
  w:
    upstreams:
      - {name: a, command: /bin/true}
`, filepath.Join(t.TempDir(), "v.db")))
	t.Setenv("GATEHOUSE_USER", "alice")
	_, logs, _ := startServeHTTP(t, gatehouseBinary(t), cfg)
	logs.wait(t, regexp.MustCompile(`level=WARN msg="policy alice-alone: approvers \[alice\] — alice is also the user the gateway acts for, so the agent's own user can approve its calls"`), 10*time.Second)
}
