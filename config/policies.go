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
		Resources:   slices.Clone(p.Resources),
		Prompts:     slices.Clone(p.Prompts),
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
