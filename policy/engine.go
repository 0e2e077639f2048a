package policy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
	"github.com/gatehouse-mcp/gatehouse/policy/internal/prefilter"
)

// Options configure an Engine. The zero value is an engine without a
// judge, with its own limiter, reading the wall clock.
type Options struct {
	// Judge decides plain-English policies; nil means none is configured,
	// so every plain-English policy in scope is a judge failure.
	Judge Judge
	// JudgeTimeout bounds one judgment; zero means no bound but the
	// call's own context.
	JudgeTimeout time.Duration
	// Limiter counts rate-limited calls; nil means a new one. Pass the
	// previous engine's Limiter on reload to keep the counts.
	Limiter *Limiter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Guard keeps the gateway's own files out of every call, before any
	// policy; nil means no guard (an engine for tests and `policy test`
	// without a config).
	Guard *Guard
}

// Engine decides calls against a policy Set (DESIGN §4). It is immutable
// once built and safe for concurrent use; a new config builds a new Engine.
type Engine struct {
	opts    Options
	version string
	global  []*rule
	// workspaces holds each workspace's own rules; a workspace without
	// policies has none.
	workspaces map[string][]*rule
}

// NewEngine compiles set. Every policy that cannot be compiled is reported,
// as a *Error, in the joined error.
func NewEngine(set Set, opts Options) (*Engine, error) {
	global, workspaces, err := compileSet(set)
	if err != nil {
		return nil, err
	}
	if opts.Limiter == nil {
		opts.Limiter = NewLimiter()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{opts: opts, version: version(set), global: global, workspaces: workspaces}, nil
}

// Version identifies the policy set: engines with the same version decide
// alike.
func (e *Engine) Version() string { return e.version }

// Limiter is the engine's rate limiter, to hand to the next engine.
func (e *Engine) Limiter() *Limiter { return e.opts.Limiter }

// Evaluate decides call. It never fails: a judge that cannot decide yields
// a verdict too (strict policies block, others allow flagged fail-open).
func (e *Engine) Evaluate(ctx context.Context, call Call) Verdict {
	return e.evaluate(ctx, call, evalMode{})
}

// ExplainOptions shape an explanation.
type ExplainOptions struct {
	// NoJudge skips the judge: plain-English policies are reported as not
	// judged and do not change the decision.
	NoJudge bool
}

// Explain decides call as Evaluate would, but counts nothing against rate
// limits, and reports every policy of the workspace's two layers in
// Results — matched or not, and why.
func (e *Engine) Explain(ctx context.Context, call Call, opts ExplainOptions) Verdict {
	return e.evaluate(ctx, call, evalMode{explain: true, noJudge: opts.NoJudge})
}

type evalMode struct{ explain, noJudge bool }

// evaluation is the state of one call's evaluation.
type evaluation struct {
	e    *Engine
	call Call
	mode evalMode
	now  time.Time
	args *Arguments
	// findings are per leaf: what the detectors found, computed on first
	// need.
	findings []leafFinding
	risk     float64
	lower    string             // lower-cased canonical JSON, for keywords
	grams    *prefilter.Bigrams // of lower, from prefilter.GetBigrams
	// tool and exposed are the call's tool names in lower case, for the
	// tool globs; computed on first need.
	tool, exposed string
	// lowerFields caches lower-cased argument fields.
	lowerFields []loweredField
	spans       []Span
	v           Verdict
}

// leafFinding is a detector finding in one leaf of the arguments.
type leafFinding struct {
	leaf int
	Finding
}

// layerOutcome is the end of one layer's deterministic pass.
type layerOutcome struct {
	decision Decision
	rule     *rule
	reason   string
	shown    string // the reason as the client reads it; empty: reason
	decided  bool   // a terminal action ended the pass
}

func (e *Engine) evaluate(ctx context.Context, call Call, mode evalMode) Verdict {
	own := e.workspaces[call.Workspace]
	ev := &evaluation{e: e, call: call, mode: mode, v: Verdict{Decision: DecisionAllow, Version: e.version}}
	if len(e.global) == 0 && len(own) == 0 && e.opts.Guard == nil {
		return ev.v
	}
	ev.now = e.opts.Now()
	args, err := ParseArguments(call.Arguments)
	if err != nil {
		// Arguments the gateway cannot read could read differently
		// upstream: never forward them under policies.
		ev.v.Decision = DecisionBlock
		ev.v.Reason = "the call's arguments could not be read (" + strings.TrimPrefix(err.Error(), ErrArguments.Error()+": ") + ")"
		ev.v.Message = "Blocked by Gatehouse: " + ev.v.Reason + "."
		return ev.v
	}
	ev.args = args
	if what, hit := e.opts.Guard.Check(call, args.Leaves()); hit {
		return e.opts.Guard.block(ev.v, what)
	}
	if len(e.global) == 0 && len(own) == 0 {
		return ev.v
	}
	defer func() {
		if ev.grams != nil {
			prefilter.PutBigrams(ev.grams)
		}
	}()
	ev.scan()

	g := ev.layer(e.global)
	w := ev.layer(own)
	if err := ev.redact(); err != nil {
		// Never forward what was to be redacted — nor log it: the same
		// spans fail the log's masking, which then keeps a hash.
		ev.keepMask()
		ev.v.Decision, ev.v.Reason = DecisionBlock, "the call's arguments could not be redacted ("+err.Error()+")"
		ev.v.Message = "Blocked by Gatehouse: " + ev.v.Reason + "."
		return ev.v
	}
	ev.keepMask()
	ev.judge(ctx, g, w, own)
	return ev.v
}

// scan runs the detectors over every leaf of the arguments, once per
// distinct text.
func (ev *evaluation) scan() {
	leaves := ev.args.Leaves()
	views := ev.args.SpacedViews() // nil without invisible characters
	memo := newLeafMemo(len(leaves))
	defer memo.release()
	var buf []Finding
	for i, l := range leaves {
		slot := memo.find(leaves, i)
		if slot != nil && slot.leaf != 0 {
			// An earlier leaf has this text: the same findings.
			for _, f := range ev.findings[slot.from:slot.to] {
				f.leaf = i
				ev.findings = append(ev.findings, f)
			}
		} else {
			from := len(ev.findings)
			buf = detect.AppendFindings(buf[:0], l.Text)
			for _, f := range buf {
				ev.findings = append(ev.findings, leafFinding{leaf: i, Finding: f})
				ev.risk = max(ev.risk, f.Severity)
			}
			if slot != nil {
				*slot = memoSlot{leaf: int32(i) + 1, from: int32(from), to: int32(len(ev.findings))}
			}
		}
		// What the value of a credential key is ({"password": "…"}) depends
		// on the key too: after the memo's range, never shared through it.
		buf = appendFieldFindings(buf[:0], leaves, i, ev.findings)
		if views != nil && views[i] != "" { // words an invisible character separated
			buf = appendHiddenFindings(buf, views[i], l.Text, ev.findings, i)
		}
		for _, f := range buf {
			ev.findings = append(ev.findings, leafFinding{leaf: i, Finding: f})
			ev.risk = max(ev.risk, f.Severity)
		}
	}
	ev.v.Risk = ev.risk
	for i, f := range ev.findings {
		if shownInside(leaves, ev.findings, i) {
			continue
		}
		ev.v.Findings = append(ev.v.Findings, Detection{
			Threat: f.Threat, Kind: f.Kind, Severity: f.Severity,
			Path: leaves[f.leaf].Path, Masked: Mask(leaves[f.leaf].Text[f.Start:f.End]),
		})
	}
}

// appendFieldFindings appends what the secret detector finds in leaf i
// because of its key (detect.DetectField) when it is a string member's
// value, unless a finding of fs already covers that span of the leaf.
func appendFieldFindings(dst []Finding, leaves []Leaf, i int, fs []leafFinding) []Finding {
	l := leaves[i]
	if i == 0 || l.Kind != LeafString || leaves[i-1].Kind != LeafKey || leaves[i-1].Path != l.Path {
		return dst
	}
	n := len(dst)
	dst = detect.AppendFieldFindings(dst, leaves[i-1].Text, l.Text)
	for _, f := range dst[n:] {
		for j := len(fs) - 1; j >= 0 && fs[j].leaf == i; j-- {
			if fs[j].Threat == f.Threat && fs[j].Start <= f.Start && fs[j].End >= f.End {
				return dst[:n]
			}
		}
	}
	return dst
}

// shownInside reports whether finding i, in a string that holds a JSON
// document, is also found in one of that document's own leaves: the
// verdict then lists it once, where it is.
func shownInside(leaves []Leaf, fs []leafFinding, i int) bool {
	f := fs[i]
	outer := leaves[f.leaf]
	text := outer.Text[f.Start:f.End]
	for _, g := range fs[i+1:] {
		inner := leaves[g.leaf]
		if g.Kind == f.Kind && strings.HasPrefix(inner.Path, outer.Path+"#") && inner.Text[g.Start:g.End] == text {
			return true
		}
	}
	return false
}

// layer runs the deterministic pass of one layer's rules, in priority
// order, recording what each matching rule did.
func (ev *evaluation) layer(rules []*rule) layerOutcome {
	var out layerOutcome
	for _, r := range rules {
		if !r.p.Deterministic() {
			continue
		}
		if !r.p.Enabled {
			ev.explain(r, OutcomeDisabled, "the policy is disabled")
			continue
		}
		if out.decided {
			ev.explain(r, OutcomeNotReached, fmt.Sprintf("the layer was already decided by %q", out.rule.p.Name))
			continue
		}
		why, ok := ev.matches(r)
		if !ok {
			ev.explain(r, OutcomeNotApplicable, why)
			continue
		}
		switch r.p.Action {
		case ActionWarn:
			ev.v.Warnings = append(ev.v.Warnings, Warning{Policy: r.p.Name, Message: orElse(r.p.Message, why)})
			ev.record(r, OutcomeWarn, why)
		case ActionRedact:
			ev.record(r, OutcomeRedact, why)
			if !ev.collectRedactions(r) {
				out = layerOutcome{decision: DecisionBlock, rule: r, decided: true,
					reason: "what it must redact could not be isolated in the arguments, so the call was stopped rather than forwarded unredacted"}
			}
		case ActionRateLimit:
			rl := r.p.RateLimit
			ok, wait := ev.e.opts.Limiter.take(ev.rateKey(r), rl.Requests, rl.Per, ev.now, ev.mode.explain)
			if ok {
				ev.record(r, OutcomeCounted, why+fmt.Sprintf("; within %s per %s", calls(rl.Requests), shortDuration(rl.Per)))
				continue
			}
			secs := int((wait + time.Second - 1) / time.Second)
			ev.v.RetryAfter = max(ev.v.RetryAfter, time.Duration(secs)*time.Second)
			reason := fmt.Sprintf("the limit of %s per %s %s was reached; retry after %d s", calls(rl.Requests), shortDuration(rl.Per), rateScope(rl.Key), secs)
			ev.record(r, OutcomeRateExceeded, reason)
			out = layerOutcome{decision: DecisionBlock, rule: r, reason: reason, decided: true}
		case ActionAllow:
			ev.record(r, OutcomeAllow, why)
			out = layerOutcome{decision: DecisionAllow, rule: r, reason: why, decided: true}
		case ActionBlock:
			ev.record(r, OutcomeBlock, why)
			out = layerOutcome{decision: DecisionBlock, rule: r, reason: orElse(r.p.Message, ev.personReason(r, "are not allowed")), decided: true}
		case ActionRequireApproval:
			ev.record(r, OutcomeApproval, why)
			out = layerOutcome{decision: DecisionRequireApproval, rule: r, reason: orElse(r.p.Message, ev.personReason(r, "need approval")), decided: true}
		}
	}
	return out
}

// personReason says, for the person, why r stopped a call when r has no
// message of its own: what it found, never its patterns. verb ends the
// sentence: "are not allowed", "need approval".
func (ev *evaluation) personReason(r *rule, verb string) string {
	w := &r.p.When
	switch {
	case len(r.threats) > 0:
		return "the arguments contain " + threatList(r.threats)
	case w.Args != "" || len(w.ArgFields) > 0 || len(w.Keywords) > 0:
		return "the arguments match what it forbids"
	case w.RiskMin != nil || w.RiskMax != nil:
		return fmt.Sprintf("the call's risk score (%.2f) is in the range it stops", ev.risk)
	case w.Time != nil:
		return fmt.Sprintf("%s %s at this time", ev.subject(), verb)
	case len(w.Users) > 0:
		return fmt.Sprintf("%s by user %q %s", ev.subject(), ev.call.User, verb)
	case len(w.Clients) > 0:
		return fmt.Sprintf("%s from client %q %s", ev.subject(), ev.call.Client, verb)
	}
	return fmt.Sprintf("%s %s", ev.subject(), verb)
}

// shortDuration prints d without zero units: 1m, 1h, 1h30m, 45s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// calls words a number of calls.
func calls(n int) string {
	if n == 1 {
		return "1 call"
	}
	return fmt.Sprintf("%d calls", n)
}

// rateScope words a rate limit key.
func rateScope(k RateLimitKey) string {
	switch k {
	case KeyWorkspace:
		return "for this workspace"
	case KeyGlobal:
		return "for everyone"
	}
	return "for this user"
}

// rateKey is the limiter key of a call under r.
func (ev *evaluation) rateKey(r *rule) string {
	k := r.rateScope + "\x00"
	switch r.p.RateLimit.Key {
	case KeyUser:
		k += ev.call.Workspace + "\x00" + ev.call.User
	case KeyWorkspace:
		k += ev.call.Workspace
	}
	return k
}

// record adds r's result.
func (ev *evaluation) record(r *rule, o Outcome, why string) {
	ev.v.Results = append(ev.v.Results, Result{
		Policy: r.p.Name, Layer: r.layer, Kind: r.kind(), Priority: r.p.Priority, Outcome: o, Why: why, Source: r.p.Source,
	})
	// Its own words are the config's, not the call's: the log keeps them
	// as the client reads them (Verdict.Mask).
	ev.v.own = append(ev.v.own, r.p.Name)
	if r.p.Message != "" {
		ev.v.own = append(ev.v.own, r.p.Message)
	}
}

// explain adds r's result when explaining.
func (ev *evaluation) explain(r *rule, o Outcome, why string) {
	if ev.mode.explain {
		ev.record(r, o, why)
	}
}

func (r *rule) kind() string {
	if r.p.Deterministic() {
		return string(r.p.Action)
	}
	return "rules"
}

// orElse returns a if not empty, else b.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// judge puts the plain-English policies in scope to the judge and settles
// the final decision: the most restrictive of the two layers.
func (ev *evaluation) judge(ctx context.Context, g, w layerOutcome, own []*rule) {
	var asked []*rule
	blocked := (g.decided && g.decision == DecisionBlock) || (w.decided && w.decision == DecisionBlock)
	for _, lr := range []struct {
		rules []*rule
		out   layerOutcome
	}{{ev.e.global, g}, {own, w}} {
		for _, r := range lr.rules {
			if r.p.Deterministic() {
				continue
			}
			switch {
			case !r.p.Enabled:
				ev.explain(r, OutcomeDisabled, "the policy is disabled")
			case !ev.inScope(r):
				ev.explain(r, OutcomeNotApplicable, ev.nof(ev.notInScope))
			case lr.out.decided && lr.out.decision == DecisionAllow:
				ev.explain(r, OutcomeNotJudged, fmt.Sprintf("its layer allowed the call by %q", lr.out.rule.p.Name))
			case blocked:
				ev.explain(r, OutcomeNotJudged, "the call was already blocked")
			case ev.mode.noJudge:
				ev.explain(r, OutcomeNotJudged, "not judged (--no-judge)")
			default:
				asked = append(asked, r)
			}
		}
	}
	gd, wd := g, w
	if !gd.decided {
		gd.decision = DecisionAllow
	}
	if !wd.decided {
		wd.decision = DecisionAllow
	}
	if len(asked) > 0 {
		for _, res := range ev.askJudge(ctx, asked) {
			lo := &gd
			if res.rule.layer == LayerWorkspace {
				lo = &wd
			}
			if res.decision.rank() > lo.decision.rank() {
				*lo = layerOutcome{decision: res.decision, rule: res.rule, reason: res.reason, shown: res.shown, decided: true}
			}
		}
	}
	final := gd
	if wd.decision.rank() > gd.decision.rank() || (gd.rule == nil && wd.rule != nil && wd.decision.rank() == gd.decision.rank()) {
		final = wd
	}
	ev.v.Decision = final.decision
	shown := final.shown
	if final.rule != nil {
		ev.v.Policy, ev.v.Layer, ev.v.Reason = final.rule.p.Name, final.rule.layer, final.reason
		if final.decision == DecisionRequireApproval {
			rule, ok := combineApproval(gd, wd)
			if !ok {
				ev.v.Decision = DecisionBlock
				ev.v.Reason = "the policies that hold it for approval (" + strings.Join(rule.Policies, ", ") + ") have no approver in common"
				shown = ""
			}
			ev.v.Approval = &rule
		}
	}
	ev.v.Message = violationMessage(ev.v.Decision, ev.v.Policy, orElse(shown, ev.v.Reason))
}

// combineApproval is the approval rule of a call that one or both layers
// hold for approval: the stricter of the two where both do — out-of-band
// over in-client, and only the approvers both allow (an empty list allows
// anyone but the caller) — with the policies of both. It is not ok when
// both name approvers and none is on both lists: nobody can approve.
func combineApproval(g, w layerOutcome) (ApprovalRule, bool) {
	var out ApprovalRule
	first := true
	for _, lo := range []layerOutcome{g, w} {
		if lo.decision != DecisionRequireApproval || lo.rule == nil {
			continue
		}
		r := lo.rule.p.Approval
		out.Policies = append(out.Policies, lo.rule.p.Name)
		out.OutOfBandOnly = out.OutOfBandOnly || r.OutOfBandOnly
		switch {
		case first || len(out.Approvers) == 0:
			out.Approvers = slices.Clone(r.Approvers)
		case len(r.Approvers) > 0:
			out.Approvers = slices.DeleteFunc(out.Approvers, func(a string) bool { return !slices.Contains(r.Approvers, a) })
			if len(out.Approvers) == 0 {
				return out, false
			}
		}
		first = false
	}
	return out, true
}

// judged is the judge's decision on one rule.
type judged struct {
	rule     *rule
	decision Decision
	reason   string
	shown    string // the reason as the client reads it
}

// askWithin asks j under the engine's judge timeout.
func (ev *evaluation) askWithin(ctx context.Context, j Judge, req JudgeRequest) (JudgeAnswer, error) {
	if t := ev.e.opts.JudgeTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	ans, err := j.Judge(ctx, req)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // an answer after the deadline is not trusted
	}
	return ans, err
}

