package llmjudge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

// How the arguments are laid out for the judge: one line per field (a
// string, number, boolean, null, or empty object or array, at its JSON
// path), every field listed, each value bounded on its own.
const (
	// minValueBytes is what of every value is shown whatever the budget:
	// a value this short is shown whole.
	minValueBytes = 48
	// maxPathBytes bounds a field's path as shown.
	maxPathBytes = 256
	// maxExcerpts bounds the excerpts shown of one value's cut part, and
	// maxCallExcerpts those of the whole call.
	maxExcerpts, maxCallExcerpts = 6, 24
	// excerptBytes is how much of the text around a finding in a cut part
	// an excerpt shows, on each side.
	excerptBytes = 60
	// maxHosts bounds the hosts the facts name.
	maxHosts = 24
	// maxExtraFields bounds the decisive fields listed past the limit.
	maxExtraFields = 256
	// tightValueBytes is what of every value is shown when the fields
	// would not all be listed with minValueBytes.
	tightValueBytes = 16
	// listFactor times the budget bounds the minimal lines of the fields
	// listed.
	listFactor = 3
)

// field is one scalar of the arguments, or an empty object or array.
type field struct {
	// path is where it is, written as policy.Leaf paths are.
	path string
	// value is a string's text, or the JSON of anything else.
	value    string
	isString bool
	// decisive says a verdict may turn on it: its name says it is a path,
	// address, command or query, a detector found something in it, or it
	// is a URL.
	decisive bool
	// show is how many bytes of value are shown: all of it, or a head
	// and a tail around the cut.
	show int
	// hidden counts the hidden characters of its key and value.
	hidden int
	// listed says it is shown; pathCut that its path was cut; first that
	// it was listed past the limit for a statement word, and is shown
	// before the others.
	listed, pathCut, first bool
}

// minimalCost is about the size of f's line with show bytes of its
// value: number, path, value, quotes, and the mark of a cut.
func minimalCost(f *field, show int) int {
	cost := min(len(f.path), maxPathBytes) + min(len(f.value), show) + 16
	if len(f.value) > show {
		cost += 64
	}
	return cost
}

// cut reports whether part of the value is not shown.
func (f *field) cut() bool { return f.show < len(f.value) }

// layout is the arguments as the judge is shown them, with what the
// gateway found in them.
type layout struct {
	fields []field
	// omitted counts the fields not listed: they did not fit.
	omitted int
	// lines is the block's argument lines.
	lines strings.Builder
	// unseen names the decisive fields not shown in full, for the reason
	// of a strict policy held for approval; empty when all were.
	unseen []string
}

// decisivePath reports whether the last key of path (a path of
// flatten's, or a finding's) names what a call acts on
// (policy.DecisiveKey): "$.files[0]" does, "$.files[0].content" does not.
func decisivePath(path string) bool {
	return policy.DecisiveKey(lastKey(path))
}

// lastKey is the key of the last member named in path, without array
// indexes: "files" in $.files[0], "a b" in $["a b"][2].
func lastKey(path string) string {
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		if i < 0 {
			break
		}
		seg := path[i+1 : len(path)-1]
		if strings.HasPrefix(seg, `"`) {
			var key string
			if json.Unmarshal([]byte(seg), &key) == nil {
				return key
			}
			return seg
		}
		path = path[:i]
	}
	if i := strings.LastIndexAny(path, ".#$"); i >= 0 {
		return path[i+1:]
	}
	return path
}

// fieldIndex maps every path of the arguments, of a field or of an object
// or array, to the index of the first field at or under it.
type fieldIndex map[string]int

// fieldFor is the index of the field at path (a finding's path, which may
// name an object, or reach into a JSON document held in a string after
// '#'), or -1.
func (x fieldIndex) fieldFor(path string) int {
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	if i, ok := x[path]; ok {
		return i
	}
	return -1
}

