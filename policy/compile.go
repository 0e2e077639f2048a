package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-mcp/gatehouse/policy/internal/prefilter"
	"github.com/gobwas/glob"
)

// rule is a policy compiled for evaluation.
type rule struct {
	p     Policy
	layer Layer
	// workspace is the owning workspace of a workspace-layer rule.
	workspace string
	// order is the definition order within the layer, for priority ties.
	order     int
	tools     []*glob.Pattern
	resources []*glob.Pattern
	prompts   []*glob.Pattern
	upstreams []string
	args      *prefilter.Pattern
	fields    []fieldRule
	keywords  []string // normalised, lower case
	threats   []Threat
	users     []*glob.Pattern
	clients   []*glob.Pattern
	// needsArgs reports conditions that read the arguments.
	needsArgs bool
	// judgeID names a plain-English rule in a judge request.
	judgeID string
	// rateScope names what a rate_limit rule counts — its layer,
	// workspace, scope, conditions and key, not its name or numbers — so
	// that a reload that renames it or changes its limit keeps its count.
	rateScope string
}

// fieldRule is one entry of When.ArgFields.
type fieldRule struct {
	path string
	re   *prefilter.Pattern
}

// compileSet compiles every policy of set, reporting every problem.
func compileSet(set Set) (global []*rule, workspaces map[string][]*rule, err error) {
	var errs []error
	global = compileLayer(set.Global, LayerGlobal, "", &errs)
	workspaces = make(map[string][]*rule, len(set.Workspaces))
	globalNames := map[string]bool{}
	for _, r := range global {
		globalNames[r.p.Name] = true
	}
	for ws, ps := range set.Workspaces {
		rules := compileLayer(ps, LayerWorkspace, ws, &errs)
		for _, r := range rules {
			if globalNames[r.p.Name] {
				r.judgeID = "workspace:" + r.p.Name
			}
		}
		workspaces[ws] = rules
	}
	return global, workspaces, errors.Join(errs...)
}

// compileLayer compiles the policies of one layer and sorts them by
// priority, higher first, ties in definition order.
func compileLayer(ps []Policy, layer Layer, ws string, errs *[]error) []*rule {
	rules := make([]*rule, 0, len(ps))
	names := map[string]int{}
	for i := range ps {
		r, rerrs := compile(&ps[i], layer, ws, i)
		for _, e := range rerrs {
			*errs = append(*errs, e)
		}
		if first, dup := names[ps[i].Name]; dup {
			*errs = append(*errs, &Error{Layer: layer, Workspace: ws, Index: i, Policy: ps[i].Name, Source: ps[i].Source, Field: "name",
				Value: ps[i].Name, Err: &DuplicateNameError{First: first}})
		} else if ps[i].Name != "" {
			names[ps[i].Name] = i
		}
		rules = append(rules, r)
	}
	scopes := map[string]int{}
	for _, r := range rules {
		if r.p.Action == ActionRateLimit && r.p.RateLimit != nil {
			sig := rateSignature(r)
			scopes[sig]++ // two limits on the same calls count apart
			r.rateScope = sig + "\x00" + strconv.Itoa(scopes[sig])
		}
	}
	slices.SortStableFunc(rules, func(a, b *rule) int {
		return cmp.Compare(b.p.Priority, a.p.Priority)
	})
	return rules
}

// rateSignature is what a rate_limit rule counts, as text: its layer and
// workspace, the calls in its scope (tools, resources, prompts,
// upstreams), its conditions and what it counts per (user, workspace or
// all) — everything but its name, its numbers and its words.
func rateSignature(r *rule) string {
	p := r.p
	sig, _ := json.Marshal(struct {
		Layer                               Layer
		Workspace                           string
		Tools, Resources, Prompts, Upstream []string
		When                                When
		Key                                 RateLimitKey
	}{r.layer, r.workspace, p.Tools, p.Resources, p.Prompts, p.Upstreams, p.When, p.RateLimit.Key})
	return string(sig)
}

// The enumerations a policy is checked against.
var (
	actions       = []Action{ActionAllow, ActionBlock, ActionRequireApproval, ActionRateLimit, ActionRedact, ActionWarn}
	rateLimitKeys = []RateLimitKey{KeyUser, KeyWorkspace, KeyGlobal}
)

