// Package llmjudgetest provides a loopback HTTP server that speaks the wire
// formats of three LLM providers (OpenAI chat completions, Anthropic messages
// and Ollama chat), so that the LLM judge can be tested end to end through its
// real clients without a network. The server records every request and
// answers as the test scripts it.
package llmjudgetest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// maxBody is the largest request body the server accepts; larger bodies get
// 413 Request Entity Too Large.
const maxBody = 16 << 20

// fallbackModel is always listed by the model-list endpoints.
const fallbackModel = "test-model"

// Reply is one scripted answer.
type Reply struct {
	// Content is the assistant's text.
	Content string

	// Delay is how long to wait before answering. The wait ends early, and
	// the connection is dropped without an answer, if the client goes away
	// or the server closes.
	Delay time.Duration

	// Status, when non-zero and not 200, is the HTTP status to answer with,
	// carrying an error body in the provider's own format whose message is
	// Content, or a default message when Content is empty.
	Status int

	// Body, when non-empty, is written verbatim as the response body with
	// Content-Type application/json and status 200 (or Status), in place of
	// a well-formed answer. It is meant for malformed responses.
	Body string
}

// Server is a fake LLM provider on loopback. Its methods may be called
// concurrently with the requests it serves.
type Server struct {
	// URL is the base URL of the server, e.g. http://127.0.0.1:PORT, with no
	// trailing slash.
	URL string

	srv  *httptest.Server
	done chan struct{} // closed when the server closes; ends delays

	mu       sync.Mutex
	requests []Request
	script   []Reply
	fallback Reply
	respond  func(Request) Reply // nil: use fallback
	seq      int                 // numbers the responses' ids
}

// New starts a server on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		done:     make(chan struct{}),
		fallback: Reply{Content: "{}"},
	}

	mux := http.NewServeMux()
	mux.Handle("POST /v1/chat/completions", s.chat(openAI))
	mux.Handle("POST /v1/messages", s.chat(anthropic))
	mux.Handle("POST /api/chat", s.chat(ollama))
	mux.HandleFunc("GET /v1/models", s.openAIModels)
	mux.HandleFunc("GET /api/tags", s.ollamaModels)
	mux.HandleFunc("/", s.notFound)

	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.close)
	return s
}

// close ends every pending delay, then shuts the server down and waits for
// its handlers to return.
func (s *Server) close() {
	close(s.done)
	s.srv.Close()
}

// Script queues replies. Each request to a chat endpoint consumes the next
// one; when the queue is empty, the responder set by Respond is used if there
// is one, else the default reply. A request whose body is too large or not
// JSON is answered with an error and consumes no reply.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, replies...)
}

// SetDefault sets the reply used when no scripted reply is queued and no
// responder is set. Initially it is Reply{Content: "{}"}.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// Respond sets a function that computes the reply to a request when the
// script queue is empty. It may be called concurrently. A nil f restores the
// default reply.
func (s *Server) Respond(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// Requests returns a copy of the recorded requests, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count returns the number of requests received, on every endpoint except
// the model lists.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Reset forgets the recorded requests and the script queue. The default
// reply and the responder stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.script = nil
}

// record appends req to the log and returns a number for the response's id.
func (s *Server) record(req Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	s.seq++
	return s.seq
}

// next returns the reply to req: the head of the script, else the
// responder's answer, else the default.
func (s *Server) next(req Request) Reply {
	s.mu.Lock()
	if len(s.script) > 0 {
		r := s.script[0]
		s.script = s.script[1:]
		s.mu.Unlock()
		return r
	}
	respond, fallback := s.respond, s.fallback
	s.mu.Unlock()

	if respond != nil {
		return respond(req) // outside the lock: it may be slow
	}
	return fallback
}

// models returns the model names seen so far plus fallbackModel, sorted.
func (s *Server) models() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := []string{fallbackModel}
	for _, r := range s.requests {
		if r.Model != "" {
			names = append(names, r.Model)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// sleep waits for d and reports whether it did; it returns false early if
// ctx ends or the server closes.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// chat returns the handler of one provider's chat endpoint: read and record
// the request, pick the reply, wait out its delay, and answer.
func (s *Server) chat(p provider) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received := time.Now()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			s.record(newRequest(p.name, r, nil, received))
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				p.fail(w, http.StatusRequestEntityTooLarge, "request body too large")
			}
			return // otherwise the client has gone
		}

		req := newRequest(p.name, r, body, received)
		var wire wireRequest
		bad := json.Unmarshal(body, &wire)
		if bad == nil {
			req.describe(&wire)
		}
		x := exchange{id: s.record(req), req: req, wire: wire}
		if bad != nil {
			p.fail(w, http.StatusBadRequest, "We could not parse the JSON body of your request.")
			return
		}

		reply := s.next(req)
		if !s.sleep(r.Context(), reply.Delay) {
			// Drop the connection, as a server going away does.
			panic(http.ErrAbortHandler)
		}
		switch {
		case reply.Body != "":
			writeRaw(w, reply)
		case reply.Status != 0 && reply.Status != http.StatusOK:
			p.fail(w, reply.Status, messageFor(reply))
		default:
			x.content = reply.Content
			p.answer(w, x)
		}
	})
}

// writeRaw writes a reply's Body verbatim.
func writeRaw(w http.ResponseWriter, reply Reply) {
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, reply.Body)
}

// messageFor returns the error message of an error reply.
func messageFor(reply Reply) string {
	if reply.Content != "" {
		return reply.Content
	}
	if text := http.StatusText(reply.Status); text != "" {
		return text
	}
	return "error"
}

// openAIModels answers GET /v1/models as OpenAI does.
func (s *Server) openAIModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, name := range s.models() {
		list.Data = append(list.Data, model{ID: name, Object: "model", OwnedBy: "llmjudgetest"})
	}
	writeJSON(w, http.StatusOK, list)
}

// ollamaModels answers GET /api/tags as Ollama does.
func (s *Server) ollamaModels(w http.ResponseWriter, r *http.Request) {
	type model struct {
		Name       string `json:"name"`
		Model      string `json:"model"`
		ModifiedAt string `json:"modified_at"`
		Size       int64  `json:"size"`
		Digest     string `json:"digest"`
	}
	list := struct {
		Models []model `json:"models"`
	}{Models: []model{}}
	for _, name := range s.models() {
		list.Models = append(list.Models, model{
			Name:       name,
			Model:      name,
			ModifiedAt: time.Now().UTC().Format(time.RFC3339Nano),
		})
	}
	writeJSON(w, http.StatusOK, list)
}

// notFound records the request and answers 404 in OpenAI's format.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	s.record(newRequest("", r, body, received))
	openAI.fail(w, http.StatusNotFound, "Invalid URL ("+r.Method+" "+r.URL.Path+")")
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
