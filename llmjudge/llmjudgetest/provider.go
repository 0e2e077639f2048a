package llmjudgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// A provider speaks one provider's wire format.
type provider struct {
	name string

	// answer writes a successful reply.
	answer func(w http.ResponseWriter, x exchange)

	// fail writes an error reply with the given status and message.
	fail func(w http.ResponseWriter, status int, msg string)
}

var (
	openAI    = provider{name: "openai", answer: answerOpenAI, fail: failOpenAI}
	anthropic = provider{name: "anthropic", answer: answerAnthropic, fail: failAnthropic}
	ollama    = provider{name: "ollama", answer: answerOllama, fail: failOllama}
)

// An exchange is one chat request being answered successfully.
type exchange struct {
	id      int         // numbers the response's id
	req     Request     // as recorded
	wire    wireRequest // as decoded
	content string      // the assistant's text
}

// streams reports whether the client asked for a streamed answer; def is the
// provider's behaviour when the request does not say.
func (x exchange) streams(def bool) bool {
	if x.wire.Stream == nil {
		return def
	}
	return *x.wire.Stream
}

// promptTokens estimates the number of tokens in the request's messages.
func (x exchange) promptTokens() int {
	n := 0
	for _, m := range x.req.Messages {
		n += tokens(m.Text)
	}
	return n
}

// completionTokens estimates the number of tokens in the answer.
func (x exchange) completionTokens() int {
	return tokens(x.content)
}

// tokens estimates the number of tokens in s, at about four bytes a token.
func tokens(s string) int {
	return (len(s) + 3) / 4
}

// pieces splits s into at most n pieces of about equal length, never inside
// a UTF-8 sequence, for streaming. It returns no pieces for "".
func pieces(s string, n int) []string {
	var out []string
	size := max(1, (len(s)+n-1)/n)
	for len(s) > 0 {
		i := min(size, len(s))
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// A stream writes the events of a streamed answer, flushing each one.
type stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startStream writes the header of a streamed answer with the given
// content type.
func startStream(w http.ResponseWriter, contentType string) *stream {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	return &stream{w: w, rc: http.NewResponseController(w)}
}

// event writes a server-sent event: an "event:" line if name is not empty,
// then a "data:" line holding v as JSON, or v itself if it is a string.
func (s *stream) event(name string, v any) {
	if name != "" {
		fmt.Fprintf(s.w, "event: %s\n", name)
	}
	data, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		data = string(b)
	}
	fmt.Fprintf(s.w, "data: %s\n\n", data)
	s.rc.Flush()
}

// line writes v as one line of newline-delimited JSON.
func (s *stream) line(v any) {
	json.NewEncoder(s.w).Encode(v)
	s.rc.Flush()
}
