package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// approvalsFixture is a verdict log with three out-of-band requests:
//
//	drop  prod ada db__drop_table, anyone but ada may approve, long masked arguments
//	rm    dev  bob fs__rm_tree, carol alone may approve
//	old   prod ada db__drop_table (other arguments), lapsed a minute ago
type approvalsFixture struct {
	*verdictLog
	store          *audit.Approvals
	drop, rm, old  string
	dropKey, rmKey policy.ApprovalKey
}

func newApprovalsFixture(t *testing.T) *approvalsFixture {
	t.Helper()
	f := &approvalsFixture{verdictLog: newVerdictLog(t, true)}
	store, err := audit.OpenApprovals(f.file, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f.store = store
	mk := func(ws, user, upstream, tool, args, masked, pol string, expires time.Time, approvers ...string) (string, policy.ApprovalKey) {
		k := policy.ApprovalKey{Workspace: ws, User: user, Upstream: upstream, Tool: tool, Exposed: upstream + "__" + tool,
			Policy: pol, Arguments: policy.HashArguments(json.RawMessage(args))}
		id, err := store.Request(t.Context(), policy.ApprovalRequest{
			Key: k, Arguments: masked, Reason: pol + " holds this call", Approvers: approvers, Verdict: ulid.Make().String(), Expires: expires,
		})
		if err != nil {
			t.Fatal(err)
		}
		return id, k
	}
	long := strings.Repeat("x", 100)
	now := time.Now()
	f.drop, f.dropKey = mk("prod", "ada", "db", "drop_table", `{"table":"users","note":"`+long+`","key":"`+testSecret+`"}`,
		`{"table": "users", "note": "`+long+`", "key": "[REDACTED]"}`, "approve-drops", now.Add(time.Hour))
	f.rm, f.rmKey = mk("dev", "bob", "fs", "rm_tree", `{"path":"/"}`, `{"path":"/"}`, "approve-rm", now.Add(time.Hour), "carol")
	f.old, _ = mk("prod", "ada", "db", "drop_table", `{"table":"old"}`, `{"table":"old"}`, "approve-drops", now.Add(-time.Minute))
	return f
}

func TestApprovalsList(t *testing.T) {
	f := newApprovalsFixture(t)
	out, err := runCLI(t, "approvals", "list", "--config", f.config)
	if err != nil {
		t.Fatalf("approvals list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if want := []string{"ID", "REQUESTED", "WORKSPACE", "USER", "TOOL", "POLICY", "REASON", "EXPIRES", "STATUS", "ARGUMENTS"}; !slices.Equal(strings.Fields(lines[0]), want) {
		t.Errorf("header = %q; want %v", lines[0], want)
	}
	if len(lines) != 3 {
		t.Fatalf("approvals list printed %d lines; want a header and the 2 pending requests:\n%s", len(lines), out)
	}
	// Newest first: rm was requested after drop.
	if !strings.HasPrefix(lines[1], f.rm+" ") || !strings.HasPrefix(lines[2], f.drop+" ") {
		t.Errorf("rows are not rm then drop:\n%s", out)
	}
	statusAt := strings.Index(lines[0], "STATUS")
	for _, want := range []string{"0s ago", "prod", "ada", "db__drop_table", "approve-drops", "approve-drops holds this call", "in 59m", "pending", `{"table":"users","note":"xxx`, "…"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row of %s lacks %q:\n%s", f.drop, want, lines[2])
		}
	}
	if lines[2][statusAt:statusAt+len("pending")] != "pending" {
		t.Errorf("STATUS column does not line up:\n%s", out)
	}
	if strings.Contains(out, testSecret) {
		t.Errorf("approvals list shows the secret:\n%s", out)
	}

	// --all adds the lapsed request.
	out, err = runCLI(t, "approvals", "list", "--config", f.config, "--all")
	if err != nil || !regexp.MustCompile(`(?m)^`+f.old+` .* 1m ago +expired +\{"table":"old"\}$`).MatchString(out) {
		t.Errorf("approvals list --all = %v; want %s expired a minute ago:\n%s", err, f.old, out)
	}
	// --workspace.
	out, err = runCLI(t, "approvals", "list", "--config", f.config, "--workspace", "dev")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, f.rm) {
		t.Errorf("approvals list --workspace dev = %v; want rm alone:\n%s", err, out)
	}
	out, err = runCLI(t, "approvals", "list", "--config", f.config, "--workspace", "staging")
	if err != nil || out != "nothing pending: no approval request waits for a decision in workspace staging\n" {
		t.Errorf("approvals list of an empty workspace = %v, %q", err, out)
	}
}

