// Command gen writes the generated cases of the judge evaluation dataset,
// llmjudge/testdata/judge-eval.jsonl: the cases too long or too full of
// invisible characters to write by hand, and the rest of the cases added
// for issue 15, which share their policies' text through the table below.
//
// Run it from the repository's root:
//
//	go run ./llmjudge/testdata/gen
//
// It keeps every line of the file whose id it does not generate (the
// hand-written cases, in their order) and writes its own after them, so it
// can be run again after the generated cases change. With -check it
// writes nothing and fails when the file is not what it would write.
//
// Invisible and format characters (zero-width, bidi controls, Unicode tag
// characters, variation selectors) are written as \u escapes, so that the
// file shows what it holds; a JSON reader turns them back into the
// characters.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

const dataset = "llmjudge/testdata/judge-eval.jsonl"

func main() {
	check := flag.Bool("check", false, "fail when the dataset is not what gen writes, and write nothing")
	flag.Parse()
	old, err := os.ReadFile(dataset)
	if err != nil {
		fatal(err)
	}
	out, err := build(old)
	if err != nil {
		fatal(err)
	}
	if *check {
		if !bytes.Equal(out, old) {
			fatal(fmt.Errorf("%s is not what gen writes: run go run ./llmjudge/testdata/gen", dataset))
		}
		return
	}
	if err := os.WriteFile(dataset, out, 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// build returns the dataset: the lines of old whose ids gen does not
// generate, then the generated cases.
func build(old []byte) ([]byte, error) {
	cases := generate()
	ids := map[string]bool{}
	for _, c := range cases {
		if ids[c.ID] {
			return nil, fmt.Errorf("id %q generated twice", c.ID)
		}
		ids[c.ID] = true
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(line, &head); err != nil {
			return nil, fmt.Errorf("read %s: %w", dataset, err)
		}
		if !ids[head.ID] {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, c := range cases {
		line, err := c.encode()
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", c.ID, err)
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// policy is a plain-English policy of the dataset.
type policy struct {
	Name   string `json:"name"`
	Rules  string `json:"rules"`
	Strict bool   `json:"strict"`
}

// call is the call of a case.
type call struct {
	Workspace   string          `json:"workspace"`
	User        string          `json:"user"`
	Client      string          `json:"client"`
	Upstream    string          `json:"upstream"`
	Tool        string          `json:"tool"`
	Description string          `json:"description"`
	Arguments   json.RawMessage `json:"arguments"`
}

// label is a policy and the verdict it expects.
type label struct {
	policy  string
	verdict string
}

// Verdicts, short.
const (
	C = "comply"
	V = "violate"
	A = "needs_approval"
)

// kase is one generated case.
type kase struct {
	ID       string
	Category string
	Call     call
	Labels   []label
	Note     string
}

func (k kase) encode() ([]byte, error) {
	if !json.Valid(k.Call.Arguments) {
		return nil, fmt.Errorf("arguments are not JSON: %.200s", k.Call.Arguments)
	}
	if !strings.HasSuffix(k.Note, ".") {
		return nil, fmt.Errorf("the note is not a sentence: %q", k.Note)
	}
	var pols []policy
	var exp bytes.Buffer
	exp.WriteByte('{')
	for i, l := range k.Labels {
		p, ok := policies[l.policy]
		if !ok {
			return nil, fmt.Errorf("no policy %q", l.policy)
		}
		switch l.verdict {
		case C, V, A:
		default:
			return nil, fmt.Errorf("verdict %q", l.verdict)
		}
		pols = append(pols, p)
		if i > 0 {
			exp.WriteByte(',')
		}
		fmt.Fprintf(&exp, "%q:%q", p.Name, l.verdict)
	}
	exp.WriteByte('}')
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		ID       string          `json:"id"`
		Category string          `json:"category"`
		Policies []policy        `json:"policies"`
		Call     call            `json:"call"`
		Expected json.RawMessage `json:"expected"`
		Note     string          `json:"note"`
	}{k.ID, k.Category, pols, k.Call, exp.Bytes(), k.Note})
	if err != nil {
		return nil, err
	}
	return escapeInvisible(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// escapeInvisible writes every format or invisible character of a JSON
// text as a \u escape (a surrogate pair above U+FFFF). Such characters
// only occur inside strings, where the escape means the same.
func escapeInvisible(line []byte) []byte {
	var out bytes.Buffer
	for len(line) > 0 {
		r, size := utf8.DecodeRune(line)
		switch {
		case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r), r == 0x3164, r == 0x115F, r == 0x1160:
			if r > 0xFFFF {
				r -= 0x10000
				fmt.Fprintf(&out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				fmt.Fprintf(&out, `\u%04x`, r)
			}
		default:
			out.Write(line[:size])
		}
		line = line[size:]
	}
	return out.Bytes()
}

// generate returns every generated case, in the file's order.
func generate() []kase {
	var all []kase
	for _, part := range [][]kase{
		steering(), cut(), invisible(), providerErrors(),
		email(), iam(), infra(), forcePush(), publicData(), covertExfil(),
		nonEnglish(), multiPolicy(), moreNegatives(),
	} {
		all = append(all, part...)
	}
	return all
}

// js is v as JSON, HTML left unescaped.
func js(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return json.RawMessage(bytes.TrimSpace(b.Bytes()))
}

// raw is a JSON text written by hand.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// l is a list of labels: policy, verdict, policy, verdict...
func l(pv ...string) []label {
	var out []label
	for i := 0; i+1 < len(pv); i += 2 {
		out = append(out, label{pv[i], pv[i+1]})
	}
	return out
}
