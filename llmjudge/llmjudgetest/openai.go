package llmjudgetest

import (
	"fmt"
	"net/http"
)

// The OpenAI chat completions API: https://platform.openai.com/docs/api-reference/chat

type openAICompletion struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	Choices           []openAIChoice `json:"choices"`
	Usage             *openAIUsage   `json:"usage,omitempty"`
	SystemFingerprint *string        `json:"system_fingerprint"` // always null
}

type openAIChoice struct {
	Index        int            `json:"index"`
	Message      *openAIMessage `json:"message,omitempty"` // in a completion
	Delta        *openAIMessage `json:"delta,omitempty"`   // in a chunk
	Logprobs     *struct{}      `json:"logprobs"`          // always null
	FinishReason *string        `json:"finish_reason"`
}

type openAIMessage struct {
	Role    string  `json:"role,omitempty"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal,omitempty"`
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// answerOpenAI writes a chat completion, or streams it as chunks if the
// request asked for a stream.
func answerOpenAI(w http.ResponseWriter, x exchange) {
	if x.streams(false) {
		streamOpenAI(w, x)
		return
	}
	stop := "stop"
	writeJSON(w, http.StatusOK, openAICompletion{
		ID:      fmt.Sprintf("chatcmpl-%d", x.id),
		Object:  "chat.completion",
		Created: x.req.Received.Unix(),
		Model:   x.wire.Model,
		Choices: []openAIChoice{{
			Message:      &openAIMessage{Role: "assistant", Content: x.content},
			FinishReason: &stop,
		}},
		Usage: x.openAIUsage(),
	})
}

// streamOpenAI streams a chat completion as server-sent events: a chunk
// with the role, chunks with the content, a chunk with the finish reason,
// a chunk with the usage if the request asked for it, then [DONE].
func streamOpenAI(w http.ResponseWriter, x exchange) {
	s := startStream(w, "text/event-stream; charset=utf-8")
	chunk := func(delta openAIMessage, finish *string) openAICompletion {
		return openAICompletion{
			ID:      fmt.Sprintf("chatcmpl-%d", x.id),
			Object:  "chat.completion.chunk",
			Created: x.req.Received.Unix(),
			Model:   x.wire.Model,
			Choices: []openAIChoice{{Delta: &delta, FinishReason: finish}},
		}
	}

	s.event("", chunk(openAIMessage{Role: "assistant"}, nil))
	for _, p := range pieces(x.content, 3) {
		s.event("", chunk(openAIMessage{Content: p}, nil))
	}
	stop := "stop"
	s.event("", chunk(openAIMessage{}, &stop))
	if x.wire.StreamOptions != nil && x.wire.StreamOptions.IncludeUsage {
		last := chunk(openAIMessage{}, nil)
		last.Choices = []openAIChoice{}
		last.Usage = x.openAIUsage()
		s.event("", last)
	}
	s.event("", "[DONE]")
}

func (x exchange) openAIUsage() *openAIUsage {
	in, out := x.promptTokens(), x.completionTokens()
	return &openAIUsage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
}

// failOpenAI writes an error in OpenAI's format.
func failOpenAI(w http.ResponseWriter, status int, msg string) {
	type apiError struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	e := apiError{Message: msg, Type: "invalid_request_error"}
	switch {
	case status == http.StatusTooManyRequests:
		// OpenAI puts the limit hit (requests or tokens) in the type and
		// the kind of error in the code.
		code := "rate_limit_exceeded"
		e.Type, e.Code = "requests", &code
	case status == http.StatusUnauthorized:
		code := "invalid_api_key"
		e.Code = &code
	case status >= 500:
		e.Type = "server_error"
	}
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{e})
}