// askJudge asks the judge about rules and turns its answer, or its
// failure, into a decision per rule. An answer the judge has at hand
// (CachingJudge) is taken without setting the timeout.
func (ev *evaluation) askJudge(ctx context.Context, rules []*rule) []judged {
	req := JudgeRequest{Call: ev.call, Version: ev.e.version, Findings: ev.v.Findings}
	if ev.v.Arguments != nil {
		req.Call.Arguments = ev.v.Arguments // redacted: read by the judge
	} else {
		req.CanonicalArguments = ev.args.Canonical()
	}
	for _, r := range rules {
		req.Policies = append(req.Policies, JudgedPolicy{ID: r.judgeID, Layer: r.layer, Name: r.p.Name, Rules: r.p.Rules, Strict: r.p.Strict})
	}
	ev.v.Judge.Asked = true
	var ans JudgeAnswer
	err := ErrNoJudge
	if j := ev.e.opts.Judge; j != nil {
		start := time.Now()
		if cj, ok := j.(CachingJudge); ok {
			if ans, ok = cj.Cached(req); ok {
				err = nil
			}
		}
		if err != nil {
			ans, err = ev.askWithin(ctx, j, req)
		}
		ev.v.Judge.Latency = time.Since(start)
		ev.v.Judge.Model, ev.v.Judge.PromptVersion, ev.v.Judge.Cached = ans.Model, ans.PromptVersion, ans.Cached
		if ev.mode.explain {
			ev.v.Judge.Exchange = ans.Exchange
		}
	}
	byID := map[string]JudgeResult{}
	for _, res := range ans.Results {
		byID[res.Policy] = res
	}
	ev.v.Judge.Err = err
	out := make([]judged, 0, len(rules))
	for _, r := range rules {
		ferr := err
		if ferr == nil {
			res, ok := byID[r.judgeID]
			d, o, known := judgeDecision(res.Verdict)
			switch {
			case !ok:
				ferr = fmt.Errorf("the judge gave no verdict for policy %q", r.p.Name)
			case !known:
				ferr = fmt.Errorf("the judge gave an unknown verdict %q for policy %q", res.Verdict, r.p.Name)
			default:
				ev.record(r, o, res.Reason)
				ev.v.Results[len(ev.v.Results)-1].Analysis = res.Analysis
				out = append(out, judged{rule: r, decision: d, reason: res.Reason, shown: orElse(r.p.Message, agentReason(res.Reason))})
				continue
			}
			ev.v.Judge.Err = errors.Join(ev.v.Judge.Err, ferr)
		}
		if r.p.Strict {
			reason := "it could not be evaluated (" + judgeFailure(ferr) + ") and it is strict, so the call was stopped to be safe"
			ev.record(r, OutcomeJudgeFailed, reason)
			out = append(out, judged{rule: r, decision: DecisionBlock, reason: reason})
			continue
		}
		if errors.Is(ferr, ErrJudgeCallFailed) || errors.Is(ferr, context.DeadlineExceeded) && ev.judgeHealthy() {
			// The call's own content made the judge fail: never an
			// open door for the one who wrote it.
			reason := "it could not be evaluated (" + judgeFailure(ferr) + "), so a person must approve it"
			ev.record(r, OutcomeJudgeFailed, reason)
			out = append(out, judged{rule: r, decision: DecisionRequireApproval, reason: reason})
			continue
		}
		ev.v.Judge.FailOpen = true
		ev.record(r, OutcomeJudgeFailed, "it could not be evaluated ("+judgeFailure(ferr)+"); allowed because it is not strict")
	}
	return out
}

