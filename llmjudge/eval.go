package llmjudge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Case is one labelled call of an evaluation dataset: a line of JSON.
type Case struct {
	ID       string       `json:"id"`
	Category string       `json:"category,omitempty"`
	Policies []CasePolicy `json:"policies"`
	Call     CaseCall     `json:"call"`
	// Expected maps every policy's name to the verdict a careful
	// reviewer gives.
	Expected map[string]policy.JudgeVerdict `json:"expected"`
	Note     string                         `json:"note,omitempty"`
}

// CasePolicy is a plain-English policy of a Case.
type CasePolicy struct {
	Name   string `json:"name"`
	Rules  string `json:"rules"`
	Strict bool   `json:"strict,omitempty"`
}

// CaseCall is the call of a Case.
type CaseCall struct {
	Workspace   string          `json:"workspace"`
	User        string          `json:"user"`
	Client      string          `json:"client"`
	Upstream    string          `json:"upstream"`
	Tool        string          `json:"tool"`
	Description string          `json:"description"`
	Arguments   json.RawMessage `json:"arguments"`
}

// ReadCases reads a dataset: JSON Lines, one Case per line (blank lines
// skipped). Every problem is reported with its line number.
func ReadCases(r io.Reader) ([]Case, error) {
	var cases []Case
	var errs []error
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", n, err))
			continue
		}
		if err := c.validate(); err != nil {
			errs = append(errs, fmt.Errorf("line %d (%s): %w", n, c.ID, err))
			continue
		}
		if prev, dup := seen[c.ID]; dup {
			errs = append(errs, fmt.Errorf("line %d: id %q is already used on line %d", n, c.ID, prev))
			continue
		}
		seen[c.ID] = n
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(cases) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("the dataset has no cases"))
	}
	return cases, errors.Join(errs...)
}

func (c *Case) validate() error {
	switch {
	case c.ID == "":
		return errors.New("no id")
	case len(c.Policies) == 0:
		return errors.New("no policies")
	case c.Call.Tool == "":
		return errors.New("no call.tool")
	}
	if _, err := policy.Canonicalize(c.Call.Arguments); err != nil {
		return fmt.Errorf("call.arguments: %w", err)
	}
	names := map[string]bool{}
	for _, p := range c.Policies {
		if p.Name == "" || p.Rules == "" {
			return errors.New("a policy without a name or rules")
		}
		if names[p.Name] {
			return fmt.Errorf("policy %q twice", p.Name)
		}
		names[p.Name] = true
		switch c.Expected[p.Name] {
		case policy.JudgeComply, policy.JudgeViolate, policy.JudgeNeedsApproval:
		case "":
			return fmt.Errorf("no expected verdict for policy %q", p.Name)
		default:
			return fmt.Errorf("unknown expected verdict %q for policy %q", c.Expected[p.Name], p.Name)
		}
	}
	for name := range c.Expected {
		if !names[name] {
			return fmt.Errorf("an expected verdict for %q, which is not among the policies", name)
		}
	}
	return nil
}

// request is the judge request of the case.
func (c *Case) request() policy.JudgeRequest {
	req := policy.JudgeRequest{Call: policy.Call{
		Workspace: c.Call.Workspace, User: c.Call.User, Client: c.Call.Client,
		Upstream: c.Call.Upstream, Tool: c.Call.Tool, Exposed: c.Call.Tool,
		Description: c.Call.Description, Arguments: c.Call.Arguments,
	}}
	for _, p := range c.Policies {
		req.Policies = append(req.Policies, policy.JudgedPolicy{ID: p.Name, Layer: policy.LayerGlobal, Name: p.Name, Rules: p.Rules})
	}
	return req
}

// Report is the outcome of an evaluation.
type Report struct {
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	Cases         int    `json:"cases"`
	// Score is over every policy verdict asked for (a case may have
	// several policies); its latency is per case.
	Score
	Policies []PolicyReport `json:"policies"`
	Results  []CaseResult   `json:"results"`
}

// PolicyReport is a Report's figures for one policy.
type PolicyReport struct {
	Policy string `json:"policy"`
	Score
}

