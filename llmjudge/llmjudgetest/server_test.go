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

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
)

const (
	openAIToken    = "sk-test-openai"
	anthropicToken = "sk-ant-test"
)

// A provider builds the judge's real client of one provider, pointed at a
// test server.
type provider struct {
	format string
	model  string
	path   string
	new    func(t *testing.T, s *llmjudgetest.Server) llmjudge.Model
}

// newModel returns the judge's model of provider at base.
func newModel(t *testing.T, provider, model, base, key string) llmjudge.Model {
	t.Helper()
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: provider, Model: model, BaseURL: base, APIKey: key})
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return m
}

var providers = []provider{
	{
		format: "openai", model: "gpt-4o-mini", path: "/v1/chat/completions",
		new: func(t *testing.T, s *llmjudgetest.Server) llmjudge.Model {
			return newModel(t, llmjudge.ProviderOpenAI, "gpt-4o-mini", s.URL+"/v1", openAIToken)
		},
	},
	{
		format: "anthropic", model: "claude-3-5-haiku-latest", path: "/v1/messages",
		new: func(t *testing.T, s *llmjudgetest.Server) llmjudge.Model {
			return newModel(t, llmjudge.ProviderAnthropic, "claude-3-5-haiku-latest", s.URL+"/v1", anthropicToken)
		},
	},
	{
		format: "ollama", model: "llama3.2", path: "/api/chat",
		new: func(t *testing.T, s *llmjudgetest.Server) llmjudge.Model {
			return newModel(t, llmjudge.ProviderOllama, "llama3.2", s.URL, "")
		},
	},
}

// testSchema is the answer schema the tests send.
const testSchema = `{"type":"object","properties":{"verdict":{"type":"string","enum":["allow","deny"]}},"required":["verdict"],"additionalProperties":false}`

// judge sends a system and a user message, with testSchema, and returns
// the answer.
func judge(ctx context.Context, m llmjudge.Model, system, user string) (string, error) {
	return m.Complete(ctx, llmjudge.Query{System: system, User: user, Schema: json.RawMessage(testSchema), MaxTokens: 300, ContextTokens: 4096})
}

