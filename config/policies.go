package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// PolicySet turns the config's policies into the set the policy engine
// decides with: the global ones (the file's own, then the included
// templates') and each workspace's own, with every default resolved — a
// global policy is strict unless it says otherwise or the top level does; a
// workspace policy follows, in that order, itself, its workspace, the top
// level. A workspace's strict never reaches a global policy: a workspace
// cannot weaken what applies to all. A loaded Config always converts; the
// error is for one built by hand with a time window Load would refuse.
func (c *Config) PolicySet() (policy.Set, error) {
	set := policy.Set{Workspaces: map[string][]policy.Policy{}}
	var errs []error
	conv := func(ps []Policy, strict bool) []policy.Policy {
		out := make([]policy.Policy, 0, len(ps))
		for _, p := range ps {
			pp, err := p.policy(strict)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, pp)
		}
		return out
	}
	set.Global = conv(c.Policies, c.Strict)
	for _, w := range c.Workspaces {
		strict := c.Strict
		if w.Strict != nil {
			strict = *w.Strict
		}
		set.Workspaces[w.Name] = conv(w.Policies, strict)
	}
	if len(errs) > 0 {
		return policy.Set{}, fmt.Errorf("policies: %w", errors.Join(errs...))
	}
	return set, nil
}

// AuditRequired lists the workspaces whose calls are refused while the
// verdict log cannot be written: every workspace when audit.required is
// true, none when it is false, and when it is unset those whose policies
// are strict (the workspace's strict, else the top level's).
func (c *Config) AuditRequired() map[string]bool {
	out := make(map[string]bool, len(c.Workspaces))
	for _, w := range c.Workspaces {
		required := c.Strict
		if w.Strict != nil {
			required = *w.Strict
		}
		if c.Audit.Required != nil {
			required = *c.Audit.Required
		}
		out[w.Name] = required
	}
	return out
}

// ScanOutputWorkspaces lists the workspaces whose tool results are scanned
// for secrets.
func (c *Config) ScanOutputWorkspaces() map[string]bool {
	m := map[string]bool{}
	for _, w := range c.Workspaces {
		on := c.ScanOutput
		if w.ScanOutput != nil {
			on = *w.ScanOutput
		}
		if on {
			m[w.Name] = true
		}
	}
	return m
}

// policy converts one policy; strict is the default it inherits.
func (p Policy) policy(strict bool) (policy.Policy, error) {
	out := policy.Policy{
		Name:        p.Name,
		Description: p.Description,
		Enabled:     p.Enabled == nil || *p.Enabled,
		Strict:      strict,
		Priority:    p.Priority,
		Rules:       p.Rules,
		Action:      policy.Action(p.Action),
		Tools:       slices.Clone(p.Tools),
		Upstreams:   slices.Clone(p.Upstreams),
		Message:     p.Message,
		Source:      p.source(),
		Approval: policy.ApprovalRule{
			OutOfBandOnly: p.InClient != nil && !*p.InClient,
			Approvers:     slices.Clone(p.Approvers),
		},
	}
	if p.Strict != nil {
		out.Strict = *p.Strict
	}
	if rl := p.RateLimit; rl != nil {
		out.RateLimit = &policy.RateLimit{Requests: rl.Requests, Per: time.Duration(rl.Per), Key: policy.RateLimitKey(rl.Key)}
	}
	if w := p.When; w != nil {
		switch a := w.Args.(type) {
		case string:
			out.When.Args = a
		case map[string]string:
			out.When.ArgFields = a
		}
		out.When.Keywords = slices.Clone(w.Keywords)
		for _, t := range w.Threats {
			out.When.Threats = append(out.When.Threats, policy.Threat(t))
		}
		out.When.RiskMin, out.When.RiskMax = w.RiskMin, w.RiskMax
		out.When.Users, out.When.Clients = slices.Clone(w.Users), slices.Clone(w.Clients)
		if t := w.Time; t != nil {
			tw, err := timeWindow(t)
			if err != nil {
				return out, fmt.Errorf("%s: policy %q: when.time: %w", out.Source, p.Name, err)
			}
			out.When.Time = tw
		}
	}
	return out, nil
}

// source says where a policy is defined: file:line, or template:NAME:line.
func (p Policy) source() string {
	file := p.File
	if !strings.HasPrefix(file, "template:") {
		file = filepath.Base(file)
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", file, p.Line)
	}
	return file
}

func timeWindow(t *TimeWindow) (*policy.TimeWindow, error) {
	tw := &policy.TimeWindow{From: -1, To: -1}
	for _, d := range t.Days {
		i := slices.Index(weekdays, d)
		if i < 0 {
			return nil, fmt.Errorf("day %q", d)
		}
		tw.Days = append(tw.Days, time.Weekday(i))
	}
	if t.From != "" || t.To != "" {
		var err error
		if tw.From, err = clock(t.From); err != nil {
			return nil, err
		}
		if tw.To, err = clock(t.To); err != nil {
			return nil, err
		}
	}
	if t.TZ != "" {
		loc, err := time.LoadLocation(t.TZ)
		if err != nil {
			return nil, fmt.Errorf("tz %q: %w", t.TZ, err)
		}
		tw.Location = loc
	}
	return tw, nil
}

// clock is policy.ParseClock, with "" for unset (-1).
func clock(s string) (int, error) {
	if s == "" {
		return -1, nil
	}
	return policy.ParseClock(s)
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
// times and zone (TimeWindow.check reports those): an unknown day stands
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
