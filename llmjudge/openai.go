package llmjudge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// openAIModel speaks OpenAI's chat completions API, and that of the
// servers compatible with it (vLLM, LiteLLM, llama.cpp's server…):
// https://platform.openai.com/docs/api-reference/chat. The answer is
// asked for as structured output: the schema, strict, so that the server
// decodes only answers that follow it.
type openAIModel struct{ client }

var _ Model = (*openAIModel)(nil)

type openAIRequest struct {
	Model               string          `json:"model"`
	Messages            []openAIMessage `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	ResponseFormat      openAIFormat    `json:"response_format"`
	Stream              bool            `json:"stream"`
}

type openAIMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type openAIFormat struct {
	Type       string           `json:"type"` // json_schema
	JSONSchema openAIJSONSchema `json:"json_schema"`
}

type openAIJSONSchema struct {
	Name   string          `json:"name"`
	Strict bool            `json:"strict"`
	Schema json.RawMessage `json:"schema"`
}

type openAIResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// reasoningModel reports an OpenAI reasoning model (o1, o3, o4, gpt-5…),
// which takes no temperature but its default, and whose hidden reasoning
// counts against max_completion_tokens.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if model == p || strings.HasPrefix(model, p+"-") || p == "gpt-5" && strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

func (m *openAIModel) Complete(ctx context.Context, q Query) (string, error) {
	zero := 0.0
	temperature, bound := &zero, q.MaxTokens
	if reasoningModel(m.model) {
		// Its reasoning needs room the answer's bound does not give.
		temperature, bound = nil, maxAnswerTokens
	}
	body := openAIRequest{
		Model: m.model,
		Messages: []openAIMessage{
			{Role: "system", Content: q.System},
			{Role: "user", Content: q.User},
		},
		Temperature:         temperature,
		MaxCompletionTokens: bound,
		ResponseFormat: openAIFormat{Type: "json_schema", JSONSchema: openAIJSONSchema{
			Name: answerName, Strict: true, Schema: q.Schema,
		}},
	}
	header := http.Header{}
	if m.key != "" {
		header.Set("Authorization", "Bearer "+m.key)
	}
	var resp openAIResponse
	if err := m.post(ctx, body, header, &resp); err != nil {
		return "", err
	}
	if len(resp.Choices) != 1 {
		return "", fmt.Errorf("ask %s: it gave %d answers, want 1", m.name, len(resp.Choices))
	}
	c := resp.Choices[0]
	if err := unfinishedError(m.name, c.FinishReason); err != nil {
		return "", err
	}
	if c.Message.Refusal != nil && *c.Message.Refusal != "" {
		// Structured outputs: a refusal comes instead of the content.
		return "", fmt.Errorf("ask %s: %w", m.name, &StopError{Reason: "refusal"})
	}
	if c.Message.Content == nil {
		return "", nil // read as an empty answer
	}
	return *c.Message.Content, nil
}
