package policy_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// A reload keeps a rate limit's count when what it counts is the same:
// renamed, or its numbers changed (5 → 6 → 5 per minute), the calls made
// so far still count, so a reload never lets more calls through than the
// limit in force allows (issue 18, 6). A limit on other calls starts
// afresh.
func TestRateLimitCountSurvivesReloads(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	limit := func(name string, n int, tools ...string) policy.Set {
		return policy.Set{Global: []policy.Policy{{Name: name, Enabled: true, Action: policy.ActionRateLimit, Tools: tools,
			RateLimit: &policy.RateLimit{Requests: n, Per: time.Minute, Key: policy.KeyUser}}}}
	}
	var limiter *policy.Limiter
	engine := func(set policy.Set) *policy.Engine {
		e, err := policy.NewEngine(set, policy.Options{Limiter: limiter, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		limiter = e.Limiter()
		return e
	}
	call := policy.Call{Workspace: "w", Tool: "send", Exposed: "send", User: "ada", Arguments: json.RawMessage(`{}`)}
	allowed := 0
	run := func(e *policy.Engine, n int) {
		for range n {
			if v := e.Evaluate(context.Background(), call); v.Decision == policy.DecisionAllow {
				allowed++
			}
			now = now.Add(time.Second)
		}
	}
	run(engine(limit("five", 5, "send")), 5)    // 5 allowed
	run(engine(limit("five", 6, "send")), 5)    // 1 more
	run(engine(limit("five", 5, "send")), 5)    // none: 6 in the minute
	run(engine(limit("renamed", 5, "send")), 5) // none: the same limit renamed
	if allowed != 6 {
		t.Errorf("%d calls allowed within a minute across reloads; want 6 (5, then 1 more when the limit became 6)", allowed)
	}
	allowed = 0
	run(engine(limit("other", 5, "other_tool", "send")), 1) // another scope: its own count
	if allowed != 1 {
		t.Errorf("a limit of another scope allowed %d of 1", allowed)
	}
	now = now.Add(2 * time.Minute)
	allowed = 0
	run(engine(limit("renamed", 5, "send")), 6)
	if allowed != 5 {
		t.Errorf("a minute later, %d of 6 allowed; want 5", allowed)
	}
}
