package llmjudge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// anthropicModel speaks Anthropic's messages API:
// https://docs.anthropic.com/en/api/messages. The answer is asked for as
// a forced call of one tool whose input schema is the answer's: the
// answer is the tool call's input.
type anthropicModel struct{ client }

var _ Model = (*anthropicModel)(nil)

// anthropicVersion is the API version the requests are written for.
const anthropicVersion = "2023-06-01"

type anthropicRequest struct {
	Model       string             `json:"model"`
	System      string             `json:"system"`
	Messages    []openAIMessage    `json:"messages"` // {role, content} as OpenAI's
	MaxTokens   int                `json:"max_tokens"`
	Temperature float64            `json:"temperature"`
	Tools       []anthropicTool    `json:"tools"`
	ToolChoice  anthropicToolUsage `json:"tool_choice"`
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthropicToolUsage struct {
	Type string `json:"type"` // tool
	Name string `json:"name"`
}

type anthropicResponse struct {
	Content []struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
}

func (m *anthropicModel) Complete(ctx context.Context, q Query) (string, error) {
	body := anthropicRequest{
		Model:     m.model,
		System:    q.System,
		Messages:  []openAIMessage{{Role: "user", Content: q.User}},
		MaxTokens: q.MaxTokens,
		Tools: []anthropicTool{{
			Name:        answerName,
			Description: "Record your verdict on each policy asked.",
			InputSchema: q.Schema,
		}},
		ToolChoice: anthropicToolUsage{Type: "tool", Name: answerName},
	}
	header := http.Header{}
	header.Set("anthropic-version", anthropicVersion)
	if m.key != "" {
		header.Set("x-api-key", m.key)
	}
	var resp anthropicResponse
	if err := m.post(ctx, body, header, &resp); err != nil {
		return "", err
	}
	if err := unfinishedError(m.name, resp.StopReason); err != nil {
		return "", err
	}
	var answer json.RawMessage
	text := ""
	for _, b := range resp.Content {
		switch {
		case b.Type == "tool_use" && answer != nil:
			return "", &AnswerError{Problem: "it called the answer tool twice"}
		case b.Type == "tool_use" && b.Name != answerName:
			return "", &AnswerError{Problem: fmt.Sprintf("it called the tool %q, which it was not given", b.Name)}
		case b.Type == "tool_use":
			answer = b.Input
		case b.Type == "text":
			text += b.Text
		}
	}
	if answer == nil {
		shown, _ := cutMiddle(text, 400)
		return "", &AnswerError{Problem: "it did not call the answer tool", Answer: shown}
	}
	return string(answer), nil
}
