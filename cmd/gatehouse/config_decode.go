package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configDecoder turns the YAML nodes of one file into config values: unknown
// keys, wrong types and unset variables are errors with the line of the
// node.
type configDecoder struct {
	l    *configLoader
	file string // name in errors
	abs  string // absolute path
}

// keyHandlers maps the keys of a mapping to the functions that decode their
// values; field is the value's path.
type keyHandlers map[string]func(v *yaml.Node, field string)

// yamlPair is one key of a mapping.
type yamlPair struct {
	key  string
	k, v *yaml.Node
}

// fail records a decoding problem of the value n and marks field bad.
func (d *configDecoder) fail(n *yaml.Node, field string, err error) {
	d.l.bad[fieldPos{d.file, field}] = true
	ce := &ConfigError{File: d.file, Field: field, Line: n.Line, Err: err}
	if r := resolveAlias(n); r.Kind == yaml.ScalarNode {
		ce.Value = r.Value
	}
	d.l.errs = append(d.l.errs, ce)
}

// failKey records a problem of the key k of field. The field is not
// marked bad: a duplicate's first definition still gets checked.
func (d *configDecoder) failKey(k *yaml.Node, field string, err error) {
	d.l.errs = append(d.l.errs, &ConfigError{File: d.file, Field: field, Line: k.Line, Err: err})
}

// spend counts n nodes against the load's budget; false once spent.
func (d *configDecoder) spend(n *yaml.Node, field string, count int) bool {
	if d.l.budget > maxConfigNodes {
		return false
	}
	d.l.budget += count
	if d.l.budget > maxConfigNodes {
		d.fail(n, field, fmt.Errorf("too many nodes (over %d with aliases expanded)", maxConfigNodes))
		return false
	}
	return true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNullNode(n *yaml.Node) bool {
	n = resolveAlias(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func fieldJoin(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func fieldIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// pairs returns the keys of mapping n in file order, after merging `<<`
// keys (explicit keys win). A duplicate key is an error.
func (d *configDecoder) pairs(n *yaml.Node, field string) []yamlPair {
	n = resolveAlias(n)
	if isNullNode(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		if field == "" {
			d.fail(n, field, errors.New("a config file is a YAML mapping of keys to values"))
		} else {
			d.fail(n, field, errors.New("must be a mapping"))
		}
		return nil
	}
	if !d.spend(n, field, len(n.Content)) {
		return nil
	}
	var out, merged []yamlPair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(v, field)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.failKey(k, field, errors.New("keys must be strings"))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.failKey(k, fieldJoin(field, k.Value), fmt.Errorf("duplicate key (first on line %d)", first.Line))
			continue
		}
		seen[k.Value] = k
		out = append(out, yamlPair{k.Value, k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key]; !dup {
			seen[p.key] = p.k
			out = append(out, p)
		}
	}
	return out
}

// merge returns the pairs a `<<` key brings in: one mapping, or a list of
// mappings where the earlier wins.
func (d *configDecoder) merge(v *yaml.Node, field string) []yamlPair {
	v = resolveAlias(v)
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v, field)
	case yaml.SequenceNode:
		var out []yamlPair
		seen := map[string]bool{}
		for _, item := range v.Content {
			if resolveAlias(item).Kind != yaml.MappingNode {
				d.fail(item, field, errors.New("<< takes a mapping or a list of mappings"))
				continue
			}
			for _, p := range d.pairs(item, field) {
				if !seen[p.key] {
					seen[p.key] = true
					out = append(out, p)
				}
			}
		}
		return out
	default:
		d.fail(v, field, errors.New("<< takes a mapping or a list of mappings"))
		return nil
	}
}

// fields decodes mapping n with h; a key h does not know is an error. A
// null value leaves its field unset.
func (d *configDecoder) fields(n *yaml.Node, field string, h keyHandlers) {
	for _, p := range d.pairs(n, field) {
		sub := fieldJoin(field, p.key)
		decode, ok := h[p.key]
		if !ok {
			d.failKey(p.k, sub, unknownKeyError(p.key, h))
			continue
		}
		d.l.nodes[fieldPos{d.file, sub}] = p.v
		if !isNullNode(p.v) {
			decode(p.v, sub)
		}
	}
}

// unknownKeyError says which key was probably meant.
func unknownKeyError(key string, h keyHandlers) error {
	known := make([]string, 0, len(h))
	for k := range h {
		known = append(known, k)
	}
	slices.Sort(known)
	if s := suggest(key, known); s != "" {
		return fmt.Errorf("unknown key; did you mean %q?", s)
	}
	return fmt.Errorf("unknown key; known keys are %s", strings.Join(known, ", "))
}

// suggest returns the option within edit distance 2 of s, or "".
func suggest(s string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if dist := editDistance(strings.ToLower(s), o); dist < bestDist {
			best, bestDist = o, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// seq returns the items of sequence n, each recorded at field[i].
func (d *configDecoder) seq(n *yaml.Node, field string) []*yaml.Node {
	r := resolveAlias(n)
	if r.Kind != yaml.SequenceNode {
		d.fail(n, field, errors.New("must be a list"))
		return nil
	}
	if !d.spend(n, field, len(r.Content)) {
		return nil
	}
	for i, item := range r.Content {
		d.l.nodes[fieldPos{d.file, fieldIndex(field, i)}] = item
	}
	return r.Content
}

// scalar returns the text of scalar n, with ${VAR} expanded in strings.
func (d *configDecoder) scalar(n *yaml.Node, field, want string) (string, bool) {
	r := resolveAlias(n)
	if r.Kind != yaml.ScalarNode {
		d.fail(n, field, errors.New("must be "+want))
		return "", false
	}
	if r.ShortTag() != "!!str" {
		return r.Value, true
	}
	s, err := d.l.expand(r.Value)
	if err != nil {
		d.fail(n, field, err)
		return "", false
	}
	return s, true
}

func (d *configDecoder) str(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if s, ok := d.scalar(n, field, "a string"); ok {
			*dst = s
		}
	}
}

func (d *configDecoder) strs(dst *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		items := d.seq(n, field)
		out := make([]string, 0, len(items))
		for i, item := range items {
			if s, ok := d.scalar(item, fieldIndex(field, i), "a string"); ok {
				out = append(out, s)
			}
		}
		*dst = out
	}
}

func (d *configDecoder) parseBool(n *yaml.Node, field string) (bool, bool) {
	s, ok := d.scalar(n, field, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.fail(n, field, errors.New("must be true or false"))
	return false, false
}

func (d *configDecoder) boolean(dst *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if b, ok := d.parseBool(n, field); ok {
			*dst = b
		}
	}
}

func (d *configDecoder) boolPtr(dst **bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if b, ok := d.parseBool(n, field); ok {
			*dst = &b
		}
	}
}

