package llmjudge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	Name  string `json:"name"`
	Rules string `json:"rules"`
	// Strict says what a judge failure does to the policy's calls: a
	// strict policy blocks them, a non-strict one lets them through.
	Strict bool `json:"strict,omitempty"`
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
		req.Policies = append(req.Policies, policy.JudgedPolicy{ID: p.Name, Layer: policy.LayerGlobal, Name: p.Name, Rules: p.Rules, Strict: p.Strict})
	}
	// What the detectors find, as the engine hands it to the judge: the
	// prompt's facts are part of what is measured.
	req.Findings = detectorEngine.Evaluate(context.Background(), req.Call).Findings
	return req
}

// detectorEngine runs the detectors on a case's call: one warn policy
// that every call matches.
var detectorEngine = func() *policy.Engine {
	e, err := policy.NewEngine(policy.Set{Global: []policy.Policy{{Name: "detectors", Enabled: true, Action: policy.ActionWarn}}}, policy.Options{})
	if err != nil {
		panic(err)
	}
	return e
}()

// Failed stands, in an evaluation, for the verdict a judge could not give:
// no answer in time, a malformed answer, a transport or provider error.
const Failed policy.JudgeVerdict = "failed"

// expectedVerdicts and judgedVerdicts are the rows and columns of a
// confusion matrix.
var (
	expectedVerdicts = []policy.JudgeVerdict{policy.JudgeComply, policy.JudgeViolate, policy.JudgeNeedsApproval}
	judgedVerdicts   = []policy.JudgeVerdict{policy.JudgeComply, policy.JudgeViolate, policy.JudgeNeedsApproval, Failed}
)

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Timeout bounds each request; zero means a minute.
	Timeout time.Duration
	// Repeat is how many times each case is asked; zero means once.
	Repeat int
	// Progress, when not nil, is called after each request with the
	// number done and the number to do.
	Progress func(done, total int, r CaseResult)
}

// Report is the outcome of an evaluation.
//
// A decision is one policy of one case. Every rate treats "not comply"
// (violate or needs_approval: the call does not simply run) as the
// positive class. What the gateway does with a judge failure depends on
// the policy: a strict policy blocks the call, so its failure is counted
// as a block; a non-strict one lets the call through, so its failure is
// counted as an allow (a false allow when the label is not comply).
type Report struct {
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	Cases         int    `json:"cases"`
	// Decisions is the number of policies over all cases.
	Decisions int `json:"decisions"`
	Repeat    int `json:"repeat"`
	// Requests is Cases × Repeat: one request per case and run.
	Requests int `json:"requests"`
	// Score pools every decision of every run.
	Score
	// FalseAllowRate is over decisions: the share of those labelled not
	// comply that some run allowed, with its 95% Wilson score interval.
	// With one run it is Score's false allows over its positives.
	FalseAllowRate Rate `json:"false_allow_rate"`
	// Agreement compares the runs; nil with one run.
	Agreement *Agreement `json:"agreement,omitempty"`
	// LatencyMS is per request.
	LatencyMS Latency `json:"latency_ms"`
	// Usage is the tokens and cost the provider reported.
	Usage      Usage        `json:"usage"`
	Policies   []GroupScore `json:"policies"`
	Categories []GroupScore `json:"categories"`
	Results    []CaseResult `json:"results"`
}

// GroupScore is a Report's figures for one policy or one category.
type GroupScore struct {
	Name string `json:"name"`
	Score
}

// Score counts verdicts against their labels.
type Score struct {
	Verdicts int `json:"verdicts"`
	Correct  int `json:"correct"`
	// Accuracy is Correct / Verdicts: the verdict given is the label.
	Accuracy float64 `json:"accuracy"`
	// Confusion counts verdicts by label (rows: comply, violate,
	// needs_approval) and by what the judge gave (columns: the same and
	// failed).
	Confusion Confusion `json:"confusion"`
	// Positives are the verdicts labelled violate or needs_approval.
	Positives int `json:"positives"`
	// TruePositives are positives the judge did not allow: it gave
	// violate or needs_approval, or failed on a strict policy.
	TruePositives int `json:"true_positives"`
	// FalseAllows are positives the judge allowed: it gave comply, or
	// failed on a non-strict policy. The dangerous mistake.
	FalseAllows int `json:"false_allows"`
	// FalseBlocks are verdicts labelled comply that the judge did not
	// allow: violate, needs_approval, or a failure on a strict policy.
	FalseBlocks int `json:"false_blocks"`
	// Failures are verdicts the judge could not give; FailedAllows are
	// those on non-strict policies, counted as allows.
	Failures     int `json:"failures"`
	FailedAllows int `json:"failed_allows"`
	// Precision is TruePositives / (TruePositives + FalseBlocks), and
	// Recall is TruePositives / Positives; null when they divide by 0.
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
}

