package main

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/audit"
)

// The numbers below are those of auditRecords (see its table).

func TestStatsJSON(t *testing.T) {
	v := newVerdictLog(t, true)
	dead := func(name, layer, ws, kind string, enabled bool) deadPolicy {
		return deadPolicy{Policy: name, Layer: layer, Workspace: ws, Kind: kind, Enabled: enabled}
	}
	for _, tc := range []struct {
		name  string
		args  []string
		want  audit.Stats // Since is checked apart
		since time.Duration
		dead  []deadPolicy
	}{
		{
			name: "last 7 days", since: 7 * 24 * time.Hour,
			want: audit.Stats{
				Calls: 6, Allowed: 3, Blocked: 2, Approval: 1, Violations: 3, FailOpen: 1, JudgeFailures: 1, UpstreamErrors: 2,
				MostViolated: []audit.Count{{Name: "approve-rm", Count: 1}, {Name: "no-secrets", Count: 1}, {Name: "prod-judge", Count: 1}},
				ByUser:       []audit.Count{{Name: "ada", Count: 2}, {Name: "carol", Count: 1}},
				ByTool:       []audit.Count{{Name: "a__query", Count: 1}, {Name: "fs__rm_tree", Count: 1}, {Name: "fs__write_file", Count: 1}},
				Fired: []audit.PolicyCount{
					{Policy: "shared", Layer: "workspace", Workspace: "prod", Count: 2}, {Policy: "warn-all", Layer: "global", Count: 2},
					{Policy: "approve-rm", Layer: "workspace", Workspace: "dev", Count: 1}, {Policy: "no-secrets", Layer: "global", Count: 1},
					{Policy: "prod-judge", Layer: "workspace", Workspace: "prod", Count: 1}, {Policy: "redact-ssn", Layer: "workspace", Workspace: "dev", Count: 1},
				},
				JudgeLatency: &audit.Latency{N: 2, P50: 100, P95: 300, P99: 300, Max: 300},
				Overhead:     &audit.Latency{N: 6, P50: 3, P95: 6, P99: 6, Max: 6},
			},
			// dev's shared never fired in dev: prod's firing does not count.
			dead: []deadPolicy{dead("old-rule", "global", "", "block", false), dead("legacy-block", "global", "", "block", true), dead("shared", "workspace", "dev", "warn", true)},
		},
		{
			name: "last 30 days", args: []string{"--since", "30d"}, since: 30 * 24 * time.Hour,
			want: audit.Stats{
				Calls: 7, Allowed: 3, Blocked: 3, Approval: 1, Violations: 4, FailOpen: 1, JudgeFailures: 1, UpstreamErrors: 2,
				MostViolated: []audit.Count{{Name: "approve-rm", Count: 1}, {Name: "legacy-block", Count: 1}, {Name: "no-secrets", Count: 1}, {Name: "prod-judge", Count: 1}},
				ByUser:       []audit.Count{{Name: "ada", Count: 3}, {Name: "carol", Count: 1}},
				ByTool:       []audit.Count{{Name: "a__query", Count: 1}, {Name: "fs__legacy_tool", Count: 1}, {Name: "fs__rm_tree", Count: 1}, {Name: "fs__write_file", Count: 1}},
				Fired: []audit.PolicyCount{
					{Policy: "shared", Layer: "workspace", Workspace: "prod", Count: 2}, {Policy: "warn-all", Layer: "global", Count: 2},
					{Policy: "approve-rm", Layer: "workspace", Workspace: "dev", Count: 1}, {Policy: "legacy-block", Layer: "global", Count: 1},
					{Policy: "no-secrets", Layer: "global", Count: 1}, {Policy: "prod-judge", Layer: "workspace", Workspace: "prod", Count: 1},
					{Policy: "redact-ssn", Layer: "workspace", Workspace: "dev", Count: 1},
				},
				JudgeLatency: &audit.Latency{N: 2, P50: 100, P95: 300, P99: 300, Max: 300},
				Overhead:     &audit.Latency{N: 7, P50: 4, P95: 9, P99: 9, Max: 9},
			},
			dead: []deadPolicy{dead("old-rule", "global", "", "block", false), dead("shared", "workspace", "dev", "warn", true)},
		},
		{
			name: "one workspace", args: []string{"--workspace", "prod"}, since: 7 * 24 * time.Hour,
			want: audit.Stats{
				Workspace: "prod",
				Calls:     3, Allowed: 2, Blocked: 1, Violations: 1, FailOpen: 1, JudgeFailures: 1, UpstreamErrors: 2,
				MostViolated: []audit.Count{{Name: "prod-judge", Count: 1}},
				ByUser:       []audit.Count{{Name: "carol", Count: 1}},
				ByTool:       []audit.Count{{Name: "a__query", Count: 1}},
				Fired:        []audit.PolicyCount{{Policy: "shared", Layer: "workspace", Workspace: "prod", Count: 2}, {Policy: "prod-judge", Layer: "workspace", Workspace: "prod", Count: 1}},
				JudgeLatency: &audit.Latency{N: 2, P50: 100, P95: 300, P99: 300, Max: 300},
				Overhead:     &audit.Latency{N: 3, P50: 5, P95: 6, P99: 6, Max: 6},
			},
			// The global policies fired in dev's calls only: dead for prod.
			dead: []deadPolicy{
				dead("no-secrets", "global", "", "block", true), dead("old-rule", "global", "", "block", false),
				dead("warn-all", "global", "", "warn", true), dead("legacy-block", "global", "", "block", true),
			},
		},
		{
			name: "judge never asked", args: []string{"--workspace", "dev"}, since: 7 * 24 * time.Hour,
			want: audit.Stats{
				Workspace: "dev",
				Calls:     3, Allowed: 1, Blocked: 1, Approval: 1, Violations: 2,
				MostViolated: []audit.Count{{Name: "approve-rm", Count: 1}, {Name: "no-secrets", Count: 1}},
				ByUser:       []audit.Count{{Name: "ada", Count: 2}},
				ByTool:       []audit.Count{{Name: "fs__rm_tree", Count: 1}, {Name: "fs__write_file", Count: 1}},
				Fired: []audit.PolicyCount{
					{Policy: "warn-all", Layer: "global", Count: 2}, {Policy: "approve-rm", Layer: "workspace", Workspace: "dev", Count: 1},
					{Policy: "no-secrets", Layer: "global", Count: 1}, {Policy: "redact-ssn", Layer: "workspace", Workspace: "dev", Count: 1},
				},
				Overhead: &audit.Latency{N: 3, P50: 2, P95: 3, P99: 3, Max: 3},
			},
			dead: []deadPolicy{dead("old-rule", "global", "", "block", false), dead("legacy-block", "global", "", "block", true), dead("shared", "workspace", "dev", "warn", true)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			r := runGatehouse(t, append([]string{"stats", "--config", v.config, "--json"}, tc.args...)...)
			if r.code != 0 {
				t.Fatal(r)
			}
			var got statsReport
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("stats --json does not parse: %v\n%s", err, r.stdout)
			}
			if earliest := before.Add(-tc.since); got.Since.Before(earliest.Add(-time.Second)) || got.Since.After(time.Now().Add(-tc.since)) {
				t.Errorf("since = %v; want about %v", got.Since, earliest)
			}
			got.Since = time.Time{}
			if !reflect.DeepEqual(got.Stats, tc.want) {
				gotJSON, _ := json.Marshal(got.Stats)
				wantJSON, _ := json.Marshal(tc.want)
				t.Errorf("stats %v =\n%s\nwant\n%s", tc.args, gotJSON, wantJSON)
			}
			if !reflect.DeepEqual(got.DeadPolicies, tc.dead) {
				t.Errorf("stats %v dead policies = %+v; want %+v", tc.args, got.DeadPolicies, tc.dead)
			}
		})
	}

	// The JSON field names are the documented ones.
	r := runGatehouse(t, "stats", "--config", v.config, "--json", "--workspace", "dev")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"since", "workspace", "window", "calls", "allowed", "blocked", "approval_required", "violations", "fail_open", "judge_failures",
		"upstream_errors", "most_violated", "violations_by_user", "violations_by_tool", "fired", "judge_latency_ms", "overhead_ms", "dead_policies"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stats --json lacks %q:\n%s", k, r.stdout)
		}
	}
	if string(raw["judge_latency_ms"]) != "null" || string(raw["window"]) != `"7d"` {
		t.Errorf("judge_latency_ms = %s, window = %s; want null (never asked) and \"7d\"", raw["judge_latency_ms"], raw["window"])
	}
}

