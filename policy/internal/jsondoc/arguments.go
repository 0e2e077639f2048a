// Package jsondoc reads a tool call's arguments, a JSON object, once: a
// one-pass parser into a flat tree (parse.go), every string normalised
// (normalize.go), the canonical JSON (canonical.go), the leaves policies
// and detectors look at, including JSON documents held in strings
// (leaves.go), field lookup, and redaction of spans of leaves
// (redact.go). Package policy re-exports what other packages use:
// policy.ParseArguments, policy.Arguments, policy.Span.
package jsondoc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// What Parse and Leaves read at most.
const (
	// maxArgumentsDepth is how deeply objects and arrays may nest: the
	// top-level object is depth 1.
	maxArgumentsDepth = 128
	// maxInnerLevels is how many levels of JSON held in a string Leaves
	// expands.
	maxInnerLevels = 4
)

var (
	// ErrArguments wraps every reason Parse refuses a call's
	// arguments.
	ErrArguments = errors.New("unreadable arguments")

	// errInner stands for any reason a string does not hold a JSON
	// document; nobody reads it, so it costs nothing to build.
	errInner = errors.New("not a JSON document")
)

// redacted replaces what Redact removes.
const redacted = "[REDACTED]"

// Arguments are a call's arguments parsed once: every string normalised,
// a canonical form, field lookup and redaction. They are read-only once
// parsed and safe for concurrent use.
type Arguments struct {
	raw  []byte
	root document

	leavesOnce sync.Once
	leaves     []Leaf
	// inner holds the documents held in strings, by string; nil when none.
	inner map[nodeRef]*document

	canonicalOnce sync.Once
	canonical     string
}

// LeafKind says what a Leaf is.
type LeafKind uint8

// The kinds of leaves.
const (
	LeafString LeafKind = iota + 1
	LeafNumber
	LeafKey
)

// String is the kind in a word: string, number or key.
func (k LeafKind) String() string {
	switch k {
	case LeafString:
		return "string"
	case LeafNumber:
		return "number"
	case LeafKey:
		return "key"
	}
	return "LeafKind(" + strconv.Itoa(int(k)) + ")"
}

// Leaf is one string, number or object key of the arguments as policies
// and detectors see it.
type Leaf struct {
	// Path says where the leaf is: $ is the arguments, .name a member
	// whose key is an identifier ([A-Za-z_][A-Za-z0-9_]*), ["other key"]
	// any other member (the normalised key, JSON-quoted), [3] an array
	// element. A key leaf has the path of the member it names, the same as
	// that member's value: Kind tells them apart. A leaf inside a JSON
	// document held in a string has the string's path, '#', and its path
	// in that document without the '$': $.payload#.sql.
	Path string
	// Text is the normalised text of a string or key, or a number's
	// literal as written.
	Text string
	Kind LeafKind
}

// Span is a part of a leaf to redact: bytes Start to End of
// Leaves()[Leaf].Text.
type Span struct{ Leaf, Start, End int }

// Parse reads raw, the arguments of a call: a JSON object, where
// empty input (or only white space) and null stand for {}. It accepts
// what encoding/json accepts into a map[string]any, and reads strings the
// same way (lone surrogates become U+FFFD), except that it refuses what an
// upstream and the policies could read differently: a key repeated in any
// object (compared after unescaping, before normalisation), two keys that
// differ only in case, bytes that are not valid UTF-8; and nesting deeper
// than 128. Every error wraps ErrArguments.
func Parse(raw []byte) (*Arguments, error) {
	return parse(raw, false)
}

// ParseResult reads raw, a JSON object a tool returned, as Parse does, but
// allows keys that differ only in case: the gateway reads a result only to
// scan every string in it, and such keys are not ambiguous to a scan.
func ParseResult(raw []byte) (*Arguments, error) {
	return parse(raw, true)
}

func parse(raw []byte, exactKeys bool) (*Arguments, error) {
	if len(raw) > 1<<31-1 {
		return nil, fmt.Errorf("%w: %d bytes are too many", ErrArguments, len(raw))
	}
	if !utf8.Valid(raw) {
		// Judged as U+FFFD but forwarded as raw bytes, which an upstream
		// may read otherwise: ambiguous, like a key twice.
		return nil, fmt.Errorf("%w: they are not valid UTF-8 from byte %d on", ErrArguments, invalidAt(raw))
	}
	p := parser{src: string(raw), exactKeys: exactKeys}
	d, err := p.document()
	if err != nil {
		return nil, err
	}
	return &Arguments{raw: raw, root: d}, nil
}