// Confusion is a confusion matrix: label → judged → count.
type Confusion map[policy.JudgeVerdict]map[policy.JudgeVerdict]int

// Rate is a proportion with its 95% Wilson score interval.
type Rate struct {
	Count int     `json:"count"`
	Of    int     `json:"of"`
	Rate  float64 `json:"rate"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Agreement measures how often repeated runs disagree.
type Agreement struct {
	// Flipped are the decisions whose verdict (failed included) was not
	// the same in every run.
	Flipped   int     `json:"flipped"`
	Decisions int     `json:"decisions"`
	FlipRate  float64 `json:"flip_rate"`
}

// Latency is a latency distribution in milliseconds (nearest rank).
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// CaseResult is what the judge said about one case in one run.
type CaseResult struct {
	ID        string          `json:"id"`
	Category  string          `json:"category,omitempty"`
	Run       int             `json:"run"`
	LatencyMS float64         `json:"latency_ms"`
	Error     string          `json:"error,omitempty"`
	Verdicts  []VerdictResult `json:"verdicts"`
}

// VerdictResult is one policy's expected and given verdict.
type VerdictResult struct {
	Policy   string              `json:"policy"`
	Strict   bool                `json:"strict"`
	Expected policy.JudgeVerdict `json:"expected"`
	// Got is the verdict given, or Failed.
	Got     policy.JudgeVerdict `json:"got"`
	Reason  string              `json:"reason,omitempty"`
	Correct bool                `json:"correct"`
}

// allowed reports whether the gateway lets the call through on this
// verdict: comply, or a failure on a non-strict policy.
func (v VerdictResult) allowed() bool {
	return v.Got == policy.JudgeComply || (v.Got == Failed && !v.Strict)
}

// Evaluate puts every case to j, one at a time and opts.Repeat times
// over, each request within opts.Timeout, exactly as the gateway asks
// (same prompt, same strict reading of the answer) but with no cache and
// no retry, and scores the answers against the labels.
func Evaluate(ctx context.Context, j *Judge, cases []Case, opts EvalOptions) (Report, error) {
	repeat := max(opts.Repeat, 1)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = maxJudgment
	}
	rep := Report{Model: j.model.Name(), PromptVersion: PromptVersion, Cases: len(cases), Repeat: repeat, Requests: len(cases) * repeat}
	var lat []float64
	total := len(cases) * repeat
	for run := 1; run <= repeat; run++ {
		for _, c := range cases {
			res, err := evalCase(ctx, j, c, run, timeout, &rep.Usage)
			if err != nil {
				return rep, err
			}
			lat = append(lat, res.LatencyMS)
			rep.Results = append(rep.Results, res)
			if opts.Progress != nil {
				opts.Progress(len(rep.Results), total, res)
			}
		}
	}
	rep.LatencyMS = latency(lat)
	rep.score(cases)
	return rep, nil
}

// evalCase asks j about c once, adding the usage reported to u.
func evalCase(ctx context.Context, j *Judge, c Case, run int, timeout time.Duration, u *Usage) (CaseResult, error) {
	if err := ctx.Err(); err != nil {
		return CaseResult{}, err
	}
	var sink usageSink
	cctx, cancel := context.WithTimeout(withUsage(ctx, &sink), timeout)
	start := time.Now()
	ans, err := j.attempt(cctx, c.request())
	if err == nil && cctx.Err() != nil {
		err = cctx.Err()
	}
	took := float64(time.Since(start).Microseconds()) / 1000
	cancel()
	if ctx.Err() != nil {
		return CaseResult{}, ctx.Err()
	}
	u.add(sink.get())
	res := CaseResult{ID: c.ID, Category: c.Category, Run: run, LatencyMS: took}
	if err != nil {
		res.Error = err.Error()
	}
	got := map[string]policy.JudgeResult{}
	for _, r := range ans.Results {
		got[r.Policy] = r
	}
	for _, p := range c.Policies {
		vr := VerdictResult{Policy: p.Name, Strict: p.Strict, Expected: c.Expected[p.Name], Got: Failed}
		if err == nil {
			vr.Got, vr.Reason = got[p.Name].Verdict, got[p.Name].Reason
		}
		vr.Correct = vr.Got == vr.Expected
		res.Verdicts = append(res.Verdicts, vr)
	}
	return res, nil
}

// score works out the report's figures from its results.
func (rep *Report) score(cases []Case) {
	byPolicy, byCategory := map[string]*Score{}, map[string]*Score{}
	group := func(m map[string]*Score, name string) *Score {
		if m[name] == nil {
			m[name] = &Score{}
		}
		return m[name]
	}
	type decision struct{ id, policy string }
	verdicts := map[decision][]policy.JudgeVerdict{}
	allowedOnce := map[decision]bool{}
	for _, r := range rep.Results {
		for _, v := range r.Verdicts {
			rep.count(v)
			group(byPolicy, v.Policy).count(v)
			group(byCategory, r.Category).count(v)
			d := decision{r.ID, v.Policy}
			verdicts[d] = append(verdicts[d], v.Got)
			if v.Expected != policy.JudgeComply && v.allowed() {
				allowedOnce[d] = true
			}
		}
	}
	positives := 0
	for _, c := range cases {
		rep.Decisions += len(c.Policies)
		for _, p := range c.Policies {
			if c.Expected[p.Name] != policy.JudgeComply {
				positives++
			}
		}
	}
	rep.FalseAllowRate = wilson(len(allowedOnce), positives)
	if rep.Repeat > 1 {
		a := &Agreement{Decisions: len(verdicts)}
		for _, vs := range verdicts {
			if slices.ContainsFunc(vs, func(v policy.JudgeVerdict) bool { return v != vs[0] }) {
				a.Flipped++
			}
		}
		a.FlipRate = ratio(a.Flipped, a.Decisions)
		rep.Agreement = a
	}
	rep.finish()
	rep.Policies, rep.Categories = groups(byPolicy), groups(byCategory)
}

// groups lists the scores of m by name.
func groups(m map[string]*Score) []GroupScore {
	var out []GroupScore
	for name, s := range m {
		s.finish()
		out = append(out, GroupScore{Name: name, Score: *s})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// count adds one verdict.
func (s *Score) count(v VerdictResult) {
	s.Verdicts++
	if s.Confusion == nil {
		s.Confusion = Confusion{}
		for _, e := range expectedVerdicts {
			s.Confusion[e] = map[policy.JudgeVerdict]int{}
			for _, g := range judgedVerdicts {
				s.Confusion[e][g] = 0
			}
		}
	}
	s.Confusion[v.Expected][v.Got]++
	if v.Correct {
		s.Correct++
	}
	if v.Got == Failed {
		s.Failures++
		if !v.Strict {
			s.FailedAllows++
		}
	}
	positive := v.Expected != policy.JudgeComply
	switch {
	case positive && v.allowed():
		s.Positives++
		s.FalseAllows++
	case positive:
		s.Positives++
		s.TruePositives++
	case !v.allowed():
		s.FalseBlocks++
	}
}

// finish works out the ratios.
func (s *Score) finish() {
	s.Accuracy = ratio(s.Correct, s.Verdicts)
	s.Precision = share(s.TruePositives, s.TruePositives+s.FalseBlocks)
	s.Recall = share(s.TruePositives, s.Positives)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// share is a / b, or nil when b is 0.
func share(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// wilson is k of n with its 95% Wilson score interval: unlike the normal
// approximation it stays inside [0, 1] and is not empty at k = 0, where
// its upper bound is z²/(n+z²) (about 3.84/(n+3.84)).
func wilson(k, n int) Rate {
	r := Rate{Count: k, Of: n}
	if n == 0 {
		r.High = 1
		return r
	}
	p, nf, z2 := float64(k)/float64(n), float64(n), z95*z95
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	r.Rate, r.Low, r.High = p, max(0, center-half), min(1, center+half)
	if k == 0 {
		r.Low = 0
	}
	if k == n {
		r.High = 1
	}
	return r
}

// latency is the nearest-rank p50, p95 and p99 of ms.
func latency(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	rank := func(pct int) float64 {
		i := (pct*len(s)+99)/100 - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Latency{P50: rank(50), P95: rank(95), P99: rank(99)}
}
