package jsondoc

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

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
	// exactKeys refuses only keys repeated exactly, not keys that differ
	// only in case (see ParseResult).
	exactKeys bool
}

func parseDocument(src string, inner bool) (document, error) {
	p := parser{src: src, inner: inner}
	return p.document()
}

func (p *parser) document() (document, error) {
	src, inner := p.src, p.inner
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
			var err error
			if i, flags, err = p.escape(i, flags); err != nil {
				return err
			}
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

// escape decodes the escape at i into the arena, and returns the offset
// after it and flags with what the escape adds.
func (p *parser) escape(i int, flags uint8) (int, uint8, error) {
	src := p.src
	if i+1 >= len(src) {
		p.pos = i + 1
		return i, flags, p.errEnd()
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
			return i, flags, err
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
		return i, flags, nil
	default:
		p.pos = i + 1
		return i, flags, p.errChar("in string escape code")
	}
	return i + 2, flags, nil
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

// checkDuplicates refuses an object with a key repeated, or (unless
// exactKeys) two keys equal under Unicode case folding
// ({"env":…,"Env":…}): encoding/json and other readers match keys
// case-insensitively, so such an object is as ambiguous as one with a key
// twice.
func (p *parser) checkDuplicates(d *document) error {
	same, fold := strings.EqualFold, foldCase
	if p.exactKeys {
		same = func(a, b string) bool { return a == b }
		fold = func(s string) string { return s }
	}
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
					if same(d.raw(l), key) {
						return p.duplicate(d, int32(i), l)
					}
				}
			}
			continue
		}
		folded := make(map[int32]string, len(keys))
		for _, k := range keys {
			folded[k] = fold(d.raw(k))
		}
		slices.SortStableFunc(keys, func(a, b int32) int { return strings.Compare(folded[a], folded[b]) })
		for x := 1; x < len(keys); x++ {
			if folded[keys[x-1]] == folded[keys[x]] {
				return p.duplicate(d, int32(i), keys[x])
			}
		}
	}
	return nil
}

func (p *parser) duplicate(d *document, obj, key int32) error {
	k := d.raw(key)
	for other := obj + 1; other < d.nodes[obj].next; other = d.nodes[other+1].next {
		if o := d.raw(other); other != key && o != k && strings.EqualFold(o, k) {
			return p.fail("keys %s and %s, which differ only in case, in the object at %s (offset %d): readers that match keys case-insensitively would take either", strconv.Quote(o), strconv.Quote(k), d.pathOf(obj), d.nodes[key].start)
		}
	}
	return p.fail("key %s repeated in the object at %s (offset %d)", strconv.Quote(k), d.pathOf(obj), d.nodes[key].start)
}

// foldCase maps every rune of s to the smallest rune of its case-folding
// orbit: two strings are equal under strings.EqualFold exactly when their
// foldCase are equal.
func foldCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
