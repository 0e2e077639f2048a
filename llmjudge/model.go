package llmjudge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Model is one chat model: the small interface the judge needs of a
// provider, so that a provider can be swapped.
type Model interface {
	// Complete sends q and returns the text of the answer: the answer
	// object, as the model wrote it.
	Complete(ctx context.Context, q Query) (string, error)
	// Name is the provider and model, as in "openai/gpt-4o-mini".
	Name() string
}

// Query is one request to a model.
type Query struct {
	// System and User are the two messages.
	System, User string
	// Schema is the JSON schema the answer must follow (answerSchema):
	// sent as structured output (OpenAI), as the format (Ollama) or as the
	// input schema of a tool the model must call (Anthropic).
	Schema json.RawMessage
	// MaxTokens bounds the answer's length.
	MaxTokens int
	// ContextTokens is the context window the request needs, prompt and
	// answer: the num_ctx sent to Ollama; the others size it themselves.
	ContextTokens int
}

// The providers a ModelConfig may name.
const (
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
	ProviderOllama    = "ollama"
)

// The base URLs used when a ModelConfig gives none.
const (
	DefaultOpenAIURL    = "https://api.openai.com/v1"
	DefaultAnthropicURL = "https://api.anthropic.com/v1"
	DefaultOllamaURL    = "http://127.0.0.1:11434"
)

// ModelConfig says which model to ask and how to reach it.
type ModelConfig struct {
	// Provider is openai (and any OpenAI-compatible server), anthropic or
	// ollama.
	Provider string
	// Model is the provider's name of the model.
	Model string
	// BaseURL is the API's base URL; "" means the provider's default
	// above. For an OpenAI-compatible server it ends in /v1.
	BaseURL string
	// APIKey is the key itself (never logged); "" for servers that need
	// none, such as a local Ollama or vLLM.
	APIKey string
	// HTTPClient sends the requests; nil means a client of the judge's
	// own, with a pool sized for concurrent calls.
	HTTPClient *http.Client
}

// maxAnswerBytes bounds an HTTP response body from a provider.
const maxAnswerBytes = 4 << 20

// maxErrorText bounds the provider's error message kept in an error.
const maxErrorText = 300

// NewModel returns the model cfg names, spoken to over its provider's
// HTTP API. It does no I/O.
func NewModel(cfg ModelConfig) (Model, error) {
	if cfg.Model == "" {
		return nil, errors.New("no model is named")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		pool := http.DefaultTransport.(*http.Transport).Clone()
		pool.MaxIdleConns, pool.MaxIdleConnsPerHost = 256, 256
		hc = &http.Client{Transport: pool}
	}
	// No redirects: a provider's API never needs one, and following one
	// would carry the key (Anthropic's x-api-key header is not stripped
	// across hosts) to wherever the redirect points.
	hc = &http.Client{Transport: transportOf(hc), CheckRedirect: refuseRedirect, Jar: hc.Jar, Timeout: hc.Timeout}
	c := client{name: cfg.Provider + "/" + cfg.Model, model: cfg.Model, key: cfg.APIKey, http: hc}
	switch cfg.Provider {
	case ProviderOpenAI:
		c.url = orDefault(cfg.BaseURL, DefaultOpenAIURL) + "/chat/completions"
		return &openAIModel{c}, nil
	case ProviderAnthropic:
		c.url = orDefault(cfg.BaseURL, DefaultAnthropicURL) + "/messages"
		return &anthropicModel{c}, nil
	case ProviderOllama:
		c.url = orDefault(cfg.BaseURL, DefaultOllamaURL) + "/api/chat"
		return &ollamaModel{c}, nil
	}
	return nil, fmt.Errorf("unknown provider %q (want openai, anthropic or ollama)", cfg.Provider)
}

// client is what the three providers' models share: where to post, with
// which key, and how.
type client struct {
	name, model, url, key string
	http                  *http.Client
}

func (c *client) Name() string { return c.name }

// post sends body as JSON with the given headers and decodes a successful
// answer into out. An HTTP error answer is a *StatusError carrying the
// provider's message, bounded; every answer body is bounded by
// maxAnswerBytes.
func (c *client) post(ctx context.Context, body any, header http.Header, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("ask %s: %w", c.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("ask %s: %w", c.name, err)
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ask %s: %w", c.name, ctx.Err())
		}
		return fmt.Errorf("ask %s: %w", c.name, err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err == nil && len(text) > maxAnswerBytes {
		err = fmt.Errorf("the response is larger than %d bytes", maxAnswerBytes)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("ask %s: read the answer: %w", c.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ask %s: %w", c.name, &StatusError{
			Code: resp.StatusCode,
			Err:  fmt.Errorf("the provider answered HTTP %d: %s", resp.StatusCode, errorText(text)),
		})
	}
	if err := json.Unmarshal(text, out); err != nil {
		shown, _ := cutMiddle(string(text), 200)
		return fmt.Errorf("ask %s: the provider's answer is not what its API returns: %v (it answered %q)", c.name, err, shown)
	}
	return nil
}

// errorText is the message of a provider's error answer: the "message"
// (OpenAI, Anthropic) or "error" (Ollama) it holds, else the body, bounded
// and on one line.
func errorText(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != nil {
		var s string
		var obj struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(e.Error, &s) == nil:
			msg = s
		case json.Unmarshal(e.Error, &obj) == nil && obj.Message != "":
			msg = obj.Message
		}
	}
	if msg == "" {
		return "no message"
	}
	return cleanReason(truncate(msg, maxErrorText))
}

// truncate keeps the first n bytes of s, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// unfinishedError is the failure of an answer the provider stopped short
// (see unfinished), or nil.
func unfinishedError(name, reason string) error {
	if unfinished[reason] {
		return fmt.Errorf("ask %s: %w", name, &StopError{Reason: reason})
	}
	return nil
}

func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("the judge's API answered with a redirect to %s; set judge.base_url to the final address", req.URL.Redacted())
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return strings.TrimRight(s, "/")
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}