func (d *configDecoder) parseInt(n *yaml.Node, field string, bits int) (int64, bool) {
	s, ok := d.scalar(n, field, "an integer")
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		d.fail(n, field, errors.New("must be an integer"))
		return 0, false
	}
	return i, true
}

func (d *configDecoder) integer(dst *int) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if i, ok := d.parseInt(n, field, 32); ok {
			*dst = int(i)
		}
	}
}

func (d *configDecoder) integer64(dst *int64) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		if i, ok := d.parseInt(n, field, 64); ok {
			*dst = i
		}
	}
}

func (d *configDecoder) floatPtr(dst **float64) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		s, ok := d.scalar(n, field, "a number")
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.fail(n, field, errors.New("must be a number"))
			return
		}
		*dst = &f
	}
}

func (d *configDecoder) duration(dst *Duration) func(*yaml.Node, string) {
	return func(n *yaml.Node, field string) {
		s, ok := d.scalar(n, field, "a duration")
		if !ok {
			return
		}
		v, err := ParseDuration(s)
		if err != nil {
			d.fail(n, field, errors.New("must be a duration like 30s, 5m, 1h30m or 90d"))
			return
		}
		*dst = v
	}
}

// config decodes the top level of the config file into cfg.
func (d *configDecoder) config(n *yaml.Node, cfg *Config) {
	d.l.nodes[fieldPos{d.file, ""}] = n
	d.fields(n, "", keyHandlers{
		"version": d.integer(&cfg.Version),
		"listen":  d.str(&cfg.Listen),
		"http": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"allowed_origins":   d.strs(&cfg.HTTP.AllowedOrigins),
				"max_request_bytes": d.integer64(&cfg.HTTP.MaxRequestBytes),
			})
		},
		"audit": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"database":  d.str(&cfg.Audit.Database),
				"arguments": d.str(&cfg.Audit.Arguments),
				"required":  d.boolPtr(&cfg.Audit.Required),
				"retention": d.duration(&cfg.Audit.Retention),
			})
		},
		"approval": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"timeout":  d.duration(&cfg.Approval.Timeout),
				"lifetime": d.duration(&cfg.Approval.Lifetime),
			})
		},
		"judge": func(n *yaml.Node, field string) {
			d.fields(n, field, keyHandlers{
				"provider":    d.str(&cfg.Judge.Provider),
				"model":       d.str(&cfg.Judge.Model),
				"base_url":    d.str(&cfg.Judge.BaseURL),
				"api_key_env": d.str(&cfg.Judge.APIKeyEnv),
				"timeout":     d.duration(&cfg.Judge.Timeout),
				"cache_ttl":   d.duration(&cfg.Judge.CacheTTL),
			})
		},
		"strict":         d.boolean(&cfg.Strict),
		"scan_output":    d.boolean(&cfg.ScanOutput),
		"include":        d.strs(&cfg.Include),
		"policies":       func(n *yaml.Node, field string) { cfg.Policies = d.policies(n, field) },
		"workspaces_dir": d.str(&cfg.WorkspacesDir),
		"workspaces": func(n *yaml.Node, field string) {
			for _, p := range d.pairs(n, field) {
				sub := fieldJoin(field, p.key)
				d.l.nodes[fieldPos{d.file, sub}] = p.k
				cfg.Workspaces = append(cfg.Workspaces, d.workspace(p.key, p.v, sub))
			}
		},
	})
}