func TestStatsText(t *testing.T) {
	v := newVerdictLog(t, true)
	r := runGatehouse(t, "stats", "--config", v.config)
	if r.code != 0 {
		t.Fatal(r)
	}
	for _, want := range []string{
		`^verdict log .*verdicts\.db: all workspaces, the last 7d \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)$`,
		`^calls\s+6$`, `^allowed\s+3$`, `^blocked\s+2$`, `^approval required\s+1$`, `^violations\s+3$`,
		`^allowed fail-open\s+1$`, `^judge failures\s+1$`, `^upstream errors\s+2$`,
		`most violated policies:\n\s+1  approve-rm\n\s+1  no-secrets\n\s+1  prod-judge\n`,
		`violations by user:\n\s+2  ada\n\s+1  carol\n`,
		`violations by tool:\n\s+1  a__query\n\s+1  fs__rm_tree\n\s+1  fs__write_file\n`,
		`fires per policy:\n\s+2  shared \(workspace prod\)\n\s+2  warn-all \(global\)\n`,
		`dead rules \(configured, never fired in the window\):\n  global\s+old-rule\s+block\s+DISABLED\n  global\s+legacy-block\s+block\n  workspace dev\s+shared\s+warn\n\n`,
		`^judge latency\s+p50 100 ms  p95 300 ms  p99 300 ms  max 300 ms  \(2 calls\)$`,
		`^gateway overhead\s+p50 3 ms  p95 6 ms  p99 6 ms  max 6 ms  \(6 calls\)$`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(r.stdout) {
			t.Errorf("stats output does not match %s:\n%s", want, r.stdout)
		}
	}
	r = runGatehouse(t, "stats", "--config", v.config, "--workspace", "dev", "--since", "")
	for _, want := range []string{"workspace dev, the whole log", "judge never asked"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("stats --workspace dev --since '' lacks %q: %s", want, r)
		}
	}
}

func TestStatsUsageErrors(t *testing.T) {
	v := newVerdictLog(t, true)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad since", []string{"--since", "a week"}, `--since "a week"`},
		{"zero since", []string{"--since", "0d"}, `--since "0d"`},
		{"unknown workspace", []string{"--workspace", "staging"}, `--workspace "staging": no such workspace`},
		{"argument", []string{"now"}, `unknown command "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGatehouse(t, append([]string{"stats", "--config", v.config}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Errorf("stats %v = %s; want exit 2 with %q", tc.args, r, tc.want)
			}
		})
	}
}