func TestApprovalsListJSON(t *testing.T) {
	f := newApprovalsFixture(t)
	out, err := runCLI(t, "approvals", "list", "--config", f.config, "--json", "--all")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("approvals list --json --all printed %d lines; want 3:\n%s", len(lines), out)
	}
	var es []audit.ApprovalEntry
	for _, l := range lines {
		var e audit.ApprovalEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line does not parse: %v\n%s", err, l)
		}
		es = append(es, e)
	}
	status := map[string]string{}
	for _, e := range es {
		status[e.ID] = e.Status
	}
	if want := map[string]string{f.drop: "pending", f.rm: "pending", f.old: "expired"}; fmt.Sprint(status) != fmt.Sprint(want) {
		t.Errorf("statuses = %v; want %v", status, want)
	}
	var rm audit.ApprovalEntry
	for _, e := range es {
		if e.ID == f.rm {
			rm = e
		}
	}
	if rm.Workspace != "dev" || rm.User != "bob" || rm.Tool != "rm_tree" || rm.Exposed != "fs__rm_tree" || rm.Upstream != "fs" ||
		rm.Policy != "approve-rm" || !slices.Equal(rm.Approvers, []string{"carol"}) || string(rm.Arguments) != `{"path":"/"}` || rm.ArgsHash != f.rmKey.Arguments {
		t.Errorf("rm = %+v", rm)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lines[0]), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "created", "expires", "workspace", "user", "tool", "exposed", "upstream", "args_hash", "arguments", "policy", "reason", "approvers", "verdict", "status"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("approvals list --json lacks %q:\n%s", k, lines[0])
		}
	}
	if _, ok := raw["decided_at"]; ok {
		t.Errorf("an undecided request has a decided_at:\n%s", lines[0])
	}
	// Nothing pending: nothing on stdout.
	if out, err := runCLI(t, "approvals", "list", "--config", f.config, "--json", "--workspace", "staging"); err != nil || out != "" {
		t.Errorf("approvals list --json with none = %v, %q; want nothing", err, out)
	}
}

