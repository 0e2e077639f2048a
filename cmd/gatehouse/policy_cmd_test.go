package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

const policyTestConfig = `version: 1
strict: true
policies:
  - name: no-secrets
    when: {threats: [secret]}
    action: block
    priority: 100
    message: Secrets must not leave.
  - name: prod-db
    tools: ["*sql*"]
    rules: Never delete rows in production.
  - name: old-rule
    enabled: false
    action: block
workspaces:
  dev:
    strict: false
    upstreams:
      - {name: fs, command: /bin/true}
      - {name: db, command: /bin/true, prefix: false}
    policies:
      - name: lax-rule
        tools: ["*sql*"]
        rules: Be careful with SQL.
      - name: redact-ssn
        when: {args: '\b\d{3}-\d{2}-\d{4}\b'}
        action: redact
  prod:
    upstreams:
      - {name: a, command: /bin/true, prefix: false}
      - {name: b, command: /bin/true, prefix: false}
`

// runCLI runs the command line in-process and returns its output and error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestPolicyTestJSON(t *testing.T) {
	cfg := writeConfigText(t, policyTestConfig)
	const secret = "AKIAIOSFODNN7EXAMPLE"
	out, err := runCLI(t, "policy", "test", "--config", cfg, "--workspace", "dev", "--tool", "fs__write_file",
		"--args", `{"path":"a.txt","content":"key `+secret+` ssn 123-45-6789"}`, "--user", "ada", "--client", "cursor", "--json")
	if err != nil {
		t.Fatalf("policy test: %v\n%s", err, out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "123-45-6789") {
		t.Errorf("policy test output shows a secret or a redacted value:\n%s", out)
	}
	var r testReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if r.Decision != "block" || r.Policy != "no-secrets" || r.Layer != "global" || r.Upstream != "fs" || r.Tool != "write_file" || r.User != "ada" || r.Client != "cursor" {
		t.Errorf("policy test = %+v; want block by global no-secrets for fs/write_file, ada, cursor", r)
	}
	if r.Message != `Blocked by policy "no-secrets": Secrets must not leave.` {
		t.Errorf("message = %q", r.Message)
	}
	if r.Arguments != nil {
		t.Errorf("a blocked call shows forwarded arguments: %s", *r.Arguments)
	}
	if len(r.Findings) == 0 || r.Findings[0].Threat != "secret" || r.Findings[0].Path != "$.content" || r.Risk <= 0 {
		t.Errorf("findings = %+v, risk %v; want the secret at $.content", r.Findings, r.Risk)
	}
	var order []string
	for _, p := range r.Policies {
		order = append(order, p.Policy+"="+p.Outcome)
	}
	want := "no-secrets=block,old-rule=disabled,redact-ssn=redact,prod-db=not_applicable,lax-rule=not_applicable"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("policies in evaluation order = %s; want %s", got, want)
	}
}

func TestPolicyTestText(t *testing.T) {
	cfg := writeConfigText(t, policyTestConfig)
	out, err := runCLI(t, "policy", "test", "--config", cfg, "--workspace", "dev", "--tool", "run_sql",
		"--args", `{"sql":"DELETE FROM orders"}`, "--user", "ada")
	if err != nil {
		t.Fatalf("policy test: %v\n%s", err, out)
	}
	// No judge in this build: the strict global rule blocks, the lax
	// workspace one is flagged.
	for _, want := range []string{
		"tool run_sql (upstream db, tool run_sql)",
		`decision:  BLOCK by global policy "prod-db"`,
		`message:   Blocked by policy "prod-db": it could not be evaluated (the judge is not configured: see the gateway's log)`,
		"lax-rule",
		"JUDGE_FAILED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("policy test output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "policy", "test", "--config", cfg, "--workspace", "dev", "--tool", "run_sql", "--args", `{}`, "--no-judge")
	if err != nil || !strings.Contains(out, "decision:  ALLOW") || !strings.Contains(out, "not judged (--no-judge)") {
		t.Errorf("policy test --no-judge = %v:\n%s", err, out)
	}
}

func TestPolicyTestUsage(t *testing.T) {
	cfg := writeConfigText(t, policyTestConfig)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad args", []string{"--workspace", "dev", "--tool", "fs__x", "--args", "{nope"}, "--args: not valid JSON"},
		{"no tool", []string{"--workspace", "dev"}, "exactly one of --tool, --resource and --prompt"},
		{"tool and resource", []string{"--workspace", "dev", "--tool", "fs__x", "--resource", "file:///x"}, "exactly one of --tool, --resource and --prompt"},
		{"resource with args", []string{"--workspace", "dev", "--resource", "file:///x", "--args", "{}"}, "a resource read's only argument is its URI"},
		{"ambiguous bare name", []string{"--workspace", "prod", "--tool", "x"}, "say which with --upstream"},
		{"unknown upstream", []string{"--workspace", "prod", "--tool", "x", "--upstream", "zz"}, `"zz": workspace "prod" has no such upstream`},
		{"unknown workspace", []string{"--workspace", "nope", "--tool", "x"}, "no such workspace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCLI(t, append([]string{"policy", "test", "--config", cfg}, tc.args...)...)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("policy test %v = %v (%s); want exit 2 with %q", tc.args, err, out, tc.want)
			}
		})
	}
}