// judgeHealthy reports whether the engine's judge says its provider was
// answering moments ago (HealthReporter): a timeout is then the call's
// own doing.
func (ev *evaluation) judgeHealthy() bool {
	h, ok := ev.e.opts.Judge.(HealthReporter)
	return ok && h.Healthy()
}

// judgeFailure words a judge failure for the person, without internals.
func judgeFailure(err error) string {
	switch {
	case errors.Is(err, ErrNoJudge):
		// Most often a key the client's entry did not pass on: the
		// gateway's log says which, at start and in check.
		return "the judge is not configured: see the gateway's log"
	case errors.Is(err, ErrJudgeCallFailed):
		return "the policy judge could not judge this call's content"
	case errors.Is(err, context.DeadlineExceeded):
		return "the policy judge did not answer in time"
	case errors.Is(err, context.Canceled):
		return "the call was cancelled"
	}
	return "the policy judge failed"
}

func judgeDecision(v JudgeVerdict) (Decision, Outcome, bool) {
	switch v {
	case JudgeComply:
		return DecisionAllow, OutcomeComply, true
	case JudgeViolate:
		return DecisionBlock, OutcomeViolate, true
	case JudgeNeedsApproval:
		return DecisionRequireApproval, OutcomeNeedsApproval, true
	}
	return "", "", false
}

