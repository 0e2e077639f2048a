package policy

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// What ParseArguments and Leaves read at most.
const (
	// maxArgumentsDepth is how deeply objects and arrays may nest: the
	// top-level object is depth 1.
	maxArgumentsDepth = 128
	// maxInnerLevels is how many levels of JSON held in a string Leaves
	// expands.
	maxInnerLevels = 4
)

var (
	// ErrArguments wraps every reason ParseArguments refuses a call's
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

// ParseArguments reads raw, the arguments of a call: a JSON object, where
// empty input (or only white space) and null stand for {}. It accepts
// what encoding/json accepts into a map[string]any, and reads strings the
// same way (invalid UTF-8 and lone surrogates become U+FFFD), except that
// it refuses a key repeated in any object (compared after unescaping,
// before normalisation: an upstream and the policies must never read
// different values) and nesting deeper than 128. Every error wraps
// ErrArguments.
func ParseArguments(raw []byte) (*Arguments, error) {
	if len(raw) > 1<<31-1 {
		return nil, fmt.Errorf("%w: %d bytes are too many", ErrArguments, len(raw))
	}
	d, err := parseDocument(string(raw), false)
	if err != nil {
		return nil, err
	}
	return &Arguments{raw: raw, root: d}, nil
}

// Canonicalize is ParseArguments(raw) then Canonical, for callers that only
// need the canonical form (cache keys, approval binding).
func Canonicalize(raw []byte) (string, error) {
	a, err := ParseArguments(raw)
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

// Normalize is the normalisation every string of the arguments gets:
// invalid UTF-8 becomes U+FFFD, then NFKC, and every invisible character
// that can hide inside a word is removed: U+00AD soft hyphen, U+034F
// combining grapheme joiner, U+061C, U+200E and U+200F direction marks,
// U+115F, U+1160, U+3164 and U+FFA0 Hangul fillers, U+17B4 and U+17B5,
// U+180B–U+180F Mongolian selectors and vowel separator, U+200B–U+200D
// zero-width space and joiners, U+2060–U+2065 word joiner and invisible
// operators, U+206A–U+206F, U+FEFF, U+1BCA0–U+1BCA3 and U+1D173–U+1D17A.
// Kept, for detectors to see: Unicode tag characters (U+E0000–U+E007F),
// the bidi embeddings, overrides and isolates (U+202A–U+202E,
// U+2066–U+2069) and variation selectors, which can all carry hidden text.
// "ｐｒｏｄ" and "pr\u200bod" both become "prod". The result is its own
// normalisation; ASCII comes back as it is, without allocating.
func Normalize(s string) string {
	if isASCII(s) {
		return s
	}
	// NFKC can bring back what was removed (U+3164 becomes U+1160; a run
	// of more than 30 combining marks gets a U+034F), and removing can
	// leave text that NFKC changes again: go round until nothing changes.
	for range 4 {
		t := stripInvisible(norm.NFKC.String(stripInvisible(s)))
		if t == s {
			break
		}
		s = t
	}
	return s
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (s[i]|s[i+1]|s[i+2]|s[i+3]|s[i+4]|s[i+5]|s[i+6]|s[i+7])&0x80 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// invisible reports whether Normalize removes r.
func invisible(r rune) bool {
	switch {
	case r < 0xAD:
		return false
	case r == 0xAD, r == 0x34F, r == 0x61C, r == 0x115F, r == 0x1160,
		r == 0x17B4, r == 0x17B5, 0x180B <= r && r <= 0x180F,
		0x200B <= r && r <= 0x200F, 0x2060 <= r && r <= 0x2065,
		0x206A <= r && r <= 0x206F, r == 0x3164, r == 0xFEFF, r == 0xFFA0,
		0x1BCA0 <= r && r <= 0x1BCA3, 0x1D173 <= r && r <= 0x1D17A:
		return true
	}
	return false
}

// stripInvisible removes the invisible characters of s and replaces
// invalid UTF-8 with U+FFFD; it returns s itself when there is nothing to
// do.
func stripInvisible(s string) string {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || invisible(r) {
			return stripFrom(s, i)
		}
		i += size
	}
	return s
}

func stripFrom(s string, i int) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			b.WriteByte(s[i])
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString("\uFFFD")
		case !invisible(r):
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// The tree.

// document is one JSON text parsed into a tree: its nodes in document
// order, each container followed by its subtree, each object member a key
// node followed by its value.
type document struct {
	src string
	// arena holds the values of the literals with flagDecode, one after
	// the other: node.aux indexes offs, where each starts.
	arena     string
	offs      []int32
	nodes     []node
	leafCount int // strings, numbers and keys
}

type nodeKind uint8

const (
	kindObject nodeKind = iota
	kindArray
	kindString
	kindKey
	kindNumber
	kindTrue
	kindFalse
	kindNull
)

// The flags of a string or key node. A node without flags is a literal of
// printable ASCII without escapes: its value, its normalised text and its
// canonical JSON are what it is in the source.
const (
	// flagDecode marks a literal with escapes or invalid UTF-8: its value
	// is in the document's arena.
	flagDecode uint8 = 1 << iota
	// flagNonASCII marks a literal with bytes from 0x80 up.
	flagNonASCII
	// flagEscapedUnicode marks a literal with \u escapes.
	flagEscapedUnicode
	// flagRewrite marks a literal encoding/json would write otherwise
	// (with \/ or \u escapes): only a literal without it and without
	// flagNonASCII is its own canonical JSON.
	flagRewrite
)

type node struct {
	// text is the normalised value of a string or key, or a number's
	// literal.
	text string
	// start and end delimit the value in the document's source, quotes
	// and brackets included.
	start, end int32
	// next is the index of the node after this one's subtree: for a key,
	// its value.
	next int32
	// leaf indexes Leaves() for a string, number or key; -1 before Leaves
	// ran and for other kinds.
	leaf int32
	// aux indexes the document's offs for a literal with flagDecode.
	aux   int32
	kind  nodeKind
	flags uint8
}

// raw returns the value of string or key i as the upstream reads it:
// unescaped, not normalised.
func (d *document) raw(i int32) string {
	n := &d.nodes[i]
	switch {
	case n.flags&flagDecode != 0:
		return d.arena[d.offs[n.aux]:d.offs[n.aux+1]]
	case n.flags == 0:
		return n.text
	}
	return d.src[n.start+1 : n.end-1]
}

// emptyDocument is the document of empty arguments: {}.
func emptyDocument(src string) document {
	return document{src: src, nodes: []node{{kind: kindObject, next: 1, leaf: -1}}}
}

// member returns the value of the member of object obj whose key matches
// name (see Field), or -1.
func (d *document) member(obj int32, name string) int32 {
	end := d.nodes[obj].next
	for k := obj + 1; k < end; k = d.nodes[k+1].next {
		if d.raw(k) == name {
			return k + 1
		}
	}
	name = Normalize(name)
	for k := obj + 1; k < end; k = d.nodes[k+1].next {
		if d.nodes[k].text == name {
			return k + 1
		}
	}
	return -1
}

// element returns element seg (a decimal index) of array arr, or -1.
func (d *document) element(arr int32, seg string) int32 {
	if seg == "" || len(seg) > 9 || seg[0] == '0' && len(seg) > 1 {
		return -1
	}
	idx := 0
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return -1
		}
		idx = idx*10 + int(seg[i]-'0')
	}
	end := d.nodes[arr].next
	for k := arr + 1; k < end; k = d.nodes[k].next {
		if idx == 0 {
			return k
		}
		idx--
	}
	return -1
}

