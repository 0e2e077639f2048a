package llmjudgetest

import (
	"net/http"
	"time"
)

// The Ollama chat API: https://github.com/ollama/ollama/blob/main/docs/api.md

type ollamaChat struct {
	Model      string        `json:"model"`
	CreatedAt  string        `json:"created_at"`
	Message    ollamaMessage `json:"message"`
	DoneReason string        `json:"done_reason,omitempty"`
	Done       bool          `json:"done"`

	// Set on the last object only, durations in nanoseconds.
	TotalDuration      int64 `json:"total_duration,omitempty"`
	LoadDuration       int64 `json:"load_duration,omitempty"`
	PromptEvalCount    int   `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64 `json:"prompt_eval_duration,omitempty"`
	EvalCount          int   `json:"eval_count,omitempty"`
	EvalDuration       int64 `json:"eval_duration,omitempty"`
}

type ollamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// answerOllama writes a chat answer. Ollama streams unless the request says
// "stream": false: then the answer is one JSON object, else it is
// newline-delimited JSON, the content spread over objects with done false
// and a last object with done true and empty content.
func answerOllama(w http.ResponseWriter, x exchange) {
	if !x.streams(true) {
		writeJSON(w, http.StatusOK, x.ollamaLast(x.content))
		return
	}
	s := startStream(w, "application/x-ndjson")
	for _, p := range pieces(x.content, 3) {
		s.line(ollamaChat{
			Model:     x.wire.Model,
			CreatedAt: now(),
			Message:   ollamaMessage{Role: "assistant", Content: p},
		})
	}
	s.line(x.ollamaLast(""))
}

// ollamaLast returns the last object of an answer, carrying content and
// the metrics.
func (x exchange) ollamaLast(content string) ollamaChat {
	total := time.Since(x.req.Received).Nanoseconds()
	return ollamaChat{
		Model:              x.wire.Model,
		CreatedAt:          now(),
		Message:            ollamaMessage{Role: "assistant", Content: content},
		DoneReason:         "stop",
		Done:               true,
		TotalDuration:      max(total, 1),
		LoadDuration:       1,
		PromptEvalCount:    x.promptTokens(),
		PromptEvalDuration: 1,
		EvalCount:          x.completionTokens(),
		EvalDuration:       1,
	}
}

// now returns the current time as Ollama writes it.
func now() string {
	return time.Now().UTC().Format(time.RFC3339Nano)
}

// failOllama writes an error in Ollama's format.
func failOllama(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
