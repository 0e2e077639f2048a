package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
)

var approvalIDRE = regexp.MustCompile(`approval (ap-[a-z0-9]+)`)

// Out of band, through the running gateway: a call the policy wants
// someone else to approve is parked (the client is told who may approve,
// not handed a command to run); `gatehouse approvals approve` by an
// approver lets the same call run once on retry; a second retry needs a
// new approval; a denial or an approval that lapsed runs nothing; and the
// verdict log shows every step.
func TestOutOfBandApproval(t *testing.T) {
	up := upstreamtest.NewServer(upstreamtest.Options{})
	db := filepath.Join(t.TempDir(), "verdicts.db")
	cfg := writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
approval: {lifetime: 3s}
policies:
  - name: boss-approves-echo
    tools: [echo]
    action: require_approval
    message: Echoes go past the boss.
    in_client: false
    approvers: [boss]
workspaces:
  w:
    upstreams:
      - {name: up, url: %q}
`, db, up.ServeHTTP(t)))
	_, _, c := startServeHTTP(t, gatehouseBinary(t), cfg)

	callEcho := func(msg string) (*mcp.CallToolResult, string) {
		t.Helper()
		_, res, err := callVerdict(t.Context(), c, "up__echo", map[string]any{"message": msg})
		if err != nil {
			t.Fatalf("call echo: %v", err)
		}
		id := ""
		if res.Meta != nil {
			id, _ = res.Meta.AdditionalFields[enforce.MetaApproval].(string)
		}
		return res, id
	}
	parked := func(msg string) string {
		t.Helper()
		res, id := callEcho(msg)
		m := approvalIDRE.FindStringSubmatch(resultText(res))
		if !res.IsError || m == nil || m[1] != id || !strings.Contains(resultText(res), `which "boss" must give as themselves`) || strings.Contains(resultText(res), "approvals approve") {
			t.Fatalf("held call = %q (isError %v, _meta approval %q); want a tool error naming the approval and who may give it", resultText(res), res.IsError, id)
		}
		return id
	}

	id := parked("one")
	if again := parked("one"); again != id {
		t.Errorf("a second call while pending made approval %s; want the same %s", again, id)
	}
	if n := up.Calls.CallCount("echo"); n != 0 {
		t.Fatalf("a parked call reached the upstream %d times", n)
	}

	out, err := runCLI(t, "approvals", "list", "--config", cfg)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "boss-approves-echo") {
		t.Errorf("approvals list = %v\n%s", err, out)
	}
	actAs(t, "mallory")
	if out, err := runCLI(t, "approvals", "approve", id, "--config", cfg); exitCode(err) != exitRuntime {
		t.Errorf("approve by someone not an approver: exit %d\n%s", exitCode(err), out)
	}
	actAs(t, "boss")
	if out, err := runCLI(t, "approvals", "approve", id, "--config", cfg); err != nil {
		t.Fatalf("approve by boss: %v\n%s", err, out)
	}

	// Only the same call runs: other arguments are parked afresh.
	if _, other := callEcho("two"); other == "" || other == id {
		t.Errorf("a call with other arguments ran on approval %s", id)
	}
	res, _ := callEcho("one")
	if res.IsError || resultText(res) != "one" || up.Calls.CallCount("echo") != 1 {
		t.Fatalf("the approved retry = %q (isError %v), upstream ran %d times; want it run once", resultText(res), res.IsError, up.Calls.CallCount("echo"))
	}
	if again := parked("one"); again == id {
		t.Errorf("a second retry reused the spent approval %s", id)
	}

	// Denied: the retry runs nothing.
	denied := parked("three")
	if out, err := runCLI(t, "approvals", "deny", denied, "--reason", "not today", "--config", cfg); err != nil {
		t.Fatalf("deny: %v\n%s", err, out)
	}
	if _, id := callEcho("three"); id == "" || id == denied {
		t.Errorf("the retry after a denial = approval %q; want a new request", id)
	}

	// Lapsed: approved, but the retry comes after the lifetime.
	late := parked("four")
	if out, err := runCLI(t, "approvals", "approve", late, "--config", cfg); err != nil {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	time.Sleep(3500 * time.Millisecond)
	if _, id := callEcho("four"); id == "" || id == late {
		t.Errorf("the retry after the approval lapsed = approval %q; want a new request", id)
	}
	if n := up.Calls.CallCount("echo"); n != 1 {
		t.Errorf("upstream ran echo %d times; want only the approved retry", n)
	}

	// The log has each step: parked calls pending, the retry approved by
	// boss out of band.
	r, err := audit.OpenReader(db)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pending, approved int
	waitUntil(t, "the records", func() bool {
		es, err := r.List(t.Context(), audit.Filter{Tool: "echo"})
		if err != nil {
			t.Fatal(err)
		}
		pending, approved = 0, 0
		for _, e := range es {
			switch {
			case e.Approval == nil:
				t.Errorf("record %s of a held call has no approval part", e.ID)
			case e.Approval.State == "pending" && e.Approval.Via == "out_of_band" && e.Approval.ID != "":
				pending++
			case e.Approval.State == "approved" && e.Approval.By == "boss" && e.Approval.ID == id && e.UpstreamOutcome == "ok":
				approved++
			}
		}
		return pending == 8 && approved == 1
	})
}

// resultText is the text content of a result.
func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// policy list says who may approve what each policy holds.
func TestPolicyListApprovalRules(t *testing.T) {
	cfg := writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
policies:
  - {name: deploys, tools: ["*deploy*"], action: require_approval, in_client: false, approvers: [alice, bob]}
  - {name: moves, tools: ["*move*"], action: require_approval}
  - {name: no-shell, tools: ["*shell*"], action: block}
workspaces:
  w:
    upstreams:
      - {name: a, command: /bin/true}
`, filepath.Join(t.TempDir(), "v.db")))
	out, err := runCLI(t, "policy", "list", "--config", cfg)
	if err != nil || !strings.Contains(out, "enabled,strict,out-of-band,approvers=alice+bob") {
		t.Errorf("policy list = %v\n%s", err, out)
	}
	out, err = runCLI(t, "policy", "list", "--config", cfg, "--json")
	var got []listedPolicy
	if i := strings.Index(out, "["); i > 0 { // after the note that the log does not exist yet
		out = out[i:]
	}
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got) != 3 {
		t.Fatalf("policy list --json = %v\n%s", err, out)
	}
	if a := got[0].Approval; a == nil || a.InClient || strings.Join(a.Approvers, ",") != "alice,bob" {
		t.Errorf("deploys approval = %+v", a)
	}
	if a := got[1].Approval; a == nil || !a.InClient || len(a.Approvers) != 0 {
		t.Errorf("moves approval = %+v", a)
	}
	if got[2].Approval != nil {
		t.Errorf("a block policy lists an approval rule: %+v", got[2].Approval)
	}
}