// compile compiles one policy; order is its index in its layer. Its
// errors name the field as written in the config, in the order the
// fields are documented.
func compile(p *Policy, layer Layer, ws string, order int) (*rule, []*Error) {
	r := &rule{p: clonePolicy(*p), layer: layer, workspace: ws, order: order, judgeID: p.Name, upstreams: p.Upstreams}
	var errs []*Error
	bad := func(field, value string, err error) {
		errs = append(errs, &Error{Layer: layer, Workspace: ws, Index: order, Policy: p.Name, Source: p.Source, Field: field, Value: value, Err: err})
	}
	if p.Name == "" {
		bad("", "", errors.New("name is required"))
	}
	checkKind(p, bad)
	checkRateLimit(p, bad)
	if p.Action == ActionRedact && p.When.Args == "" && len(p.When.ArgFields) == 0 && len(p.When.Threats) == 0 {
		bad("action", string(p.Action), errors.New("redact needs when.args or when.threats to say what to redact"))
	}
	r.tools = compileGlobs(p.Tools, "tools", bad)
	r.resources = compileGlobs(p.Resources, "resources", bad)
	r.prompts = compileGlobs(p.Prompts, "prompts", bad)
	w := &p.When
	if w.Args != "" {
		re, err := prefilter.Compile(w.Args)
		if err != nil {
			bad("when.args", w.Args, regexError(err))
		}
		r.args = re
	}
	for _, path := range sortedKeys(w.ArgFields) {
		field, expr := "when.args."+path, w.ArgFields[path]
		if path == "" {
			bad(field, expr, errors.New("argument field name must not be empty"))
		}
		if expr == "" {
			bad(field, expr, errors.New("empty regex matches everything"))
			continue
		}
		re, err := prefilter.Compile(expr)
		if err != nil {
			bad(field, expr, regexError(err))
			continue
		}
		if path != "" {
			r.fields = append(r.fields, fieldRule{path: path, re: re})
		}
	}
	for i, k := range w.Keywords {
		k = strings.ToLower(Normalize(k))
		if strings.TrimSpace(k) == "" {
			bad(fmt.Sprintf("when.keywords[%d]", i), w.Keywords[i], errors.New("must not be empty"))
			continue
		}
		r.keywords = append(r.keywords, k)
	}
	for i, t := range w.Threats {
		if !slices.Contains(Threats, t) {
			bad(fmt.Sprintf("when.threats[%d]", i), string(t), oneOf(Threats))
		}
	}
	r.threats = w.Threats
	checkRisk(w, bad)
	r.users = compileGlobs(p.When.Users, "when.users", bad)
	r.clients = compileGlobs(p.When.Clients, "when.clients", bad)
	if t := w.Time; t != nil {
		switch {
		case (t.From < 0) != (t.To < 0):
			bad("when.time", "", errors.New("from and to go together"))
		case t.From > 1439 || t.To > 1439:
			bad("when.time", t.String(), errors.New("from and to must be HH:MM, 24-hour"))
		case t.From >= 0 && t.From == t.To:
			bad("when.time.to", t.String(), errors.New("must differ from from"))
		case t.From < 0 && len(t.Days) == 0:
			bad("when.time", "", errors.New("needs days, or from and to"))
		}
	}
	r.needsArgs = r.args != nil || len(r.fields) > 0 || len(r.keywords) > 0
	return r, errs
}

// checkKind checks that p is plain-English or deterministic, not both,
// and what goes with its kind.
func checkKind(p *Policy, bad func(field, value string, err error)) {
	switch {
	case p.Rules != "" && p.Action != "":
		bad("", "", errors.New("has both rules and action; a policy is plain-English (rules) or deterministic (action), not both"))
	case p.Rules == "" && p.Action == "":
		bad("", "", errors.New("needs rules (plain English, judged by the LLM) or an action"))
	case p.Rules != "":
		if strings.TrimSpace(p.Rules) == "" {
			bad("rules", p.Rules, errors.New("must not be empty"))
		}
		if !p.When.zero() {
			bad("when", "", errors.New("only with action; a rules policy is judged by the LLM"))
		}
	case !slices.Contains(actions, p.Action):
		bad("action", string(p.Action), oneOf(actions))
	}
}

// checkRateLimit checks that a rate_limit section goes with action
// rate_limit, and only with it, and its values.
func checkRateLimit(p *Policy, bad func(field, value string, err error)) {
	rl := p.RateLimit
	switch {
	case p.Action == ActionRateLimit && rl == nil:
		bad("action", string(p.Action), errors.New("needs a rate_limit section {requests, per, key}"))
	case rl != nil && p.Action != ActionRateLimit:
		bad("rate_limit", "", errors.New("only with action: rate_limit"))
	case rl != nil:
		if rl.Requests <= 0 {
			bad("rate_limit.requests", strconv.Itoa(rl.Requests), errors.New("must be positive"))
		}
		if rl.Per <= 0 {
			bad("rate_limit.per", rl.Per.String(), errors.New("must be a positive duration"))
		}
		if !slices.Contains(rateLimitKeys, rl.Key) {
			bad("rate_limit.key", string(rl.Key), oneOf(rateLimitKeys))
		}
	}
}

