package jsondoc

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

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
				if n.text == in.raw(int32(j)) {
					// The value is what the literal spells: map the cut
					// through its escapes (a JSON document in a string
					// is escaped at every depth).
					leafCut = unescapedCut(in.src[n.start+1:n.end-1], lo-int(n.start)-1, hi-int(n.start)-1, len(n.text))
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

// unescapedCut maps the cut [lo, hi) of a string literal's source lit
// (quotes excluded) onto its value, widened to whole escapes; a cut of
// the whole value when the literal does not decode to n bytes.
func unescapedCut(lit string, lo, hi, n int) cut {
	c := cut{-1, -1}
	at := 0 // the value's length so far
	for i := 0; i < len(lit); {
		size, out := 1, 1
		if lit[i] == '\\' && i+1 < len(lit) {
			size = 2
			if lit[i+1] == 'u' && i+6 <= len(lit) {
				size = 6
				r := hex4(lit[i+2 : i+6])
				if utf16.IsSurrogate(r) && i+12 <= len(lit) && lit[i+6] == '\\' && lit[i+7] == 'u' {
					if utf16.DecodeRune(r, hex4(lit[i+8:i+12])) != utf8.RuneError {
						size = 12
						r = utf16.DecodeRune(r, hex4(lit[i+8:i+12]))
					}
				}
				if r < 0 || utf16.IsSurrogate(r) {
					r = utf8.RuneError
				}
				out = utf8.RuneLen(r)
			}
		}
		if c.start < 0 && i+size > lo {
			c.start = at
		}
		at += out
		if i < hi {
			c.end = at
		}
		i += size
	}
	if at != n || c.start < 0 || c.end <= c.start {
		return cut{0, n}
	}
	return c
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
