package config

// The validation of policies: package policy checks each one, the config
// what only the config knows, and each policy's problems are reported
// together, where it is written, in the order of its keys.

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // when.time.tz must load the same on every host, including minimal containers

	"github.com/gatehouse-mcp/gatehouse/policy"
)

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// weekdays are the day names of when.time.days, Sunday first as in
// time.Weekday.
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// validatePolicies checks the policies of one scope: package policy
// checks each policy and the names in the scope, and its errors are
// reported where the policy is written; the config checks the names as
// config names, the days, clock times and zone of a time window, the
// upstreams a policy names (upstreams are those of the scope; where says
// which), and who may approve.
func (l *loader) validatePolicies(ps []Policy, upstreams map[string]bool, where string) {
	byPolicy := l.policyErrors(ps)
	for i := range ps {
		p := &ps[i]
		var fs findings
		l.checkPolicy(p, upstreams, where, &fs)
		for _, pe := range byPolicy[i] {
			if f, ok := policyFinding(ps, pe); ok {
				fs = append(fs, f)
			}
		}
		fs.report(l, p.src)
	}
}

// checkPolicy adds the config's own findings about p.
func (l *loader) checkPolicy(p *Policy, upstreams map[string]bool, where string, fs *findings) {
	file, field := p.src, p.at
	if p.Name != "" || l.present(file, field+".name") {
		if err := checkName(p.Name); err != nil {
			fs.add(rankName, field+".name", p.Name, err)
		}
	}
	hasAction := p.Action != "" || l.present(file, field+".action")
	if (len(p.Approvers) > 0 || p.InClient != nil) && hasAction && p.Action != string(policy.ActionRequireApproval) {
		fs.add(rankApprovers, field+".approvers", "", errors.New("approvers and in_client only with action: require_approval, or with rules (the judge may answer needs_approval)"))
	}
	for j, a := range p.Approvers {
		if strings.TrimSpace(a) == "" {
			fs.add(rankApprovers, fieldIndex(field+".approvers", j), a, errors.New("must be a user name"))
		}
	}
	for j, u := range p.Upstreams {
		if err := checkName(u); err != nil {
			fs.add(rankUpstreams, fieldIndex(field+".upstreams", j), u, err)
		} else if !upstreams[u] {
			fs.add(rankScope, fieldIndex(field+".upstreams", j), u, fmt.Errorf("no upstream of %s has this name", where))
		}
	}
	if p.When != nil && p.When.Args == "" { // policy cannot tell it from no regex
		fs.add(rankArgs, field+".when.args", "", errors.New("empty regex matches everything"))
	}
	if p.When != nil && p.When.Time != nil {
		checkTimeWindow(field+".when.time", p.When.Time, fs)
	}
}

// checkTimeWindow normalises the days of t and checks its days, clock
// times and zone; package policy checks the window as a whole.
func checkTimeWindow(field string, t *TimeWindow, fs *findings) {
	for i, day := range t.Days {
		if norm, ok := normalizeDay(day); ok {
			t.Days[i] = norm
		} else {
			fs.add(rankTimeParts, fieldIndex(field+".days", i), day, errors.New("must be a day of the week: mon, tue, wed, thu, fri, sat or sun"))
		}
	}
	for _, c := range []struct{ key, v string }{{"from", t.From}, {"to", t.To}} {
		if c.v != "" && !clockRE.MatchString(c.v) {
			fs.add(rankTimeParts, field+"."+c.key, c.v, errors.New("must be HH:MM, 24-hour"))
		}
	}
	if t.TZ != "" {
		if _, err := time.LoadLocation(t.TZ); err != nil {
			fs.add(rankTimeZone, field+".tz", t.TZ, errors.New("unknown time zone"))
		}
	}
}

// normalizeDay maps mon, Monday, MON… to mon.
func normalizeDay(s string) (string, bool) {
	s = strings.ToLower(s)
	for i, d := range weekdays {
		if s == d || s == strings.ToLower(time.Weekday(i).String()) {
			return d, true
		}
	}
	return "", false
}

// The order in which the problems of one policy are reported: problems on
// one line read in the order of the keys in the documentation.
const (
	rankName = iota
	rankKind
	rankApprovers
	rankRateLimit
	rankRedact
	rankTools
	rankUpstreams
	rankArgs
	rankKeywords
	rankThreats
	rankRisk
	rankWho
	rankTimeParts
	rankTimeWindow
	rankTimeZone
	rankDuplicate
	rankScope
)

// fieldRanks rank package policy's errors by their field (the first
// prefix that matches).
var fieldRanks = []struct {
	prefix string
	rank   int
}{
	{"rate_limit", rankRateLimit},
	{"tools", rankTools},
	{"resources", rankTools},
	{"prompts", rankTools},
	{"when.args", rankArgs},
	{"when.keywords", rankKeywords},
	{"when.threats", rankThreats},
	{"when.risk_", rankRisk},
	{"when.users", rankWho},
	{"when.clients", rankWho},
	{"when.time", rankTimeWindow},
}

// finding is one problem of a policy, to report in rank order.
type finding struct {
	rank         int
	field, value string
	err          error
}

