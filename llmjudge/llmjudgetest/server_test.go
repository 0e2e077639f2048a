package llmjudgetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/anthropic"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
)

const (
	openAIToken    = "sk-test-openai"
	anthropicToken = "sk-ant-test"
)

// A provider builds a real langchaingo client pointed at a test server.
type provider struct {
	format string
	model  string
	path   string
	new    func(t *testing.T, s *llmjudgetest.Server) llms.Model
}

var providers = []provider{
	{
		format: "openai", model: "gpt-4o-mini", path: "/v1/chat/completions",
		new: func(t *testing.T, s *llmjudgetest.Server) llms.Model {
			llm, err := openai.New(
				openai.WithToken(openAIToken),
				openai.WithBaseURL(s.URL+"/v1"),
				openai.WithModel("gpt-4o-mini"),
			)
			return check(t, llm, err)
		},
	},
	{
		format: "anthropic", model: "claude-3-5-haiku-latest", path: "/v1/messages",
		new: func(t *testing.T, s *llmjudgetest.Server) llms.Model {
			llm, err := anthropic.New(
				anthropic.WithToken(anthropicToken),
				anthropic.WithBaseURL(s.URL+"/v1"),
				anthropic.WithModel("claude-3-5-haiku-latest"),
			)
			return check(t, llm, err)
		},
	},
	{
		format: "ollama", model: "llama3.2", path: "/api/chat",
		new: func(t *testing.T, s *llmjudgetest.Server) llms.Model {
			llm, err := ollama.New(
				ollama.WithServerURL(s.URL),
				ollama.WithModel("llama3.2"),
			)
			return check(t, llm, err)
		},
	},
}

// check fails the test if building a client failed, and otherwise returns
// the client.
func check(t *testing.T, m llms.Model, err error) llms.Model {
	t.Helper()
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return m
}

// judge sends a system and a human message and returns the answer.
func judge(ctx context.Context, m llms.Model, system, user string, opts ...llms.CallOption) (string, error) {
	resp, err := m.GenerateContent(ctx, []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, system),
		llms.TextParts(llms.ChatMessageTypeHuman, user),
	}, opts...)
	if err != nil {
		return "", err
	}
	return resp.Choices[0].Content, nil
}

