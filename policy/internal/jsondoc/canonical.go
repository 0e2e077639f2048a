package jsondoc

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

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
