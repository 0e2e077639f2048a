package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder turns the YAML nodes of one file into the tagged structs of this
// package, strictly: a key no `yaml` tag names, a value of the wrong type
// and an unset ${VAR} are errors with the line of the node. It keeps going
// after a problem, and marks the field bad so that validation says
// nothing more about it.
//
// Struct fields are decoded by kind (string, bool, int, int64, float64,
// pointers, slices, structs); a type takes over its own decoding with
// nodeDecoder, a struct some of its keys with keyDecoder. Field tags:
// `yaml:"key"` names the key (`yaml:"-"` is not read from YAML),
// `yaml:"key,keyed"` reads a slice of structs from a mapping of name to
// item (the item learns its name through named), and `item:"what"` names
// an item of a slice in the error for an empty one.
type decoder struct {
	l    *loader
	file string // name in errors
	abs  string // absolute path, or template:NAME
}

// The hooks through which a type shapes its own decoding.
type (
	// nodeDecoder decodes a value from n itself.
	nodeDecoder interface {
		decodeNode(d *decoder, n *yaml.Node, field string)
	}
	// keyDecoder decodes some keys of a struct itself; it reports
	// whether it took key.
	keyDecoder interface {
		decodeKey(d *decoder, key string, n *yaml.Node, field string) bool
	}
	// located learns where an item of a list or mapping is defined.
	located interface {
		locate(d *decoder, n *yaml.Node, field string)
	}
	// named learns its key in a keyed mapping.
	named interface{ setName(name string) }
	// defaulter sets the defaults of a section when it is present.
	defaulter interface{ setDefaults() }
)

// yamlPair is one key of a mapping.
type yamlPair struct {
	key  string
	k, v *yaml.Node
}

// into decodes n into the value ptr points to.
func (d *decoder) into(n *yaml.Node, field string, ptr any) {
	d.value(n, field, reflect.ValueOf(ptr).Elem())
}

// value decodes n into v, which is addressable.
func (d *decoder) value(n *yaml.Node, field string, v reflect.Value) {
	if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
		nd.decodeNode(d, n, field)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if def, ok := p.Interface().(defaulter); ok {
			def.setDefaults()
		}
		d.value(n, field, p.Elem())
		// A section is set even when part of it failed (later checks
		// skip it); a scalar only when it decoded.
		if p.Elem().Kind() == reflect.Struct || !d.l.bad[fieldPos{d.file, field}] {
			v.Set(p)
		}
	case reflect.Struct:
		d.fields(n, field, v)
	case reflect.Slice:
		d.list(n, field, v, "")
	case reflect.String:
		if s, ok := d.scalar(n, field, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if b, ok := d.parseBool(n, field); ok {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int64:
		bits := 32 // an int field holds what fits 32 bits, whatever the platform
		if v.Kind() == reflect.Int64 {
			bits = 64
		}
		if i, ok := d.parseInt(n, field, bits); ok {
			v.SetInt(i)
		}
	case reflect.Float64:
		if f, ok := d.parseFloat(n, field); ok {
			v.SetFloat(f)
		}
	default:
		panic(fmt.Sprintf("config: no decoding for %s at %s", v.Type(), field)) // a bug of this package's types
	}
}

// structField is a field of a struct read from YAML.
type structField struct {
	key   string
	index int
	keyed bool   // a slice read from a mapping of name to item
	item  string // what an item of a slice is, for "empty ITEM"
}

// structFields lists the fields of struct type t that YAML sets.
func structFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" || !f.IsExported() {
			continue
		}
		key, opts, _ := strings.Cut(tag, ",")
		out = append(out, structField{key: key, index: i, keyed: opts == "keyed", item: f.Tag.Get("item")})
	}
	return out
}

// fields decodes mapping n into struct v; a key v's tags do not name is
// an error. A null value leaves its field unset.
func (d *decoder) fields(n *yaml.Node, field string, v reflect.Value) {
	known := structFields(v.Type())
	kd, _ := v.Addr().Interface().(keyDecoder)
	for _, p := range d.pairs(n, field) {
		sub := fieldJoin(field, p.key)
		i := slices.IndexFunc(known, func(f structField) bool { return f.key == p.key })
		if i < 0 {
			d.failKey(p.k, sub, unknownKeyError(p.key, known))
			continue
		}
		d.l.nodes[fieldPos{d.file, sub}] = p.v
		switch f := known[i]; {
		case isNullNode(p.v):
		case kd != nil && kd.decodeKey(d, p.key, p.v, sub):
		case f.keyed:
			d.keyed(p.v, sub, v.Field(f.index))
		case v.Field(f.index).Kind() == reflect.Slice:
			d.list(p.v, sub, v.Field(f.index), f.item)
		default:
			d.value(p.v, sub, v.Field(f.index))
		}
	}
}

