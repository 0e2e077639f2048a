package config

// The types of this package that decode or place themselves, through the
// hooks of decoder.

import (
	"errors"
	"reflect"

	"go.yaml.in/yaml/v3"
)

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

// decodeNode reads judge.confirm: true or false, or a mapping naming the
// second model.
func (c *JudgeConfirm) decodeNode(d *decoder, n *yaml.Node, field string) {
	if resolveAlias(n).Kind == yaml.ScalarNode {
		if b, ok := d.parseBool(n, field); ok {
			*c = JudgeConfirm{Enabled: b}
		}
		return
	}
	*c = JudgeConfirm{Enabled: true}
	d.fields(n, field, reflect.ValueOf(c).Elem())
}

// decodeKey reads when.args: a regex, or a mapping of argument field to
// regex.
func (w *When) decodeKey(d *decoder, key string, n *yaml.Node, field string) bool {
	if key != "args" {
		return false
	}
	switch resolveAlias(n).Kind {
	case yaml.ScalarNode:
		if s, ok := d.scalar(n, field, "a regex"); ok {
			w.Args = s
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

// locate records where the policy is defined: the item n at field.
func (p *Policy) locate(d *decoder, n *yaml.Node, field string) {
	p.File, p.Line = d.abs, n.Line
	p.src, p.at = d.file, field
}

// locate records the file that defines the workspace.
func (w *Workspace) locate(d *decoder, _ *yaml.Node, _ string) { w.File = d.abs }

// setName names the workspace after its key.
func (w *Workspace) setName(name string) { w.Name = name }
