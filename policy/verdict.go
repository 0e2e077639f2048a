package policy

import (
	"encoding/json"
	"time"
)

// Decision is the final answer for a call.
type Decision string

// The decisions, from least to most restrictive.
const (
	DecisionAllow           Decision = "allow"
	DecisionRequireApproval Decision = "require_approval"
	DecisionBlock           Decision = "block"
)

// rank orders decisions by restriction.
func (d Decision) rank() int {
	switch d {
	case DecisionBlock:
		return 2
	case DecisionRequireApproval:
		return 1
	}
	return 0
}

// Verdict is the engine's answer for one call and how it was reached. A
// denial is a Verdict, not an error.
type Verdict struct {
	Decision Decision
	// Policy is the deciding policy; "" when nothing decided (allowed
	// because no policy matched).
	Policy string
	// Layer is the deciding policy's layer.
	Layer Layer
	// Reason says, for the person, why the deciding policy decided so.
	Reason string
	// Message is the violation message the client reads when the call is
	// not allowed: the policy and the reason, never a rule's text.
	Message string
	// RetryAfter is set when a rate limit blocked the call.
	RetryAfter time.Duration
	// Arguments are the arguments after redaction; nil when unchanged.
	Arguments json.RawMessage
	// Warnings are the warn policies that matched.
	Warnings []Warning
	// Redactions say what was redacted, by which policy.
	Redactions []Redaction
	// Results are the policies evaluated, in evaluation order: those that
	// matched and those judged; with Explain, every policy in scope of the
	// workspace, with why it did or did not apply.
	Results []Result
	// Findings are what the detectors found in the arguments, masked.
	Findings []Detection
	// Risk is the highest severity of the findings; 0 when none.
	Risk float64
	// Judge is what happened with the judge.
	Judge JudgeOutcome
	// Approval says who may approve the call, when the decision is
	// DecisionRequireApproval: the deciding policy's rule.
	Approval *ApprovalRule
	// Version is the version of the policy set that decided.
	Version string

	// mask is what the verdict log needs to mask the arguments.
	mask *argMask
	// own are the texts of the policies that took part, as configured:
	// what Mask keeps.
	own []string
}

// Outcome is what one policy did for a call.
type Outcome string

// The outcomes of a policy.
const (
	OutcomeNotApplicable Outcome = "not_applicable" // out of scope or a condition did not hold (Explain only)
	OutcomeDisabled      Outcome = "disabled"       // Explain only
	OutcomeNotReached    Outcome = "not_reached"    // its layer had already decided (Explain only)
	OutcomeAllow         Outcome = "allow"
	OutcomeBlock         Outcome = "block"
	OutcomeApproval      Outcome = "require_approval"
	OutcomeWarn          Outcome = "warn"
	OutcomeRedact        Outcome = "redact"
	OutcomeCounted       Outcome = "rate_counted"  // a rate limit not exceeded
	OutcomeRateExceeded  Outcome = "rate_exceeded" // a rate limit exceeded: blocks
	OutcomeComply        Outcome = "comply"        // judged
	OutcomeViolate       Outcome = "violate"       // judged
	OutcomeNeedsApproval Outcome = "needs_approval"
	OutcomeJudgeFailed   Outcome = "judge_failed" // strict: blocks; otherwise allows fail-open
	OutcomeNotJudged     Outcome = "not_judged"   // its layer ended in allow, or the call was already blocked
)

// Result is what one policy did for a call and why.
type Result struct {
	Policy string
	Layer  Layer
	// Kind is the policy's action, or "rules" for a plain-English policy.
	Kind     string
	Priority int
	Outcome  Outcome
	// Why explains the outcome: what matched, or which condition did not
	// hold, or the judge's reason.
	Why string
	// Analysis is the judge's reasoning behind its verdict, for the log
	// and approvers, never for the agent; "" for other outcomes.
	Analysis string
	Source   string
}

// Warning is a warn policy that matched.
type Warning struct {
	Policy  string
	Message string
}

// Redaction is one value a redact policy replaced.
type Redaction struct {
	Policy string
	// Path is where in the arguments (see Leaf.Path).
	Path string
	// What says what was redacted: a detector kind, or "args".
	What string
}

// Detection is one detector finding in the arguments, safe to show: the
// matched text is masked.
type Detection struct {
	Threat   Threat
	Kind     string
	Severity float64
	Path     string
	// Masked is the matched text with all but its ends replaced by '*'.
	Masked string
}
