package jsondoc

import "strings"

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
