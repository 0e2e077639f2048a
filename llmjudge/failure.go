package llmjudge

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// A judgment can fail because the provider is down, or because of what
// this one call asked. Only the first may open the breaker: a client's
// crafted arguments must never switch the judge off for other calls. So
// every failure is classified:
//
//   - answered: the provider gave an answer this call cannot use — a
//     malformed answer (AnswerError), one cut at the token limit or
//     refused (StopError), or an HTTP 4xx that is about the request
//     (400, 413, 422…). The provider is up; the failure is this call's.
//     So is a request refused unsent because it would not fit in the
//     context (OversizeError): its content made it long.
//   - doubtful: no answer — a transport error, a timeout, an HTTP 5xx,
//     429, 401, 403, 404 or 408. The provider may be down, or this call's
//     content may have made it fail (a prompt that takes too long, one
//     that crashes the provider). The judge then asks the provider a small
//     fixed question of its own (the canary, whose content no client
//     controls): if the canary is answered, the provider is up and the
//     failure is this call's; if not, it is an outage and counts against
//     the breaker.
//
// A failure that is this call's comes back as a *CallError: the engine
// records it on the call's verdict as the judge's error.

// failure is the class of a judgment's outcome.
type failure int

const (
	// answered: success, or a failure the provider answered with.
	answered failure = iota
	// doubtful: no answer; an outage unless the canary is answered.
	doubtful
)

// classify returns the class of err (nil: answered).
func classify(err error) failure {
	var ae *AnswerError
	var se *StopError
	var ce *CallError
	var oe *OversizeError
	var he *StatusError
	switch {
	case err == nil, errors.As(err, &ae), errors.As(err, &se), errors.As(err, &ce), errors.As(err, &oe):
		return answered
	case errors.As(err, &he):
		return he.class()
	}
	return doubtful
}

// StatusError is a provider's HTTP error answer.
type StatusError struct {
	// Code is the HTTP status.
	Code int
	Err  error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// class is answered for a 4xx about the request, doubtful for one that
// says the provider, the key or the account cannot serve anyone now, and
// for every 5xx.
func (e *StatusError) class() failure {
	switch e.Code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestTimeout, http.StatusTooManyRequests:
		return doubtful
	}
	if e.Code >= 400 && e.Code < 500 {
		return answered
	}
	return doubtful
}

// StopError is an answer the model did not finish: cut at the token limit,
// or stopped by the provider's content filter or a refusal.
type StopError struct {
	// Reason is the provider's stop reason (finish_reason, stop_reason).
	Reason string
}

func (e *StopError) Error() string {
	return fmt.Sprintf("the judge's answer was not finished (the provider stopped it: %s)", e.Reason)
}

// unfinished are the stop reasons of an answer cut short.
var unfinished = map[string]bool{
	"length":         true, // OpenAI, Ollama
	"max_tokens":     true, // Anthropic
	"content_filter": true, // OpenAI
	"refusal":        true, // Anthropic
}

// CallError is a judgment that failed because of this call: the provider
// is up (it answered, or answered the canary), so the failure counts
// against this call only, never against the breaker.
type CallError struct {
	Err error
}

func (e *CallError) Error() string {
	return "the judge could not judge this call (the provider is up; the failure is this call's): " + e.Err.Error()
}

func (e *CallError) Unwrap() error { return e.Err }

// Is makes a CallError a policy.ErrJudgeCallFailed: the engine holds the
// call for approval rather than fail open (issue 15).
func (e *CallError) Is(target error) bool { return target == policy.ErrJudgeCallFailed }
