package policy_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// TestRedactionKeepsNestedJSON: a config file written as JSON, itself
// holding JSON in strings, has exactly its secrets replaced at every depth
// — every key, number and other value arrives as sent (issue 14, 16).
func TestRedactionKeepsNestedJSON(t *testing.T) {
	eng, err := policy.NewEngine(policy.Set{Global: []policy.Policy{{
		Name: "keep-secrets", Enabled: true, Action: policy.ActionRedact,
		When: policy.When{Threats: []policy.Threat{policy.ThreatSecret, policy.ThreatPII}},
	}}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const key = "AKIAIOSFODNN7EXAMPLE"
	innermost := func() map[string]any {
		return map[string]any{
			"user": "bob", "aws_key": key, "note": "key " + key + " and ssn 078-05-1120 here",
			"n": 3.5, "ok": true, "none": nil, "list": []any{"a", key, 7.0},
			"quote \"é\" \\ tab\t": "ünïcode ☃ 𝄞 \u2028",
		}
	}
	redactedInnermost := func() map[string]any {
		m := innermost()
		m["aws_key"] = "[REDACTED]"
		m["note"] = "key [REDACTED] and ssn [REDACTED] here"
		m["list"] = []any{"a", "[REDACTED]", 7.0}
		return m
	}
	// wrap puts v as a JSON string under "doc" of a new object, depth
	// times; depth 1 is the arguments' own object.
	wrap := func(v map[string]any, depth int) map[string]any {
		for range depth - 1 {
			s, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			v = map[string]any{"doc": string(s), "name": "layer", "size": 12.0}
		}
		return v
	}
	for depth := 1; depth <= 4; depth++ {
		args, err := json.Marshal(wrap(innermost(), depth))
		if err != nil {
			t.Fatal(err)
		}
		v := eng.Evaluate(context.Background(), policy.Call{Workspace: "w", Tool: "write_file", Exposed: "write_file", Arguments: args})
		if v.Decision != policy.DecisionAllow || v.Arguments == nil {
			t.Fatalf("depth %d: decision %s (%s), arguments %s; want allow with redacted arguments", depth, v.Decision, v.Reason, v.Arguments)
		}
		if strings.Contains(string(v.Arguments), key) || strings.Contains(string(v.Arguments), "078-05-1120") {
			t.Errorf("depth %d: a secret is forwarded: %s", depth, v.Arguments)
		}
		got := map[string]any{}
		if err := json.Unmarshal(v.Arguments, &got); err != nil {
			t.Fatalf("depth %d: forwarded arguments are not JSON: %v", depth, err)
		}
		// Unwrap layer by layer: each must still be a JSON document with
		// its other members as sent.
		for d := depth; d > 1; d-- {
			if got["name"] != "layer" || got["size"] != 12.0 {
				t.Fatalf("depth %d, layer %d: members changed: %v", depth, d, got)
			}
			inner := map[string]any{}
			if err := json.Unmarshal([]byte(got["doc"].(string)), &inner); err != nil {
				t.Fatalf("depth %d, layer %d: the string no longer holds JSON: %v: %q", depth, d, err, got["doc"])
			}
			got = inner
		}
		if want := redactedInnermost(); !reflect.DeepEqual(got, want) {
			t.Errorf("depth %d: innermost document\n got %v\nwant %v", depth, got, want)
		}
	}
}
