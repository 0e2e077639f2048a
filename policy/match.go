package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-mcp/gatehouse/policy/internal/prefilter"
	"github.com/gobwas/glob"
)

// inScope reports whether the call is in r's scope: its upstream, and its
// tool, resource or prompt (see Policy.Tools for the rule).
func (ev *evaluation) inScope(r *rule) bool {
	if len(r.upstreams) > 0 && !slices.Contains(r.upstreams, ev.call.Upstream) {
		return false
	}
	if len(r.tools) == 0 && len(r.resources) == 0 && len(r.prompts) == 0 {
		return true // no scope: every call of every kind
	}
	globs := r.tools
	switch ev.call.CallKind() {
	case KindResource:
		globs = r.resources
	case KindPrompt:
		globs = r.prompts
	}
	if ev.tool == "" && ev.exposed == "" {
		ev.tool, ev.exposed = strings.ToLower(ev.call.Tool), strings.ToLower(ev.call.Exposed)
		if ev.call.CallKind() == KindResource {
			// A URI is matched as a server reads it: another spelling of
			// a URI in scope is in scope (see CanonicalURI).
			ev.tool, ev.exposed = strings.ToLower(CanonicalURI(ev.call.Tool)), strings.ToLower(CanonicalURI(ev.call.Exposed))
		}
	}
	for _, g := range globs {
		if g.Match(ev.tool) || g.Match(ev.exposed) {
			return true
		}
	}
	return false
}

// scoped reports whether r names tools, resources or prompts.
func (r *rule) scoped() bool {
	return len(r.tools) > 0 || len(r.resources) > 0 || len(r.prompts) > 0
}

// notInScope says that the call is not in a policy's scope.
func (ev *evaluation) notInScope() string {
	if ev.call.CallKind() == KindTool {
		return "the tool is not in its scope"
	}
	return ev.target() + " is not in its scope"
}

// subject names the calls a policy stops, for the person: "calls to
// fs__write", "requests for resource "file:///x"".
func (ev *evaluation) subject() string {
	if ev.call.CallKind() == KindTool {
		return "calls to " + ev.call.Exposed
	}
	return "requests for " + ev.target()
}

// target names what the call is about, for the person: `tool "x"`,
// `resource "file:///x"`, `prompt "x"`.
func (ev *evaluation) target() string {
	return fmt.Sprintf("%s %q", ev.call.CallKind(), ev.call.Exposed)
}

// matches reports whether r is in scope and all its conditions hold, and
// says why — what matched, or the first thing that did not.
func (ev *evaluation) matches(r *rule) (string, bool) {
	if !ev.inScope(r) {
		return ev.nof(ev.notInScope), false
	}
	w := &r.p.When
	var why []string
	if len(r.upstreams) > 0 {
		why = append(why, fmt.Sprintf("upstream %q is in its scope", ev.call.Upstream))
	}
	if r.scoped() {
		why = append(why, ev.target()+" is in its scope")
	}
	if len(r.users) > 0 {
		if !matchAny(r.users, ev.call.User) {
			return ev.nof(func() string { return fmt.Sprintf("user %q is not one of its users", ev.call.User) }), false
		}
		why = append(why, fmt.Sprintf("user %q", ev.call.User))
	}
	if len(r.clients) > 0 {
		if !matchAny(r.clients, ev.call.Client) {
			return ev.nof(func() string { return fmt.Sprintf("client %q is not one of its clients", ev.call.Client) }), false
		}
		why = append(why, fmt.Sprintf("client %q", ev.call.Client))
	}
	if t := w.Time; t != nil {
		if !t.contains(ev.now) {
			return ev.nof(func() string { return fmt.Sprintf("the time is outside its window (%s)", t) }), false
		}
		why = append(why, "within its time window ("+t.String()+")")
	}
	if w.RiskMin != nil && ev.risk < *w.RiskMin {
		return ev.nof(func() string { return fmt.Sprintf("risk %.2f is below its risk_min %.2f", ev.risk, *w.RiskMin) }), false
	}
	if w.RiskMax != nil && ev.risk > *w.RiskMax {
		return ev.nof(func() string { return fmt.Sprintf("risk %.2f is above its risk_max %.2f", ev.risk, *w.RiskMax) }), false
	}
	if w.RiskMin != nil || w.RiskMax != nil {
		why = append(why, fmt.Sprintf("risk %.2f", ev.risk))
	}
	if len(r.threats) > 0 {
		fired := ev.firedOf(r.threats)
		if len(fired) == 0 {
			return ev.nof(func() string { return fmt.Sprintf("none of its detectors (%s) fired", threatCodes(r.threats)) }), false
		}
		why = append(why, "the arguments contain "+threatList(fired))
	}
	if len(r.keywords) > 0 {
		found := false
		for _, k := range r.keywords {
			if ev.canonicalGrams().MayContain(k) && strings.Contains(ev.lowerCanonical(), k) {
				found = true
				break
			}
		}
		if !found {
			return "none of its keywords occurs in the arguments", false
		}
		why = append(why, "the arguments contain one of its keywords")
	}
	if r.args != nil {
		if !r.args.Match(ev.args.Canonical(), ev.lowerCanonical, ev.canonicalGrams) {
			return "the arguments do not match its pattern", false
		}
		why = append(why, "the arguments match its pattern")
	}
	for _, f := range r.fields {
		text, _, ok := ev.args.Field(f.path)
		if !ok {
			return ev.nof(func() string { return fmt.Sprintf("the arguments have no field %q", f.path) }), false
		}
		if !f.re.Match(text, func() string { return ev.lowerField(f.path, text) }, nil) {
			return ev.nof(func() string { return fmt.Sprintf("field %q does not match its pattern", f.path) }), false
		}
		why = append(why, fmt.Sprintf("field %q matches its pattern", f.path))
	}
	if len(why) == 0 {
		return "it applies to every call", true
	}
	return strings.Join(why, "; "), true
}