// violationMessage is what the client reads when a call is not allowed.
func violationMessage(d Decision, policy, reason string) string {
	reason = sentence(reason)
	switch d {
	case DecisionBlock:
		return fmt.Sprintf("Blocked by policy %q: %s", policy, reason)
	case DecisionRequireApproval:
		return fmt.Sprintf("Policy %q requires approval for this call: %s", policy, reason)
	}
	return ""
}

// maxAgentReason bounds the judge's reason as the agent reads it.
const maxAgentReason = 300

// agentReason is the judge's reason as the agent reads it, for a policy
// without a message of its own: the model's words are a channel back to
// the agent, so they reach it as one line of plain text — markup and links
// removed, what the detectors find masked, bounded. The verdict keeps the
// whole reason, for the log and for approvers.
func agentReason(reason string) string {
	s := markdownLink.ReplaceAllString(reason, "$1")
	s = htmlTag.ReplaceAllString(s, "")
	s = bareURL.ReplaceAllString(s, "[link removed]")
	s = strings.NewReplacer("`", "", "**", "", "__", "").Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines { // headings, quotes and list marks
		lines[i] = strings.TrimLeft(strings.TrimSpace(l), "#>*-+ ")
	}
	s = strings.Join(strings.FieldsFunc(strings.Join(lines, " "), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	}), " ")
	s = MaskText(s)
	if len(s) > maxAgentReason {
		cut := maxAgentReason
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut]) + "…"
	}
	return s
}

