package llmjudge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
)

// Usage is what the providers reported of the tokens and cost of a run
// of requests. A provider that reports nothing leaves it at zero, with
// Reported telling the two apart.
type Usage struct {
	// Requests is the number of requests made; Reported is how many of
	// their answers gave token counts.
	Requests int `json:"requests"`
	Reported int `json:"reported"`
	// InputTokens and OutputTokens are the prompt's and the answer's
	// tokens: OpenAI's prompt_tokens and completion_tokens, Anthropic's
	// input_tokens and output_tokens, Ollama's prompt_eval_count and
	// eval_count.
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	// Cost is the sum of usage.cost over the CostReported answers that
	// gave one (OpenRouter and some OpenAI-compatible servers do, in
	// US dollars or credits; OpenAI, Anthropic and Ollama do not).
	CostReported int     `json:"cost_reported"`
	Cost         float64 `json:"cost"`
}

// add counts one request and what its answer reported.
func (u *Usage) add(r reported) {
	u.Requests++
	if r.tokens {
		u.Reported++
		u.InputTokens += r.in
		u.OutputTokens += r.out
	}
	if r.cost != nil {
		u.CostReported++
		u.Cost += *r.cost
	}
}

// reported is the usage one answer reported.
type reported struct {
	tokens  bool
	in, out int64
	cost    *float64
}

// usageSink collects the usage of the answers to the requests made with
// a context that carries it.
type usageSink struct {
	mu sync.Mutex
	r  reported
}

func (s *usageSink) set(r reported) {
	s.mu.Lock()
	s.r = r
	s.mu.Unlock()
}

func (s *usageSink) get() reported {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r
}

type usageKey struct{}

// withUsage returns ctx carrying s: the answers to requests made with it
// report their usage there when the model's HTTP client meters usage.
func withUsage(ctx context.Context, s *usageSink) context.Context {
	return context.WithValue(ctx, usageKey{}, s)
}

// MeterUsage returns a transport that sends requests through base and
// reads the token counts and cost from the answers of those made for an
// evaluation (Evaluate), leaving the answers as they were. Give it to
// ModelConfig.HTTPClient for Evaluate to report usage: the Model
// interface returns only the answer's text.
func MeterUsage(base http.RoundTripper) http.RoundTripper {
	return meter{base: base}
}

type meter struct{ base http.RoundTripper }

func (m meter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.base.RoundTrip(r)
	sink, ok := r.Context().Value(usageKey{}).(*usageSink)
	if err != nil || !ok || resp.Body == nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	resp.Body = &meteredBody{rc: resp.Body, sink: sink}
	return resp, nil
}

// meteredBody keeps a copy of what is read of a body, up to
// maxAnswerBytes, and reads the usage from it at the end or at Close.
type meteredBody struct {
	rc   io.ReadCloser
	sink *usageSink
	seen bytes.Buffer
	once sync.Once
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if room := maxAnswerBytes - b.seen.Len(); room > 0 {
		b.seen.Write(p[:min(n, room)])
	}
	if err == io.EOF {
		b.done()
	}
	return n, err
}

func (b *meteredBody) Close() error {
	b.done()
	return b.rc.Close()
}

func (b *meteredBody) done() {
	b.once.Do(func() { b.sink.set(readUsage(b.seen.Bytes())) })
}

// wireUsage holds the usage fields of the three providers' answers and
// stream events.
type wireUsage struct {
	Usage   *usageFields `json:"usage"`
	Message *struct {
		Usage *usageFields `json:"usage"`
	} `json:"message"` // Anthropic's message_start event
	PromptEvalCount *int64 `json:"prompt_eval_count"`
	EvalCount       *int64 `json:"eval_count"`
}

type usageFields struct {
	PromptTokens     *int64   `json:"prompt_tokens"`
	CompletionTokens *int64   `json:"completion_tokens"`
	InputTokens      *int64   `json:"input_tokens"`
	OutputTokens     *int64   `json:"output_tokens"`
	Cost             *float64 `json:"cost"`
}

// readUsage reads the usage of an answer: one JSON object, or a stream
// of them (server-sent events or JSON lines), where the last count of
// each kind stands.
func readUsage(body []byte) reported {
	var r reported
	take := func(w wireUsage) {
		fields := []*usageFields{w.Usage}
		if w.Message != nil {
			fields = append(fields, w.Message.Usage)
		}
		for _, f := range fields {
			if f == nil {
				continue
			}
			for _, in := range []*int64{f.PromptTokens, f.InputTokens} {
				if in != nil {
					r.in, r.tokens = *in, true
				}
			}
			for _, out := range []*int64{f.CompletionTokens, f.OutputTokens} {
				if out != nil {
					r.out, r.tokens = *out, true
				}
			}
			if f.Cost != nil {
				r.cost = f.Cost
			}
		}
		if w.PromptEvalCount != nil {
			r.in, r.tokens = *w.PromptEvalCount, true
		}
		if w.EvalCount != nil {
			r.out, r.tokens = *w.EvalCount, true
		}
	}
	var w wireUsage
	if json.Unmarshal(body, &w) == nil {
		take(w)
		return r
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, maxAnswerBytes)
	for sc.Scan() {
		line := bytes.TrimPrefix(bytes.TrimSpace(sc.Bytes()), []byte("data:"))
		var w wireUsage
		if json.Unmarshal(bytes.TrimSpace(line), &w) == nil {
			take(w)
		}
	}
	return r
}
