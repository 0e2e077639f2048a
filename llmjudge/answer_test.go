package llmjudge

import (
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

// Whatever the model says, parseAnswer either refuses it or returns one
// known verdict for every policy asked, and nothing else.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"results":[{"policy":"db","verdict":"comply","reason":"ok"},{"policy":"workspace:db","verdict":"violate","reason":"no"}]}`)
	f.Add(`{"results":[{"policy":"db","verdict":"comply","reason":"ok"}]}`)
	f.Add(`{"results":[{"policy":"db","verdict":"comply","verdict":"violate"}]}`)
	f.Add("```json\n{}\n```")
	f.Add(`{"results":[[{"a":{"b":[1,{"c":2}]}}]]}`)
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
