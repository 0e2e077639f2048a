package llmjudge

import (
	"fmt"
)

// How long an answer may be. Each result is the policy id, an analysis of
// a few sentences, the verdict and a one-sentence reason: about 150 to 250
// tokens. answerTokens allows 384 a policy, and 256 for the object around
// them, so that a sound answer is never cut; a model that runs longer —
// made verbose by what the call holds — is stopped there, long before the
// judge's timeout, and the cut answer is the call's own failure (a
// StopError). The bound is capped at maxAnswerTokens, the judge's bound
// before it depended on the policies.
const (
	answerBaseTokens      = 256
	answerTokensPerPolicy = 384
	maxAnswerTokens       = 4096
)

// answerTokens bounds the answer to a request judging n policies.
func answerTokens(n int) int {
	return min(answerBaseTokens+answerTokensPerPolicy*n, maxAnswerTokens)
}

// The context window: the estimate of a request's tokens, and the window
// asked of Ollama.
const (
	// DefaultMaxContextTokens is the default limit on a request's
	// estimated tokens, prompt and answer: the context window of the
	// smaller models the judge runs on.
	DefaultMaxContextTokens = 32768
	// MinContextTokens is the least limit that may be configured: a
	// request with a few policies must fit.
	MinContextTokens = 4096
	// bytesPerToken is the estimate's divisor. Tokenizers average about
	// four bytes a token on English prose; JSON, escapes, identifiers and
	// non-Latin scripts take fewer, so three over-counts rather than
	// under-counts.
	bytesPerToken = 3
)

// estimateTokens is the estimate of the tokens q needs: its messages and
// schema at bytesPerToken, and the answer's bound.
func estimateTokens(q Query) int {
	n := len(q.System) + len(q.User) + len(q.Schema)
	return (n+bytesPerToken-1)/bytesPerToken + q.MaxTokens
}

// contextWindow is the num_ctx asked of Ollama for a request of est
// tokens: the least of 4096, 8192, 16384… that holds it, capped at limit
// (est never exceeds limit: such a request is refused). A window from a
// few sizes rather than one per request, because Ollama reloads a model
// whenever num_ctx changes.
func contextWindow(est, limit int) int {
	w := MinContextTokens
	for w < est {
		w *= 2
	}
	return min(w, limit)
}

// OversizeError is a request too long for the judge's context: refused
// before it is sent, the call's own failure (its content made it long).
type OversizeError struct {
	// Tokens is the request's estimate; Limit the configured maximum.
	Tokens, Limit int
}

func (e *OversizeError) Error() string {
	return fmt.Sprintf("the judge's request would be about %d tokens, more than judge.max_context_tokens (%d): it was not sent", e.Tokens, e.Limit)
}