// list decodes sequence n into slice v; item names an item for the error
// of an empty one (structs only).
func (d *decoder) list(n *yaml.Node, field string, v reflect.Value, item string) {
	items := d.seq(n, field)
	out := reflect.Zero(v.Type()) // a list of sections stays nil when empty
	if v.Type().Elem().Kind() != reflect.Struct {
		out = reflect.MakeSlice(v.Type(), 0, len(items)) // a list of values is [] when written so
	}
	for i, itemNode := range items {
		sub := fieldIndex(field, i)
		e := reflect.New(v.Type().Elem()).Elem()
		if loc, ok := e.Addr().Interface().(located); ok {
			loc.locate(d, itemNode, sub)
		}
		switch {
		case e.Kind() == reflect.Struct && isNullNode(itemNode):
			d.fail(itemNode, sub, errors.New("empty "+item))
		case e.Kind() == reflect.Struct:
			d.value(itemNode, sub, e)
		default:
			before, warned := len(d.l.errs), len(d.l.warnings)
			d.value(itemNode, sub, e)
			if len(d.l.errs) > before || len(d.l.warnings) > warned {
				continue // a scalar that failed, or was let pass with a warning, is left out
			}
		}
		out = reflect.Append(out, e)
	}
	v.Set(out)
}

// keyed decodes mapping n, of name to item, into slice v in file order.
// Problems of an item as a whole are reported at its key.
func (d *decoder) keyed(n *yaml.Node, field string, v reflect.Value) {
	for _, p := range d.pairs(n, field) {
		sub := fieldJoin(field, p.key)
		d.l.nodes[fieldPos{d.file, sub}] = p.k
		e := reflect.New(v.Type().Elem()).Elem()
		if nm, ok := e.Addr().Interface().(named); ok {
			nm.setName(p.key)
		}
		if loc, ok := e.Addr().Interface().(located); ok {
			loc.locate(d, p.k, sub)
		}
		d.value(p.v, sub, e)
		v.Set(reflect.Append(v, e))
	}
}

// fail records a decoding problem of the value n and marks field bad.
func (d *decoder) fail(n *yaml.Node, field string, err error) {
	d.l.bad[fieldPos{d.file, field}] = true
	ce := &Error{File: d.file, Field: field, Line: n.Line, Err: err}
	if r := resolveAlias(n); r.Kind == yaml.ScalarNode {
		ce.Value = r.Value
	}
	d.l.errs = append(d.l.errs, ce)
}

// failKey records a problem of the key k of field. The field is not
// marked bad: a duplicate's first definition still gets checked.
func (d *decoder) failKey(k *yaml.Node, field string, err error) {
	d.l.errs = append(d.l.errs, &Error{File: d.file, Field: field, Line: k.Line, Err: err})
}

// spend counts n nodes against the load's budget; false once spent.
func (d *decoder) spend(n *yaml.Node, field string, count int) bool {
	if d.l.budget > maxNodes {
		return false
	}
	d.l.budget += count
	if d.l.budget > maxNodes {
		d.fail(n, field, fmt.Errorf("too many nodes (over %d with aliases expanded)", maxNodes))
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
func (d *decoder) pairs(n *yaml.Node, field string) []yamlPair {
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
func (d *decoder) merge(v *yaml.Node, field string) []yamlPair {
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

// unknownKeyError says which key was probably meant.
func unknownKeyError(key string, fields []structField) error {
	known := make([]string, 0, len(fields))
	for _, f := range fields {
		known = append(known, f.key)
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
func (d *decoder) seq(n *yaml.Node, field string) []*yaml.Node {
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
func (d *decoder) scalar(n *yaml.Node, field, want string) (string, bool) {
	r := resolveAlias(n)
	if r.Kind != yaml.ScalarNode {
		d.fail(n, field, errors.New("must be "+want))
		return "", false
	}
	if r.ShortTag() != "!!str" {
		return r.Value, true
	}
	s, err := d.l.expand(r.Value)
	var unset unsetError
	if errors.As(err, &unset) && upstreamEnvEntry.MatchString(field) {
		// An upstream's own variable (its token, say) that this shell does
		// not set: the upstream is reached without the entry (never with
		// an empty value), and check and serve say so, rather than the
		// whole config failing — an imported client config names
		// variables to set where the gateway runs.
		d.l.warnings = append(d.l.warnings, fmt.Sprintf("%s:%d: %s: %s: the upstream starts without this entry", d.file, n.Line, field, err))
		return "", false
	}
	if err != nil {
		d.fail(n, field, err)
		return "", false
	}
	return s, true
}

func (d *decoder) parseBool(n *yaml.Node, field string) (bool, bool) {
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

func (d *decoder) parseInt(n *yaml.Node, field string, bits int) (int64, bool) {
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

func (d *decoder) parseFloat(n *yaml.Node, field string) (float64, bool) {
	s, ok := d.scalar(n, field, "a number")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		d.fail(n, field, errors.New("must be a number"))
		return 0, false
	}
	return f, true
}