// invalidAt is the offset of the first byte of raw that is not valid
// UTF-8.
func invalidAt(raw []byte) int {
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(raw)
}

// Canonicalize is Parse(raw) then Canonical, for callers that only
// need the canonical form (cache keys, approval binding).
func Canonicalize(raw []byte) (string, error) {
	a, err := Parse(raw)
	if err != nil {
		return "", err
	}
	return a.Canonical(), nil
}

// Leaves returns every string value, number and object key, depth first in
// document order, a key before its value. A string whose first byte after
// white space is { or [ and that holds a JSON object or array (as the
// upstream would read it: unescaped, not normalised) is followed by the
// leaves of that document, up to 4 levels deep; repeated keys are allowed
// there, since the string itself is a leaf too. The slice is computed once
// and shared: do not modify it.
func (a *Arguments) Leaves() []Leaf {
	a.leavesOnce.Do(a.buildLeaves)
	return a.leaves
}

// Canonical is the canonical JSON of the arguments: compact, object keys
// sorted (by normalised key, ties by the key as sent), every string and key
// normalised, numbers as written, non-ASCII as UTF-8 and no HTML escaping
// (as encoding/json's Encoder with SetEscapeHTML(false)). Two keys that
// normalise alike both appear.
func (a *Arguments) Canonical() string {
	a.canonicalOnce.Do(func() {
		c := canonicalWriter{d: &a.root}
		c.b.Grow(len(a.root.src) + 16)
		c.write(0)
		a.canonical = c.b.String()
	})
	return a.canonical
}

// Field returns the value at path: the top-level member whose key is path,
// else the value the dotted path leads to through nested objects ("a.b.c";
// a numeric segment indexes an array). A key matches a segment when it is
// the segment as sent, else when it normalises to the segment's
// normalisation (the first such key). text is the normalised text of a
// string and the canonical JSON of anything else; leaf indexes Leaves()
// for a string or number and is -1 otherwise.
func (a *Arguments) Field(path string) (text string, leaf int, ok bool) {
	a.Leaves()
	d := &a.root
	if v := d.member(0, path); v >= 0 {
		return d.fieldValue(v)
	}
	if !strings.Contains(path, ".") {
		return "", -1, false
	}
	cur := int32(0)
	for seg := range strings.SplitSeq(path, ".") {
		switch d.nodes[cur].kind {
		case kindObject:
			cur = d.member(cur, seg)
		case kindArray:
			cur = d.element(cur, seg)
		default:
			cur = -1
		}
		if cur < 0 {
			return "", -1, false
		}
	}
	return d.fieldValue(cur)
}

// Redact returns the arguments with the spans replaced by [REDACTED],
// spans that overlap or touch merged and widened to whole characters. The
// result is compact JSON in the order sent, every value left alone as it
// was sent. A redacted string is sent normalised; a number with a span
// becomes the string "[REDACTED]"; a key with a span is renamed, with " 2",
// " 3"... added if it would repeat a key of its object. A span in a leaf of
// a JSON document held in a string rewrites that document (compact) into
// the string; so does a span of the string itself, laid over the
// document's members, when normalising left the string as sent (otherwise
// the string's text is redacted, or all of it when its document has spans
// too). Without spans (or with empty ones only) Redact returns the bytes
// it was parsed from.
func (a *Arguments) Redact(spans []Span) ([]byte, error) {
	if len(spans) == 0 {
		return a.raw, nil
	}
	leaves := a.Leaves()
	r := redactor{a: a, cuts: make(map[nodeRef][]cut)}
	var refs []nodeRef
	for i, s := range spans {
		if s.Leaf < 0 || s.Leaf >= len(leaves) || s.Start < 0 || s.End < s.Start || s.End > len(leaves[s.Leaf].Text) {
			return nil, fmt.Errorf("redact: span %d (leaf %d, bytes %d to %d) lies outside the arguments", i, s.Leaf, s.Start, s.End)
		}
		if s.Start == s.End {
			continue
		}
		if refs == nil {
			refs = a.leafNodes()
		}
		k := refs[s.Leaf]
		r.cuts[k] = append(r.cuts[k], cut{s.Start, s.End})
	}
	if len(r.cuts) == 0 {
		return a.raw, nil
	}
	return r.value(make([]byte, 0, len(a.raw)+32), &a.root, 0), nil
}