func TestScriptedContent(t *testing.T) {
	for _, p := range providers {
		t.Run(p.format, func(t *testing.T) {
			s := llmjudgetest.New(t)
			want := `{"verdict":"allow","reason":"read-only — fine"}`
			s.Script(llmjudgetest.Reply{Content: want})

			got, err := judge(t.Context(), p.new(t, s), "You are a judge.", "May I read /etc/hosts?")
			if err != nil {
				t.Fatalf("GenerateContent: %v", err)
			}
			if got != want {
				t.Errorf("content = %q; want %q", got, want)
			}

			reqs := s.Requests()
			if len(reqs) != 1 {
				t.Fatalf("len(Requests()) = %d; want 1", len(reqs))
			}
			r := reqs[0]
			checks := []struct{ name, got, want string }{
				{"Format", r.Format, p.format},
				{"Path", r.Path, p.path},
				{"Model", r.Model, p.model},
				{"System", r.System, "You are a judge."},
				{"User", r.User, "May I read /etc/hosts?"},
				{"Messages", fmt.Sprint(r.Messages), "[{system You are a judge.} {user May I read /etc/hosts?}]"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("Request.%s = %q; want %q", c.name, c.got, c.want)
				}
			}
			if r.ResponseFormat != nil {
				t.Errorf("Request.ResponseFormat = %s; want nil", r.ResponseFormat)
			}
			if r.Received.IsZero() || !json.Valid(r.Body) {
				t.Errorf("Request.Received = %v, Body = %q; want a time and JSON", r.Received, r.Body)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	s := llmjudgetest.New(t)
	for _, p := range providers[:2] {
		if _, err := judge(t.Context(), p.new(t, s), "sys", "user"); err != nil {
			t.Fatalf("%s: GenerateContent: %v", p.format, err)
		}
	}
	reqs := s.Requests()
	checks := []struct{ format, key, got, want string }{
		{"openai", "Authorization", reqs[0].Header.Get("Authorization"), "Bearer " + openAIToken},
		{"anthropic", "X-Api-Key", reqs[1].Header.Get("X-Api-Key"), anthropicToken},
		{"anthropic", "Anthropic-Version", reqs[1].Header.Get("Anthropic-Version"), "2023-06-01"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s header %s = %q; want %q", c.format, c.key, c.got, c.want)
		}
	}
}

func TestStreaming(t *testing.T) {
	for _, p := range providers {
		t.Run(p.format, func(t *testing.T) {
			s := llmjudgetest.New(t)
			want := `{"verdict":"deny","reason":"writes outside the workspace — blocked"}`
			s.Script(llmjudgetest.Reply{Content: want})

			var chunks []string
			got, err := judge(t.Context(), p.new(t, s), "sys", "user",
				llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
					if len(chunk) > 0 {
						chunks = append(chunks, string(chunk))
					}
					return nil
				}))
			if err != nil {
				t.Fatalf("GenerateContent: %v", err)
			}
			if got != want || strings.Join(chunks, "") != want {
				t.Errorf("content = %q, chunks = %q; want %q", got, chunks, want)
			}
			if len(chunks) < 2 {
				t.Errorf("got %d chunks; want several", len(chunks))
			}
		})
	}
}

func TestOllamaNotStreaming(t *testing.T) {
	s := llmjudgetest.New(t)
	s.Script(llmjudgetest.Reply{Content: "hello"})
	resp, body := post(t, s.URL+"/api/chat", `{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q; want 200, application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var chat struct {
		Model   string `json:"model"`
		Message struct{ Role, Content string }
		Done    bool `json:"done"`
	}
	if err := json.Unmarshal(body, &chat); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	if chat.Model != "llama3.2" || chat.Message.Content != "hello" || !chat.Done {
		t.Errorf("answer = %s; want one done object with content hello", body)
	}
}

func TestResponseFormat(t *testing.T) {
	tests := []struct {
		name string
		opts []openai.Option
		call []llms.CallOption
		want string
	}{
		{
			name: "json mode",
			call: []llms.CallOption{llms.WithJSONMode()},
			want: `{"type":"json_object"}`,
		},
		{
			name: "json schema",
			opts: []openai.Option{openai.WithResponseFormat(&openai.ResponseFormat{
				Type: "json_schema",
				JSONSchema: &openai.ResponseFormatJSONSchema{
					Name:   "verdict",
					Strict: true,
					Schema: &openai.ResponseFormatJSONSchemaProperty{
						Type: "object",
						Properties: map[string]*openai.ResponseFormatJSONSchemaProperty{
							"verdict": {Type: "string", Enum: []any{"allow", "deny"}},
						},
						Required: []string{"verdict"},
					},
				},
			})},
			want: `{"type":"json_schema","json_schema":{"name":"verdict","strict":true,"schema":{"type":"object","properties":{"verdict":{"type":"string","enum":["allow","deny"],"additionalProperties":false}},"additionalProperties":false,"required":["verdict"]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := llmjudgetest.New(t)
			opts := append([]openai.Option{openai.WithToken(openAIToken), openai.WithBaseURL(s.URL + "/v1")}, tt.opts...)
			llm, err := openai.New(opts...)
			if err != nil {
				t.Fatalf("new client: %v", err)
			}
			if _, err := judge(t.Context(), llm, "sys", "user", tt.call...); err != nil {
				t.Fatalf("GenerateContent: %v", err)
			}
			if got := string(s.Requests()[0].ResponseFormat); got != tt.want {
				t.Errorf("ResponseFormat = %s; want %s", got, tt.want)
			}
		})
	}

	t.Run("ollama json mode", func(t *testing.T) {
		s := llmjudgetest.New(t)
		if _, err := judge(t.Context(), providers[2].new(t, s), "sys", "user", llms.WithJSONMode()); err != nil {
			t.Fatalf("GenerateContent: %v", err)
		}
		if got := string(s.Requests()[0].ResponseFormat); got != `"json"` {
			t.Errorf("ResponseFormat = %s; want \"json\"", got)
		}
	})
}

func TestErrorStatus(t *testing.T) {
	for _, p := range providers {
		for _, status := range []int{http.StatusInternalServerError, http.StatusTooManyRequests} {
			t.Run(fmt.Sprintf("%s/%d", p.format, status), func(t *testing.T) {
				s := llmjudgetest.New(t)
				msg := fmt.Sprintf("scripted failure %d", status)
				s.Script(llmjudgetest.Reply{Status: status, Content: msg})

				_, err := judge(t.Context(), p.new(t, s), "sys", "user")
				if err == nil || !strings.Contains(err.Error(), msg) {
					t.Errorf("GenerateContent error = %v; want one carrying %q", err, msg)
				}
			})
		}
	}
}

func TestMalformedBody(t *testing.T) {
	for _, p := range providers {
		t.Run(p.format, func(t *testing.T) {
			s := llmjudgetest.New(t)
			s.Script(llmjudgetest.Reply{Body: `{"choices": [`})

			got, err := judge(t.Context(), p.new(t, s), "sys", "user")
			if err == nil {
				t.Errorf("GenerateContent = %q, nil; want an error", got)
			}
		})
	}
}

func TestDelay(t *testing.T) {
	for _, p := range providers {
		var err error
		start := time.Now()
		t.Run(p.format+"/client timeout", func(t *testing.T) {
			s := llmjudgetest.New(t)
			s.Script(llmjudgetest.Reply{Content: "late", Delay: 10 * time.Second})
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			_, err = judge(ctx, p.new(t, s), "sys", "user")
			if d := time.Since(start); d > time.Second {
				t.Errorf("GenerateContent took %v; want about 200ms", d)
			}
		}) // the server closes here
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: call and close took %v; want < 3s", p.format, d)
		}
		if err == nil {
			t.Errorf("%s: GenerateContent succeeded; want a timeout error", p.format)
		}
		t.Logf("%s: errors.Is(err, context.DeadlineExceeded) = %t; err = %v",
			p.format, errors.Is(err, context.DeadlineExceeded), err)
	}
}

func TestCloseDuringDelay(t *testing.T) {
	ctx := t.Context() // outlives the subtest, so the client stays connected
	errc := make(chan error, 1)
	start := time.Now()
	t.Run("server", func(t *testing.T) {
		s := llmjudgetest.New(t)
		s.Script(llmjudgetest.Reply{Content: "late", Delay: 10 * time.Second})
		llm := providers[0].new(t, s)
		go func() {
			_, err := judge(ctx, llm, "sys", "user")
			errc <- err
		}()
		for s.Count() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}) // the server closes here, in the middle of the delay
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v; want < 3s", d)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("GenerateContent succeeded; want an error when the server closes")
		}
		t.Logf("error after close: %v", err)
	case <-time.After(3 * time.Second):
		t.Error("GenerateContent still waiting 3s after the server closed")
	}
}

