package llmjudge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// Model is one chat model: the small interface the judge needs of a
// provider, so that a provider (or the library behind it) can be swapped.
type Model interface {
	// Complete sends a system and a user message and returns the text
	// of the answer.
	Complete(ctx context.Context, system, user string) (string, error)
	// Name is the provider and model, as in "openai/gpt-4o-mini".
	Name() string
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

// maxAnswerTokens bounds the length of an answer. It is generous so that
// reasoning models, whose reasoning counts against it, still answer.
const maxAnswerTokens = 4096

// noKey stands in for the key of a server that needs none: langchaingo's
// OpenAI and Anthropic clients refuse an empty key (and would otherwise
// read one from the environment).
const noKey = "gatehouse-no-key"

// NewModel returns the model cfg names, speaking to it through
// langchaingo. It does no I/O.
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
	hc = &http.Client{Transport: limitBody{base: transportOf(hc)}, CheckRedirect: refuseRedirect}
	key := cfg.APIKey
	if key == "" {
		key = noKey
	}
	m := &lcModel{name: cfg.Provider + "/" + cfg.Model}
	var err error
	switch cfg.Provider {
	case ProviderOpenAI:
		m.json = true
		m.llm, err = openai.New(
			openai.WithModel(cfg.Model),
			openai.WithToken(key),
			openai.WithBaseURL(orDefault(cfg.BaseURL, DefaultOpenAIURL)),
			openai.WithOrganization(""),
			openai.WithHTTPClient(hc),
			openai.WithResponseFormat(answerFormat),
		)
	case ProviderAnthropic:
		m.llm, err = anthropic.New(
			anthropic.WithModel(cfg.Model),
			anthropic.WithToken(key),
			anthropic.WithBaseURL(orDefault(cfg.BaseURL, DefaultAnthropicURL)),
			anthropic.WithHTTPClient(hc),
		)
	case ProviderOllama:
		m.json = true
		m.llm, err = ollama.New(
			ollama.WithModel(cfg.Model),
			ollama.WithServerURL(orDefault(cfg.BaseURL, DefaultOllamaURL)),
			ollama.WithHTTPClient(hc),
			ollama.WithFormat("json"),
		)
	default:
		return nil, fmt.Errorf("unknown provider %q (want openai, anthropic or ollama)", cfg.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("set up %s: %w", m.name, err)
	}
	return m, nil
}

// answerFormat asks an OpenAI-compatible server for structured output: the
// answer object, enforced by the server where it can.
var answerFormat = &openai.ResponseFormat{
	Type: "json_schema",
	JSONSchema: &openai.ResponseFormatJSONSchema{
		Name:   "policy_verdicts",
		Strict: true,
		Schema: &openai.ResponseFormatJSONSchemaProperty{
			Type: "object",
			Properties: map[string]*openai.ResponseFormatJSONSchemaProperty{
				"results": {
					Type: "array",
					Items: &openai.ResponseFormatJSONSchemaProperty{
						Type: "object",
						Properties: map[string]*openai.ResponseFormatJSONSchemaProperty{
							"policy":  {Type: "string"},
							"verdict": {Type: "string", Enum: []any{"comply", "violate", "needs_approval"}},
							"reason":  {Type: "string"},
						},
						Required: []string{"policy", "verdict", "reason"},
					},
				},
			},
			Required: []string{"results"},
		},
	},
}

// lcModel is a Model spoken to through langchaingo.
type lcModel struct {
	name string
	llm  llms.Model
	json bool // ask for JSON mode
}

func (m *lcModel) Name() string { return m.name }

func (m *lcModel) Complete(ctx context.Context, system, user string) (string, error) {
	opts := []llms.CallOption{llms.WithTemperature(0), llms.WithMaxTokens(maxAnswerTokens)}
	if m.json {
		opts = append(opts, llms.WithJSONMode())
	}
	ctx, transportErr := withFailure(ctx)
	resp, err := m.llm.GenerateContent(ctx, []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, system),
		llms.TextParts(llms.ChatMessageTypeHuman, user),
	}, opts...)
	if err != nil {
		// langchaingo does not always wrap the context's error.
		if ctx.Err() != nil {
			return "", fmt.Errorf("ask %s: %w", m.name, ctx.Err())
		}
		status, terr := transportErr.get()
		if terr != nil && !strings.Contains(err.Error(), terr.Error()) {
			err = fmt.Errorf("%w (%w)", err, terr)
		}
		if status != 0 {
			err = &StatusError{Code: status, Err: err}
		}
		return "", fmt.Errorf("ask %s: %w", m.name, err)
	}
	if len(resp.Choices) != 1 {
		return "", fmt.Errorf("ask %s: it gave %d answers, want 1", m.name, len(resp.Choices))
	}
	if r := resp.Choices[0].StopReason; unfinished[r] {
		return "", fmt.Errorf("ask %s: %w", m.name, &StopError{Reason: r})
	}
	return resp.Choices[0].Content, nil
}

func refuseRedirect(req *http.Request, _ []*http.Request) error {
	err := fmt.Errorf("the judge's API answered with a redirect to %s; set judge.base_url to the final address", req.URL.Redacted())
	noteFailure(req, err)
	return err
}

// transportFailure keeps the transport's own error of a request, and the
// HTTP status of an error answer: langchaingo's OpenAI client replaces the
// first with "network error: failed to reach API server", which tells a
// person nothing, and each provider's client words the second its own way,
// while the judge must tell a 400 from a 503 (see classify).
type transportFailure struct {
	mu     sync.Mutex
	err    error
	status int
}

type failureKey struct{}

// withFailure returns ctx carrying a place for the transport's error.
func withFailure(ctx context.Context) (context.Context, *transportFailure) {
	f := &transportFailure{}
	return context.WithValue(ctx, failureKey{}, f), f
}

func noteFailure(r *http.Request, err error) {
	if f, ok := r.Context().Value(failureKey{}).(*transportFailure); ok {
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
	}
}

// noteStatus keeps the status of an HTTP error answer.
func noteStatus(r *http.Request, status int) {
	if f, ok := r.Context().Value(failureKey{}).(*transportFailure); ok {
		f.mu.Lock()
		f.status = status
		f.mu.Unlock()
	}
}

func (f *transportFailure) get() (status int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, f.err
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

// limitBody bounds every response body, so that a provider (or anything
// posing as one at base_url) cannot make the gateway allocate without
// limit.
type limitBody struct{ base http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil {
		noteFailure(r, err)
		return resp, err
	}
	if resp.StatusCode >= 400 {
		noteStatus(r, resp.StatusCode)
	}
	if resp.Body == nil {
		return resp, nil
	}
	resp.Body = &limitedReader{rc: resp.Body, left: maxAnswerBytes}
	return resp, nil
}

type limitedReader struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, err := l.rc.Read(one[:]); n == 0 && err != nil {
			return 0, err // the body ended right at the limit
		}
		return 0, fmt.Errorf("the response is larger than %d bytes", maxAnswerBytes)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedReader) Close() error { return l.rc.Close() }
