package policy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// benchPolicies are n deterministic policies of every kind of condition,
// none of which matches benchArgs on tool "query".
func benchPolicies(n int) []policy.Policy {
	ps := make([]policy.Policy, 0, n)
	for i := range n {
		p := policy.Policy{Name: fmt.Sprintf("p%03d", i), Enabled: true, Strict: true, Priority: i % 7, Action: policy.ActionBlock}
		switch i % 6 {
		case 0:
			p.Tools = []string{fmt.Sprintf("*tool%d*", i), "execute_*"}
		case 1:
			p.When.Args = fmt.Sprintf(`"secret_field_%d":"[^"]+"`, i)
		case 2:
			p.When.Keywords = []string{fmt.Sprintf("keyword-%d", i), "drop database"}
		case 3:
			p.When.Threats = []policy.Threat{policy.ThreatSecret}
		case 4:
			p.When.ArgFields = map[string]string{"sql": fmt.Sprintf(`(?i)\btable_%d\b`, i)}
		case 5:
			p.Action = policy.ActionWarn
			p.When.Users = []string{fmt.Sprintf("user-%d", i)}
			p.When.Time = &policy.TimeWindow{From: 60, To: 120, Days: []time.Weekday{time.Saturday}}
		}
		ps = append(ps, p)
	}
	return ps
}

// benchArgs is a realistic 4 KB argument object: SQL, prose, paths, nested
// objects and arrays, with nothing a detector or policy should catch.
func benchArgs() json.RawMessage {
	rows := make([]map[string]any, 0, 24)
	for i := range 24 {
		rows = append(rows, map[string]any{
			"id": i, "name": fmt.Sprintf("customer %d", i), "active": i%2 == 0,
			"note": "Follow up next week about the renewal; they asked for the Q3 report.",
		})
	}
	args := map[string]any{
		"sql":      "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval '7 days' ORDER BY o.total DESC LIMIT 50",
		"database": "analytics",
		"options":  map[string]any{"timeout_ms": 30000, "read_only": true, "tags": []string{"weekly", "report", "finance"}},
		"context":  strings.Repeat("The quarterly numbers look healthy and the team is on track. ", 12),
		"path":     "reports/2026/q3/summary.md",
		"rows":     rows,
	}
	raw, err := json.Marshal(args)
	if err != nil {
		panic(err)
	}
	return raw
}

// BenchmarkEvaluate measures Engine.Evaluate with 100 deterministic
// policies and every detector on a 4 KB argument object (DESIGN §4's
// budget: 50 µs), and the fast path of a workspace without policies.
func BenchmarkEvaluate(b *testing.B) {
	args := benchArgs()
	call := policy.Call{Workspace: "dev", Upstream: "db", Tool: "query", Exposed: "db__query", User: "ada", Client: "claude-ai", Arguments: args}
	b.Run(fmt.Sprintf("100-policies/%dB", len(args)), func(b *testing.B) {
		e, err := policy.NewEngine(policy.Set{Global: benchPolicies(100)}, policy.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if v := e.Evaluate(b.Context(), call); v.Decision != policy.DecisionAllow || len(v.Results) != 0 || len(v.Findings) != 0 {
			b.Fatalf("benchmark call = %+v; want allowed with nothing matched", v)
		}
		b.ReportAllocs()
		for b.Loop() {
			e.Evaluate(b.Context(), call)
		}
	})
	b.Run("no-policies", func(b *testing.B) {
		e, err := policy.NewEngine(policy.Set{}, policy.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			e.Evaluate(b.Context(), call)
		}
	})
}