func TestApprovalsDecide(t *testing.T) {
	f := newApprovalsFixture(t)
	ctx := t.Context()
	run := func(args ...string) (string, int) {
		out, err := runCLI(t, append(append([]string{"approvals"}, args...), "--config", f.config)...)
		if err != nil {
			out += err.Error()
		}
		return out, exitCode(err)
	}
	for _, tc := range []struct {
		name string
		by   string // the OS user running the command
		args []string
		code int
		want string
	}{
		{"the caller approves", "ada", []string{"approve", f.drop}, 1, "approve " + f.drop + ": not an approver of the request: ada made the call and may not approve it"},
		{"unknown id", "bob", []string{"approve", "ap-nosuchthing"}, 1, "approve ap-nosuchthing: no such approval request"},
		{"expired", "bob", []string{"approve", f.old}, 1, "approve " + f.old + ": the approval request has expired"},
		{"not listed", "bob", []string{"approve", f.rm}, 1, "bob is not one of its approvers (carol)"},
		{"deny, not listed", "dave", []string{"deny", f.rm}, 1, "dave is neither one of its approvers (carol) nor the caller"},
		{"approve", "bob", []string{"approve", strings.ToUpper(f.drop)}, 0,
			"approved " + f.drop + " as bob: the same call by ada in workspace prod may run once within 1h0m0s (db__drop_table, policy approve-drops)\n"},
		{"approve twice", "carol", []string{"approve", f.drop}, 1, "approve " + f.drop + ": the approval request is not pending: it was approved by bob"},
		{"deny approved", "ada", []string{"deny", f.drop}, 1, "not pending"},
		{"deny own", "bob", []string{"deny", f.rm, "--reason", "wrong\nfolder"}, 0,
			"denied " + f.rm + " as bob: the call by bob in workspace dev will not run (fs__rm_tree, policy approve-rm): wrong folder\n"},
		{"no id", "bob", []string{"approve"}, 2, "accepts 1 arg"},
		{"two ids", "bob", []string{"deny", f.rm, f.drop}, 2, "accepts 1 arg"},
		{"unknown flag", "bob", []string{"list", "--since", "1h"}, 2, "unknown flag"},
		{"argument to list", "bob", []string{"list", f.rm}, 2, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			actAs(t, tc.by)
			out, code := run(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("approvals %v = exit %d, %q; want exit %d with %q", tc.args, code, out, tc.code, tc.want)
			}
		})
	}

	// The approval lets the same call run once; the denied one never.
	if ap, ok, err := f.store.Claim(ctx, f.dropKey); !ok || err != nil || ap.ID != f.drop || ap.By != "bob" {
		t.Errorf("Claim after approve = %+v, %v, %v; want %s by bob", ap, ok, err, f.drop)
	}
	if _, ok, _ := f.store.Claim(ctx, f.dropKey); ok {
		t.Error("the approval ran a second call")
	}
	if _, ok, _ := f.store.Claim(ctx, f.rmKey); ok {
		t.Error("a denied request was claimed")
	}
	rm, _ := f.store.Get(ctx, f.rm)
	if rm.Status != audit.StatusDenied || rm.DecidedBy != "bob" || rm.DecisionReason != "wrong\nfolder" {
		t.Errorf("rm after deny = %+v", rm)
	}
	out, _ := run("list")
	if !strings.HasPrefix(out, "nothing pending") {
		t.Errorf("approvals list after deciding both = %q; want nothing pending", out)
	}

	// The approver is the OS user, whatever $GATEHOUSE_USER or --user say.
	k := policy.ApprovalKey{Workspace: "dev", User: "bob", Tool: "rm_tree", Arguments: policy.HashArguments(json.RawMessage(`{"path":"/tmp"}`))}
	id, err := f.store.Request(ctx, policy.ApprovalRequest{Key: k, Arguments: `{"path":"/tmp"}`, Approvers: []string{"carol"}, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	actAs(t, "bob")
	t.Setenv("GATEHOUSE_USER", "carol")
	if out, code := run("approve", id); code != exitRuntime || !strings.Contains(out, "bob is not one of its approvers (carol)") {
		t.Errorf("approve as OS user bob with $GATEHOUSE_USER=carol = exit %d, %q; want bob refused", code, out)
	}
	for _, verb := range []string{"approve", "deny"} {
		out, code := run(verb, id, "--user", "carol")
		if code != exitUsage || !strings.Contains(out, "--user is not accepted: the approver is the OS user who runs this command") {
			t.Errorf("%s --user carol = exit %d, %q; want a usage error saying why", verb, code, out)
		}
	}
	if e, _ := f.store.Get(ctx, id); e.Status != audit.StatusPending {
		t.Errorf("after the refused attempts the request is %s by %q; want pending", e.Status, e.DecidedBy)
	}
	actAs(t, "carol")
	if out, code := run("approve", id); code != 0 || !strings.HasPrefix(out, "approved "+id+" as carol") {
		t.Errorf("approve as OS user carol = exit %d, %q", code, out)
	}
	if e, _ := f.store.Get(ctx, id); e.DecidedBy != "carol" {
		t.Errorf("decided by %q; want carol", e.DecidedBy)
	}
}

// Without a verdict log there is nothing to list nor decide, and no file
// is created.
func TestApprovalsNoLog(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	cfg := writeConfigText(t, fmt.Sprintf("version: 1\naudit: {database: %q}\nworkspaces:\n  w:\n    upstreams:\n      - {name: a, command: /bin/true}\n", db))
	out, err := runCLI(t, "approvals", "list", "--config", cfg)
	if err != nil || !strings.HasPrefix(out, "nothing pending") {
		t.Errorf("approvals list without a log = %v, %q", err, out)
	}
	actAs(t, "bob")
	out, err = runCLI(t, "approvals", "approve", "ap-abc", "--config", cfg)
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), "no such approval request") || !strings.Contains(err.Error(), db) {
		t.Errorf("approve without a log = exit %d, %v, %q", exitCode(err), err, out)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("approvals created the verdict log: %v", err)
	}
}

