package main

import (
	"time"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// newEngine builds the policy engine of cfg. limiter carries rate limit
// counts over from the engine it replaces; nil starts afresh. judge
// decides the plain-English policies; nil means none is configured.
func newEngine(cfg *config.Config, limiter *policy.Limiter, judge policy.Judge, protect ...string) (*policy.Engine, error) {
	set, err := cfg.PolicySet()
	if err != nil {
		return nil, err
	}
	return policy.NewEngine(set, policy.Options{
		Limiter: limiter, Judge: judge, JudgeTimeout: time.Duration(cfg.Judge.Timeout),
		Guard: policy.NewGuard(guardSpec(cfg, protect...)),
	})
}