func TestRespond(t *testing.T) {
	s := llmjudgetest.New(t)
	llm := providers[0].new(t, s)
	ask := func(user string) string {
		t.Helper()
		got, err := judge(t.Context(), llm, "sys", user)
		if err != nil {
			t.Fatalf("GenerateContent(%q): %v", user, err)
		}
		return got
	}

	if got := ask("a"); got != "{}" {
		t.Errorf("initial default = %q; want {}", got)
	}
	s.SetDefault(llmjudgetest.Reply{Content: "default"})
	if got := ask("b"); got != "default" {
		t.Errorf("after SetDefault: %q; want default", got)
	}

	s.Respond(func(r llmjudgetest.Request) llmjudgetest.Reply {
		return llmjudgetest.Reply{Content: "echo " + r.User}
	})
	s.Script(llmjudgetest.Reply{Content: "first"}, llmjudgetest.Reply{Content: "second"})
	for _, tt := range []struct{ user, want string }{
		{"c", "first"},
		{"d", "second"},
		{"e", "echo e"},
		{"f", "echo f"},
	} {
		if got := ask(tt.user); got != tt.want {
			t.Errorf("GenerateContent(%q) = %q; want %q", tt.user, got, tt.want)
		}
	}

	if got := s.Count(); got != 6 {
		t.Errorf("Count() = %d; want 6", got)
	}
	s.Script(llmjudgetest.Reply{Content: "dropped"})
	s.Reset()
	if got := s.Count(); got != 0 {
		t.Errorf("Count() after Reset = %d; want 0", got)
	}
	if got := ask("g"); got != "echo g" {
		t.Errorf("after Reset: %q; want the responder's echo g", got)
	}
}