func (d *document) fieldValue(i int32) (string, int, bool) {
	n := &d.nodes[i]
	switch n.kind {
	case kindString, kindNumber:
		return n.text, int(n.leaf), true
	case kindTrue:
		return "true", -1, true
	case kindFalse:
		return "false", -1, true
	case kindNull:
		return "null", -1, true
	}
	c := canonicalWriter{d: d}
	c.write(i)
	return c.b.String(), -1, true
}

// canonicalWriter writes the canonical JSON of a document's nodes.
type canonicalWriter struct {
	d *document
	b strings.Builder
	// keys is scratch space for sorting members, shared down the
	// recursion; quoted for quoting a string.
	keys   []int32
	quoted []byte
}

func (c *canonicalWriter) write(i int32) {
	d := c.d
	n := &d.nodes[i]
	switch n.kind {
	case kindObject:
		base := len(c.keys)
		for k := i + 1; k < n.next; k = d.nodes[k+1].next {
			c.keys = append(c.keys, k)
		}
		count := len(c.keys) - base
		d.sortKeys(c.keys[base:])
		c.b.WriteByte('{')
		for j := range count {
			k := c.keys[base+j]
			if j > 0 {
				c.b.WriteByte(',')
			}
			c.writeString(k)
			c.b.WriteByte(':')
			c.write(k + 1)
		}
		c.keys = c.keys[:base]
		c.b.WriteByte('}')
	case kindArray:
		c.b.WriteByte('[')
		for k := i + 1; k < n.next; k = d.nodes[k].next {
			if k > i+1 {
				c.b.WriteByte(',')
			}
			c.write(k)
		}
		c.b.WriteByte(']')
	case kindString:
		c.writeString(i)
	case kindTrue:
		c.b.WriteString("true")
	case kindFalse:
		c.b.WriteString("false")
	case kindNull:
		c.b.WriteString("null")
	default:
		c.b.WriteString(n.text)
	}
}

