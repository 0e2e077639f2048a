package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// auditTestConfig has global policies and two workspaces with their own,
// one name (shared) in both; %q is the verdict log's path.
const auditTestConfig = `version: 1
audit: {database: %q}
policies:
  - name: no-secrets
    when: {threats: [secret]}
    action: block
    priority: 100
  - name: old-rule
    enabled: false
    action: block
  - name: warn-all
    action: warn
  - name: legacy-block
    tools: ["legacy*"]
    action: block
workspaces:
  dev:
    upstreams:
      - {name: fs, command: /bin/true}
    policies:
      - name: redact-ssn
        when: {args: '\b\d{3}-\d{2}-\d{4}\b'}
        action: redact
      - name: approve-rm
        tools: ["rm*"]
        action: require_approval
      - name: shared
        tools: ["nothing"]
        action: warn
  prod:
    upstreams:
      - {name: a, command: /bin/true}
    policies:
      - name: shared
        action: warn
      - name: prod-judge
        rules: Never drop tables.
`

// testSecret is an AWS key the detectors find: the log must never show it.
const testSecret = "AKIAIOSFODNN7EXAMPLE"

// verdictLog is a verdict log written by the test and a config that points
// at it.
type verdictLog struct {
	file, config string
	recs         []policy.Record // in the order written
}

// newVerdictLog writes a config whose verdict log is in a fresh directory,
// and, unless empty, the records of auditRecords to the log.
func newVerdictLog(t *testing.T, records bool) *verdictLog {
	t.Helper()
	dir := t.TempDir()
	v := &verdictLog{file: filepath.Join(dir, "verdicts.db"), config: filepath.Join(dir, "gatehouse.yaml")}
	if err := os.WriteFile(v.config, fmt.Appendf(nil, auditTestConfig, v.file), 0o600); err != nil {
		t.Fatal(err)
	}
	if records {
		v.write(t, auditRecords(time.Now())...)
	}
	return v
}

