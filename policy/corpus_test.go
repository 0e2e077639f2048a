package policy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// corpusCase is one line of testdata/corpus/*.jsonl: a call's arguments
// and the detectors that must find something in them. A case with no
// Want is benign: a look-alike on which no detector may fire.
type corpusCase struct {
	// Class names the bypass class (or the benign look-alike) the case
	// belongs to, e.g. "sql/comment-hides-where" or "benign/sql-with-where".
	Class string `json:"class"`
	// Args are the call's arguments: a JSON object.
	Args json.RawMessage `json:"args"`
	// Want are the detectors that must fire.
	Want []policy.Threat `json:"want"`
	// Also are detectors that may fire too without counting as a false
	// positive (a `curl … | sh` is also a URL in a shell word).
	Also []policy.Threat `json:"also"`
	Note string          `json:"note"`
	// where is file:line, for the failure message.
	where string
}

// maxBenignFalsePositives is the share of benign cases on which some
// detector may fire (issue 14: at most 1 %).
const maxBenignFalsePositives = 0.01

// TestDetectorCorpus runs every detector over the labelled corpus and
// prints precision and recall per detector (go test -run
// TestDetectorCorpus -v ./policy/). Every positive case must be found;
// at most 1 % of the benign cases may draw a finding.
func TestDetectorCorpus(t *testing.T) {
	cases := readCorpus(t)
	if len(cases) == 0 {
		t.Fatal("testdata/corpus holds no cases")
	}
	// One global warn policy on every call: the detectors always run.
	eng, err := policy.NewEngine(policy.Set{Global: []policy.Policy{{
		Name: "corpus", Enabled: true, Action: policy.ActionWarn,
	}}}, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ tp, fp, fn int }
	per := map[policy.Threat]*tally{}
	for _, th := range policy.Threats {
		per[th] = &tally{}
	}
	var benign, benignHit int
	classes := map[string]int{}
	for _, c := range cases {
		classes[c.Class]++
		v := eng.Evaluate(context.Background(), policy.Call{Workspace: "w", Tool: "t", Exposed: "t", Arguments: c.Args})
		if v.Decision == policy.DecisionBlock {
			t.Errorf("%s: %s: the arguments were refused: %s", c.where, c.Class, v.Reason)
			continue
		}
		fired := map[policy.Threat]bool{}
		for _, f := range v.Findings {
			fired[f.Threat] = true
		}
		for _, th := range policy.Threats {
			want := slices.Contains(c.Want, th)
			switch {
			case want && fired[th]:
				per[th].tp++
			case want:
				per[th].fn++
				t.Errorf("%s: %s: %s did not fire on %s", c.where, c.Class, th, c.Args)
			case fired[th] && !slices.Contains(c.Also, th):
				per[th].fp++
				if len(c.Want) > 0 {
					t.Errorf("%s: %s: %s fired too on %s", c.where, c.Class, th, c.Args)
				}
			}
		}
		if len(c.Want) == 0 {
			benign++
			if len(v.Findings) > 0 {
				benignHit++
				t.Logf("%s: benign case %s: %s fired (%s)", c.where, c.Class, v.Findings[0].Threat, v.Findings[0].Kind)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d cases in %d classes, %d benign\n", len(cases), len(classes), benign)
	fmt.Fprintf(&b, "%-18s %5s %5s %5s %9s %7s\n", "detector", "tp", "fp", "fn", "precision", "recall")
	for _, th := range policy.Threats {
		s := per[th]
		fmt.Fprintf(&b, "%-18s %5d %5d %5d %9s %7s\n", th, s.tp, s.fp, s.fn, ratio(s.tp, s.tp+s.fp), ratio(s.tp, s.tp+s.fn))
	}
	fmt.Fprintf(&b, "benign cases with a finding: %d of %d (%s)", benignHit, benign, ratio(benignHit, benign))
	t.Log("\n" + b.String())
	if benign > 0 && float64(benignHit) > maxBenignFalsePositives*float64(benign) {
		t.Errorf("%d of %d benign cases drew a finding: more than %.0f %%", benignHit, benign, 100*maxBenignFalsePositives)
	}
}

func ratio(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

func readCorpus(t *testing.T) []corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var cases []corpusCase
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] == '#' {
				continue
			}
			var c corpusCase
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("%s:%d: %v", file, n, err)
			}
			c.where = fmt.Sprintf("%s:%d", file, n)
			if c.Class == "" || len(c.Args) == 0 || c.Args[0] != '{' {
				t.Fatalf("%s: a case needs a class and args that are a JSON object", c.where)
			}
			for _, th := range append(slices.Clone(c.Want), c.Also...) {
				if !slices.Contains(policy.Threats, th) {
					t.Fatalf("%s: unknown detector %q", c.where, th)
				}
			}
			cases = append(cases, c)
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return cases
}
