package llmjudgetest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Request is one request as received, recorded before its reply is computed.
type Request struct {
	// Format is the wire format of the endpoint: "openai", "anthropic" or
	// "ollama"; it is empty for a request to an unknown path.
	Format string
	Path   string
	Header http.Header

	// Body is the raw request body. It is nil when the body was too large.
	Body []byte

	// The fields below are decoded from Body; they are zero when Body is not
	// a JSON object.

	Model string

	// System is the text of the system messages, joined by "\n": OpenAI's
	// role system and developer messages, Anthropic's top-level "system"
	// (a string or text blocks), Ollama's role system messages.
	System string

	// User is the text of the user messages, joined by "\n". Content given
	// as an array of parts contributes the text of each text part.
	User string

	// Messages is every message in order. Anthropic's top-level system
	// prompt comes first, as a message with role "system", so that the same
	// conversation reads the same in every format.
	Messages []Message

	// ResponseFormat is OpenAI's "response_format" or Ollama's "format" as
	// sent, or nil when absent, null or the empty string.
	ResponseFormat json.RawMessage

	// Schema is the JSON schema the answer was asked to follow, in any
	// format: OpenAI's response_format.json_schema.schema, Ollama's format
	// when it is a schema, or the input_schema of the tool an Anthropic
	// request forces (tool_choice {"type":"tool"}); nil when none.
	Schema json.RawMessage

	// Tool is the name of the tool an Anthropic request forces the model
	// to call; "" when none.
	Tool string

	// MaxTokens is the bound on the answer: OpenAI's max_completion_tokens
	// (or max_tokens), Anthropic's max_tokens, Ollama's options.num_predict;
	// 0 when none.
	MaxTokens int

	// NumCtx is Ollama's options.num_ctx; 0 when absent.
	NumCtx int

	// Overflow reports an Ollama request whose messages do not fit in its
	// context window (num_ctx, else OllamaDefaultContext), counted at the
	// server's four bytes a token: Ollama would silently drop the start of
	// the prompt.
	Overflow bool

	// Received is when the request arrived.
	Received time.Time
}

// Message is one message of a conversation.
type Message struct {
	Role string
	Text string
}

// wireRequest holds the fields of a chat request that the server reads, in
// any of the three formats.
type wireRequest struct {
	Model         string          `json:"model"`
	System        json.RawMessage `json:"system"` // Anthropic only
	Messages      []wireMessage   `json:"messages"`
	Stream        *bool           `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"` // OpenAI only
	ResponseFormat json.RawMessage `json:"response_format"` // OpenAI only
	Format         json.RawMessage `json:"format"`          // Ollama only

	MaxTokens           int `json:"max_tokens"`            // OpenAI (legacy), Anthropic
	MaxCompletionTokens int `json:"max_completion_tokens"` // OpenAI
	Options             struct {
		NumCtx     int `json:"num_ctx"`
		NumPredict int `json:"num_predict"`
	} `json:"options"` // Ollama only
	Tools []struct {
		Name        string          `json:"name"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"` // Anthropic's form
	ToolChoice json.RawMessage `json:"tool_choice"`
}

// OllamaDefaultContext is the context window Ollama gives a request that
// sets no num_ctx.
const OllamaDefaultContext = 4096

// forcedTool is the tool an Anthropic request's tool_choice forces, or "".
func (w *wireRequest) forcedTool() string {
	var c struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(w.ToolChoice, &c) != nil || c.Type != "tool" {
		return ""
	}
	return c.Name
}

// wireMessage is one message of a chat request.
type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// newRequest records what every request has, decoded or not.
func newRequest(format string, r *http.Request, body []byte, received time.Time) Request {
	return Request{
		Format:   format,
		Path:     r.URL.Path,
		Header:   r.Header.Clone(),
		Body:     body,
		Received: received,
	}
}

// describe fills in the fields decoded from the body.
func (req *Request) describe(w *wireRequest) {
	req.Model = w.Model
	if sys := text(w.System); sys != "" {
		req.Messages = append(req.Messages, Message{Role: "system", Text: sys})
	}
	for _, m := range w.Messages {
		req.Messages = append(req.Messages, Message{Role: m.Role, Text: text(m.Content)})
	}

	var system, user []string
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			system = append(system, m.Text)
		case "user":
			user = append(user, m.Text)
		}
	}
	req.System = strings.Join(system, "\n")
	req.User = strings.Join(user, "\n")

	req.ResponseFormat = present(w.ResponseFormat)
	if req.ResponseFormat == nil {
		req.ResponseFormat = present(w.Format)
	}

	var rf struct {
		JSONSchema struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	switch {
	case w.ResponseFormat != nil:
		if json.Unmarshal(w.ResponseFormat, &rf) == nil {
			req.Schema = present(rf.JSONSchema.Schema)
		}
	case bytes.HasPrefix(bytes.TrimSpace(w.Format), []byte("{")):
		req.Schema = w.Format
	}
	if req.Tool = w.forcedTool(); req.Tool != "" {
		for _, t := range w.Tools {
			if t.Name == req.Tool {
				req.Schema = present(t.InputSchema)
			}
		}
	}

	req.MaxTokens = w.MaxCompletionTokens
	if req.MaxTokens == 0 {
		req.MaxTokens = w.MaxTokens
	}
	if req.MaxTokens == 0 {
		req.MaxTokens = w.Options.NumPredict
	}
	req.NumCtx = w.Options.NumCtx
	if req.Format == "ollama" {
		window := req.NumCtx
		if window <= 0 {
			window = OllamaDefaultContext
		}
		n := 0
		for _, m := range req.Messages {
			n += tokens(m.Text)
		}
		req.Overflow = n > window
	}
}

// text returns the text of message content given as a JSON string or as an
// array of parts, the text parts joined by "\n".
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var texts []string
	for _, p := range parts {
		if p.Text != nil {
			texts = append(texts, *p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// present returns raw, or nil if raw is absent, null or "".
func present(raw json.RawMessage) json.RawMessage {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", `""`:
		return nil
	}
	return raw
}