func TestConcurrent(t *testing.T) {
	s := llmjudgetest.New(t)
	s.Respond(func(r llmjudgetest.Request) llmjudgetest.Reply {
		return llmjudgetest.Reply{Content: "echo " + r.User}
	})
	clients := make([]llms.Model, len(providers))
	for i, p := range providers {
		clients[i] = p.new(t, s)
	}

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			user := fmt.Sprint("call ", i)
			got, err := judge(t.Context(), clients[i%len(clients)], "sys", user)
			if err != nil || got != "echo "+user {
				t.Errorf("GenerateContent(%q) = %q, %v; want %q", user, got, err, "echo "+user)
			}
		})
	}
	wg.Wait()
	if got := s.Count(); got != n {
		t.Errorf("Count() = %d; want %d", got, n)
	}
}

func TestModelLists(t *testing.T) {
	s := llmjudgetest.New(t)
	if _, err := judge(t.Context(), providers[2].new(t, s), "sys", "user"); err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}

	var models struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	getJSON(t, s.URL+"/v1/models", &models)
	if fmt.Sprint(models.Data) != "[{llama3.2} {test-model}]" || models.Object != "list" {
		t.Errorf("/v1/models = %+v; want a list of llama3.2 and test-model", models)
	}

	var tags struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	getJSON(t, s.URL+"/api/tags", &tags)
	if fmt.Sprint(tags.Models) != "[{llama3.2} {test-model}]" {
		t.Errorf("/api/tags = %+v; want llama3.2 and test-model", tags)
	}

	if got := s.Count(); got != 1 {
		t.Errorf("Count() = %d; want 1 (model lists are not counted)", got)
	}
}

func TestNotFound(t *testing.T) {
	s := llmjudgetest.New(t)
	resp, body := post(t, s.URL+"/chat/completions", `{}`)
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); resp.StatusCode != http.StatusNotFound || err != nil || e.Error.Message == "" {
		t.Errorf("POST /chat/completions = %d %s; want 404 with an OpenAI error", resp.StatusCode, body)
	}
	if r := s.Requests(); len(r) != 1 || r[0].Path != "/chat/completions" || r[0].Format != "" {
		t.Errorf("Requests() = %+v; want the stray request recorded", r)
	}
}

func TestTooLarge(t *testing.T) {
	s := llmjudgetest.New(t)
	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 16<<20) + `"}]}`
	resp, body := post(t, s.URL+"/v1/chat/completions", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d %s; want 413", resp.StatusCode, body)
	}
}

// post sends body to url and returns the response and its body.
func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

// getJSON gets url and decodes the JSON answer into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %q: %v", url, body, err)
	}
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	return resp, body
}