// checkRisk checks that the risk bounds lie in 0..1 and in order.
func checkRisk(w *When, bad func(field, value string, err error)) {
	ok := true
	for _, b := range []struct {
		field string
		v     *float64
	}{{"when.risk_min", w.RiskMin}, {"when.risk_max", w.RiskMax}} {
		if b.v != nil && !(*b.v >= 0 && *b.v <= 1) {
			bad(b.field, strconv.FormatFloat(*b.v, 'g', -1, 64), errors.New("must be between 0 and 1"))
			ok = false
		}
	}
	if ok && w.RiskMin != nil && w.RiskMax != nil && *w.RiskMin > *w.RiskMax {
		bad("when.risk_max", strconv.FormatFloat(*w.RiskMax, 'g', -1, 64), errors.New("must not be below risk_min"))
	}
}

// oneOf is the error of a value outside the enumeration allowed.
func oneOf[T ~string](allowed []T) error {
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = string(a)
	}
	return fmt.Errorf("must be one of %s", strings.Join(s, ", "))
}

// regexError words a regexp compile error for the person who wrote it.
func regexError(err error) error {
	return fmt.Errorf("invalid regex: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
}

func compileGlobs(patterns []string, field string, bad func(field, value string, err error)) []*glob.Pattern {
	var gs []*glob.Pattern
	for i, s := range patterns {
		if s == "" {
			bad(fmt.Sprintf("%s[%d]", field, i), s, errors.New("empty glob"))
			continue
		}
		g, err := glob.Compile(strings.ToLower(s))
		if err != nil {
			bad(fmt.Sprintf("%s[%d]", field, i), s, fmt.Errorf("invalid glob: %v", err))
			continue
		}
		gs = append(gs, g)
	}
	return gs
}

// zero reports a When without conditions.
func (w *When) zero() bool {
	return w.Args == "" && len(w.ArgFields) == 0 && len(w.Keywords) == 0 && len(w.Threats) == 0 &&
		w.RiskMin == nil && w.RiskMax == nil && len(w.Users) == 0 && len(w.Clients) == 0 && w.Time == nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// clonePolicy copies p so the engine shares no memory with its caller.
func clonePolicy(p Policy) Policy {
	p.Tools = slices.Clone(p.Tools)
	p.Resources = slices.Clone(p.Resources)
	p.Prompts = slices.Clone(p.Prompts)
	p.Upstreams = slices.Clone(p.Upstreams)
	p.When.Keywords = slices.Clone(p.When.Keywords)
	p.When.Threats = slices.Clone(p.When.Threats)
	p.When.Users = slices.Clone(p.When.Users)
	p.When.Clients = slices.Clone(p.When.Clients)
	if p.When.ArgFields != nil {
		m := make(map[string]string, len(p.When.ArgFields))
		for k, v := range p.When.ArgFields {
			m[k] = v
		}
		p.When.ArgFields = m
	}
	if t := p.When.Time; t != nil {
		c := *t
		c.Days = slices.Clone(t.Days)
		p.When.Time = &c
	}
	if p.RateLimit != nil {
		c := *p.RateLimit
		p.RateLimit = &c
	}
	return p
}

// version hashes every policy of set that can change a decision, so two
// engines with the same version decide every call alike.
func version(set Set) string {
	type window struct {
		Days     []int
		From, To int
		Zone     string
	}
	type entry struct {
		Policy
		Time *window
	}
	enc := func(ps []Policy) []entry {
		out := make([]entry, len(ps))
		for i, p := range ps {
			p.Source, p.Description = "", ""
			e := entry{Policy: p}
			if t := p.When.Time; t != nil {
				w := &window{From: t.From, To: t.To, Zone: "Local"}
				if t.Location != nil {
					w.Zone = t.Location.String()
				}
				for _, d := range t.Days {
					w.Days = append(w.Days, int(d))
				}
				e.Time, e.Policy.When.Time = w, nil
			}
			out[i] = e
		}
		return out
	}
	ws := map[string][]entry{}
	for name, ps := range set.Workspaces {
		ws[name] = enc(ps)
	}
	data, err := json.Marshal(struct {
		Global     []entry
		Workspaces map[string][]entry
	}{enc(set.Global), ws})
	if err != nil {
		panic(fmt.Sprintf("policy: hash policy set: %v", err)) // plain data always encodes
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