// policy test decides the side channels as the gateway does: a resource
// read by its URI under resources: scopes, a prompt under prompts: scopes
// and policies without scope.
func TestPolicyTestSideChannels(t *testing.T) {
	cfg := writeConfigText(t, policyTestConfig+`
  side:
    upstreams:
      - {name: fs, command: /bin/true}
    policies:
      - {name: no-etc, resources: ["file:///etc/*"], action: block, message: Not /etc.}
      - {name: ask-review, prompts: ["review"], action: require_approval}
`)
	for _, tc := range []struct {
		args           []string
		method, policy string
		decision, note string
	}{
		{[]string{"--resource", "file:///etc/hosts", "--upstream", "fs"}, "resources/read", "no-etc", "block", ""},
		{[]string{"--resource", "file:///tmp/x"}, "resources/read", "", "allow", "no --upstream"},
		{[]string{"--prompt", "fs__review", "--args", `{"code":"AKIAQWERTYUIOPASDFGH"}`}, "prompts/get", "no-secrets", "block", ""},
		{[]string{"--prompt", "fs__review", "--args", `{"code":"x"}`}, "prompts/get", "ask-review", "require_approval", "approval is for tool calls only"},
		{[]string{"--tool", "fs__review"}, "tools/call", "", "allow", ""},
	} {
		r := runGatehouse(t, append([]string{"policy", "test", "--config", cfg, "--workspace", "side", "--no-judge", "--json"}, tc.args...)...)
		var rep testReport
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil {
			t.Fatalf("policy test %v: %s", tc.args, r)
		}
		if rep.Method != tc.method || rep.Policy != tc.policy || rep.Decision != tc.decision || !strings.Contains(strings.Join(rep.Notes, "\n"), tc.note) {
			t.Errorf("policy test %v = %s by %q, decision %s, notes %v; want %s by %q, %s, a note %q", tc.args, rep.Method, rep.Policy, rep.Decision, rep.Notes, tc.method, tc.policy, tc.decision, tc.note)
		}
	}
	r := runGatehouse(t, "policy", "list", "--config", cfg, "--workspace", "side")
	for _, want := range []string{"resources file:///etc/*", "prompts review", "every request"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("policy list lacks the scope %q:\n%s", want, r.stdout)
		}
	}
}

func TestPolicyList(t *testing.T) {
	cfg := writeConfigText(t, policyTestConfig)
	r := runGatehouse(t, "policy", "list", "--config", cfg, "--json")
	if r.code != 0 {
		t.Fatalf("policy list: %s", r)
	}
	var ps []listedPolicy
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Layer+"/"+p.Workspace+"/"+p.Name+"/"+p.Kind)
	}
	want := "global//no-secrets/block,global//old-rule/block,global//prod-db/rules,workspace/dev/redact-ssn/redact,workspace/dev/lax-rule/rules"
	if strings.Join(got, ",") != want {
		t.Errorf("policy list = %s; want %s", strings.Join(got, ","), want)
	}
	for _, p := range ps {
		switch p.Name {
		case "old-rule":
			if p.Enabled {
				t.Errorf("old-rule listed enabled")
			}
		case "lax-rule":
			if p.Strict {
				t.Errorf("lax-rule is strict; want the workspace's strict: false")
			}
		case "prod-db":
			if !p.Strict {
				t.Errorf("prod-db is not strict: a workspace's strict must not reach a global policy")
			}
		}
		if p.Fired != 0 {
			t.Errorf("%s fired %d times with no verdict log; want 0", p.Name, p.Fired)
		}
	}
	// No verdict log yet: the list still works, and says why FIRED is 0.
	if want := "no verdict log at " + filepath.Join(filepath.Dir(cfg), "gatehouse.db") + " yet"; !strings.Contains(r.stderr, want) {
		t.Errorf("policy list without a verdict log: stderr lacks %q:\n%s", want, r.stderr)
	}
	r = runGatehouse(t, "policy", "list", "--config", cfg, "--workspace", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "DISABLED") || strings.Contains(r.stdout, "lax-rule") {
		t.Errorf("policy list --workspace prod = %s", r)
	}
}