// logs, logs show and stats show what became of the calls held for
// approval.
func TestLogsShowApprovals(t *testing.T) {
	f := newApprovalsFixture(t)
	ctx := t.Context()
	base := f.recs[3] // rm_tree, require_approval
	held := func(a policy.ApprovalOutcome) policy.Record {
		r := base
		r.ID, r.Time, r.Approval = ulid.Make().String(), time.Now(), a
		return r
	}
	parked := held(policy.ApprovalOutcome{State: policy.ApprovalPending, Via: policy.ApprovalViaOutOfBand, ID: f.drop})
	if err := f.store.Approve(ctx, f.drop, audit.Approver{Name: "bob", Via: audit.ApproverViaOS}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.store.Claim(ctx, f.dropKey); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ran := held(policy.ApprovalOutcome{State: policy.ApprovalApproved, Via: policy.ApprovalViaOutOfBand, ID: f.drop, By: "bob"})
	ran.Upstream = policy.UpstreamOK
	inClient := held(policy.ApprovalOutcome{State: policy.ApprovalDeclined, Via: policy.ApprovalViaClient, By: "ada"})
	f.write(t, parked, ran, inClient)

	out, err := runCLI(t, "logs", "--config", f.config, "--limit", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// Parked pending, approved since and its retry run: logs says so.
		"require_approval (pending " + f.drop + ", now approved)",
		"require_approval (approved " + f.drop + ")",
		"require_approval (declined)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "logs", "--config", f.config, "--decision", "require_approval")
	if err != nil || !regexp.MustCompile(`(?m)^`+base.ID+` .* require_approval  +approve-rm`).MatchString(out) {
		t.Errorf("a call held before approvals were recorded shows more than its decision (%v):\n%s", err, out)
	}

	out, err = runCLI(t, "logs", "show", "--config", f.config, parked.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"approval:       PENDING, out of band (request " + f.drop + "); now APPROVED",
		"request:        " + f.drop + ": approved by bob at ",
		"; used at ",
		" by verdict " + ran.ID,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs show of the parked call lacks %q:\n%s", want, out)
		}
	}
	out, _ = runCLI(t, "logs", "show", "--config", f.config, inClient.ID)
	if !strings.Contains(out, "approval:       DECLINED, asked in the client, by ada\n") || strings.Contains(out, "request:") {
		t.Errorf("logs show of the call declined in the client:\n%s", out)
	}
	out, _ = runCLI(t, "logs", "show", "--config", f.config, base.ID)
	if strings.Contains(out, "approval:") {
		t.Errorf("logs show of a call with no approval part shows one:\n%s", out)
	}
	out, _ = runCLI(t, "logs", "show", "--config", f.config, "--json", parked.ID)
	var e audit.Entry
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.Approval == nil || e.Approval.Request == nil || e.Approval.Request.Status != "used" {
		t.Errorf("logs show --json = %v:\n%s", err, out)
	}

	out, err = runCLI(t, "logs", "--config", f.config, "--json", "--decision", "require_approval")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Contains(lines[0], `"approval"`) || !strings.Contains(lines[1], `"approval":{"state":"pending","via":"out_of_band","id":"`+f.drop+`","now":"approved"}`) {
		t.Errorf("logs --json approval parts:\n%s", out)
	}

	out, err = runCLI(t, "stats", "--config", f.config, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep statsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// The parked call counts as what became of its request: approved.
	if want := (audit.HeldCounts{Approved: 2, Declined: 1}); rep.Held != want {
		t.Errorf("stats held = %+v; want %+v", rep.Held, want)
	}
	// drop used, rm pending, old expired.
	if want := (audit.RequestCounts{Used: 1, Pending: 1, Expired: 1}); rep.Requests != want {
		t.Errorf("stats requests = %+v; want %+v", rep.Requests, want)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal([]byte(out), &raw)
	if string(raw["held_for_approval"]) == "" || string(raw["approval_requests"]) == "" {
		t.Errorf("stats --json lacks held_for_approval or approval_requests:\n%s", out)
	}
	out, _ = runCLI(t, "stats", "--config", f.config)
	for _, want := range []string{
		`calls held for approval, by outcome now:\n  approved\s+2\n  declined\s+1\n  cancelled\s+0\n  expired\s+0\n  pending\s+0\n  unavailable\s+0\n`,
		`out-of-band approval requests, by status now:\n  pending\s+1\n  approved\s+0\n  denied\s+0\n  used\s+1\n  expired\s+1\n`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("stats does not match %s:\n%s", want, out)
		}
	}
}

// actAs makes name the approver that `gatehouse approvals approve` and
// `deny` establish, for the rest of the test: the stand-in for running
// them as that OS user. Nothing at run time can do this.
func actAs(t *testing.T, name string) {
	t.Helper()
	old := establishApprover
	establishApprover = func() (audit.Approver, error) {
		return audit.Approver{Name: name, Via: audit.ApproverViaOS}, nil
	}
	t.Cleanup(func() { establishApprover = old })
}

// Without the test hook, the approver is the OS user running the command.
func TestApprovalsDecideAsOSUser(t *testing.T) {
	f := newApprovalsFixture(t)
	me, err := user.Current()
	if err != nil {
		t.Skip("no OS user:", err)
	}
	if me.Username == "carol" {
		t.Skip("the OS user is carol, rm's approver")
	}
	t.Setenv("GATEHOUSE_USER", "carol")
	_, err = runCLI(t, "approvals", "approve", f.rm, "--config", f.config)
	if want := me.Username + " is not one of its approvers (carol)"; exitCode(err) != exitRuntime || !strings.Contains(err.Error(), want) {
		t.Errorf("approve as the OS user %s = %v; want %q", me.Username, err, want)
	}
}
