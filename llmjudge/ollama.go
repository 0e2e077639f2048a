package llmjudge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// ollamaModel speaks Ollama's chat API:
// https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion.
// The answer's schema is the format, which Ollama turns into a grammar
// the model's decoding follows; the context window (num_ctx) is sized for
// each request, since Ollama silently drops the start of a prompt longer
// than its window — the policies.
type ollamaModel struct{ client }

var _ Model = (*ollamaModel)(nil)

type ollamaRequest struct {
	Model    string          `json:"model"`
	Messages []openAIMessage `json:"messages"`
	Format   json.RawMessage `json:"format"`
	Options  ollamaOptions   `json:"options"`
	Stream   bool            `json:"stream"`
}

type ollamaOptions struct {
	Temperature float64 `json:"temperature"`
	NumCtx      int     `json:"num_ctx"`
	NumPredict  int     `json:"num_predict"`
}

type ollamaResponse struct {
	Message struct {
		Content string `json:"content"`
	} `json:"message"`
	Done       bool   `json:"done"`
	DoneReason string `json:"done_reason"`
}

func (m *ollamaModel) Complete(ctx context.Context, q Query) (string, error) {
	body := ollamaRequest{
		Model: m.model,
		Messages: []openAIMessage{
			{Role: "system", Content: q.System},
			{Role: "user", Content: q.User},
		},
		Format:  q.Schema,
		Options: ollamaOptions{NumCtx: q.ContextTokens, NumPredict: q.MaxTokens},
	}
	var resp ollamaResponse
	if err := m.post(ctx, body, http.Header{}, &resp); err != nil {
		return "", err
	}
	if err := unfinishedError(m.name, resp.DoneReason); err != nil {
		return "", err
	}
	if !resp.Done {
		return "", fmt.Errorf("ask %s: the answer is not done, though no stream was asked for", m.name)
	}
	return resp.Message.Content, nil
}