func TestScriptedContent(t *testing.T) {
	for _, p := range providers {
		t.Run(p.format, func(t *testing.T) {
			s := llmjudgetest.New(t)
			want := `{"verdict":"allow","reason":"read-only — fine"}`
			s.Script(llmjudgetest.Reply{Content: want})

			got, err := judge(t.Context(), p.new(t, s), "You are a judge.", "May I read /etc/hosts?")
			if err != nil {
				t.Fatalf("Complete: %v", err)
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
			if string(r.Schema) != testSchema || r.MaxTokens != 300 {
				t.Errorf("Request.Schema = %s, MaxTokens = %d; want %s, 300", r.Schema, r.MaxTokens, testSchema)
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
			t.Fatalf("%s: Complete: %v", p.format, err)
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

// A request that asks for a stream gets the answer in pieces, in the
// provider's own framing: OpenAI's and Anthropic's server-sent events,
// Ollama's newline-delimited JSON (its default).
func TestStreaming(t *testing.T) {
	want := `{"verdict":"deny","reason":"writes outside the workspace — blocked"}`
	tests := []struct {
		format, path, body string
		piece              func(line string) string // the content a line carries
	}{
		{"openai", "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			func(line string) string {
				var c struct {
					Choices []struct {
						Delta struct{ Content string } `json:"delta"`
					} `json:"choices"`
				}
				if data, ok := strings.CutPrefix(line, "data: "); ok && data != "[DONE]" && json.Unmarshal([]byte(data), &c) == nil && len(c.Choices) == 1 {
					return c.Choices[0].Delta.Content
				}
				return ""
			}},
		{"anthropic text", "/v1/messages", `{"model":"m","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
			func(line string) string { return anthropicDelta(line, "text_delta", "text") }},
		{"anthropic tool", "/v1/messages", `{"model":"m","stream":true,"max_tokens":10,"messages":[{"role":"user","content":"hi"}],` +
			`"tools":[{"name":"answer","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"answer"}}`,
			func(line string) string { return anthropicDelta(line, "input_json_delta", "partial_json") }},
		{"ollama", "/api/chat", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			func(line string) string {
				var c struct{ Message struct{ Content string } }
				json.Unmarshal([]byte(line), &c)
				return c.Message.Content
			}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			s := llmjudgetest.New(t)
			s.Script(llmjudgetest.Reply{Content: want})
			_, body := post(t, s.URL+tt.path, tt.body)
			var got []string
			for line := range strings.SplitSeq(string(body), "\n") {
				if p := tt.piece(line); p != "" {
					got = append(got, p)
				}
			}
			if strings.Join(got, "") != want || len(got) < 2 {
				t.Errorf("pieces %q; want several, making %q\n%s", got, want, body)
			}
		})
	}
}

// anthropicDelta is the field of a content_block_delta event's delta of
// the given type, or "".
func anthropicDelta(line, kind, field string) string {
	var e struct {
		Type  string            `json:"type"`
		Delta map[string]string `json:"delta"`
	}
	data, ok := strings.CutPrefix(line, "data: ")
	if !ok || json.Unmarshal([]byte(data), &e) != nil || e.Type != "content_block_delta" || e.Delta["type"] != kind {
		return ""
	}
	return e.Delta[field]
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

// The server reads the answer's schema, bound and window from each
// provider's own fields, as the judge's clients send them.
func TestRequestFields(t *testing.T) {
	s := llmjudgetest.New(t)
	for _, p := range providers {
		if _, err := judge(t.Context(), p.new(t, s), "sys", "user"); err != nil {
			t.Fatalf("%s: %v", p.format, err)
		}
	}
	reqs := s.Requests()
	for i, p := range providers {
		r := reqs[i]
		if string(r.Schema) != testSchema || r.MaxTokens != 300 {
			t.Errorf("%s: Schema %s, MaxTokens %d; want %s, 300", p.format, r.Schema, r.MaxTokens, testSchema)
		}
		wantTool, wantCtx := "", 0
		switch p.format {
		case "anthropic":
			wantTool = "policy_verdicts"
		case "ollama":
			wantCtx = 4096
		}
		if r.Tool != wantTool || r.NumCtx != wantCtx || r.Overflow {
			t.Errorf("%s: Tool %q, NumCtx %d, Overflow %t; want %q, %d, false", p.format, r.Tool, r.NumCtx, r.Overflow, wantTool, wantCtx)
		}
	}

	// An Ollama request longer than its window would lose its start.
	long := `{"model":"m","stream":false,"messages":[{"role":"user","content":"` + strings.Repeat("x", 4*llmjudgetest.OllamaDefaultContext+8) + `"}]}`
	post(t, s.URL+"/api/chat", long)
	if r := s.Requests()[len(providers)]; !r.Overflow {
		t.Errorf("an Ollama request of %d tokens with no num_ctx: Overflow false; want true", 4*llmjudgetest.OllamaDefaultContext+8)
	}
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
					t.Errorf("Complete error = %v; want one carrying %q", err, msg)
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
				t.Errorf("Complete = %q, nil; want an error", got)
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
				t.Errorf("Complete took %v; want about 200ms", d)
			}
		}) // the server closes here
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: call and close took %v; want < 3s", p.format, d)
		}
		if err == nil {
			t.Errorf("%s: Complete succeeded; want a timeout error", p.format)
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
			t.Error("Complete succeeded; want an error when the server closes")
		}
		t.Logf("error after close: %v", err)
	case <-time.After(3 * time.Second):
		t.Error("Complete still waiting 3s after the server closed")
	}
}

func TestRespond(t *testing.T) {
	s := llmjudgetest.New(t)
	llm := providers[0].new(t, s)
	ask := func(user string) string {
		t.Helper()
		got, err := judge(t.Context(), llm, "sys", user)
		if err != nil {
			t.Fatalf("Complete(%q): %v", user, err)
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
			t.Errorf("Complete(%q) = %q; want %q", tt.user, got, tt.want)
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
		b, _ := json.Marshal(map[string]string{"echo": r.User})
		return llmjudgetest.Reply{Content: string(b)}
	})
	clients := make([]llmjudge.Model, len(providers))
	for i, p := range providers {
		clients[i] = p.new(t, s)
	}

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			user := fmt.Sprint("call ", i)
			got, err := judge(t.Context(), clients[i%len(clients)], "sys", user)
			want, _ := json.Marshal(map[string]string{"echo": user})
			if err != nil || got != string(want) {
				t.Errorf("Complete(%q) = %q, %v; want %s", user, got, err, want)
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
		t.Fatalf("Complete: %v", err)
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
