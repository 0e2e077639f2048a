package llmjudge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// AnswerError is a model's answer that is not exactly the object asked
// for: a judge failure, never an allow.
type AnswerError struct {
	// Problem says what was wrong, for the log.
	Problem string
	// Answer is the text the model gave, cut to a few hundred bytes.
	Answer string
}

func (e *AnswerError) Error() string {
	if e.Answer == "" {
		return "the judge's answer was not valid: " + e.Problem
	}
	return fmt.Sprintf("the judge's answer was not valid: %s (it answered %q)", e.Problem, e.Answer)
}

// maxReason bounds a reason shown to the person, in runes.
const maxReason = 300

// maxAnalysis bounds the analysis kept for the log, in runes.
const maxAnalysis = 2000

// answerName names the answer: the structured output's schema (OpenAI)
// and the tool the model must call to answer (Anthropic).
const answerName = "policy_verdicts"

// answerSchema is the JSON schema of the answer to a request judging the
// policies ids: {"results":[{policy, analysis, verdict, reason}]}, exactly
// one result per id (the policy an enum of exactly those ids, as many
// results as ids), no other fields. The properties are in the order the
// model is to write them: with constrained decoding (OpenAI's strict
// structured output, Ollama's format) it reasons in the analysis before
// it writes the verdict.
func answerSchema(ids []string) json.RawMessage {
	type str struct {
		Type string   `json:"type"`
		Enum []string `json:"enum,omitempty"`
	}
	type item struct {
		Type       string `json:"type"`
		Properties struct {
			Policy   str `json:"policy"`
			Analysis str `json:"analysis"`
			Verdict  str `json:"verdict"`
			Reason   str `json:"reason"`
		} `json:"properties"`
		Required             []string `json:"required"`
		AdditionalProperties bool     `json:"additionalProperties"`
	}
	type results struct {
		Type     string `json:"type"`
		Items    item   `json:"items"`
		MinItems int    `json:"minItems"`
		MaxItems int    `json:"maxItems"`
	}
	var s struct {
		Type       string `json:"type"`
		Properties struct {
			Results results `json:"results"`
		} `json:"properties"`
		Required             []string `json:"required"`
		AdditionalProperties bool     `json:"additionalProperties"`
	}
	it := item{Type: "object", Required: []string{"policy", "analysis", "verdict", "reason"}}
	it.Properties.Policy = str{Type: "string", Enum: ids}
	it.Properties.Analysis = str{Type: "string"}
	it.Properties.Verdict = str{Type: "string", Enum: []string{string(policy.JudgeComply), string(policy.JudgeViolate), string(policy.JudgeNeedsApproval)}}
	it.Properties.Reason = str{Type: "string"}
	s.Type, s.Required = "object", []string{"results"}
	s.Properties.Results = results{Type: "array", Items: it, MinItems: len(ids), MaxItems: len(ids)}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only strings and ints
	}
	return b
}

// parseAnswer reads the model's answer strictly: exactly one JSON object
// {"results":[{"policy","analysis","verdict","reason"}]}, white space
// around it and nothing else, no other fields, no key twice, one result
// for every policy asked and none for any other, and known verdicts only.
// The analysis may be absent, and the keys of a result may come in any
// order: the order matters to how the model writes its answer, which the
// schema steers where the provider enforces it; read afterwards, a verdict
// written before its analysis is as much the model's verdict, and refusing
// it would only turn an answer into a failure.
func parseAnswer(text string, asked []policy.JudgedPolicy) ([]policy.JudgeResult, error) {
	fail := func(format string, args ...any) error {
		shown, _ := cutMiddle(text, 400)
		return &AnswerError{Problem: fmt.Sprintf(format, args...), Answer: shown}
	}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return nil, fail("it was empty")
	}
	if trimmed[0] != '{' {
		return nil, fail("it does not start with a JSON object")
	}
	var ans struct {
		Results *[]struct {
			Policy   *string `json:"policy"`
			Analysis *string `json:"analysis"`
			Verdict  *string `json:"verdict"`
			Reason   *string `json:"reason"`
		} `json:"results"`
	}
	dec := json.NewDecoder(strings.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil {
		return nil, fail("it is not the JSON object asked for: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail("there is more after the JSON object")
	}
	if err := rejectDuplicateKeys(trimmed); err != nil {
		return nil, fail("%v", err)
	}
	if ans.Results == nil {
		return nil, fail(`it has no "results"`)
	}
	want := make(map[string]bool, len(asked))
	for _, jp := range asked {
		want[jp.ID] = true
	}
	got := make(map[string]bool, len(asked))
	out := make([]policy.JudgeResult, 0, len(asked))
	for i, r := range *ans.Results {
		switch {
		case r.Policy == nil || r.Verdict == nil:
			return nil, fail("result %d lacks a policy or a verdict", i+1)
		case !want[*r.Policy]:
			return nil, fail("result %d names policy %q, which was not asked", i+1, *r.Policy)
		case got[*r.Policy]:
			return nil, fail("policy %q has two results", *r.Policy)
		}
		v := policy.JudgeVerdict(*r.Verdict)
		switch v {
		case policy.JudgeComply, policy.JudgeViolate, policy.JudgeNeedsApproval:
		default:
			return nil, fail("policy %q has the unknown verdict %q", *r.Policy, *r.Verdict)
		}
		got[*r.Policy] = true
		reason := ""
		if r.Reason != nil {
			reason = cleanReason(*r.Reason)
		}
		if reason == "" && v != policy.JudgeComply {
			reason = "the policy judge found that the call does not comply, without giving a reason"
		}
		analysis := ""
		if r.Analysis != nil {
			analysis = cleanText(*r.Analysis, maxAnalysis)
		}
		out = append(out, policy.JudgeResult{Policy: *r.Policy, Verdict: v, Reason: reason, Analysis: analysis})
	}
	for _, jp := range asked {
		if !got[jp.ID] {
			return nil, fail("policy %q has no result", jp.ID)
		}
	}
	return out, nil
}

// rejectDuplicateKeys refuses a document in which an object repeats a key:
// encoding/json would keep the last, and a model (or an attacker speaking
// through it) must not get two readings of one answer.
func rejectDuplicateKeys(doc string) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return fmt.Errorf("the key %q appears twice in one object", k)
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		if top != nil && top.object {
			top.key = true // this token is a value; a key comes next
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// cleanReason keeps a reason fit to show: one line of printable text,
// bounded in length.
func cleanReason(s string) string { return cleanText(s, maxReason) }

// cleanText keeps s as one line of printable text of at most limit runes.
func cleanText(s string, limit int) string {
	var b bytes.Buffer
	n := 0
	space := false
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if !unicode.IsPrint(r) {
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= limit {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
