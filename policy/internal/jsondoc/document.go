package jsondoc

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