// write adds recs to the log and waits until they are on disk.
func (v *verdictLog) write(t *testing.T, recs ...policy.Record) {
	t.Helper()
	l, err := audit.Open(v.file, audit.Options{Arguments: policy.ArgumentsMasked}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := l.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	v.recs = append(v.recs, recs...)
}

// id is the verdict id of the i-th record written.
func (v *verdictLog) id(i int) string { return v.recs[i].ID }

func (v *verdictLog) ids(is ...int) []string {
	out := make([]string, len(is))
	for k, i := range is {
		out[k] = v.id(i)
	}
	return out
}

func millisecs(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }

// auditRecords are seven calls: the first ten days before now, the others
// within the last hour, in this order:
//
//	0 dev  ada   fs__legacy_tool block   legacy-block (10 days ago)
//	1 dev  ada   fs__write_file  block   no-secrets (a secret in the arguments)
//	2 dev  bob   fs__read_file   allow   warn-all and redact-ssn fired; upstream ok
//	3 dev  ada   fs__rm_tree     require_approval approve-rm; warn-all fired
//	4 prod carol a__query        allow   judge failed, fail-open; shared fired; upstream tool error
//	5 prod carol a__query        block   prod-judge violated (judged); shared fired
//	6 prod dave  a__list         allow   nothing fired; upstream transport error
func auditRecords(now time.Time) []policy.Record {
	at := func(ago time.Duration) time.Time { return now.Add(-ago) }
	res := func(name string, layer policy.Layer, kind string, o policy.Outcome, why string) policy.Result {
		return policy.Result{Policy: name, Layer: layer, Kind: kind, Outcome: o, Why: why}
	}
	g, w := policy.LayerGlobal, policy.LayerWorkspace
	recs := []policy.Record{
		{
			Time: at(10 * 24 * time.Hour),
			Call: policy.Call{Workspace: "dev", Upstream: "fs", Tool: "legacy_tool", Exposed: "fs__legacy_tool", User: "ada", Client: "cursor", Arguments: json.RawMessage(`{}`)},
			Verdict: policy.Verdict{Decision: policy.DecisionBlock, Policy: "legacy-block", Layer: g, Reason: "legacy tools are off",
				Results: []policy.Result{res("legacy-block", g, "block", policy.OutcomeBlock, "tool legacy_tool")}, Version: "v1"},
			Upstream: policy.UpstreamNotRun, Overhead: millisecs(9),
		},
		{
			Time: at(50 * time.Minute),
			Call: policy.Call{Workspace: "dev", Upstream: "fs", Tool: "write_file", Exposed: "fs__write_file", User: "ada", Client: "cursor", Session: "s-1",
				Arguments: json.RawMessage(`{"path":"a.txt","content":"key ` + testSecret + `"}`)},
			Verdict: policy.Verdict{Decision: policy.DecisionBlock, Policy: "no-secrets", Layer: g,
				Reason:  "a secret (aws_access_key) at $.content\nsecond line of the reason, long enough to be cut in the table: " + strings.Repeat("x", 100),
				Message: `Blocked by policy "no-secrets"`,
				Results: []policy.Result{
					res("no-secrets", g, "block", policy.OutcomeBlock, "secret at $.content"),
					res("redact-ssn", w, "redact", policy.OutcomeNotApplicable, "no match"),
				},
				Findings: []policy.Detection{{Threat: policy.ThreatSecret, Kind: "aws_access_key", Severity: 0.9, Path: "$.content", Masked: "AKIA************MPLE"}},
				Risk:     0.9, Version: "v2"},
			Upstream: policy.UpstreamNotRun, Overhead: millisecs(1),
		},
		{
			Time: at(40 * time.Minute),
			Call: policy.Call{Workspace: "dev", Upstream: "fs", Tool: "read_file", Exposed: "fs__read_file", User: "bob", Client: "claude",
				Arguments: json.RawMessage(`{"path":"b.txt","ssn":"123-45-6789"}`)},
			Verdict: policy.Verdict{Decision: policy.DecisionAllow,
				Results: []policy.Result{
					res("warn-all", g, "warn", policy.OutcomeWarn, "every tool"),
					res("redact-ssn", w, "redact", policy.OutcomeRedact, "matched at $.ssn"),
				},
				Warnings:   []policy.Warning{{Policy: "warn-all", Message: "everything is watched"}},
				Redactions: []policy.Redaction{{Policy: "redact-ssn", Path: "$.ssn", What: "args"}},
				Version:    "v2"},
			Upstream: policy.UpstreamOK, UpstreamLatency: millisecs(12.5), Overhead: millisecs(2),
		},
		{
			Time: at(30 * time.Minute),
			Call: policy.Call{Workspace: "dev", Upstream: "fs", Tool: "rm_tree", Exposed: "fs__rm_tree", User: "ada", Client: "cursor", Arguments: json.RawMessage(`{"path":"/"}`)},
			Verdict: policy.Verdict{Decision: policy.DecisionRequireApproval, Policy: "approve-rm", Layer: w, Reason: "removal needs approval",
				Results: []policy.Result{
					res("approve-rm", w, "require_approval", policy.OutcomeApproval, "tool rm_tree"),
					res("warn-all", g, "warn", policy.OutcomeWarn, "every tool"),
				}, Version: "v2"},
			Upstream: policy.UpstreamNotRun, Overhead: millisecs(3),
		},
		{
			Time: at(20 * time.Minute),
			Call: policy.Call{Workspace: "prod", Upstream: "a", Tool: "query", Exposed: "a__query", User: "carol", Client: "cursor", Arguments: json.RawMessage(`{"sql":"SELECT 1"}`)},
			Verdict: policy.Verdict{Decision: policy.DecisionAllow,
				Results: []policy.Result{
					res("shared", w, "warn", policy.OutcomeWarn, "every tool"),
					res("prod-judge", w, "rules", policy.OutcomeJudgeFailed, "judge timed out"),
				},
				Judge:   policy.JudgeOutcome{Asked: true, Model: "judge-1", Latency: millisecs(100), Err: errors.New("judge timed out"), FailOpen: true},
				Version: "v3"},
			Upstream: policy.UpstreamToolError, UpstreamError: "boom", UpstreamLatency: millisecs(7), Overhead: millisecs(4),
		},
		{
			Time: at(10 * time.Minute),
			Call: policy.Call{Workspace: "prod", Upstream: "a", Tool: "query", Exposed: "a__query", User: "carol", Client: "cursor", Arguments: json.RawMessage(`{"sql":"DROP TABLE t"}`)},
			Verdict: policy.Verdict{Decision: policy.DecisionBlock, Policy: "prod-judge", Layer: w, Reason: "drops a table",
				Results: []policy.Result{
					res("shared", w, "warn", policy.OutcomeWarn, "every tool"),
					res("prod-judge", w, "rules", policy.OutcomeViolate, "drops a table"),
				},
				Judge:   policy.JudgeOutcome{Asked: true, Model: "judge-1", Latency: millisecs(300), Cached: true},
				Version: "v3"},
			Upstream: policy.UpstreamNotRun, Overhead: millisecs(5),
		},
		{
			Time:     at(5 * time.Minute),
			Call:     policy.Call{Workspace: "prod", Upstream: "a", Tool: "list", Exposed: "a__list", User: "dave", Arguments: json.RawMessage(`{}`)},
			Verdict:  policy.Verdict{Decision: policy.DecisionAllow, Version: "v3"},
			Upstream: policy.UpstreamTransportError, UpstreamError: "connection refused", UpstreamLatency: millisecs(1), Overhead: millisecs(6),
		},
	}
	for i := range recs {
		recs[i].ID = ulid.Make().String()
	}
	return recs
}

// runResult is how a run of the binary ended.
type runResult struct {
	stdout, stderr string
	code           int
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runGatehouse runs the binary with args and returns what it printed and its
// exit code.
func runGatehouse(t *testing.T, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(gatehouseBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("gatehouse %v: %v", args, err)
	}
	return runResult{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// tableIDs are the verdict ids of the rows of a logs table, checking the
// header comes first.
func tableIDs(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "REASON") {
		t.Fatalf("logs table does not start with its header:\n%s", out)
	}
	ids := []string{}
	for _, l := range lines[1:] {
		ids = append(ids, strings.Fields(l)[0])
	}
	return ids
}

func TestLogsTableAndFilters(t *testing.T) {
	v := newVerdictLog(t, true)
	for _, tc := range []struct {
		name string
		args []string
		want []int // indexes into auditRecords, in the order printed
	}{
		{"all", nil, []int{0, 1, 2, 3, 4, 5, 6}},
		{"workspace", []string{"--workspace", "prod"}, []int{4, 5, 6}},
		{"policy decided", []string{"--policy", "no-secrets"}, []int{1}},
		{"policy fired", []string{"--policy", "warn-all"}, []int{2, 3}},
		{"policy judged", []string{"--policy", "prod-judge"}, []int{5}}, // judge_failed did not fire
		{"decision", []string{"--decision", "block"}, []int{0, 1, 5}},
		{"approval", []string{"--decision", "require_approval"}, []int{3}},
		{"user", []string{"--user", "carol"}, []int{4, 5}},
		{"exposed tool", []string{"--tool", "a__query"}, []int{4, 5}},
		{"upstream's tool", []string{"--tool", "query"}, []int{4, 5}},
		{"limit keeps the last", []string{"--limit", "2"}, []int{5, 6}},
		{"since", []string{"--since", "7d"}, []int{1, 2, 3, 4, 5, 6}},
		{"since hours", []string{"--since", "25m"}, []int{4, 5, 6}},
		{"filters combine", []string{"--workspace", "dev", "--decision", "block", "--since", "1h"}, []int{1}},
		{"nothing matches", []string{"--user", "nobody"}, []int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGatehouse(t, append([]string{"logs", "--config", v.config}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("logs %v: %s", tc.args, r)
			}
			if got, want := tableIDs(t, r.stdout), v.ids(tc.want...); !slices.Equal(got, want) {
				t.Errorf("logs %v printed records %v; want %v\n%s", tc.args, got, want, r.stdout)
			}
		})
	}
}

func TestLogsTableColumns(t *testing.T) {
	v := newVerdictLog(t, true)
	r := runGatehouse(t, "logs", "--config", v.config)
	if r.code != 0 {
		t.Fatal(r)
	}
	if strings.Contains(r.stdout, testSecret) {
		t.Errorf("logs shows the secret:\n%s", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("logs printed %d lines; want a header and 7 rows, one line each:\n%s", len(lines), r.stdout)
	}
	header := strings.Fields(lines[0])
	if want := []string{"ID", "TIME", "WORKSPACE", "USER", "TOOL", "DECISION", "POLICY", "REASON"}; !slices.Equal(header, want) {
		t.Errorf("header = %v; want %v", header, want)
	}
	// Columns line up: each header word starts where the rows' cells do.
	reasonAt := strings.Index(lines[0], "REASON")
	for _, l := range lines[1:] {
		if l[reasonAt-2:reasonAt] != "  " || l[reasonAt] == ' ' {
			t.Errorf("row does not line up with the REASON column at %d:\n%s\n%s", reasonAt, lines[0], l)
		}
	}
	row := lines[2] // record 1
	when := v.recs[1].Time.Local().Format("2006-01-02 15:04:05")
	for _, want := range []string{v.id(1), when, "dev", "ada", "fs__write_file", "block", "no-secrets", "a secret (aws_access_key) at $.content second line"} {
		if !strings.Contains(row, want) {
			t.Errorf("row of record 1 lacks %q:\n%s", want, row)
		}
	}
	reason := row[reasonAt:]
	if n := len([]rune(reason)); n > 80 || !strings.HasSuffix(reason, "…") {
		t.Errorf("the long reason is not cut to 80 characters with …: %d characters: %q", n, reason)
	}
	if !strings.Contains(lines[7], "no policy decided") || !strings.Contains(lines[7], " - ") {
		t.Errorf("a call no policy decided shows neither a dash for POLICY nor why:\n%s", lines[7])
	}
}

func TestLogsJSON(t *testing.T) {
	v := newVerdictLog(t, true)
	r := runGatehouse(t, "logs", "--config", v.config, "--json", "--limit", "0")
	if r.code != 0 {
		t.Fatal(r)
	}
	if strings.Contains(r.stdout, testSecret) || strings.Contains(r.stdout, "123-45-6789") {
		t.Errorf("logs --json shows a secret or a redacted value:\n%s", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(v.recs) {
		t.Fatalf("logs --json printed %d lines; want one per record (%d):\n%s", len(lines), len(v.recs), r.stdout)
	}
	var es []audit.Entry
	for _, l := range lines {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line does not parse as an Entry: %v\n%s", err, l)
		}
		es = append(es, e)
	}
	for i, e := range es {
		rec := v.recs[i]
		checkEntry(t, e, rec)
	}

	// Record 1 in detail: masked arguments, findings, results.
	e := es[1]
	var args map[string]string
	if err := json.Unmarshal(e.Arguments, &args); err != nil || e.ArgumentsForm != "masked" {
		t.Fatalf("arguments = %s (%s); want a masked JSON object", e.Arguments, e.ArgumentsForm)
	}
	if args["path"] != "a.txt" || args["content"] != "key [REDACTED]" {
		t.Errorf("masked arguments = %v; want the key replaced by [REDACTED]", args)
	}
	wantResults := []audit.Result{
		{Policy: "no-secrets", Layer: "global", Kind: "block", Outcome: "block", Why: "secret at $.content"},
		{Policy: "redact-ssn", Layer: "workspace", Kind: "redact", Outcome: "not_applicable", Why: "no match"},
	}
	if !reflect.DeepEqual(e.Results, wantResults) {
		t.Errorf("results = %+v; want %+v", e.Results, wantResults)
	}
	wantFindings := []audit.Finding{{Threat: "secret", Kind: "aws_access_key", Severity: 0.9, Path: "$.content", Masked: "AKIA************MPLE"}}
	if !reflect.DeepEqual(e.Findings, wantFindings) || e.Risk != 0.9 {
		t.Errorf("findings = %+v, risk %v; want %+v, 0.9", e.Findings, e.Risk, wantFindings)
	}
	// Record 2: warnings, redactions, upstream latency.
	e = es[2]
	if !reflect.DeepEqual(e.Warnings, []audit.Warning{{Policy: "warn-all", Message: "everything is watched"}}) ||
		!reflect.DeepEqual(e.Redactions, []audit.Redaction{{Policy: "redact-ssn", Path: "$.ssn", What: "args"}}) {
		t.Errorf("warnings %+v, redactions %+v; want warn-all's and redact-ssn's", e.Warnings, e.Redactions)
	}
	if e.UpstreamLatencyMS == nil || *e.UpstreamLatencyMS != 12.5 || e.OverheadMS != 2 {
		t.Errorf("upstream latency %v, overhead %v; want 12.5 and 2", e.UpstreamLatencyMS, e.OverheadMS)
	}
	// Record 4: the judge failed, fail-open.
	e = es[4]
	if !e.Judge.Asked || e.Judge.Model != "judge-1" || e.Judge.Error != "judge timed out" || !e.Judge.FailOpen || e.Judge.LatencyMS == nil || *e.Judge.LatencyMS != 100 {
		t.Errorf("judge = %+v; want asked judge-1, failed, fail-open, 100 ms", e.Judge)
	}
	if e.UpstreamOutcome != "tool_error" || e.UpstreamError != "boom" {
		t.Errorf("upstream = %s %q; want tool_error boom", e.UpstreamOutcome, e.UpstreamError)
	}

	// Filters apply to --json too; nothing but the records goes to stdout.
	r = runGatehouse(t, "logs", "--config", v.config, "--json", "--workspace", "prod", "--decision", "block")
	var one audit.Entry
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || json.Unmarshal([]byte(r.stdout), &one) != nil || one.ID != v.id(5) {
		t.Errorf("logs --json --workspace prod --decision block = %s; want record 5 alone", r)
	}
}

// checkEntry compares what logs printed of a record with what was
// recorded.
func checkEntry(t *testing.T, e audit.Entry, rec policy.Record) {
	t.Helper()
	c, vd := rec.Call, rec.Verdict
	got := []any{e.ID, e.Workspace, e.User, e.Client, e.Session, e.Upstream, e.Tool, e.Exposed, e.Decision, e.Policy, e.Layer, e.Message, e.PolicyVersion, e.UpstreamOutcome, e.UpstreamError, e.Risk}
	want := []any{rec.ID, c.Workspace, c.User, c.Client, c.Session, c.Upstream, c.Tool, c.Exposed, string(vd.Decision), vd.Policy, string(vd.Layer), vd.Message, vd.Version, string(rec.Upstream), rec.UpstreamError, vd.Risk}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entry %s = %v; want %v", rec.ID, got, want)
	}
	if !e.Time.Equal(rec.Time.Truncate(time.Microsecond)) {
		t.Errorf("entry %s time = %v; want %v", rec.ID, e.Time, rec.Time)
	}
	if e.Reason != vd.Reason {
		t.Errorf("entry %s reason = %q; want %q", rec.ID, e.Reason, vd.Reason)
	}
	if e.OverheadMS != float64(rec.Overhead.Microseconds())/1000 {
		t.Errorf("entry %s overhead = %v ms; want %v", rec.ID, e.OverheadMS, rec.Overhead)
	}
	if len(e.Results) != len(vd.Results) || len(e.Warnings) != len(vd.Warnings) || len(e.Redactions) != len(vd.Redactions) || len(e.Findings) != len(vd.Findings) {
		t.Errorf("entry %s has %d results, %d warnings, %d redactions, %d findings; want %d, %d, %d, %d", rec.ID,
			len(e.Results), len(e.Warnings), len(e.Redactions), len(e.Findings), len(vd.Results), len(vd.Warnings), len(vd.Redactions), len(vd.Findings))
	}
}

func TestLogsShow(t *testing.T) {
	v := newVerdictLog(t, true)
	id := v.id(4)
	full := runGatehouse(t, "logs", "show", "--config", v.config, id)
	if full.code != 0 {
		t.Fatal(full)
	}
	for _, want := range []string{
		"verdict:        " + id,
		"workspace:      prod",
		"user:           carol",
		"client:         cursor",
		"tool:           a__query (upstream a, tool query)",
		"decision:       ALLOW (no policy decided)",
		`"sql": "SELECT 1"`,
		"workspace  shared      warn   WARN          every tool",
		"workspace  prod-judge  rules  JUDGE_FAILED  judge timed out",
		"judge:          asked, model judge-1, 100 ms, failed: judge timed out, FAIL-OPEN",
		"upstream:       tool error in 7 ms: boom",
		"overhead:       4 ms",
		"policy version: v3",
	} {
		if !strings.Contains(full.stdout, want) {
			t.Errorf("logs show lacks %q:\n%s", want, full.stdout)
		}
	}

	// A prefix names the same record; so does the id in lower case.
	if prefix := runGatehouse(t, "logs", "show", "--config", v.config, strings.ToLower(id[:22])); prefix.code != 0 || prefix.stdout != full.stdout {
		t.Errorf("logs show PREFIX printed otherwise than logs show ID: %s", prefix)
	}

	// The secret record: masked arguments pretty-printed, findings,
	// the deciding policy and the message.
	r := runGatehouse(t, "logs", "show", "--config", v.config, v.id(1))
	if r.code != 0 || strings.Contains(r.stdout, testSecret) {
		t.Fatalf("logs show of the secret record: %s", r)
	}
	for _, want := range []string{
		`decision:       BLOCK by global policy "no-secrets"`,
		"reason:         a secret (aws_access_key) at $.content\n                second line",
		`message:        Blocked by policy "no-secrets"`,
		"arguments:      (masked)\n                {\n                  \"content\": \"key [REDACTED]\",",
		"secret  aws_access_key  severity 0.90  at $.content  AKIA************MPLE",
		"risk:           0.90",
		"session:        s-1",
		"upstream:       not run",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("logs show %s lacks %q:\n%s", v.id(1), want, r.stdout)
		}
	}
	r = runGatehouse(t, "logs", "show", "--config", v.config, v.id(2))
	for _, want := range []string{"warning:        warn-all: everything is watched", "redacted:       redact-ssn at $.ssn (args)", "upstream:       ok in 12.5 ms", "judge:          not asked"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("logs show %s lacks %q:\n%s", v.id(2), want, r.stdout)
		}
	}

	// --json: one indented Entry.
	r = runGatehouse(t, "logs", "show", "--config", v.config, "--json", id)
	var e audit.Entry
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || r.code != 0 || !strings.HasPrefix(r.stdout, "{\n  ") {
		t.Fatalf("logs show --json = %v: %s", err, r)
	}
	checkEntry(t, e, v.recs[4])

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown id", []string{"01ZZZZZZZZZZZZZZZZZZZZZZZZ"}, 1, `no verdict "01ZZZZZZZZZZZZZZZZZZZZZZZZ"`},
		{"ambiguous prefix", []string{id[:1]}, 1, "more than one verdict"},
		{"no id", nil, 2, "accepts 1 arg"},
		{"two ids", []string{id, id}, 2, "accepts 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGatehouse(t, append([]string{"logs", "show", "--config", v.config}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("logs show %v = %s; want exit %d with %q", tc.args, r, tc.code, tc.want)
			}
		})
	}
}