// workspace decodes one workspace: an entry under workspaces: or the
// whole of a workspaces_dir file.
func (d *configDecoder) workspace(name string, n *yaml.Node, field string) WorkspaceConfig {
	w := WorkspaceConfig{Name: name, File: d.abs}
	d.fields(n, field, keyHandlers{
		"strict":      d.boolPtr(&w.Strict),
		"scan_output": d.boolPtr(&w.ScanOutput),
		"upstreams": func(n *yaml.Node, field string) {
			for i, item := range d.seq(n, field) {
				w.Upstreams = append(w.Upstreams, d.upstream(item, fieldIndex(field, i)))
			}
		},
		"policies": func(n *yaml.Node, field string) { w.Policies = d.policies(n, field) },
	})
	return w
}

func (d *configDecoder) upstream(n *yaml.Node, field string) UpstreamConfig {
	var u UpstreamConfig
	if isNullNode(n) {
		d.fail(n, field, errors.New("empty upstream"))
		return u
	}
	d.fields(n, field, keyHandlers{
		"name":      d.str(&u.Name),
		"command":   d.str(&u.Command),
		"args":      d.strs(&u.Args),
		"env":       d.strs(&u.Env),
		"dir":       d.str(&u.Dir),
		"url":       d.str(&u.URL),
		"transport": d.str(&u.Transport),
		"headers":   d.strs(&u.Headers),
		"prefix":    d.boolPtr(&u.Prefix),
		"timeout":   d.duration(&u.Timeout),
		"protocol":  d.str(&u.Protocol),
	})
	return u
}

func (d *configDecoder) policies(n *yaml.Node, field string) []PolicyConfig {
	items := d.seq(n, field)
	out := make([]PolicyConfig, 0, len(items))
	for i, item := range items {
		out = append(out, d.policy(item, fieldIndex(field, i)))
	}
	return out
}

func (d *configDecoder) policy(n *yaml.Node, field string) PolicyConfig {
	p := PolicyConfig{File: d.abs, Line: n.Line}
	if isNullNode(n) {
		d.fail(n, field, errors.New("empty policy"))
		return p
	}
	d.fields(n, field, keyHandlers{
		"name":        d.str(&p.Name),
		"description": d.str(&p.Description),
		"enabled":     d.boolPtr(&p.Enabled),
		"strict":      d.boolPtr(&p.Strict),
		"priority":    d.integer(&p.Priority),
		"rules":       d.str(&p.Rules),
		"action":      d.str(&p.Action),
		"tools":       d.strs(&p.Tools),
		"upstreams":   d.strs(&p.Upstreams),
		"when":        func(n *yaml.Node, field string) { p.When = d.when(n, field) },
		"rate_limit": func(n *yaml.Node, field string) {
			rl := &RateLimitConfig{Key: defaultRateLimitKey}
			d.fields(n, field, keyHandlers{
				"requests": d.integer(&rl.Requests),
				"per":      d.duration(&rl.Per),
				"key":      d.str(&rl.Key),
			})
			p.RateLimit = rl
		},
		"message":   d.str(&p.Message),
		"approvers": d.strs(&p.Approvers),
		"in_client": d.boolPtr(&p.InClient),
	})
	return p
}

func (d *configDecoder) when(n *yaml.Node, field string) *WhenConfig {
	w := &WhenConfig{}
	d.fields(n, field, keyHandlers{
		"args": func(n *yaml.Node, field string) {
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
		},
		"keywords": d.strs(&w.Keywords),
		"threats":  d.strs(&w.Threats),
		"risk_min": d.floatPtr(&w.RiskMin),
		"risk_max": d.floatPtr(&w.RiskMax),
		"users":    d.strs(&w.Users),
		"clients":  d.strs(&w.Clients),
		"time": func(n *yaml.Node, field string) {
			t := &TimeWindowConfig{}
			d.fields(n, field, keyHandlers{
				"days": d.strs(&t.Days),
				"from": d.str(&t.From),
				"to":   d.str(&t.To),
				"tz":   d.str(&t.TZ),
			})
			w.Time = t
		},
	})
	return w
}
