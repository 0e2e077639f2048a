package jsondoc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/internal/jsondoc"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"ascii", "prod", "prod"},
		{"fullwidth", "ｐｒｏｄ", "prod"},
		{"zero-width space inside a word", "pr\u200bod", "prod"},
		{"joiners, word joiner and BOM", "d\u200cr\u200do\u2060p\ufeff", "drop"},
		{"soft hyphen", "pass\u00adword", "password"},
		{"direction marks", "ad\u200emin\u200f", "admin"},
		{"Hangul filler", "ro\u3164ot", "root"},
		{"Mongolian vowel separator and grapheme joiner", "e\u180Ev\u034Fal", "eval"},
		{"ligature", "\ufb01le", "file"},
		{"superscript and circled digits", "x\u00b2\u2460", "x21"},
		{"composed", "e\u0301", "\u00e9"},
		{"zero-width between letter and mark", "e\u200b\u0301", "\u00e9"},
		{"tags kept", "a\U000E0041\U000E007Fb", "a\U000E0041\U000E007Fb"},
		{"bidi controls kept", "a\u202Eb\u2066c\u2069", "a\u202Eb\u2066c\u2069"},
		{"variation selector kept", "\u2764\ufe0f", "\u2764\ufe0f"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
		{"only invisible", "\u200b\u00ad", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := jsondoc.Normalize(c.in); got != c.want {
				t.Errorf("Normalize(%+q) = %+q; want %+q", c.in, got, c.want)
			}
		})
	}
}

func TestNormalizeASCIIDoesNotAllocate(t *testing.T) {
	s := strings.Repeat("select * from users; ", 8)
	if n := testing.AllocsPerRun(100, func() { _ = jsondoc.Normalize(s) }); n != 0 {
		t.Errorf("Normalize(ASCII) allocates %v times; want 0", n)
	}
}

func TestParseArguments(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // the canonical form, or a part of the error
		wantErr  bool
	}{
		{name: "empty", in: "", want: "{}"},
		{name: "white space", in: " \n\t", want: "{}"},
		{name: "null", in: " null ", want: "{}"},
		{name: "empty object", in: "{ }", want: "{}"},
		{name: "keys alike only after normalisation", in: `{"prod":1,"ｐｒｏｄ":2}`, want: `{"prod":1,"prod":2}`},
		{name: "depth 128", in: strings.Repeat(`{"a":`, 127) + "{}" + strings.Repeat("}", 127), want: strings.Repeat(`{"a":`, 127) + "{}" + strings.Repeat("}", 127)},
		{name: "tiny number", in: `{"n":1e-400}`, want: `{"n":1e-400}`},
		{name: "not JSON", in: `{"a":`, want: "unexpected end of JSON input", wantErr: true},
		{name: "number out of range", in: `{"n":1e400}`, want: "number 1e400 at offset 5 is out of range", wantErr: true},
		{name: "long number out of range", in: `{"n":` + strings.Repeat("9", 310) + `}`, want: "is out of range", wantErr: true},
		{name: "bad value", in: `{"a":x}`, want: "invalid character 'x' looking for beginning of value at offset 5", wantErr: true},
		{name: "trailing bytes", in: `{} {}`, want: "after top-level value", wantErr: true},
		{name: "leading zero", in: `{"a":01}`, want: "invalid character '1'", wantErr: true},
		{name: "control character in string", in: "{\"a\":\"x\ny\"}", want: "in string literal", wantErr: true},
		{name: "bad escape", in: `{"a":"\x"}`, want: "in string escape code", wantErr: true},
		{name: "short unicode escape", in: `{"a":"\u12"}`, want: "hexadecimal character escape", wantErr: true},
		{name: "byte order mark", in: "\ufeff{}", want: "invalid character byte 0xef", wantErr: true},
		{name: "array", in: `[1,2]`, want: "the arguments are a JSON array, not an object", wantErr: true},
		{name: "string", in: `"x"`, want: "a JSON string, not an object", wantErr: true},
		{name: "number", in: `12`, want: "a JSON number, not an object", wantErr: true},
		{name: "boolean", in: `true`, want: "a JSON boolean, not an object", wantErr: true},
		{name: "duplicate key", in: `{"a":1,"b":2,"a":3}`, want: `key "a" repeated in the object at $ (offset 13)`, wantErr: true},
		{name: "duplicate key nested", in: `{"x":{"y":[0,{"b":1,"b":2}]}}`, want: `key "b" repeated in the object at $.x.y[1]`, wantErr: true},
		{name: "duplicate key once unescaped", in: `{"a":1,"\u0061":2}`, want: `key "a" repeated`, wantErr: true},
		{name: "invalid UTF-8 in a key", in: "{\"\xff\":1,\"\xfe\":2}", want: "not valid UTF-8 from byte 2 on", wantErr: true},
		{name: "invalid UTF-8 in a string", in: "{\"s\":\"a\xc3(\xff\"}", want: "not valid UTF-8 from byte 7 on", wantErr: true},
		{name: "keys that differ in case", in: `{"env":"staging","Env":"production"}`, want: `keys "env" and "Env", which differ only in case, in the object at $`, wantErr: true},
		{name: "keys that differ in case, nested", in: `{"x":{"ID":1,"id":2}}`, want: `differ only in case, in the object at $.x`, wantErr: true},
		{name: "keys that differ in case in a big object", in: bigObject(40, "K7"), want: "differ only in case", wantErr: true},
		{name: "duplicate key in a big object", in: bigObject(40, "k7"), want: `key "k7" repeated`, wantErr: true},
		{name: "depth 129", in: strings.Repeat(`{"a":`, 128) + "{}" + strings.Repeat("}", 128), want: "nesting deeper than 128 levels at offset 640", wantErr: true},
		{name: "depth 129 in arrays", in: "{\"a\":" + strings.Repeat("[", 128) + strings.Repeat("]", 128) + "}", want: "nesting deeper than 128 levels", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := jsondoc.Parse([]byte(c.in))
			if c.wantErr {
				if err == nil {
					t.Fatalf("ParseArguments(%.60s) = %s; want an error with %q", c.in, a.Canonical(), c.want)
				}
				if !errors.Is(err, jsondoc.ErrArguments) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("ParseArguments(%.60s) = %v; want an ErrArguments with %q", c.in, err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArguments(%.60s) = %v; want %s", c.in, err, c.want)
			}
			if got := a.Canonical(); got != c.want {
				t.Errorf("Canonical(%.60s) = %.60s; want %.60s", c.in, got, c.want)
			}
		})
	}
}