type findings []finding

func (fs *findings) add(rank int, field, value string, err error) {
	*fs = append(*fs, finding{rank, field, value, err})
}

// report reports the findings of a policy of file in rank order.
func (fs findings) report(l *loader, file string) {
	slices.SortStableFunc(fs, func(a, b finding) int { return a.rank - b.rank })
	for _, f := range fs {
		l.report(file, f.field, f.value, f.err)
	}
}

// policyFinding turns pe, an error of ps[pe.Index], into a finding at the
// policy's field path joined with pe.Field. A duplicate name is said with
// the path of the first; one that a template brings in is left to
// includeTemplates, which reports it on the include entry.
func policyFinding(ps []Policy, pe *policy.Error) (finding, bool) {
	p := &ps[pe.Index]
	f := finding{rank: rankKind, field: p.at, value: pe.Value, err: pe.Err}
	if pe.Field != "" {
		f.field += "." + pe.Field
	}
	var dup *policy.DuplicateNameError
	switch {
	case errors.As(pe.Err, &dup):
		if strings.HasPrefix(p.src, "template:") || dup.First < 0 || dup.First >= len(ps) {
			return f, false
		}
		f.rank, f.err = rankDuplicate, fmt.Errorf("duplicate policy name in this scope (also %s)", ps[dup.First].at)
	case pe.Field == "action" && p.Action == string(policy.ActionRateLimit):
		f.rank = rankRateLimit
	case pe.Field == "action" && p.Action == string(policy.ActionRedact):
		f.rank = rankRedact
	default:
		for _, r := range fieldRanks {
			if strings.HasPrefix(pe.Field, r.prefix) {
				f.rank = r.rank
				break
			}
		}
	}
	return f, true
}

// policyErrors validates the policies of one layer with policy.Validate
// and returns its errors by policy.
func (l *loader) policyErrors(ps []Policy) [][]*policy.Error {
	layer := make([]policy.Policy, len(ps))
	for i := range ps {
		layer[i] = l.forCheck(&ps[i])
	}
	byPolicy := make([][]*policy.Error, len(ps))
	err := policy.Validate(policy.Set{Global: layer})
	if err == nil {
		return byPolicy
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var pe *policy.Error
		if !errors.As(e, &pe) || pe.Index < 0 || pe.Index >= len(ps) {
			l.errs = append(l.errs, &Error{File: l.mainFile, Err: e}) // not expected: policy locates every error
			continue
		}
		byPolicy[pe.Index] = append(byPolicy[pe.Index], pe)
	}
	return byPolicy
}

// forCheck converts p for policy.Validate. Where the YAML sets a key that
// policy's model cannot tell from an unset one (an empty name, rules or
// action, an empty when.args) or a value that failed to decode, it puts a
// stand-in, so that policy checks the rest as if the key were set: the
// problem itself is the config's to report (or already reported), and
// report says nothing more about a field that failed.
func (l *loader) forCheck(p *Policy) policy.Policy {
	var out policy.Policy
	if p.When == nil || p.When.Time == nil {
		out, _ = p.policy(true)
	} else {
		q := *p
		w := *p.When
		w.Time, q.When = nil, &w
		out, _ = q.policy(true)
		out.When.Time = windowForCheck(p.When.Time)
	}
	set := func(key string, v string) bool { return v == "" && l.present(p.src, p.at+"."+key) }
	if set("name", out.Name) {
		out.Name = "\x00" + p.src + p.at // invalid as a config name, unique
	}
	if set("rules", out.Rules) {
		out.Rules = " " // blank: policy says the rules must not be empty
	}
	if set("action", string(out.Action)) {
		out.Action = "\x00" // policy says which actions there are
	}
	if p.When != nil && p.When.Args == "" {
		out.When.Args = "(?:)" // reported as an empty regex by checkPolicy
	}
	if w := p.When; w != nil && out.When.Args == "" && len(out.When.ArgFields)+len(w.Keywords)+len(w.Threats)+len(w.Users)+len(w.Clients) == 0 &&
		w.RiskMin == nil && w.RiskMax == nil && w.Time == nil {
		out.When.Keywords = []string{"when"} // `when: {}` is a when section all the same
	}
	return out
}

// windowForCheck converts t for policy.Validate whatever its days, clock
// times and zone (checkTimeWindow reports those): an unknown day stands
// for Sunday; a clock time that does not parse stands for one that is set
// and differs from the other unless both are written alike.
func windowForCheck(t *TimeWindow) *policy.TimeWindow {
	tw := &policy.TimeWindow{}
	for _, d := range t.Days {
		tw.Days = append(tw.Days, time.Weekday(max(slices.Index(weekdays, d), 0)))
	}
	from, fromErr := clock(t.From)
	to, toErr := clock(t.To)
	switch {
	case fromErr != nil && toErr != nil:
		from, to = 0, 1
		if t.From == t.To {
			to = 0
		}
	case fromErr != nil:
		from = (max(to, 0) + 1) % (24 * 60)
	case toErr != nil:
		to = (max(from, 0) + 1) % (24 * 60)
	}
	tw.From, tw.To = from, to
	return tw
}