// flatten lists the fields of canonical, the arguments' canonical JSON,
// and indexes their paths.
func flatten(canonical string) ([]field, fieldIndex, error) {
	dec := json.NewDecoder(strings.NewReader(canonical))
	dec.UseNumber()
	var out []field
	index := fieldIndex{}
	var walk func(path []byte) error
	walk = func(path []byte) error {
		if _, ok := index[string(path)]; !ok {
			index[string(path)] = len(out)
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			empty := true
			switch t {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					key, _ := k.(string)
					empty = false
					if err := walk(appendKeyPath(path, key)); err != nil {
						return err
					}
				}
				if empty {
					out = append(out, field{path: string(path), value: "{}"})
				}
			case '[':
				for i := 0; dec.More(); i++ {
					empty = false
					if err := walk(append(append(append(path, '['), strconv.Itoa(i)...), ']')); err != nil {
						return err
					}
				}
				if empty {
					out = append(out, field{path: string(path), value: "[]"})
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case string:
			out = append(out, field{path: string(path), value: t, isString: true})
		case json.Number:
			out = append(out, field{path: string(path), value: string(t)})
		case bool:
			out = append(out, field{path: string(path), value: strconv.FormatBool(t)})
		case nil:
			out = append(out, field{path: string(path), value: "null"})
		}
		return nil
	}
	if err := walk([]byte("$")); err != nil && err != io.EOF {
		return nil, nil, err
	}
	if len(out) == 1 && out[0].value == "{}" && out[0].path == "$" {
		return nil, fieldIndex{}, nil
	}
	return out, index, nil
}

// appendKeyPath appends the path segment of a member, as policy.Leaf
// paths write it: .key for an identifier, else ["key"].
func appendKeyPath(path []byte, key string) []byte {
	ident := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return append(append(path, '.'), key...)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(key) // a string always encodes
	return append(append(append(path, '['), bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), ']')
}

// layOut lays the fields out within budget bytes of values. Every field
// is listed as long as the minimal lines fit in three times the budget:
// each value of up to minValueBytes whole (or, when they would not all
// fit so, up to tightValueBytes); past that, only the fields a verdict may
// turn on or that hold a statement word, at most maxExtraFields. Then
// those get more (from the budget, or half of it when the lines took it
// all), in full if it allows, then the others alike.
func layOut(fields []field, budget int) *layout {
	l := &layout{fields: fields}
	minShow, total := minValueBytes, 0
	for i := range fields {
		total += minimalCost(&fields[i], minValueBytes)
	}
	if total > listFactor*budget {
		minShow = tightValueBytes
	}
	used, extra := 0, 0
	for i := range fields {
		f := &fields[i]
		f.show = min(len(f.value), minShow)
		cost := minimalCost(f, minShow)
		switch {
		case used+cost <= listFactor*budget:
		case extra < maxExtraFields && (f.decisive || f.isString && len(keywordSpots(f.value)) > 0):
			extra++
			f.first = true
		default:
			f.show = 0
			l.omitted++
			continue
		}
		f.listed = true
		used += cost
	}
	// The budget is spent in bytes as shown: escapes make a value longer.
	expand := make([]float64, len(fields))
	for i := range fields {
		if f := &fields[i]; f.listed && f.cut() {
			expand[i] = max(1, float64(len(shownValue(f.value, f.isString)))/float64(len(f.value)))
		}
	}
	// Half the budget at least is kept for the values shown first.
	left := max(budget/2, budget-used)
	for i := range fields {
		if f := &fields[i]; f.listed && (f.decisive || f.first) && f.cut() {
			more := min(len(f.value)-f.show, int(float64(left)/expand[i]))
			f.show += more
			left -= int(float64(more) * expand[i])
		}
	}
	// The others share what is left: the largest equal allowance that fits.
	var needs []int
	for i := range fields {
		if f := &fields[i]; f.listed && !f.decisive && !f.first && f.cut() {
			needs = append(needs, int(float64(len(f.value)-f.show)*expand[i]))
		}
	}
	sort.Ints(needs)
	allowance, rest := 0, left
	for i, n := range needs {
		share := rest / (len(needs) - i)
		if n > share {
			allowance = share
			break
		}
		rest -= n
		allowance = n
	}
	for i := range fields {
		if f := &fields[i]; f.listed && !f.decisive && !f.first && f.cut() {
			f.show += min(len(f.value)-f.show, int(float64(allowance)/expand[i]))
		}
	}
	return l
}

// write writes the argument lines; what the detectors find in the cut
// part of a value is shown in excerpts after it.
func (l *layout) write() {
	excerpts := 0
	for i := range l.fields {
		f := &l.fields[i]
		if !f.listed {
			continue
		}
		path, pathCut := cutMiddle(f.path, maxPathBytes)
		f.pathCut = pathCut > 0
		fmt.Fprintf(&l.lines, "#%d %s: ", i+1, shownText(path))
		if !f.cut() {
			l.lines.WriteString(shownValue(f.value, f.isString))
			l.lines.WriteByte('\n')
		} else {
			head := f.show * 3 / 4
			for head > 0 && !utf8.RuneStart(f.value[head]) {
				head--
			}
			start := len(f.value) - (f.show - head)
			for start < len(f.value) && !utf8.RuneStart(f.value[start]) {
				start++
			}
			fmt.Fprintf(&l.lines, "%s …[gatehouse: %d of %d bytes cut here, bytes %d to %d]… %s\n",
				shownValue(f.value[:head], f.isString), start-head, len(f.value), head, start, shownValue(f.value[start:], f.isString))
			if f.isString {
				n, found := l.writeExcerpts(i, head, start, maxCallExcerpts-excerpts)
				excerpts += n
				f.decisive = f.decisive || found
			}
		}
		// A path this long is the client's doing: what it hides counts.
		if f.cut() && f.decisive || f.pathCut {
			l.unseen = append(l.unseen, f.path)
		}
	}
	if l.omitted > 0 {
		fmt.Fprintf(&l.lines, "…[gatehouse: %s not shown]\n", plural(l.omitted, "more field"))
		l.unseen = append(l.unseen, plural(l.omitted, "more field"))
	}
}

// writeExcerpts shows the text around what the detectors, and the words
// that start a statement or a command, find in bytes from to to of field
// i's value, at most limit excerpts; it returns how many, and whether
// the detectors found anything (which makes the field decisive: a strict
// policy cannot comply with it unseen).
func (l *layout) writeExcerpts(i, from, to, limit int) (int, bool) {
	f := &l.fields[i]
	middle := f.value[from:to]
	var spots []int
	for _, d := range detect.Detect(middle) {
		spots = append(spots, d.Start)
	}
	found := len(spots) > 0
	spots = append(spots, keywordSpots(middle)...)
	sort.Ints(spots)
	n, shownTo := 0, -1
	for _, s := range spots {
		if n >= min(limit, maxExcerpts) {
			break
		}
		a, b := max(0, s-excerptBytes), min(len(middle), s+2*excerptBytes)
		if a < shownTo {
			continue // inside the last excerpt
		}
		for a > 0 && !utf8.RuneStart(middle[a]) {
			a--
		}
		for b < len(middle) && !utf8.RuneStart(middle[b]) {
			b++
		}
		fmt.Fprintf(&l.lines, "#%d excerpt of the cut part, bytes %d to %d: %s\n", i+1, from+a, from+b, shownValue(middle[a:b], true))
		shownTo = b
		n++
	}
	return n, found
}

// statementWords start a statement or command a verdict may turn on.
var statementWords = []string{"drop ", "delete ", "truncate ", "alter ", "update ", "insert ", "grant ", "revoke ", "create ", "exec", "rm ", "curl ", "wget ", "chmod ", "chown ", "sudo ", "mkfs", "dd ", "nc ", "scp ", "ssh ", "| sh", "|sh", "bash -c", "://"}

// keywordSpots finds the statement words in s, case-insensitively.
func keywordSpots(s string) []int {
	lower := strings.ToLower(s)
	var out []int
	for _, w := range statementWords {
		for i := 0; len(out) < 4*maxExcerpts; {
			j := strings.Index(lower[i:], w)
			if j < 0 {
				break
			}
			out = append(out, i+j)
			i += j + len(w)
		}
	}
	return out
}

// shownText is s as the block shows text: hidden characters escaped,
// <, > and & escaped, no line breaks.
func shownText(s string) string {
	s, _ = escapeHidden(s)
	var b bytes.Buffer
	json.HTMLEscape(&b, []byte(strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)))
	return b.String()
}

// shownValue is a value as the block shows it: a string quoted, with its
// hidden characters escaped; anything else as written.
func shownValue(v string, isString bool) string {
	if !isString {
		return shownText(v)
	}
	v, _ = escapeHidden(v)
	return quote(v)
}

// markDecisive marks the fields a verdict may turn on.
func markDecisive(fields []field, index fieldIndex, findings []policy.Detection) {
	for i := range fields {
		f := &fields[i]
		f.decisive = decisivePath(f.path) || f.isString && isURL(f.value)
	}
	for _, d := range findings {
		if i := index.fieldFor(d.Path); i >= 0 && i < len(fields) {
			fields[i].decisive = true
		}
	}
}

// isURL reports whether s, trimmed, starts with a URL's scheme and "://".
func isURL(s string) bool {
	s = strings.TrimSpace(s)
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for j, c := range []byte(s[:i]) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '.' || c == '-')) {
			return false
		}
	}
	return true
}