// bigObject is an object of n members k0..k(n-1) and "end", with dup
// repeated before "end" when it is not "".
func bigObject(n int, dup string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		b.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	if dup != "" {
		b.WriteString(`"` + dup + `":2,`)
	}
	b.WriteString(`"end":0}`)
	return b.String()
}

func TestLeaves(t *testing.T) {
	type L = jsondoc.Leaf
	const (
		S = jsondoc.LeafString
		N = jsondoc.LeafNumber
		K = jsondoc.LeafKey
	)
	cases := []struct {
		name, in string
		want     []L
	}{
		{"empty", `null`, nil},
		{"nested objects and arrays", `{"a":{"b":[1,"x",{"c":true}]},"d":-2.5e3}`, []L{
			{"$.a", "a", K}, {"$.a.b", "b", K}, {"$.a.b[0]", "1", N}, {"$.a.b[1]", "x", S},
			{"$.a.b[2].c", "c", K}, {"$.d", "d", K}, {"$.d", "-2.5e3", N},
		}},
		{"keys that are not identifiers", `{"a b":1,"1x":2,"_ok9":3,"":4,"q\"":5}`, []L{
			{`$["a b"]`, "a b", K}, {`$["a b"]`, "1", N}, {`$["1x"]`, "1x", K}, {`$["1x"]`, "2", N},
			{"$._ok9", "_ok9", K}, {"$._ok9", "3", N}, {`$[""]`, "", K}, {`$[""]`, "4", N},
			{`$["q\""]`, `q"`, K}, {`$["q\""]`, "5", N},
		}},
		{"normalised keys and strings", `{"ｎａｍｅ":"pr\u200bod","w":"\ufb01"}`, []L{
			{"$.name", "name", K}, {"$.name", "prod", S}, {"$.w", "w", K}, {"$.w", "fi", S},
		}},
		{"JSON in a string", `{"payload":"{\"sql\":\"DROP TABLE x\"}"}`, []L{
			{"$.payload", "payload", K}, {"$.payload", `{"sql":"DROP TABLE x"}`, S},
			{"$.payload#.sql", "sql", K}, {"$.payload#.sql", "DROP TABLE x", S},
		}},
		{"JSON array in a string", `{"p":" [1, \"ｘ\"]"}`, []L{
			{"$.p", "p", K}, {"$.p", ` [1, "x"]`, S}, {"$.p#[0]", "1", N}, {"$.p#[1]", "x", S},
		}},
		{"JSON in a string in a string", `{"a":"{\"b\":\"{\\\"c\\\":1}\"}"}`, []L{
			{"$.a", "a", K}, {"$.a", `{"b":"{\"c\":1}"}`, S},
			{"$.a#.b", "b", K}, {"$.a#.b", `{"c":1}`, S},
			{"$.a#.b#.c", "c", K}, {"$.a#.b#.c", "1", N},
		}},
		{"repeated keys allowed in a string's document", `{"p":"{\"k\":1,\"k\":2}"}`, []L{
			{"$.p", "p", K}, {"$.p", `{"k":1,"k":2}`, S},
			{"$.p#.k", "k", K}, {"$.p#.k", "1", N}, {"$.p#.k", "k", K}, {"$.p#.k", "2", N},
		}},
		{"a string that only looks like JSON", `{"p":"{not json}","q":"[1,]","r":"null"}`, []L{
			{"$.p", "p", K}, {"$.p", "{not json}", S}, {"$.q", "q", K}, {"$.q", "[1,]", S},
			{"$.r", "r", K}, {"$.r", "null", S},
		}},
		{"the document is read as sent, not normalised", `{"p":"{\"a\":\"x＂y\"}"}`, []L{
			{"$.p", "p", K}, {"$.p", `{"a":"x"y"}`, S}, {"$.p#.a", "a", K}, {"$.p#.a", `x"y`, S},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := jsondoc.Parse([]byte(c.in))
			if err != nil {
				t.Fatalf("ParseArguments(%s) = %v", c.in, err)
			}
			got := a.Leaves()
			if len(got) != len(c.want) {
				t.Fatalf("Leaves(%s) = %q; want %q", c.in, got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("Leaves(%s)[%d] = %q; want %q", c.in, i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestLeavesExpandFourLevels(t *testing.T) {
	doc := `{"v":1}`
	for range 5 {
		b, _ := json.Marshal(map[string]string{"v": doc})
		doc = string(b)
	}
	a, err := jsondoc.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	deepest := ""
	for _, l := range a.Leaves() {
		deepest = max(deepest, l.Path)
	}
	if want := "$.v#.v#.v#.v#.v"; deepest != want {
		t.Errorf("Leaves(%s) go down to %s; want %s", doc, deepest, want)
	}
}

func TestField(t *testing.T) {
	const in = `{"a.b":"top","a":{"b":"nested","c":{"d":"deep"}},"items":[{"id":7},{"id":8}],` +
		`"ok":true,"nil":null,"ｑｕｅｒｙ":"wide","name":"plain","ｎａｍｅ":"wide name","s":"ｓ"}`
	cases := []struct {
		name, path string
		want       string
		wantLeaf   bool // the value is a leaf
		ok         bool
	}{
		{"top-level dotted key first", "a.b", "top", true, true},
		{"nested path", "a.c.d", "deep", true, true},
		{"array index", "items.1.id", "8", true, true},
		{"object as canonical JSON", "a", `{"b":"nested","c":{"d":"deep"}}`, false, true},
		{"array as canonical JSON", "items", `[{"id":7},{"id":8}]`, false, true},
		{"boolean", "ok", "true", false, true},
		{"null", "nil", "null", false, true},
		{"normalised key", "query", "wide", true, true},
		{"key as sent before normalised key", "name", "plain", true, true},
		{"normalised string", "s", "s", true, true},
		{"missing", "nope", "", false, false},
		{"missing nested", "a.x", "", false, false},
		{"past a leaf", "a.b.c", "", false, false},
		{"index past the end", "items.2.id", "", false, false},
		{"index with leading zero", "items.01.id", "", false, false},
		{"negative index", "items.-1.id", "", false, false},
		{"index into an object", "a.0", "", false, false},
	}
	a, err := jsondoc.Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, leaf, ok := a.Field(c.path)
			if text != c.want || ok != c.ok || (leaf >= 0) != c.wantLeaf {
				t.Fatalf("Field(%q) = %q, %d, %v; want %q, leaf %v, %v", c.path, text, leaf, ok, c.want, c.wantLeaf, c.ok)
			}
			if leaf >= 0 && a.Leaves()[leaf].Text != text {
				t.Errorf("Field(%q) = leaf %d; its text is %q, not %q", c.path, leaf, a.Leaves()[leaf].Text, text)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"keys sorted at every level", `{"b":1,"a":{"d":[3,{"z":0,"y":1}],"c":null}}`, `{"a":{"c":null,"d":[3,{"y":1,"z":0}]},"b":1}`},
		{"white space removed", "{ \"a\" :\t[ 1 , 2 ]\n}", `{"a":[1,2]}`},
		{"numbers as written", `{"n":1.50E+3,"m":-0,"i":12345678901234567890}`, `{"i":12345678901234567890,"m":-0,"n":1.50E+3}`},
		{"escapes", `{"s":"a\"b\\c\n\t\r\b\f\u0001\u001f\/<>&\u2028\u2029"}`, `{"s":"a\"b\\c\n\t\r\b\f\u0001\u001f/<>&\u2028\u2029"}`},
		{"unicode as UTF-8, normalised", `{"s":"\u00e9e\u0301ｐ\ud83d\ude00"}`, `{"s":"éép😀"}`},
		{"lone surrogates", `{"s":"\ud800x\udc00\ud800\ud800"}`, "{\"s\":\"\ufffdx\ufffd\ufffd\ufffd\"}"},
		{"keys normalised then sorted, ties by key as sent", `{"ｂ":1,"b":2,"a":3}`, `{"a":3,"b":2,"b":1}`},
		{"zero-width in a key", `{"pa\u200bss":1}`, `{"pass":1}`},
		{"many keys", bigObject(30, ""), canonicalBig(30)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := jsondoc.Canonicalize([]byte(c.in))
			if err != nil {
				t.Fatalf("Canonicalize(%s) = %v", c.in, err)
			}
			if got != c.want {
				t.Errorf("Canonical(%s) = %s; want %s", c.in, got, c.want)
			}
		})
	}
	if _, err := jsondoc.Canonicalize([]byte(`[]`)); !errors.Is(err, jsondoc.ErrArguments) {
		t.Errorf("Canonicalize([]) = %v; want ErrArguments", err)
	}
}

// canonicalBig is the canonical form of bigObject(n, "").
func canonicalBig(n int) string {
	var m = map[string]int{"end": 0}
	for i := range n {
		m["k"+strconv.Itoa(i)] = 1
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// at names a part of a leaf: the first occurrence of Sub in the leaf at
// Path of Kind (the whole text when Sub is empty).
type at struct {
	Path string
	Kind jsondoc.LeafKind
	Sub  string
}

func spanAt(t *testing.T, a *jsondoc.Arguments, w at) jsondoc.Span {
	t.Helper()
	for i, l := range a.Leaves() {
		if l.Path != w.Path || l.Kind != w.Kind {
			continue
		}
		if w.Sub == "" {
			return jsondoc.Span{Leaf: i, Start: 0, End: len(l.Text)}
		}
		if j := strings.Index(l.Text, w.Sub); j >= 0 {
			return jsondoc.Span{Leaf: i, Start: j, End: j + len(w.Sub)}
		}
	}
	t.Fatalf("no %s leaf at %s holds %q in %q", w.Kind, w.Path, w.Sub, a.Leaves())
	return jsondoc.Span{}
}

func TestRedact(t *testing.T) {
	const (
		S = jsondoc.LeafString
		N = jsondoc.LeafNumber
		K = jsondoc.LeafKey
	)
	cases := []struct {
		name, in string
		spans    []at
		raw      []jsondoc.Span // spans given by offsets, on top of spans
		want     string
	}{
		{
			name:  "nested value",
			in:    `{"user":{"name":"Ann","ssn":"123-45-6789"}}`,
			spans: []at{{"$.user.ssn", S, ""}},
			want:  `{"user":{"name":"Ann","ssn":"[REDACTED]"}}`,
		},
		{
			name:  "part of a value",
			in:    `{"note":"my ssn is 123-45-6789, ok"}`,
			spans: []at{{"$.note", S, "123-45-6789"}},
			want:  `{"note":"my ssn is [REDACTED], ok"}`,
		},
		{
			name:  "inside an array",
			in:    `{"xs":["a","the secret",{"k":"secret"}]}`,
			spans: []at{{"$.xs[1]", S, "secret"}, {"$.xs[2].k", S, ""}},
			want:  `{"xs":["a","the [REDACTED]",{"k":"[REDACTED]"}]}`,
		},
		{
			name:  "inside JSON in a string",
			in:    `{"payload":"{\"sql\": \"DROP TABLE x\", \"n\": 1}","other":"{\"a\":1}"}`,
			spans: []at{{"$.payload#.sql", S, "DROP"}},
			want:  `{"payload":"{\"sql\":\"[REDACTED] TABLE x\",\"n\":1}","other":"{\"a\":1}"}`,
		},
		{
			name:  "JSON in a string, spans on the string laid over its members",
			in:    `{"payload":"{\"sql\": \"DROP TABLE x\", \"n\": 1, \"b\": true}"}`,
			spans: []at{{"$.payload", S, "DROP"}, {"$.payload", S, `: 1, "b": t`}},
			want:  `{"payload":"{\"sql\":\"[REDACTED] TABLE x\",\"n\":\"[REDACTED]\",\"[REDACTED]\":\"[REDACTED]\"}"}`,
		},
		{
			name:  "JSON in a string, the same secret found at both levels",
			in:    `{"p":"{\"key\":\"AKIA1234\"}"}`,
			spans: []at{{"$.p", S, "AKIA1234"}, {"$.p#.key", S, "AKIA1234"}},
			want:  `{"p":"{\"key\":\"[REDACTED]\"}"}`,
		},
		{
			name:  "JSON in a string in a string",
			in:    `{"a":"{\"b\":\"{\\\"c\\\":\\\"tok\\\"}\"}"}`,
			spans: []at{{"$.a#.b#.c", S, "tok"}},
			want:  `{"a":"{\"b\":\"{\\\"c\\\":\\\"[REDACTED]\\\"}\"}"}`,
		},
		{
			name:  "JSON in a string in a string, span on the outer string only",
			in:    `{"a":"{\"b\":\"{\\\"c\\\":\\\"tok\\\",\\\"d\\\":1}\",\"e\":\"x\"}"}`,
			spans: []at{{"$.a", S, "tok"}},
			want:  `{"a":"{\"b\":\"{\\\"c\\\":\\\"[REDACTED]\\\",\\\"d\\\":1}\",\"e\":\"x\"}"}`,
		},
		{
			name:  "JSON in a string, cut mapped through \\u escapes and a surrogate pair",
			in:    `{"a":"{\"b\":\"\\u00e9\\ud834\\udd1e tok \\\"q\\\"\",\"c\":\"\\u0041\"}"}`,
			spans: []at{{"$.a", S, "tok"}},
			want:  `{"a":"{\"b\":\"é𝄞 [REDACTED] \\\"q\\\"\",\"c\":\"\\u0041\"}"}`,
		},
		{
			name:  "JSON in a string, span over its structure only",
			in:    `{"p":"{\"k\": 1}"}`,
			spans: []at{{"$.p", S, ": "}},
			want:  `{"p":"{\"k\"[REDACTED]1}"}`,
		},
		{
			name:  "JSON in a normalised string: the string's text",
			in:    `{"p":"{\"k\":\"ｓecret\"}"}`,
			spans: []at{{"$.p", S, "secret"}},
			want:  `{"p":"{\"k\":\"[REDACTED]\"}"}`,
		},
		{
			name:  "JSON in a normalised string: all of it when both levels have spans",
			in:    `{"p":"{\"k\":\"ｓecret\",\"j\":\"x\"}"}`,
			spans: []at{{"$.p", S, "secret"}, {"$.p#.j", S, "x"}},
			want:  `{"p":"[REDACTED]"}`,
		},
		{
			name:  "number",
			in:    `{"card":4111111111111111,"n":2}`,
			spans: []at{{"$.card", N, "1111"}},
			want:  `{"card":"[REDACTED]","n":2}`,
		},
		{
			name:  "key",
			in:    `{"password":"x","other":1}`,
			spans: []at{{"$.password", K, ""}},
			want:  `{"[REDACTED]":"x","other":1}`,
		},
		{
			name:  "keys that would collide",
			in:    `{"secret_a":1,"[REDACTED] 2":0,"secret_b":2,"[REDACTED]":3}`,
			spans: []at{{"$.secret_a", K, ""}, {"$.secret_b", K, ""}},
			want:  `{"[REDACTED] 3":1,"[REDACTED] 2":0,"[REDACTED] 4":2,"[REDACTED]":3}`,
		},
		{
			name: "overlapping and touching spans",
			in:   `{"s":"abcdefghij"}`,
			raw:  []jsondoc.Span{{Leaf: 1, Start: 1, End: 4}, {Leaf: 1, Start: 3, End: 5}, {Leaf: 1, Start: 5, End: 6}, {Leaf: 1, Start: 8, End: 9}},
			want: `{"s":"a[REDACTED]gh[REDACTED]j"}`,
		},
		{
			name: "span widened to whole characters",
			in:   `{"s":"aé€b"}`,
			raw:  []jsondoc.Span{{Leaf: 1, Start: 2, End: 4}},
			want: `{"s":"a[REDACTED]b"}`,
		},
		{
			name: "empty spans only",
			in:   `{ "s" : "x" }`,
			raw:  []jsondoc.Span{{Leaf: 1, Start: 1, End: 1}},
			want: `{ "s" : "x" }`,
		},
		{
			name:  "order and the rest kept as sent",
			in:    `{ "z": "\u00e9\n", "a": 1.0e1, "m": {"k": "ｐ", "b": [true, null]}, "s": "secret" }`,
			spans: []at{{"$.s", S, ""}},
			want:  `{"z":"\u00e9\n","a":1.0e1,"m":{"k":"ｐ","b":[true,null]},"s":"[REDACTED]"}`,
		},
		{
			name:  "a redacted string is sent normalised",
			in:    `{"s":"ｓｅｃｒｅｔ x\u200by"}`,
			spans: []at{{"$.s", S, "secret"}},
			want:  `{"s":"[REDACTED] xy"}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := jsondoc.Parse([]byte(c.in))
			if err != nil {
				t.Fatalf("ParseArguments(%s) = %v", c.in, err)
			}
			spans := append([]jsondoc.Span(nil), c.raw...)
			for _, w := range c.spans {
				spans = append(spans, spanAt(t, a, w))
			}
			out, err := a.Redact(spans)
			if err != nil {
				t.Fatalf("Redact(%s, %v) = %v", c.in, spans, err)
			}
			if string(out) != c.want {
				t.Errorf("Redact(%s, %v) = %s; want %s", c.in, spans, out, c.want)
			}
			if !json.Valid(out) {
				t.Errorf("Redact(%s, %v) = %s; not valid JSON", c.in, spans, out)
			}
			if _, err := jsondoc.Parse(out); err != nil {
				t.Errorf("ParseArguments(Redact(%s)) = %v", c.in, err)
			}
		})
	}
}

func TestRedactWithoutSpansReturnsTheInput(t *testing.T) {
	raw := []byte(` { "a" : "\u0041" } `)
	a, err := jsondoc.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Redact(nil)
	if err != nil || !bytes.Equal(out, raw) || &out[0] != &raw[0] {
		t.Errorf("Redact(nil) = %q, %v; want the input %q", out, err, raw)
	}
}

func TestRedactRefusesSpansOutside(t *testing.T) {
	a, err := jsondoc.Parse([]byte(`{"s":"abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []jsondoc.Span{{Leaf: 2}, {Leaf: -1}, {Leaf: 1, Start: 2, End: 1}, {Leaf: 1, Start: 0, End: 4}, {Leaf: 1, Start: -1, End: 1}} {
		if out, err := a.Redact([]jsondoc.Span{s}); err == nil {
			t.Errorf("Redact(%v) = %s; want an error", s, out)
		}
	}
}

func TestArgumentsConcurrentUse(t *testing.T) {
	a, err := jsondoc.Parse([]byte(`{"a":{"b":"x"},"p":"{\"q\":1}"}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := len(a.Leaves()); got != 7 {
				t.Errorf("len(Leaves()) = %d; want 7", got)
			}
			if got := a.Canonical(); got != `{"a":{"b":"x"},"p":"{\"q\":1}"}` {
				t.Errorf("Canonical() = %s", got)
			}
			if text, _, _ := a.Field("a.b"); text != "x" {
				t.Errorf("Field(a.b) = %q; want x", text)
			}
		})
	}
	wg.Wait()
}