// lowerCanonical is the canonical JSON of the arguments in lower case,
// computed once.
func (ev *evaluation) lowerCanonical() string {
	if ev.lower == "" {
		ev.lower = prefilter.ToLower(ev.args.Canonical())
	}
	return ev.lower
}

// lowerField is text, the value of the field at path, in lower case;
// computed once per field, as several policies often read one field.
func (ev *evaluation) lowerField(path, text string) string {
	for _, f := range ev.lowerFields {
		if f.path == path {
			return f.lower
		}
	}
	l := prefilter.ToLower(text)
	ev.lowerFields = append(ev.lowerFields, loweredField{path, l})
	return l
}

// loweredField is one entry of lowerField's cache.
type loweredField struct{ path, lower string }

// canonicalGrams is the bigram set of the lower-cased canonical JSON,
// computed once.
func (ev *evaluation) canonicalGrams() *prefilter.Bigrams {
	if ev.grams == nil {
		ev.grams = prefilter.GetBigrams()
		if !ev.grams.FillLower(ev.args.Canonical()) {
			ev.grams.Fill(ev.lowerCanonical())
		}
	}
	return ev.grams
}

// nof says why a policy did not apply — only when explaining, the one
// time anyone reads it, so that the common path does not pay for it (not
// even for boxing the arguments of a format).
func (ev *evaluation) nof(why func() string) string {
	if !ev.mode.explain {
		return ""
	}
	return why()
}

func matchAny(gs []*glob.Pattern, s string) bool {
	s = strings.ToLower(s)
	for _, g := range gs {
		if g.Match(s) {
			return true
		}
	}
	return false
}

// fired reports whether detector t found something in the arguments.
func (ev *evaluation) fired(t Threat) bool {
	for _, f := range ev.findings {
		if f.Threat == t {
			return true
		}
	}
	return false
}

// threatNames words threats for the person.
var threatNames = map[Threat]string{
	ThreatSecret:          "a secret",
	ThreatPII:             "personal data",
	ThreatPromptInjection: "a prompt injection",
	ThreatShellInjection:  "a dangerous shell command",
	ThreatPathTraversal:   "a path that escapes its directory or names a sensitive file",
	ThreatSQLDestructive:  "a destructive SQL statement",
}

// firedOf is those of threats whose detectors found something: a
// policy's threats hold when any of them fired, as with keywords (one
// listing secret and pii holds for a call with either).
func (ev *evaluation) firedOf(threats []Threat) []Threat {
	var fired []Threat
	for _, t := range threats {
		if ev.fired(t) {
			fired = append(fired, t)
		}
	}
	return fired
}

// threatCodes lists threats by their config names.
func threatCodes(ts []Threat) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func threatList(ts []Threat) string {
	words := make([]string, len(ts))
	for i, t := range ts {
		words[i] = threatNames[t]
	}
	return strings.Join(words, " and ")
}

// collectRedactions adds the spans r redacts: what its patterns matched in
// the arguments' leaves and what its detectors found. It reports false when
// r's pattern matched the arguments but no leaf holds the match, so it
// cannot be redacted.
func (ev *evaluation) collectRedactions(r *rule) bool {
	leaves := ev.args.Leaves()
	n := len(ev.spans)
	add := func(leaf, start, end int, what string) {
		ev.spans = append(ev.spans, Span{Leaf: leaf, Start: start, End: end})
		ev.v.Redactions = append(ev.v.Redactions, Redaction{Policy: r.p.Name, Path: leaves[leaf].Path, What: what})
	}
	patternSpans := func(re *regexp.Regexp, only func(i int) bool) {
		for i, l := range leaves {
			if l.Kind == LeafKey || !only(i) {
				continue
			}
			for _, m := range re.FindAllStringIndex(l.Text, -1) {
				if m[1] > m[0] {
					add(i, m[0], m[1], "args")
				}
			}
		}
	}
	everywhere := func(int) bool { return true }
	if r.args != nil {
		patternSpans(r.args.Regexp(), everywhere)
	}
	for _, f := range r.fields {
		_, leaf, _ := ev.args.Field(f.path)
		if leaf < 0 {
			// An object or array: its matches are redacted wherever
			// they occur.
			patternSpans(f.re.Regexp(), everywhere)
			continue
		}
		patternSpans(f.re.Regexp(), func(i int) bool { return i == leaf })
	}
	for _, f := range ev.findings {
		if slices.Contains(r.threats, f.Threat) {
			add(f.leaf, f.Start, f.End, f.Kind)
		}
	}
	return len(ev.spans) > n
}

// redact applies the collected redactions to the arguments.
func (ev *evaluation) redact() error {
	if len(ev.spans) == 0 {
		return nil
	}
	out, err := ev.args.Redact(ev.spans)
	if err != nil {
		return err
	}
	ev.v.Arguments = out
	return nil
}

// Mask hides all but the ends of s: 2 runes at each end of a text of 16
// runes or more (enough to tell two keys apart), none of a shorter one (an
// SSN or a card's last digits must not show).
func Mask(s string) string {
	n := utf8.RuneCountInString(s)
	if n < 16 {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	return string(r[:2]) + strings.Repeat("*", n-4) + string(r[n-2:])
}
