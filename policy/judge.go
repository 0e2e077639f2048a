package policy

import (
	"context"
	"errors"
	"time"
)

// ErrNoJudge is the judge failure of an engine that has no Judge, or whose
// judge could not be set up (a key missing from the gateway's
// environment): its plain-English policies cannot be decided.
var ErrNoJudge = errors.New("no policy judge is configured")

// ErrJudgeCallFailed marks a judge failure that the call itself caused —
// the provider is up, but this call's content made the judgment fail (an
// answer cut at the token limit, a request the provider refused). A
// client can cause it at will, so it never lets a call through
// unjudged: a non-strict policy then holds the call for approval instead
// of failing open, and a strict one blocks it.
var ErrJudgeCallFailed = errors.New("the judge could not judge this call")

// HealthReporter is a Judge that can tell whether its provider was
// answering moments ago. A judgment that runs out of time while it is
// was slowed by what the call holds, not by an outage: the engine then
// treats the timeout as ErrJudgeCallFailed.
type HealthReporter interface {
	Healthy() bool
}

// Judge decides the plain-English policies in scope of one call, all in one
// request. An error is a judge failure, which the engine turns into a
// verdict: block for strict policies, allow flagged fail-open for the
// others. The ctx carries the engine's judge timeout.
type Judge interface {
	Judge(ctx context.Context, req JudgeRequest) (JudgeAnswer, error)
}

// CachingJudge is a Judge that may already hold the answer to a request.
// The engine asks Cached first, and calls Judge, under the judge timeout,
// only when it does not: an answer at hand costs no timer.
type CachingJudge interface {
	Judge
	// Cached returns the answer to req if the judge has it at hand, at once
	// and without asking anyone; ok is false when it would have to ask.
	Cached(req JudgeRequest) (ans JudgeAnswer, ok bool)
}

// JudgeRequest is what the judge decides.
type JudgeRequest struct {
	// Call is the call with its arguments after redaction.
	Call Call
	// Policies are the plain-English policies of both layers in scope.
	Policies []JudgedPolicy
	// Version is the policy-set version, for caching.
	Version string
	// CanonicalArguments is Canonicalize(Call.Arguments) when the engine
	// has it at hand, so that the judge need not read the arguments again;
	// empty when it has not.
	CanonicalArguments string
	// Findings are what the detectors found in the arguments (masked), for
	// the judge to be told as facts; nil when nothing was found.
	Findings []Detection
}

// CanonicalArgs is the canonical JSON of the request's arguments: the one
// the engine passed, or else read from them.
func (r JudgeRequest) CanonicalArgs() (string, error) {
	if r.CanonicalArguments != "" {
		return r.CanonicalArguments, nil
	}
	return Canonicalize(r.Call.Arguments)
}

// JudgedPolicy is one plain-English policy put to the judge.
type JudgedPolicy struct {
	// ID names the policy uniquely within the request: its name, or
	// "workspace:NAME" when a global policy has the same name.
	ID    string
	Layer Layer
	Name  string
	Rules string
	// Strict says the policy blocks when it cannot be decided: the judge
	// then holds for approval a call it could not be shown whole rather
	// than let it through on its word, and may ask a second opinion
	// before it lets a call through one (judge.confirm).
	Strict bool
}

// JudgeVerdict is the judge's answer for one policy.
type JudgeVerdict string

// The verdicts a judge may give.
const (
	JudgeComply        JudgeVerdict = "comply"
	JudgeViolate       JudgeVerdict = "violate"
	JudgeNeedsApproval JudgeVerdict = "needs_approval"
)

// JudgeAnswer is the judge's answer for a request.
type JudgeAnswer struct {
	// Results hold one result per policy asked.
	Results []JudgeResult
	// Model is the model that answered.
	Model string
	// PromptVersion names the version of the prompt the judge asked with,
	// so that a record can be read against the prompt that produced it.
	PromptVersion string
	// Cached reports an answer served from the judge's cache.
	Cached bool
	// Exchange is the request the judge sent and the answer it got, for
	// `policy test --show-prompt`; nil when no request was sent.
	Exchange *JudgeExchange
}

// JudgeExchange is one request to the model, as sent, and its answer.
type JudgeExchange struct {
	// Model names the provider and model asked.
	Model string
	// System and User are the two messages sent.
	System, User string
	// Schema is the JSON schema the answer was constrained to.
	Schema string
	// Answer is the text the model answered; empty when it did not.
	Answer string
}

// JudgeResult is the judge's verdict on one policy.
type JudgeResult struct {
	// Policy is the JudgedPolicy.ID it answers.
	Policy  string
	Verdict JudgeVerdict
	// Reason is written for the person.
	Reason string
	// Analysis is the judge's reasoning, written before its verdict: kept
	// in the verdict's results and the log, never shown to the agent.
	Analysis string
}

// JudgeOutcome is what a verdict records of the judge.
type JudgeOutcome struct {
	// Asked reports that the judge was consulted (or would have been,
	// when it failed or is missing).
	Asked         bool
	Model         string
	PromptVersion string
	Latency       time.Duration
	Cached        bool
	// Err is the judge failure, if any.
	Err error
	// FailOpen reports that a non-strict policy was allowed because the
	// judge failed.
	FailOpen bool
	// Exchange is the judge's request and answer; kept by Explain only.
	Exchange *JudgeExchange
}
