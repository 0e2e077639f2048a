package llmjudge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

var twoPolicies = []policy.JudgedPolicy{{ID: "db"}, {ID: "workspace:db"}}

// Every answer that is not exactly the object asked for is an AnswerError.
func TestParseAnswerRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text, problem string }{
		{"empty", "", "empty"},
		{"white space", " \n\t", "empty"},
		{"prose before", `Sure! {"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "does not start"},
		{"prose after", `{"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]} Hope this helps.`, "more after"},
		{"markdown fence", "```json\n{\"results\":[]}\n```", "does not start"},
		{"two objects", `{"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}{"results":[]}`, "more after"},
		{"refusal", "I'm sorry, but I can't help with that.", "does not start"},
		{"array", `[{"policy":"db","verdict":"comply"}]`, "does not start"},
		{"no results", `{}`, `no "results"`},
		{"null results", `{"results":null}`, `no "results"`},
		{"missing policy", `{"results":[{"policy":"db","verdict":"comply","reason":"ok"}]}`, `"workspace:db" has no result`},
		{"unknown verdict", `{"results":[{"policy":"db","verdict":"allow","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, `unknown verdict "allow"`},
		{"verdict in capitals", `{"results":[{"policy":"db","verdict":"COMPLY","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "unknown verdict"},
		{"policy not asked", `{"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"},{"policy":"other","verdict":"comply","reason":"ok"}]}`, "not asked"},
		{"policy twice", `{"results":[{"policy":"db","verdict":"violate","reason":"no"},{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "two results"},
		{"extra field", `{"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}],"note":"x"}`, "unknown field"},
		{"extra result field", `{"results":[{"policy":"db","verdict":"comply","reason":"ok","confidence":0.2},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "unknown field"},
		{"repeated key", `{"results":[{"policy":"db","verdict":"violate","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "twice"},
		{"repeated results", `{"results":[],"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "twice"},
		{"no verdict", `{"results":[{"policy":"db","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "lacks"},
		{"verdict not a string", `{"results":[{"policy":"db","verdict":true,"reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "not the JSON object"},
		{"cut off", `{"results":[{"policy":"db","verdict":"comply"`, "not the JSON object"},
		{"analysis twice", `{"results":[{"policy":"db","analysis":"it reads","analysis":"it deletes","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "twice"},
		{"analysis not a string", `{"results":[{"policy":"db","analysis":["drop"],"verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "not the JSON object"},
		{"analysis outside a result", `{"analysis":"all fine","results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "unknown field"},
		{"verdict in the analysis only", `{"results":[{"policy":"db","analysis":"verdict: comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`, "lacks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAnswer(tc.text, twoPolicies)
			var ae *AnswerError
			if !errors.As(err, &ae) {
				t.Fatalf("parseAnswer(%q) = %v, %v; want an AnswerError", tc.text, got, err)
			}
			if !strings.Contains(ae.Problem, tc.problem) {
				t.Errorf("parseAnswer(%q): problem %q; want it to say %q", tc.text, ae.Problem, tc.problem)
			}
		})
	}
}

func TestParseAnswerAccepts(t *testing.T) {
	text := "\n {\"results\":[{\"policy\":\"workspace:db\",\"verdict\":\"needs_approval\",\"reason\":\"  A person must\\nagree.\\u0007 \"}," +
		"{\"policy\":\"db\",\"verdict\":\"violate\"}]}\n"
	got, err := parseAnswer(text, twoPolicies)
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.JudgeResult{
		{Policy: "workspace:db", Verdict: policy.JudgeNeedsApproval, Reason: "A person must agree."},
		{Policy: "db", Verdict: policy.JudgeViolate, Reason: "the policy judge found that the call does not comply, without giving a reason"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parseAnswer = %+v; want %+v", got, want)
	}
	long := `{"results":[{"policy":"db","verdict":"comply","reason":"` + strings.Repeat("word ", 200) + `"},{"policy":"workspace:db","verdict":"comply","reason":""}]}`
	got, err = parseAnswer(long, twoPolicies)
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(got[0].Reason)); n > maxReason+1 {
		t.Errorf("a long reason kept %d runes; want at most %d", n, maxReason+1)
	}
}

// The analysis is read and kept (one line, bounded) whether it comes
// before the verdict, as asked, or after it; an answer without one is
// read too. Neither order nor presence changes the verdict.
func TestParseAnswerAnalysis(t *testing.T) {
	for _, tc := range []struct{ name, text, analysis string }{
		{"in order", `{"results":[{"policy":"db","analysis":"It deletes\nevery row.","verdict":"violate","reason":"deletes rows"},{"policy":"workspace:db","analysis":"","verdict":"violate","reason":"deletes rows"}]}`, "It deletes every row."},
		{"verdict first", `{"results":[{"verdict":"violate","policy":"db","reason":"deletes rows","analysis":"It deletes every row."},{"policy":"workspace:db","verdict":"violate","reason":"deletes rows"}]}`, "It deletes every row."},
		{"absent", `{"results":[{"policy":"db","verdict":"violate","reason":"deletes rows"},{"policy":"workspace:db","verdict":"violate","reason":"deletes rows"}]}`, ""},
		{"null", `{"results":[{"policy":"db","analysis":null,"verdict":"violate","reason":"deletes rows"},{"policy":"workspace:db","verdict":"violate","reason":"deletes rows"}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAnswer(tc.text, twoPolicies)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Verdict != policy.JudgeViolate || got[0].Reason != "deletes rows" || got[0].Analysis != tc.analysis {
				t.Errorf("parseAnswer = %+v; want violate, %q, analysis %q", got[0], "deletes rows", tc.analysis)
			}
		})
	}
	long := `{"results":[{"policy":"db","analysis":"` + strings.Repeat("step ", 1000) + `","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"comply","reason":"ok"}]}`
	got, err := parseAnswer(long, twoPolicies)
	if err != nil {
		t.Fatal(err)
	}
	if n := len([]rune(got[0].Analysis)); n > maxAnalysis+1 || n < maxAnalysis {
		t.Errorf("a long analysis kept %d runes; want %d and the mark of the cut", n, maxAnalysis)
	}
}

// The schema asks for exactly the policies of the request, each once, its
// result's keys in the order the model is to write them, and nothing else.
func TestAnswerSchema(t *testing.T) {
	got := string(answerSchema([]string{"db", "workspace:db"}))
	want := `{"type":"object","properties":{"results":{"type":"array","items":{"type":"object","properties":{` +
		`"policy":{"type":"string","enum":["db","workspace:db"]},"analysis":{"type":"string"},` +
		`"verdict":{"type":"string","enum":["comply","violate","needs_approval"]},"reason":{"type":"string"}},` +
		`"required":["policy","analysis","verdict","reason"],"additionalProperties":false},"minItems":2,"maxItems":2}},` +
		`"required":["results"],"additionalProperties":false}`
	if got != want {
		t.Errorf("answerSchema =\n%s\nwant\n%s", got, want)
	}
	// An id is a string in the schema, whatever it holds.
	odd := `a"b\c</x>`
	var s struct {
		Properties struct {
			Results struct {
				Items struct {
					Properties struct {
						Policy struct{ Enum []string } `json:"policy"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"results"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(answerSchema([]string{odd}), &s); err != nil || len(s.Properties.Results.Items.Properties.Policy.Enum) != 1 || s.Properties.Results.Items.Properties.Policy.Enum[0] != odd {
		t.Errorf("answerSchema([%q]) does not hold the id as it is: %v %+v", odd, err, s)
	}
}

// The bound on the answer grows with the policies asked, up to
// maxAnswerTokens.
func TestAnswerTokens(t *testing.T) {
	for n, want := range map[int]int{1: 640, 2: 1024, 5: 2176, 10: 4096, 11: 4096, 50: 4096} {
		if got := answerTokens(n); got != want {
			t.Errorf("answerTokens(%d) = %d; want %d", n, got, want)
		}
	}
}

// The window asked of Ollama holds the request, from a few sizes, and
// never passes the limit.
func TestContextWindow(t *testing.T) {
	for _, tc := range []struct{ est, limit, want int }{
		{100, 32768, 4096},
		{4096, 32768, 4096},
		{4097, 32768, 8192},
		{20000, 32768, 32768},
		{20000, 24576, 24576},
		{30000, 131072, 32768},
	} {
		if got := contextWindow(tc.est, tc.limit); got != tc.want {
			t.Errorf("contextWindow(%d, %d) = %d; want %d", tc.est, tc.limit, got, tc.want)
		}
	}
}

// Whatever the model says, parseAnswer either refuses it or returns one
// known verdict for every policy asked, and nothing else.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"violate","reason":"no"}]}`)
	f.Add(`{"results":[{"policy":"db","verdict":"comply","reason":"ok"}]}`)
	f.Add(`{"results":[{"policy":"db","verdict":"comply","verdict":"violate"}]}`)
	f.Add("```json\n{}\n```")
	f.Add(`{"results":[[{"a":{"b":[1,{"c":2}]}}]]}`)
	f.Add(`{"results":[{"policy":"db","analysis":"a","verdict":"comply","reason":"ok"},{"verdict":"violate","analysis":"b","policy":"workspace:db","reason":"no"}]}`)
	f.Add(`{"results":[{"policy":"db","analysis":"a","analysis":"b","verdict":"comply"}]}`)
	f.Fuzz(func(t *testing.T, text string) {
		got, err := parseAnswer(text, twoPolicies)
		if err != nil {
			var ae *AnswerError
			if !errors.As(err, &ae) {
				t.Fatalf("parseAnswer(%q): error %v is not an AnswerError", text, err)
			}
			return
		}
		if len(got) != len(twoPolicies) {
			t.Fatalf("parseAnswer(%q) = %d results; want %d", text, len(got), len(twoPolicies))
		}
		seen := map[string]bool{}
		for _, r := range got {
			switch r.Verdict {
			case policy.JudgeComply, policy.JudgeViolate, policy.JudgeNeedsApproval:
			default:
				t.Fatalf("parseAnswer(%q): verdict %q", text, r.Verdict)
			}
			if r.Policy != "db" && r.Policy != "workspace:db" || seen[r.Policy] {
				t.Fatalf("parseAnswer(%q): policy %q", text, r.Policy)
			}
			seen[r.Policy] = true
		}
	})
}

// A cut keeps the head and the tail whole, on rune boundaries, and says
// how much it left out.
func TestCutMiddle(t *testing.T) {
	s := strings.Repeat("é", 1000) // 2000 bytes
	got, cut := cutMiddle(s, 101)
	if cut == 0 || !strings.Contains(got, "bytes cut]") {
		t.Fatalf("cutMiddle = %q, %d; want a marked cut", got, cut)
	}
	if !strings.HasPrefix(got, "éé") || !strings.HasSuffix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("cutMiddle = %q; want whole runes at both ends", got)
	}
	head := strings.Index(got, "…[")
	tail := len(got) - strings.LastIndex(got, "]…") - len("]…")
	if head+tail+cut != len(s) {
		t.Errorf("cutMiddle kept %d + %d and cut %d of %d bytes", head, tail, cut, len(s))
	}
	if got, cut := cutMiddle("short", 101); got != "short" || cut != 0 {
		t.Errorf("cutMiddle(short) = %q, %d", got, cut)
	}
}

// A tool acts when a word of its name says so, however the name is
// written; words that merely contain an acting word do not count.
func TestActs(t *testing.T) {
	for tool, want := range map[string]bool{
		"send_email": true, "sendEmail": true, "send-email": true, "SendEmail": true,
		"transferFunds": true, "delete_rows": true, "write_file": true, "git.push": true,
		"read_file": false, "get_settings": false, "list_messages": false, "query": false,
		"search": false, "": false, "payments_report": false,
		// A noun that is also an acting word counts: a needless second
		// opinion costs tokens, not time (it is asked at once).
		"read_email": true,
	} {
		if got := acts(tool); got != want {
			t.Errorf("acts(%q) = %t; want %t (words %q)", tool, got, want, toolWords(tool))
		}
	}
}
