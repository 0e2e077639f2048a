package config

// The types of this package that decode, check or place themselves, through
// the hooks of decoder.

import (
	"errors"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// weekdays are the day names of when.time.days, Sunday first as in
// time.Weekday.
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// decodeNode reads what ParseDuration accepts.
func (dur *Duration) decodeNode(d *decoder, n *yaml.Node, field string) {
	s, ok := d.scalar(n, field, "a duration")
	if !ok {
		return
	}
	v, err := ParseDuration(s)
	if err != nil {
		d.fail(n, field, errors.New("must be a duration like 30s, 5m, 1h30m or 90d"))
		return
	}
	*dur = v
}

// decodeKey reads when.args: a regex, or a mapping of argument field to
// regex. An empty regex is an error here, where it can be told from an
// absent one.
func (w *When) decodeKey(d *decoder, key string, n *yaml.Node, field string) bool {
	if key != "args" {
		return false
	}
	switch resolveAlias(n).Kind {
	case yaml.ScalarNode:
		s, ok := d.scalar(n, field, "a regex")
		if !ok {
			break
		}
		w.Args = s
		if s == "" {
			d.fail(n, field, errors.New("empty regex matches everything"))
		}
	case yaml.MappingNode:
		m := map[string]string{}
		for _, p := range d.pairs(n, field) {
			sub := fieldJoin(field, p.key)
			d.l.nodes[fieldPos{d.file, sub}] = p.v
			if s, ok := d.scalar(p.v, sub, "a regex"); ok {
				m[p.key] = s
			}
		}
		w.Args = m
	default:
		d.fail(n, field, errors.New("must be a regex or a mapping of argument field to regex"))
	}
	return true
}

// check normalises the days and checks the clock times. Package policy
// checks the window as a whole, then validatePolicies the zone.
func (t *TimeWindow) check(d *decoder, field string) {
	for i, day := range t.Days {
		if norm, ok := normalizeDay(day); ok {
			t.Days[i] = norm
		} else {
			d.l.report(d.file, fieldIndex(field+".days", i), day, errors.New("must be a day of the week: mon, tue, wed, thu, fri, sat or sun"))
		}
	}
	for _, c := range []struct{ key, v string }{{"from", t.From}, {"to", t.To}} {
		if c.v != "" && !clockRE.MatchString(c.v) {
			d.l.report(d.file, field+"."+c.key, c.v, errors.New("must be HH:MM, 24-hour"))
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

// locate records where the policy is defined: the item n at field.
func (p *Policy) locate(d *decoder, n *yaml.Node, field string) {
	p.File, p.Line = d.abs, n.Line
	p.src, p.at = d.file, field
}

// locate records the file that defines the workspace.
func (w *Workspace) locate(d *decoder, _ *yaml.Node, _ string) { w.File = d.abs }

// setName names the workspace after its key.
func (w *Workspace) setName(name string) { w.Name = name }