// Score counts verdicts against their labels.
type Score struct {
	Verdicts int `json:"verdicts"`
	Correct  int `json:"correct"`
	// Accuracy is Correct / Verdicts.
	Accuracy float64 `json:"accuracy"`
	// FalseAllows are verdicts expected violate or needs_approval that
	// the judge gave as comply: the dangerous mistakes.
	FalseAllows int `json:"false_allows"`
	// FalseBlocks are verdicts expected comply that the judge gave as
	// violate or needs_approval.
	FalseBlocks int `json:"false_blocks"`
	// Failures are verdicts the judge could not give (no answer in time,
	// malformed answer, transport error).
	Failures  int     `json:"failures"`
	LatencyMS Latency `json:"latency_ms"`
}

// count adds one verdict; failed says the judge gave none.
func (s *Score) count(vr VerdictResult, failed bool) {
	s.Verdicts++
	switch {
	case failed:
		s.Failures++
	case vr.Correct:
		s.Correct++
	case vr.Got == policy.JudgeComply:
		s.FalseAllows++
	case vr.Expected == policy.JudgeComply:
		s.FalseBlocks++
	}
}

// finish works out the accuracy and the latency of ms.
func (s *Score) finish(ms []float64) {
	s.Accuracy = ratio(s.Correct, s.Verdicts)
	s.LatencyMS = latency(ms)
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
}

// CaseResult is what the judge said about one case.
type CaseResult struct {
	ID        string          `json:"id"`
	Category  string          `json:"category,omitempty"`
	LatencyMS float64         `json:"latency_ms"`
	Error     string          `json:"error,omitempty"`
	Verdicts  []VerdictResult `json:"verdicts"`
}

// VerdictResult is one policy's expected and given verdict.
type VerdictResult struct {
	Policy   string              `json:"policy"`
	Expected policy.JudgeVerdict `json:"expected"`
	Got      policy.JudgeVerdict `json:"got,omitempty"`
	Reason   string              `json:"reason,omitempty"`
	Correct  bool                `json:"correct"`
}

// Evaluate puts every case to j, one at a time, each within timeout, and
// scores the answers. The cache is not used. progress, when not nil, is
// called after each case.
func Evaluate(ctx context.Context, j *Judge, cases []Case, timeout time.Duration, progress func(done int, r CaseResult)) (Report, error) {
	rep := Report{Model: j.model.Name(), PromptVersion: PromptVersion, Cases: len(cases)}
	type tally struct {
		PolicyReport
		lat []float64
	}
	byPolicy := map[string]*tally{}
	var all []float64
	for i, c := range cases {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		ans, err := j.attempt(cctx, c.request())
		if err == nil && cctx.Err() != nil {
			err = cctx.Err()
		}
		took := float64(time.Since(start).Microseconds()) / 1000
		cancel()
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		res := CaseResult{ID: c.ID, Category: c.Category, LatencyMS: took}
		if err != nil {
			res.Error = err.Error()
		}
		got := map[string]policy.JudgeResult{}
		for _, r := range ans.Results {
			got[r.Policy] = r
		}
		all = append(all, took)
		for _, p := range c.Policies {
			t := byPolicy[p.Name]
			if t == nil {
				t = &tally{PolicyReport: PolicyReport{Policy: p.Name}}
				byPolicy[p.Name] = t
			}
			t.lat = append(t.lat, took)
			vr := VerdictResult{Policy: p.Name, Expected: c.Expected[p.Name]}
			if err == nil {
				vr.Got, vr.Reason = got[p.Name].Verdict, got[p.Name].Reason
				vr.Correct = vr.Got == vr.Expected
			}
			t.count(vr, err != nil)
			rep.count(vr, err != nil)
			res.Verdicts = append(res.Verdicts, vr)
		}
		rep.Results = append(rep.Results, res)
		if progress != nil {
			progress(i+1, res)
		}
	}
	rep.finish(all)
	for _, t := range byPolicy {
		t.finish(t.lat)
		rep.Policies = append(rep.Policies, t.PolicyReport)
	}
	sort.Slice(rep.Policies, func(a, b int) bool { return rep.Policies[a].Policy < rep.Policies[b].Policy })
	return rep, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// latency is the nearest-rank p50 and p95 of ms.
func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Latency{P50: rank(0.50), P95: rank(0.95)}
}
