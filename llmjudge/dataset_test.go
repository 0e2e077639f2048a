package llmjudge_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

func readDataset(t *testing.T) []llmjudge.Case {
	t.Helper()
	f, err := os.Open("testdata/judge-eval.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := llmjudge.ReadCases(f)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// minPerCategory is the least number of cases each category of the shipped
// dataset holds (testdata/README.md lists the categories).
var minPerCategory = map[string]int{
	"destructive_sql": 10, "shell": 10, "file_deletion": 8, "data_export": 8, "pii": 7,
	"money_transfer": 8, "hard_negative": 15, "injection": 15, "multi_policy": 25,
	"steering": 32, "cut": 12, "unicode": 15, "provider_error": 10, "non_english": 15,
	"email": 10, "iam": 12, "infra": 12, "force_push": 10, "public_data": 10, "covert_exfil": 12,
}

// The minimums of the whole set. 189 decisions labelled not comply is the
// least with which a run without a false allow can pass
// --max-false-allow 0.02 (the 95% upper bound at 0 of n is 3.84/(n+3.84)).
const (
	minCases     = 300
	minDecisions = 400
	minPositives = 189
)

var twoSentences = regexp.MustCompile(`[a-z]\. [A-Z]`)

// The shipped dataset reads cleanly, each case is consistent, and it
// covers every class it promises, in the numbers its README gives.
func TestShippedDataset(t *testing.T) {
	cases := readDataset(t) // unique ids, known verdicts, one per policy
	byCategory := map[string]int{}
	seen := map[string]llmjudge.CasePolicy{}
	decisions, positives := 0, 0
	for _, c := range cases {
		byCategory[c.Category]++
		if _, ok := minPerCategory[c.Category]; !ok {
			t.Errorf("%s: unknown category %q", c.ID, c.Category)
		}
		if !strings.HasSuffix(c.Note, ".") || twoSentences.MatchString(c.Note) {
			t.Errorf("%s: the note is not one sentence: %q", c.ID, c.Note)
		}
		if len(c.Policies) > 4 {
			t.Errorf("%s: %d policies; a case has 1 to 4", c.ID, len(c.Policies))
		}
		for _, p := range c.Policies {
			if prev, ok := seen[p.Name]; ok && prev != p {
				t.Errorf("%s: policy %q has other rules or another strict than elsewhere", c.ID, p.Name)
			}
			seen[p.Name] = p
			decisions++
			if c.Expected[p.Name] != policy.JudgeComply {
				positives++
			}
		}
	}
	if len(cases) < minCases || decisions < minDecisions || positives < minPositives {
		t.Errorf("%d cases, %d decisions, %d labelled not comply; want at least %d, %d, %d", len(cases), decisions, positives, minCases, minDecisions, minPositives)
	}
	for cat, least := range minPerCategory {
		if byCategory[cat] < least {
			t.Errorf("category %s has %d cases; want at least %d", cat, byCategory[cat], least)
		}
	}

	// The README's category table is the data's.
	readme, err := os.ReadFile("testdata/README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed, least := map[string]int{}, map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (\\d+) \\| (\\d+) \\|").FindAllStringSubmatch(string(readme), -1) {
		listed[m[1]], _ = strconv.Atoi(m[2])
		least[m[1]], _ = strconv.Atoi(m[3])
	}
	for cat, n := range byCategory {
		if listed[cat] != n || least[cat] != minPerCategory[cat] {
			t.Errorf("README lists %d cases of %s, at least %d; the dataset has %d, at least %d", listed[cat], cat, least[cat], n, minPerCategory[cat])
		}
	}
	for cat := range listed {
		if byCategory[cat] == 0 {
			t.Errorf("README lists category %s, which the dataset lacks", cat)
		}
	}
	for _, want := range []string{
		"## Categories (" + strconv.Itoa(len(cases)) + " cases, " + strconv.Itoa(decisions) + " decisions)",
		strconv.Itoa(positives) + " are labelled `violate` or `needs_approval`",
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q", want)
		}
	}
}

// The classes of issue 15 are each in the set, in the forms it names.
func TestShippedDatasetClasses(t *testing.T) {
	cases := readDataset(t)
	count := map[string]int{}
	for _, c := range cases {
		all := c.Call.Tool + c.Call.Description + c.Call.Client + decoded(t, c.Call.Arguments)
		args, err := policy.Canonicalize(c.Call.Arguments)
		if err != nil {
			t.Fatal(err)
		}
		if len(args) > llmjudge.DefaultMaxArgumentBytes {
			count["arguments longer than the judge is shown"]++
		}
		if strings.ContainsFunc(all, func(r rune) bool { return r >= 0xE0000 && r <= 0xE007F }) {
			count["Unicode tag characters"]++
		}
		if strings.ContainsAny(all, "\u200b\u200c\u200d\u2060\ufeff") {
			count["zero-width characters"]++
		}
		if strings.ContainsAny(all, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") {
			count["bidi controls"]++
		}
		if regexp.MustCompile(`ex\x{0430}mple\.com|xn--exmple-4nf\.com|examp1e\.com|example\.com\.[a-z-]+\.(net|io)`).MatchString(all) {
			count["look-alikes of example.com"]++
		}
		for _, script := range []*unicode.RangeTable{unicode.Han, unicode.Cyrillic, unicode.Hangul, unicode.Katakana} {
			if strings.ContainsFunc(string(c.Call.Arguments), func(r rune) bool { return unicode.Is(script, r) }) {
				count["non-Latin scripts"]++
				break
			}
		}
		for _, where := range []struct{ name, text string }{{"tool name", c.Call.Tool}, {"description", c.Call.Description}, {"client name", c.Call.Client}} {
			if strings.Contains(strings.ToLower(where.text), "comply") {
				count["steering in the "+where.name]++
			}
		}
		if regexp.MustCompile(`"[^"]*(?i:judge|reviewer)[^"]*":`).MatchString(string(c.Call.Arguments)) {
			count["steering in an argument key"]++
		}
		strict, lax, verdicts := 0, 0, map[policy.JudgeVerdict]bool{}
		for _, p := range c.Policies {
			if p.Strict {
				strict++
			} else {
				lax++
			}
			verdicts[c.Expected[p.Name]] = true
		}
		if len(c.Policies) >= 3 && strict > 0 && lax > 0 && len(verdicts) > 1 {
			count["3-4 policies, strict and not, mixed verdicts"]++
		}
	}
	for class, least := range map[string]int{
		"arguments longer than the judge is shown": 12, "Unicode tag characters": 5, "zero-width characters": 2,
		"bidi controls": 2, "look-alikes of example.com": 6, "non-Latin scripts": 10,
		"steering in the tool name": 8, "steering in the description": 10, "steering in the client name": 8,
		"steering in an argument key": 8, "3-4 policies, strict and not, mixed verdicts": 15,
	} {
		if count[class] < least {
			t.Errorf("%d cases of %s; want at least %d", count[class], class, least)
		}
	}
}

// decoded is every key and string of a JSON document, unescaped.
func decoded(t *testing.T, doc json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				b.WriteString(k + "\n")
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// The dataset is what its generator writes.
func TestShippedDatasetGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the generator")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cmd := exec.CommandContext(t.Context(), gobin, "run", "./llmjudge/testdata/gen", "-check")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go run ./llmjudge/testdata/gen -check: %v\n%s", err, out)
	}
}