// writeString writes the normalised text of string or key i as JSON. A
// literal without flags but flagDecode is that already.
func (c *canonicalWriter) writeString(i int32) {
	n := &c.d.nodes[i]
	if n.flags&^flagDecode == 0 {
		c.b.WriteString(c.d.src[n.start:n.end])
		return
	}
	c.quoted = appendQuoted(c.quoted[:0], n.text)
	c.b.Write(c.quoted)
}

// sortKeys sorts key nodes by normalised key, ties by raw key.
func (d *document) sortKeys(keys []int32) {
	less := func(a, b int32) bool {
		x, y := d.nodes[a].text, d.nodes[b].text
		return x < y || x == y && d.raw(a) < d.raw(b)
	}
	if len(keys) > 24 {
		slices.SortFunc(keys, func(a, b int32) int {
			if less(a, b) {
				return -1
			}
			if less(b, a) {
				return 1
			}
			return 0
		})
		return
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && less(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
}

// pathOf returns the path of node target, for messages.
func (d *document) pathOf(target int32) string {
	path := []byte("$")
	i := int32(0)
	for i != target {
		n := &d.nodes[i]
		next := int32(-1)
		switch n.kind {
		case kindObject:
			for k := i + 1; k < n.next; k = d.nodes[k+1].next {
				if target < d.nodes[k+1].next {
					path = appendKeyPath(path, d.nodes[k].text)
					next = k + 1
					if target == k {
						next = k
					}
					break
				}
			}
		case kindArray:
			idx := 0
			for k := i + 1; k < n.next; k = d.nodes[k].next {
				if target < d.nodes[k].next {
					path = appendIndexPath(path, idx)
					next = k
					break
				}
				idx++
			}
		}
		if next < 0 {
			break
		}
		i = next
	}
	return string(path)
}

// appendKeyPath appends the path segment of a member with key key.
func appendKeyPath(path []byte, key string) []byte {
	if isIdentifier(key) {
		path = append(path, '.')
		return append(path, key...)
	}
	path = append(path, '[')
	path = appendQuoted(path, key)
	return append(path, ']')
}

func appendIndexPath(path []byte, i int) []byte {
	path = append(path, '[')
	path = strconv.AppendInt(path, int64(i), 10)
	return append(path, ']')
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// The parser.

// parser reads one JSON text in one pass into a document.
type parser struct {
	src   string
	pos   int
	depth int
	nodes []node
	// arena and offs become the document's.
	arena     strings.Builder
	offs      []int32
	leafCount int
	// inner is set when parsing a string's content: a failure is errInner,
	// an array may be the top, repeated keys are allowed.
	inner bool
}

func parseDocument(src string, inner bool) (document, error) {
	p := parser{src: src, inner: inner}
	p.skipSpace()
	if p.pos == len(src) && !inner {
		return emptyDocument(src), nil
	}
	p.nodes = make([]node, 0, nodesAtMost(src))
	if err := p.value(); err != nil {
		return document{}, err
	}
	p.skipSpace()
	if p.pos < len(src) {
		return document{}, p.errChar("after top-level value")
	}
	switch p.nodes[0].kind {
	case kindObject:
	case kindArray:
		if !inner {
			return document{}, p.fail("the arguments are a JSON array, not an object")
		}
	case kindNull:
		if !inner {
			return emptyDocument(src), nil
		}
		return document{}, errInner
	default:
		if !inner {
			return document{}, p.fail("the arguments are a JSON %s, not an object", kindWord[p.nodes[0].kind])
		}
		return document{}, errInner
	}
	return p.finish()
}

// nodesAtMost bounds the nodes of the document in src, so that the parser
// never grows its slice: besides the top value, every key and member value
// follows a ':' and every array element a ',' or a '['. A string holding
// these bytes makes it more, so it is held to one node per two bytes.
func nodesAtMost(src string) int {
	n := 1 + 2*strings.Count(src, ":") + strings.Count(src, ",") + strings.Count(src, "[")
	return min(n, len(src)/2+2)
}

var kindWord = [...]string{kindString: "string", kindNumber: "number", kindTrue: "boolean", kindFalse: "boolean"}

func (p *parser) fail(format string, args ...any) error {
	if p.inner {
		return errInner
	}
	return fmt.Errorf("%w: "+format, append([]any{ErrArguments}, args...)...)
}

func (p *parser) errEnd() error {
	return p.fail("unexpected end of JSON input")
}

// errChar reports the byte at p.pos as unexpected, in the words of
// encoding/json.
func (p *parser) errChar(context string) error {
	if p.inner {
		return errInner
	}
	c := p.src[p.pos]
	what := "byte 0x" + strconv.FormatUint(uint64(c), 16)
	if c < utf8.RuneSelf && strconv.IsPrint(rune(c)) {
		what = strconv.QuoteRune(rune(c))
	}
	return p.fail("invalid character %s %s at offset %d", what, context, p.pos)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// next skips white space and reports whether a byte follows.
func (p *parser) next() bool {
	p.skipSpace()
	return p.pos < len(p.src)
}

func (p *parser) value() error {
	if !p.next() {
		return p.errEnd()
	}
	switch c := p.src[p.pos]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		return p.stringLiteral(kindString)
	case 't':
		return p.literal("true", kindTrue)
	case 'f':
		return p.literal("false", kindFalse)
	case 'n':
		return p.literal("null", kindNull)
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return p.number()
		}
	}
	return p.errChar("looking for beginning of value")
}

// open starts a container at p.pos.
func (p *parser) open(kind nodeKind) (int, error) {
	p.depth++
	if p.depth > maxArgumentsDepth {
		return 0, p.fail("nesting deeper than %d levels at offset %d", maxArgumentsDepth, p.pos)
	}
	i := len(p.nodes)
	p.nodes = append(p.nodes, node{kind: kind, start: int32(p.pos), leaf: -1})
	p.pos++
	return i, nil
}

// close ends container i at p.pos.
func (p *parser) close(i int) {
	p.pos++
	p.depth--
	n := &p.nodes[i]
	n.end = int32(p.pos)
	n.next = int32(len(p.nodes))
}

func (p *parser) object() error {
	i, err := p.open(kindObject)
	if err != nil {
		return err
	}
	if p.next() && p.src[p.pos] == '}' {
		p.close(i)
		return nil
	}
	for {
		if !p.next() {
			return p.errEnd()
		}
		if p.src[p.pos] != '"' {
			return p.errChar("looking for beginning of object key string")
		}
		if err := p.stringLiteral(kindKey); err != nil {
			return err
		}
		if !p.next() {
			return p.errEnd()
		}
		if p.src[p.pos] != ':' {
			return p.errChar("after object key")
		}
		p.pos++
		if err := p.value(); err != nil {
			return err
		}
		if !p.next() {
			return p.errEnd()
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.close(i)
			return nil
		default:
			return p.errChar("after object key:value pair")
		}
	}
}

func (p *parser) array() error {
	i, err := p.open(kindArray)
	if err != nil {
		return err
	}
	if p.next() && p.src[p.pos] == ']' {
		p.close(i)
		return nil
	}
	for {
		if err := p.value(); err != nil {
			return err
		}
		if !p.next() {
			return p.errEnd()
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.close(i)
			return nil
		default:
			return p.errChar("after array element")
		}
	}
}

// plainByte marks the bytes a string literal holds as they are: ASCII from
// space up, but for the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// loadWord reads bytes i to i+8 of s as one little-endian word.
func loadWord(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special8 marks, in the top bit of each byte, the bytes of x that are not
// plain (see plainByte); the lowest mark is always right, higher ones may
// be false.
func special8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ ones*'"'
	bs := x ^ ones*'\\'
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x | x) & highs
}

// skipPlain returns the index of the first byte of s from i that is not
// plain, or len(s).
func skipPlain(s string, i int) int {
	for i+8 <= len(s) {
		if m := special8(loadWord(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
}

// stringLiteral reads a string literal at p.pos, a value or a key.
func (p *parser) stringLiteral(kind nodeKind) error {
	src := p.src
	start := p.pos
	i := start + 1
	var flags uint8
	for {
		i = skipPlain(src, i)
		if i >= len(src) {
			p.pos = i
			return p.errEnd()
		}
		c := src[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			return p.decodeString(kind, start, i, flags)
		}
		if c < 0x20 {
			p.pos = i
			return p.errChar("in string literal")
		}
		flags |= flagNonASCII
		for i < len(src) && src[i] >= utf8.RuneSelf {
			i++
		}
	}
	body := src[start+1 : i]
	if flags != 0 && !utf8.ValidString(body) {
		return p.decodeString(kind, start, i, flags)
	}
	p.nodes = append(p.nodes, node{text: body, start: int32(start), end: int32(i + 1), next: int32(len(p.nodes) + 1), leaf: -1, kind: kind, flags: flags})
	p.leafCount++
	p.pos = i + 1
	return nil
}

// decodeString goes on reading the string literal that starts at start
// from i, its first backslash (or its closing quote, when it holds invalid
// UTF-8), writing its value into the arena as encoding/json reads it:
// invalid UTF-8 and lone surrogates become U+FFFD.
func (p *parser) decodeString(kind nodeKind, start, i int, flags uint8) error {
	src := p.src
	if p.offs == nil {
		p.arena.Grow((len(src)-start)/2 + 16)
		p.offs = make([]int32, 0, 64)
	}
	aux := len(p.offs)
	p.offs = append(p.offs, int32(p.arena.Len()))
	if flags == 0 {
		p.arena.WriteString(src[start+1 : i])
	} else {
		writeValid(&p.arena, src[start+1:i])
	}
	flags |= flagDecode
	for {
		if i >= len(src) {
			p.pos = i
			return p.errEnd()
		}
		c := src[i]
		switch {
		case c == '"':
			p.nodes = append(p.nodes, node{start: int32(start), end: int32(i + 1), next: int32(len(p.nodes) + 1), leaf: -1, aux: int32(aux), kind: kind, flags: flags})
			p.leafCount++
			p.pos = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(src) {
				p.pos = i + 1
				return p.errEnd()
			}
			switch e := src[i+1]; e {
			case '"', '\\':
				p.arena.WriteByte(e)
			case '/':
				p.arena.WriteByte(e)
				flags |= flagRewrite
			case 'b':
				p.arena.WriteByte('\b')
			case 'f':
				p.arena.WriteByte('\f')
			case 'n':
				p.arena.WriteByte('\n')
			case 'r':
				p.arena.WriteByte('\r')
			case 't':
				p.arena.WriteByte('\t')
			case 'u':
				r, err := p.hexEscape(i)
				if err != nil {
					return err
				}
				flags |= flagEscapedUnicode | flagRewrite
				i += 6
				if utf16.IsSurrogate(r) {
					low := rune(-1)
					if i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
						low = hex4(src[i+2 : i+6])
					}
					if r = utf16.DecodeRune(r, low); r != utf8.RuneError {
						i += 6
					}
				}
				p.arena.WriteRune(r)
				continue
			default:
				p.pos = i + 1
				return p.errChar("in string escape code")
			}
			i += 2
		case c < 0x20:
			p.pos = i
			return p.errChar("in string literal")
		case c >= utf8.RuneSelf:
			flags |= flagNonASCII
			j := i
			for i < len(src) && src[i] >= utf8.RuneSelf {
				i++
			}
			writeValid(&p.arena, src[j:i])
		default:
			j := i
			i = skipPlain(src, i)
			p.arena.WriteString(src[j:i])
		}
	}
}

// hexEscape reads the \u escape at i.
func (p *parser) hexEscape(i int) (rune, error) {
	for j := i + 2; j < i+6; j++ {
		if j >= len(p.src) {
			p.pos = j
			return 0, p.errEnd()
		}
		if hexValue(p.src[j]) < 0 {
			p.pos = j
			return 0, p.errChar("in \\u hexadecimal character escape")
		}
	}
	return hex4(p.src[i+2 : i+6]), nil
}

func hexValue(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// hex4 reads four hex digits; it is negative when one is not.
func hex4(s string) rune {
	a, b, c, d := hexValue(s[0]), hexValue(s[1]), hexValue(s[2]), hexValue(s[3])
	if a < 0 || b < 0 || c < 0 || d < 0 {
		return -1
	}
	return a<<12 | b<<8 | c<<4 | d
}

// writeValid writes s with invalid UTF-8 replaced by U+FFFD, as
// encoding/json does.
func writeValid(b *strings.Builder, s string) {
	if utf8.ValidString(s) {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

func (p *parser) number() error {
	src := p.src
	start := p.pos
	i := start
	if src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && '1' <= src[i] && src[i] <= '9':
		i = skipDigits(src, i)
	default:
		return p.badNumber(i, "in numeric literal")
	}
	if i < len(src) && src[i] == '.' {
		j := skipDigits(src, i+1)
		if j == i+1 {
			return p.badNumber(j, "after decimal point in numeric literal")
		}
		i = j
	}
	exp := i < len(src) && (src[i] == 'e' || src[i] == 'E')
	if exp {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		j := skipDigits(src, i)
		if j == i {
			return p.badNumber(j, "in exponent of numeric literal")
		}
		i = j
	}
	lit := src[start:i]
	if !p.inner && (exp || len(lit) > 300) {
		// encoding/json refuses what a float64 cannot hold.
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			return p.fail("number %s at offset %d is out of range", lit, start)
		}
	}
	p.nodes = append(p.nodes, node{text: lit, start: int32(start), end: int32(i), next: int32(len(p.nodes) + 1), leaf: -1, kind: kindNumber})
	p.leafCount++
	p.pos = i
	return nil
}

func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

// badNumber reports the byte at i, or the end of input, in a number.
func (p *parser) badNumber(i int, context string) error {
	p.pos = i
	if i >= len(p.src) {
		return p.errEnd()
	}
	return p.errChar(context)
}

func (p *parser) literal(word string, kind nodeKind) error {
	start := p.pos
	for j := 0; j < len(word); j++ {
		if p.pos >= len(p.src) {
			return p.errEnd()
		}
		if p.src[p.pos] != word[j] {
			return p.errChar("in literal " + word + " (expecting " + strconv.QuoteRune(rune(word[j])) + ")")
		}
		p.pos++
	}
	p.nodes = append(p.nodes, node{start: int32(start), end: int32(p.pos), next: int32(len(p.nodes) + 1), leaf: -1, kind: kind})
	return nil
}

// finish makes the document: the arena becomes a string, what is not ASCII
// is normalised, and repeated keys are looked for.
func (p *parser) finish() (document, error) {
	d := document{src: p.src, nodes: p.nodes, leafCount: p.leafCount}
	if p.offs != nil {
		d.arena, d.offs = p.arena.String(), append(p.offs, int32(p.arena.Len()))
	}
	for i := range d.nodes {
		n := &d.nodes[i]
		if n.flags == 0 {
			continue
		}
		raw := d.raw(int32(i))
		if n.flags&(flagNonASCII|flagEscapedUnicode) == 0 {
			n.text = raw
		} else {
			n.text = Normalize(raw)
		}
	}
	if !p.inner {
		if err := p.checkDuplicates(&d); err != nil {
			return document{}, err
		}
	}
	return d, nil
}

// checkDuplicates refuses an object with a key repeated.
func (p *parser) checkDuplicates(d *document) error {
	nodes := d.nodes
	var small [16]int32
	for i := range nodes {
		end := nodes[i].next
		if nodes[i].kind != kindObject || int(end) <= i+3 { // fewer than two members
			continue
		}
		keys := small[:0]
		for k := int32(i + 1); k < end; k = nodes[k+1].next {
			keys = append(keys, k)
		}
		if len(keys) <= len(small) {
			for x, k := range keys {
				key := d.raw(k)
				for _, l := range keys[x+1:] {
					if d.raw(l) == key {
						return p.duplicate(d, int32(i), l)
					}
				}
			}
			continue
		}
		slices.SortStableFunc(keys, func(a, b int32) int { return strings.Compare(d.raw(a), d.raw(b)) })
		for x := 1; x < len(keys); x++ {
			if d.raw(keys[x-1]) == d.raw(keys[x]) {
				return p.duplicate(d, int32(i), keys[x])
			}
		}
	}
	return nil
}

func (p *parser) duplicate(d *document, obj, key int32) error {
	return p.fail("key %s repeated in the object at %s (offset %d)", strconv.Quote(d.raw(key)), d.pathOf(obj), d.nodes[key].start)
}

// Leaves.

// leafWalker collects the leaves.
type leafWalker struct {
	a      *Arguments
	leaves []Leaf
	path   []byte // the path being walked
	// paths holds every leaf's path, one after the other; a leaf's Path
	// is a part of its String, which later writes leave alone.
	paths strings.Builder
}

func (a *Arguments) buildLeaves() {
	n := a.root.leafCount
	w := leafWalker{
		a:      a,
		leaves: make([]Leaf, 0, n),
		path:   make([]byte, 1, 64),
	}
	w.paths.Grow(n * 12)
	w.path[0] = '$'
	w.walk(&a.root, 0, 0, false)
	a.leaves = w.leaves
}

// add adds node i of d as a leaf at w.path; again says w.path is the path
// of the leaf added last.
func (w *leafWalker) add(d *document, i int32, kind LeafKind, again bool) {
	var path string
	if again {
		path = w.leaves[len(w.leaves)-1].Path
	} else {
		from := w.paths.Len()
		w.paths.Write(w.path)
		path = w.paths.String()[from:]
	}
	d.nodes[i].leaf = int32(len(w.leaves))
	w.leaves = append(w.leaves, Leaf{Path: path, Text: d.nodes[i].text, Kind: kind})
}

// leafNodes returns the node of each leaf.
func (a *Arguments) leafNodes() []nodeRef {
	refs := make([]nodeRef, len(a.Leaves()))
	mark := func(d *document) {
		for i := range d.nodes {
			if l := d.nodes[i].leaf; l >= 0 {
				refs[l] = nodeRef{d, int32(i)}
			}
		}
	}
	mark(&a.root)
	for _, d := range a.inner {
		mark(d)
	}
	return refs
}

// walk collects the leaves of node i of d, at level levels of documents
// held in strings; keyed says i is a member's value whose key was the last
// leaf added.
func (w *leafWalker) walk(d *document, i int32, level int, keyed bool) {
	n := &d.nodes[i]
	base := len(w.path)
	switch n.kind {
	case kindObject:
		for k := i + 1; k < n.next; k = d.nodes[k+1].next {
			w.path = appendKeyPath(w.path[:base], d.nodes[k].text)
			w.add(d, k, LeafKey, false)
			w.walk(d, k+1, level, true)
		}
	case kindArray:
		idx := 0
		for k := i + 1; k < n.next; k = d.nodes[k].next {
			w.path = appendIndexPath(w.path[:base], idx)
			w.walk(d, k, level, false)
			idx++
		}
	case kindString:
		w.add(d, i, LeafString, keyed)
		if raw := d.raw(i); level < maxInnerLevels && holdsJSON(raw) {
			if inner, err := parseDocument(raw, true); err == nil {
				if w.a.inner == nil {
					w.a.inner = make(map[nodeRef]*document)
				}
				w.a.inner[nodeRef{d, i}] = &inner
				w.path = append(w.path, '#')
				w.walk(&inner, 0, level+1, false)
			}
		}
	case kindNumber:
		w.add(d, i, LeafNumber, keyed)
	}
	w.path = w.path[:base]
}

// holdsJSON reports whether s may hold a JSON object or array: its first
// byte after white space is { or [.
func holdsJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// Encoding.

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string the way encoding/json does
// without HTML escaping: \b \f \n \r \t and \u00XX for other controls,
// U+2028 and U+2029 escaped, invalid UTF-8 as \ufffd.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; ; {
		i = skipPlain(s, i)
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Redaction.

// nodeRef names a node of a document.
type nodeRef struct {
	doc  *document
	node int32
}

// cut is a byte range of a leaf's text to redact.
type cut struct{ start, end int }

// redactor writes the arguments with the cuts made.
type redactor struct {
	a *Arguments
	// cuts are by node: on a string, key or number its text's ranges; on
	// true, false or null any cut replaces it.
	cuts map[nodeRef][]cut
}

func (r *redactor) value(b []byte, d *document, i int32) []byte {
	n := &d.nodes[i]
	switch n.kind {
	case kindObject:
		return r.object(b, d, i)
	case kindArray:
		b = append(b, '[')
		for k := i + 1; k < n.next; k = d.nodes[k].next {
			if k > i+1 {
				b = append(b, ',')
			}
			b = r.value(b, d, k)
		}
		return append(b, ']')
	case kindString:
		return r.stringValue(b, d, i)
	}
	if len(r.cuts[nodeRef{d, i}]) > 0 {
		return appendQuoted(b, redacted)
	}
	return append(b, d.src[n.start:n.end]...)
}

func (r *redactor) object(b []byte, d *document, i int32) []byte {
	n := &d.nodes[i]
	var names []string // the keys as they will be sent, when one changes
	for k := i + 1; k < n.next; k = d.nodes[k+1].next {
		if len(r.cuts[nodeRef{d, k}]) > 0 {
			names = r.keyNames(d, i)
			break
		}
	}
	b = append(b, '{')
	m := 0
	for k := i + 1; k < n.next; k = d.nodes[k+1].next {
		if m > 0 {
			b = append(b, ',')
		}
		if key := &d.nodes[k]; names != nil && names[m] != d.raw(k) {
			b = appendQuoted(b, names[m])
		} else {
			b = append(b, d.src[key.start:key.end]...)
		}
		b = append(b, ':')
		b = r.value(b, d, k+1)
		m++
	}
	return append(b, '}')
}

// keyNames returns the keys of object i as they will be sent: a key with
// cuts redacted, and numbered when it would repeat another key.
func (r *redactor) keyNames(d *document, i int32) []string {
	var names []string
	var changed []bool
	for k := i + 1; k < d.nodes[i].next; k = d.nodes[k+1].next {
		cs := r.cuts[nodeRef{d, k}]
		if len(cs) == 0 {
			names = append(names, d.raw(k))
			changed = append(changed, false)
			continue
		}
		names = append(names, redactText(d.nodes[k].text, cs))
		changed = append(changed, true)
	}
	taken := func(name string, m int) bool {
		for j, other := range names {
			if j != m && (!changed[j] || j < m) && other == name {
				return true
			}
		}
		return false
	}
	for m, name := range names {
		if !changed[m] {
			continue
		}
		for n := 2; taken(names[m], m); n++ {
			names[m] = name + " " + strconv.Itoa(n)
		}
	}
	return names
}

func (r *redactor) stringValue(b []byte, d *document, i int32) []byte {
	n := &d.nodes[i]
	own := r.cuts[nodeRef{d, i}]
	in := r.a.inner[nodeRef{d, i}]
	if in == nil {
		if len(own) == 0 {
			return append(b, d.src[n.start:n.end]...)
		}
		return appendQuoted(b, redactText(n.text, own))
	}
	if len(own) > 0 && (n.text != in.src || !r.lay(in, own)) {
		// The string's spans cannot be laid over its document's members.
		if r.touched(in) {
			return appendQuoted(b, redacted)
		}
		return appendQuoted(b, redactText(n.text, own))
	}
	if len(own) == 0 && !r.touched(in) {
		return append(b, d.src[n.start:n.end]...)
	}
	return appendQuoted(b, string(r.value(nil, in, 0)))
}

// lay turns cuts of a string into cuts of the members of the document it
// holds, whose source is the string's text. It reports false, adding
// nothing, when a cut covers no string, key, number or literal.
func (r *redactor) lay(in *document, cs []cut) bool {
	var add []nodeRef
	var addCuts []cut
	for _, c := range cs {
		hit := false
		for j := range in.nodes {
			n := &in.nodes[j]
			lo, hi := int(n.start), int(n.end)
			switch n.kind {
			case kindObject, kindArray:
				continue
			case kindString, kindKey:
				lo, hi = lo+1, hi-1 // the quotes hold nothing
			}
			lo, hi = max(lo, c.start), min(hi, c.end)
			if lo >= hi {
				continue
			}
			leafCut := cut{0, len(n.text)}
			switch {
			case n.kind == kindString || n.kind == kindKey:
				if n.flags&flagDecode == 0 && n.text == in.raw(int32(j)) {
					leafCut = cut{lo - int(n.start) - 1, hi - int(n.start) - 1}
				}
			case n.kind != kindNumber:
				leafCut = cut{0, 1} // true, false or null
			}
			if leafCut.start < leafCut.end {
				add = append(add, nodeRef{in, int32(j)})
				addCuts = append(addCuts, leafCut)
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	for x, k := range add {
		r.cuts[k] = append(r.cuts[k], addCuts[x])
	}
	return true
}

// touched reports whether a cut falls in document in.
func (r *redactor) touched(in *document) bool {
	for j := range in.nodes {
		k := nodeRef{in, int32(j)}
		if len(r.cuts[k]) > 0 {
			return true
		}
		if deeper := r.a.inner[k]; deeper != nil && r.touched(deeper) {
			return true
		}
	}
	return false
}

// redactText replaces the cuts of s, widened to whole characters and
// merged where they overlap or touch, with [REDACTED].
func redactText(s string, cs []cut) string {
	cs = slices.Clone(cs)
	for x := range cs {
		c := &cs[x]
		for c.start > 0 && !utf8.RuneStart(s[c.start]) {
			c.start--
		}
		for c.end < len(s) && !utf8.RuneStart(s[c.end]) {
			c.end++
		}
	}
	slices.SortFunc(cs, func(a, b cut) int { return a.start - b.start })
	var b strings.Builder
	last := 0
	for x := 0; x < len(cs); {
		start, end := cs[x].start, cs[x].end
		for x++; x < len(cs) && cs[x].start <= end; x++ {
			end = max(end, cs[x].end)
		}
		b.WriteString(s[last:start])
		b.WriteString(redacted)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}