func TestLogsUsageErrors(t *testing.T) {
	v := newVerdictLog(t, true)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad decision", []string{"--decision", "deny"}, `--decision "deny": want one of allow, block, require_approval`},
		{"bad since", []string{"--since", "yesterday"}, `--since "yesterday"`},
		{"negative since", []string{"--since", "-1h"}, `--since "-1h"`},
		{"negative limit", []string{"--limit", "-1"}, "--limit -1"},
		{"not a number", []string{"--limit", "many"}, "--limit"},
		{"unknown flag", []string{"--level", "x"}, "unknown flag: --level"},
		{"argument", []string{"everything"}, `unknown command "everything"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGatehouse(t, append([]string{"logs", "--config", v.config}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("logs %v = %s; want exit 2 with %q", tc.args, r, tc.want)
			}
		})
	}
}

func TestLogsNoLog(t *testing.T) {
	v := newVerdictLog(t, false)
	want := "no verdict log at " + v.file + " yet"
	for _, args := range [][]string{
		{"logs"}, {"logs", "--json"}, {"logs", "show", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"}, {"stats"}, {"stats", "--json"},
	} {
		r := runGatehouse(t, append(args, "--config", v.config)...)
		if r.code != 1 || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Errorf("%v without a log = %s; want exit 1 with %q", args, r, want)
		}
	}
	if _, err := os.Stat(v.file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading a missing log created it: %v", err)
	}

	// An empty log: the header alone, or nothing.
	v.write(t)
	r := runGatehouse(t, "logs", "--config", v.config)
	if r.code != 0 || len(tableIDs(t, r.stdout)) != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("logs of an empty log = %s; want the header alone", r)
	}
	r = runGatehouse(t, "logs", "--config", v.config, "--json")
	if r.code != 0 || r.stdout != "" {
		t.Errorf("logs --json of an empty log = %s; want nothing", r)
	}
}

// follower is a `gatehouse logs --follow` running in the background.
type follower struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string
	stderr bytes.Buffer
	done   chan struct{}
}

func startFollow(t *testing.T, args ...string) *follower {
	t.Helper()
	f := &follower{cmd: exec.Command(gatehouseBinary(t), append([]string{"logs", "--follow"}, args...)...), done: make(chan struct{})}
	f.cmd.Stderr = &syncWriter{mu: &f.mu, w: &f.stderr}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f.mu.Lock()
			f.lines = append(f.lines, sc.Text())
			f.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if f.cmd.ProcessState == nil {
			_ = f.cmd.Process.Kill()
			<-f.done
			_ = f.cmd.Wait()
		}
	})
	return f
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (f *follower) output() ([]string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lines), f.stderr.String()
}

// waitLines waits until the follower has printed n lines.
func (f *follower) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		lines, stderr := f.output()
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs --follow printed %d lines; want %d:\n%s\nstderr:\n%s", len(lines), n, strings.Join(lines, "\n"), stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// interrupt sends SIGINT and returns the exit code.
func (f *follower) interrupt(t *testing.T) int {
	t.Helper()
	if err := f.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case <-f.done:
	case <-ctx.Done():
		t.Fatal("logs --follow did not end within 10s of SIGINT")
	}
	err := f.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return f.cmd.ProcessState.ExitCode()
}

func TestLogsFollow(t *testing.T) {
	v := newVerdictLog(t, true)
	f := startFollow(t, "--config", v.config, "--workspace", "prod", "--limit", "2")
	lines := f.waitLines(t, 3)
	if got, want := tableIDs(t, strings.Join(lines, "\n")), v.ids(5, 6); !slices.Equal(got, want) {
		t.Fatalf("logs --follow --limit 2 printed %v first; want %v", got, want)
	}

	// New records: one of another workspace, which must not show, then
	// two of prod, in two writes.
	now := time.Now()
	more := auditRecords(now)
	v.write(t, more[1]) // dev
	v.write(t, more[4]) // prod
	v.write(t, more[6]) // prod
	f.waitLines(t, 5)
	time.Sleep(4 * followInterval) // time to print what it should not
	lines, _ = f.output()
	if got, want := tableIDs(t, strings.Join(lines, "\n")), v.ids(5, 6, 8, 9); !slices.Equal(got, want) {
		t.Errorf("logs --follow printed %v; want %v (not the dev record %s)\n%s", got, want, v.id(7), strings.Join(lines, "\n"))
	}
	if n := strings.Count(strings.Join(lines, "\n"), "REASON"); n != 1 {
		t.Errorf("logs --follow printed the header %d times; want once", n)
	}
	// The rows printed later line up with the first ones.
	reasonAt := strings.Index(lines[0], "REASON")
	for _, l := range lines[1:] {
		if len(l) <= reasonAt || l[reasonAt-2:reasonAt] != "  " || l[reasonAt] == ' ' {
			t.Errorf("followed row does not line up with the REASON column at %d:\n%s\n%s", reasonAt, lines[0], l)
		}
	}
	if code := f.interrupt(t); code != 0 {
		_, stderr := f.output()
		t.Errorf("logs --follow ended with exit %d on SIGINT; want 0\nstderr:\n%s", code, stderr)
	}
}

// With no log yet, --follow waits for the gateway to create it.
func TestLogsFollowWaitsForLog(t *testing.T) {
	v := newVerdictLog(t, false)
	f := startFollow(t, "--config", v.config, "--json", "--decision", "block")
	waitUntil(t, "the waiting message", func() bool {
		_, stderr := f.output()
		return strings.Contains(stderr, "no verdict log at "+v.file+" yet") && strings.Contains(stderr, "waiting for it")
	})
	recs := auditRecords(time.Now())
	v.write(t, recs[1], recs[2]) // block, allow
	v.write(t, recs[5])          // block
	f.waitLines(t, 2)
	time.Sleep(4 * followInterval)
	lines, _ := f.output()
	var got []string
	for _, l := range lines {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("logs --follow --json printed a line that is not an Entry: %v\n%s", err, l)
		}
		got = append(got, e.ID)
	}
	if want := []string{recs[1].ID, recs[5].ID}; !slices.Equal(got, want) {
		t.Errorf("logs --follow --json --decision block printed %v; want %v", got, want)
	}
	if code := f.interrupt(t); code != 0 {
		t.Errorf("logs --follow ended with exit %d on SIGINT; want 0", code)
	}
}

// Interrupted while still waiting for the log, --follow ends normally.
func TestLogsFollowInterruptedWhileWaiting(t *testing.T) {
	v := newVerdictLog(t, false)
	f := startFollow(t, "--config", v.config)
	waitUntil(t, "the waiting message", func() bool {
		_, stderr := f.output()
		return strings.Contains(stderr, "waiting for it")
	})
	if code := f.interrupt(t); code != 0 {
		t.Errorf("logs --follow ended with exit %d on SIGINT while waiting; want 0", code)
	}
	if lines, _ := f.output(); len(lines) != 0 {
		t.Errorf("logs --follow printed %q with no log", lines)
	}
}

// logs --follow keeps its columns where its header put them: a record
// that arrives later with names longer than any before is cut to the
// columns with "…", not printed out of line; plain logs, which knows its
// rows, widens the columns instead.
func TestLogsFollowKeepsColumns(t *testing.T) {
	v := newVerdictLog(t, false)
	v.write(t, auditRecords(time.Now())[0]) // a log exists, with one short record
	f := startFollow(t, "--config", v.config)
	f.waitLines(t, 2)
	long := auditRecords(time.Now())[1]
	long.Call.User = "a-user-with-a-name-far-longer-than-the-column"
	long.Call.Exposed = "fs__a_tool_with_a_name_longer_than_the_column"
	v.write(t, long)
	lines := f.waitLines(t, 3)
	reasonAt := strings.Index(lines[0], "REASON")
	for _, l := range lines[1:] {
		if utf8.RuneCountInString(l) <= reasonAt || []rune(l)[reasonAt-2] != ' ' || []rune(l)[reasonAt] == ' ' {
			t.Errorf("followed row does not line up with the REASON column at %d:\n%s\n%s", reasonAt, lines[0], l)
		}
	}
	if !regexp.MustCompile(`^`+long.ID+`  .* a-user-\S*…  fs__a_tool\S*…  `).MatchString(lines[2]) || strings.Contains(lines[2], long.Call.User) {
		t.Errorf("the long user is not cut with …:\n%s", lines[2])
	}
	if code := f.interrupt(t); code != 0 {
		t.Errorf("exit %d on SIGINT", code)
	}
	out, err := runCLI(t, "logs", "--config", v.config)
	if err != nil || !strings.Contains(out, long.Call.User) || !strings.Contains(out, long.Call.Exposed) {
		t.Errorf("logs cut what it could show in full (%v):\n%s", err, out)
	}
}

// --follow started before the log exists prints every record from the
// first, however many the gateway wrote before the follower first looked
// — not only the last --limit of them (issue 18, 7).
func TestLogsFollowFromTheStart(t *testing.T) {
	v := newVerdictLog(t, false)
	f := startFollow(t, "--config", v.config, "--json", "--limit", "5")
	waitUntil(t, "the waiting message", func() bool {
		_, stderr := f.output()
		return strings.Contains(stderr, "waiting for it")
	})
	base := auditRecords(time.Now())[2]
	var want []string
	var recs []policy.Record
	for range 40 {
		r := base
		r.ID = ulid.Make().String()
		recs = append(recs, r)
		want = append(want, r.ID)
	}
	v.write(t, recs...) // all in one write, before the follower looks again
	lines := f.waitLines(t, len(want))
	var got []string
	for _, l := range lines {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not an Entry: %v\n%s", err, l)
		}
		got = append(got, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("logs --follow printed %d records; want all %d from the first", len(got), len(want))
	}
	if code := f.interrupt(t); code != 0 {
		t.Errorf("logs --follow ended with exit %d on SIGINT; want 0", code)
	}
}