var (
	markdownLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag      = regexp.MustCompile(`</?[A-Za-z][^>]*>`)
	bareURL      = regexp.MustCompile(`(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S+`)
)

// sentence ends s with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "the call matched it."
	}
	if !strings.ContainsAny(s[len(s)-1:], ".!?") {
		s += "."
	}
	return s
}

// Policies returns the policies that apply in workspace: the global ones,
// then the workspace's own, each layer in evaluation order (priority,
// then definition order; plain-English policies after the deterministic
// ones).
func (e *Engine) Policies(workspace string) []Listed {
	var out []Listed
	for _, layer := range [][]*rule{e.global, e.workspaces[workspace]} {
		for _, det := range []bool{true, false} {
			for _, r := range layer {
				if r.p.Deterministic() == det {
					out = append(out, Listed{Policy: clonePolicy(r.p), Layer: r.layer, Workspace: r.workspace})
				}
			}
		}
	}
	return out
}

// Listed is a policy as Policies lists it.
type Listed struct {
	Policy
	Layer     Layer
	Workspace string // of a workspace-layer policy
}

// Workspaces returns the names of the workspaces with their own policies,
// sorted.
func (e *Engine) Workspaces() []string {
	names := make([]string, 0, len(e.workspaces))
	for n := range e.workspaces {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
