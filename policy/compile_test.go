package policy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

func TestNewEngineErrors(t *testing.T) {
	bad := -0.5
	for _, tc := range []struct {
		name   string
		p      policy.Policy
		field  string
		substr string
	}{
		{"bad regex", policy.Policy{Name: "p", Action: policy.ActionBlock, When: policy.When{Args: "a("}}, "when.args", "missing closing )"},
		{"bad field regex", policy.Policy{Name: "p", Action: policy.ActionBlock, When: policy.When{ArgFields: map[string]string{"sql": "[z-a]"}}}, "when.args.sql", "invalid character class range"},
		{"bad glob", policy.Policy{Name: "p", Action: policy.ActionBlock, Tools: []string{"[abc"}}, "tools[0]", ""},
		{"unknown action", policy.Policy{Name: "p", Action: "deny"}, "action", "must be one of allow, block"},
		{"both kinds", policy.Policy{Name: "p", Action: policy.ActionBlock, Rules: "x"}, "", "both rules and action"},
		{"neither kind", policy.Policy{Name: "p"}, "", "needs rules (plain English, judged by the LLM) or an action"},
		{"rate limit without section", policy.Policy{Name: "p", Action: policy.ActionRateLimit}, "action", "needs a rate_limit section"},
		{"redact without target", policy.Policy{Name: "p", Action: policy.ActionRedact}, "action", "redact needs"},
		{"unknown threat", policy.Policy{Name: "p", Action: policy.ActionBlock, When: policy.When{Threats: []policy.Threat{"malware"}}}, "when.threats[0]", "must be one of secret"},
		{"risk out of range", policy.Policy{Name: "p", Action: policy.ActionBlock, When: policy.When{RiskMin: &bad}}, "when.risk_min", "between 0 and 1"},
		{"window without bounds", policy.Policy{Name: "p", Action: policy.ActionBlock, When: policy.When{Time: &policy.TimeWindow{From: -1, To: -1}}}, "when.time", "needs days"},
		{"empty window", policy.Policy{Name: "p", Action: policy.ActionBlock, When: policy.When{Time: &policy.TimeWindow{From: 60, To: 60}}}, "when.time.to", "must differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Source = "gatehouse.yaml:7"
			_, err := policy.NewEngine(policy.Set{Workspaces: map[string][]policy.Policy{"dev": {tc.p}}}, policy.Options{})
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("NewEngine(%s) = %v; want a *policy.Error", tc.name, err)
			}
			if pe.Field != tc.field || pe.Policy != "p" || pe.Workspace != "dev" || pe.Layer != policy.LayerWorkspace || !strings.Contains(pe.Error(), tc.substr) {
				t.Errorf("NewEngine(%s) = %+v (%v); want field %q mentioning %q", tc.name, pe, pe, tc.field, tc.substr)
			}
			if !strings.HasPrefix(pe.Error(), `gatehouse.yaml:7: workspace "dev" policy "p"`) {
				t.Errorf("error %q does not say where", pe.Error())
			}
		})
	}
}

func TestNewEngineDuplicateNames(t *testing.T) {
	p := policy.Policy{Name: "same", Action: policy.ActionWarn, Enabled: true}
	_, err := policy.NewEngine(policy.Set{Global: []policy.Policy{p, p}}, policy.Options{})
	if err == nil || !strings.Contains(err.Error(), "duplicate policy name") {
		t.Errorf("NewEngine with a duplicate name = %v; want an error", err)
	}
	// The same name in the two layers is allowed, and judged apart.
	if _, err := policy.NewEngine(policy.Set{Global: []policy.Policy{p}, Workspaces: map[string][]policy.Policy{"w": {p}}}, policy.Options{}); err != nil {
		t.Errorf("NewEngine with one name in both layers = %v", err)
	}
}

func TestVersion(t *testing.T) {
	base := policy.Policy{Name: "a", Action: policy.ActionBlock, Enabled: true, Tools: []string{"x"}, Source: "f:1", Description: "d"}
	v := func(p policy.Policy) string {
		e, err := policy.NewEngine(policy.Set{Global: []policy.Policy{p}}, policy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return e.Version()
	}
	same := base
	same.Source, same.Description = "g:9", "other words"
	changed := base
	changed.Tools = []string{"y"}
	if v(base) != v(same) {
		t.Errorf("Version changed with only the source and description")
	}
	if v(base) == v(changed) {
		t.Errorf("Version did not change with the scope")
	}
}

// The limiter under concurrent calls admits exactly its limit.
func TestLimiterConcurrent(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	p := policy.Policy{Name: "ten", Action: policy.ActionRateLimit, Enabled: true, RateLimit: &policy.RateLimit{Requests: 10, Per: time.Minute, Key: policy.KeyGlobal}}
	e, err := policy.NewEngine(policy.Set{Global: []policy.Policy{p}}, policy.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Tool: "t", User: "u"})
			if v.Decision == policy.DecisionAllow {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 10 {
		t.Errorf("64 concurrent calls under a limit of 10: %d allowed", allowed)
	}
	// A new engine for a reloaded config keeps the counts.
	e2, err := policy.NewEngine(policy.Set{Global: []policy.Policy{p}}, policy.Options{Now: func() time.Time { return now }, Limiter: e.Limiter()})
	if err != nil {
		t.Fatal(err)
	}
	if v := e2.Evaluate(t.Context(), policy.Call{Workspace: "w", Tool: "t"}); v.Decision != policy.DecisionBlock {
		t.Errorf("after reload the limit was forgotten: %v", v.Decision)
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"123-45-6789":          "***********",
		"AKIAIOSFODNN7EXAMPLE": "AK****************LE",
		"ｐｒｏｄｕｃｔｉｏｎ-secret-key": "ｐｒ*****************ey",
	} {
		if got := policy.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestValidateLocates checks that every error says which policy of the set
// it is about, so a caller can point at where it wrote it.
func TestValidateLocates(t *testing.T) {
	ok := policy.Policy{Name: "ok", Action: policy.ActionWarn}
	set := policy.Set{
		Global: []policy.Policy{ok, {Name: "g", Action: policy.ActionBlock, Tools: []string{""}}},
		Workspaces: map[string][]policy.Policy{"dev": {
			{Name: "same", Action: policy.ActionAllow},
			ok,
			{Name: "same", Action: policy.ActionBlock},
		}},
	}
	err := policy.Validate(set)
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *policy.Error
		if !errors.As(e, &pe) {
			t.Fatalf("Validate: %v is not a *policy.Error", e)
		}
		s := fmt.Sprintf("%s/%s[%d].%s", pe.Layer, pe.Workspace, pe.Index, pe.Field)
		var de *policy.DuplicateNameError
		if errors.As(e, &de) {
			s += fmt.Sprintf(" dup of %d", de.First)
		}
		got = append(got, s)
	}
	want := []string{"global/[1].tools[0]", "workspace/dev[2].name dup of 0"}
	if !slices.Equal(got, want) {
		t.Errorf("Validate() errors = %q; want %q", got, want)
	}
	if err := policy.Validate(policy.Set{Global: []policy.Policy{ok}}); err != nil {
		t.Errorf("Validate(valid set) = %v", err)
	}
}
