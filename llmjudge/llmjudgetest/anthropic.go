package llmjudgetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
)

// The Anthropic messages API: https://docs.anthropic.com/en/api/messages

type anthropicMessage struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []anthropicBlock `json:"content"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"` // always null
	Usage        anthropicUsage   `json:"usage"`
}

// anthropicBlock is a text block or a tool_use block.
type anthropicBlock struct {
	Type  string          `json:"type"`
	Text  *string         `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
}

// anthropicContent is the answer's content: a tool_use block calling the
// forced tool with the content as its input, when the request forces a
// tool and the content is a JSON object (as Anthropic's input always is);
// else one text block.
func (x exchange) anthropicContent() (blocks []anthropicBlock, stop string) {
	if tool := x.wire.forcedTool(); tool != "" {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(x.content), &obj) == nil && obj != nil {
			return []anthropicBlock{{Type: "tool_use", ID: fmt.Sprintf("toolu_%d", x.id), Name: tool, Input: json.RawMessage(x.content)}}, "tool_use"
		}
	}
	text := x.content
	return []anthropicBlock{{Type: "text", Text: &text}}, "end_turn"
}

type anthropicUsage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// answerAnthropic writes a message, or streams it as events if the request
// asked for a stream.
func answerAnthropic(w http.ResponseWriter, x exchange) {
	if x.streams(false) {
		streamAnthropic(w, x)
		return
	}
	content, stop := x.anthropicContent()
	writeJSON(w, http.StatusOK, anthropicMessage{
		ID:         fmt.Sprintf("msg_%d", x.id),
		Type:       "message",
		Role:       "assistant",
		Model:      x.wire.Model,
		Content:    content,
		StopReason: &stop,
		Usage:      anthropicUsage{InputTokens: x.promptTokens(), OutputTokens: x.completionTokens()},
	})
}

// streamAnthropic streams a message as Anthropic's named server-sent events:
// message_start, one block (start, deltas, stop: text_delta for text,
// input_json_delta for a tool's input), message_delta with the stop
// reason, and message_stop.
func streamAnthropic(w http.ResponseWriter, x exchange) {
	type object = map[string]any
	s := startStream(w, "text/event-stream; charset=utf-8")

	s.event("message_start", object{
		"type": "message_start",
		"message": anthropicMessage{
			ID:      fmt.Sprintf("msg_%d", x.id),
			Type:    "message",
			Role:    "assistant",
			Model:   x.wire.Model,
			Content: []anthropicBlock{},
			Usage:   anthropicUsage{InputTokens: x.promptTokens(), OutputTokens: 1},
		},
	})
	content, stop := x.anthropicContent()
	start, delta := content[0], object{"type": "text_delta"}
	if start.Type == "tool_use" {
		start.Input = json.RawMessage("{}")
		delta = object{"type": "input_json_delta"}
	} else {
		empty := ""
		start.Text = &empty
	}
	s.event("content_block_start", object{
		"type": "content_block_start", "index": 0,
		"content_block": start,
	})
	s.event("ping", object{"type": "ping"})
	for _, p := range pieces(x.content, 3) {
		d := maps.Clone(delta)
		if start.Type == "tool_use" {
			d["partial_json"] = p
		} else {
			d["text"] = p
		}
		s.event("content_block_delta", object{
			"type": "content_block_delta", "index": 0,
			"delta": d,
		})
	}
	s.event("content_block_stop", object{"type": "content_block_stop", "index": 0})
	s.event("message_delta", object{
		"type":  "message_delta",
		"delta": object{"stop_reason": stop, "stop_sequence": nil},
		"usage": object{"output_tokens": x.completionTokens()},
	})
	s.event("message_stop", object{"type": "message_stop"})
}

// failAnthropic writes an error in Anthropic's format, its type named after
// the status as Anthropic names it.
func failAnthropic(w http.ResponseWriter, status int, msg string) {
	kind := "api_error"
	if status < 500 {
		kind = "invalid_request_error"
	}
	switch status {
	case http.StatusUnauthorized:
		kind = "authentication_error"
	case http.StatusForbidden:
		kind = "permission_error"
	case http.StatusNotFound:
		kind = "not_found_error"
	case http.StatusRequestEntityTooLarge:
		kind = "request_too_large"
	case http.StatusTooManyRequests:
		kind = "rate_limit_error"
	case 529:
		kind = "overloaded_error"
	}
	type apiError struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	writeJSON(w, status, struct {
		Type  string   `json:"type"`
		Error apiError `json:"error"`
	}{"error", apiError{Type: kind, Message: msg}})
}