func TestPolicyListFired(t *testing.T) {
	v := newVerdictLog(t, true)
	for _, tc := range []struct {
		name string
		args []string
		want map[string]int // workspace/name: fired
	}{
		{
			// dev's shared never fired in dev; prod's fired twice in prod.
			"last 7 days", nil,
			map[string]int{"/no-secrets": 1, "/old-rule": 0, "/warn-all": 2, "/legacy-block": 0,
				"dev/redact-ssn": 1, "dev/approve-rm": 1, "dev/shared": 0, "prod/shared": 2, "prod/prod-judge": 1},
		},
		{
			"last 30 days", []string{"--since", "30d"},
			map[string]int{"/no-secrets": 1, "/old-rule": 0, "/warn-all": 2, "/legacy-block": 1,
				"dev/redact-ssn": 1, "dev/approve-rm": 1, "dev/shared": 0, "prod/shared": 2, "prod/prod-judge": 1},
		},
		{
			// Global policies count in the workspace's calls only.
			"one workspace", []string{"--workspace", "prod"},
			map[string]int{"/no-secrets": 0, "/old-rule": 0, "/warn-all": 0, "/legacy-block": 0, "prod/shared": 2, "prod/prod-judge": 1},
		},
		{
			"last 15 minutes", []string{"--since", "15m"},
			map[string]int{"/no-secrets": 0, "/old-rule": 0, "/warn-all": 0, "/legacy-block": 0,
				"dev/redact-ssn": 0, "dev/approve-rm": 0, "dev/shared": 0, "prod/shared": 1, "prod/prod-judge": 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGatehouse(t, append([]string{"policy", "list", "--config", v.config, "--json"}, tc.args...)...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("policy list %v: %s", tc.args, r)
			}
			var ps []listedPolicy
			if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
			}
			got := map[string]int{}
			for _, p := range ps {
				got[p.Workspace+"/"+p.Name] = p.Fired
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("policy list %v fired = %v; want %v", tc.args, got, tc.want)
			}

			// The table shows the same counts in its FIRED column.
			r = runGatehouse(t, append([]string{"policy", "list", "--config", v.config}, tc.args...)...)
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			at := strings.Index(lines[0], "FIRED")
			if r.code != 0 || at < 0 || len(lines) != len(ps)+1 {
				t.Fatalf("policy list %v table: %s", tc.args, r)
			}
			for i, l := range lines[1:] {
				cell := strings.Fields(l[at:])[0]
				if want := strconv.Itoa(ps[i].Fired); cell != want {
					t.Errorf("policy list %v: FIRED of %s/%s = %s; want %s\n%s", tc.args, ps[i].Workspace, ps[i].Name, cell, want, r.stdout)
				}
			}
		})
	}
	r := runGatehouse(t, "policy", "list", "--config", v.config, "--since", "soon")
	if r.code != 2 || !strings.Contains(r.stderr, `--since "soon"`) {
		t.Errorf("policy list --since soon = %s; want exit 2", r)
	}
}

// A policy added to the config by a reload applies to the next call,
// without a restart; an invalid policy is rejected and the old ones stay.
func TestServeReloadsPolicies(t *testing.T) {
	bin := gatehouseBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "gatehouse.yaml")
	writeConfig(t, cfgPath, "a")
	base, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	_, logs, c := startServeHTTP(t, bin, cfgPath)
	echo := func() *mcp.CallToolResult {
		res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "a__echo", Arguments: map[string]any{"message": "hi"}}})
		if err != nil {
			t.Fatalf("call a__echo: %v", err)
		}
		return res
	}
	if res := echo(); res.IsError {
		t.Fatalf("echo before the policy = %+v", res)
	}

	policy := "policies:\n  - name: no-echo\n    tools: [echo]\n    action: block\n    message: Echo is off.\n"
	writeAtomically(t, cfgPath, string(base)+policy)
	logs.wait(t, regexp.MustCompile(`msg="config reloaded".*policy_version=`), 10*time.Second)
	blocked := `Blocked by policy "no-echo": Echo is off.`
	if res := echo(); !res.IsError || len(res.Content) == 0 || res.Content[0].(mcp.TextContent).Text != blocked {
		t.Errorf("echo after the reload = %+v; want %q", res, blocked)
	}

	writeAtomically(t, cfgPath, string(base)+"policies:\n  - name: broken\n    action: block\n    when: {args: '('}\n")
	logs.wait(t, regexp.MustCompile(`config reload rejected.*when.args`), 10*time.Second)
	if res := echo(); !res.IsError {
		t.Errorf("echo after a rejected reload = %+v; want the old policy still blocking", res)
	}
}
