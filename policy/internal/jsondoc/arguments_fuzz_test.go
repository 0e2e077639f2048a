package jsondoc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse-mcp/gatehouse/policy/internal/jsondoc"
)

var argumentSeeds = []string{
	``, `null`, `{}`, `[]`, `"x"`, `1`, `{"a":1,"a":2}`,
	`{"a":{"b":[1,"x",{"c":true}]},"d":-2.5e3,"e":null,"f":false}`,
	`{"payload":"{\"sql\": \"DROP TABLE x\", \"n\": [1, 2.5]}"}`,
	`{"a":"{\"b\":\"{\\\"c\\\":\\\"tok\\\"}\"}"}`,
	`{"p":"[1, {\"k\":1,\"k\":2}]"}`,
	`{"ｎａｍｅ":"pr\u200bod","w":"\ufb01","x":"e\u0301","prod":1,"ｐｒｏｄ":2}`,
	`{"s":"\ud800\udc00\ud800x\udc00","t":"a\"b\\c\n\t\u0001<>&\u2028"}`,
	"{\"s\":\"a\xc3(\xff\",\"\xfe\":1}",
	`{"a b":1,"1x":2,"":3,"[REDACTED]":4}`,
	`{"n":1.50E+3,"m":-0,"i":12345678901234567890,"f":[0,-0.0,1e-7,1E+2,-12.5e10,1e-400,1e308]}`,
	`{"big":1e400}`, `{"big":[-1.8e308]}`,
	`{"e":"\b\f\n\r\t\/\\\"\u00e9\uD83D\uDE00\ud83d\u0041\udfff\ue000\uDBFF\uDFFF"}`,
	`{"k\u0041":1,"kA":2}`, `{"\u00e9":1,"e\u0301":2,"\u00C9":3}`,
	`{"p":"{\"a\":\"\\u00e9\\n\",\"b\":[true,null,1e3],\"c\":{\"d\":\"x\"}}","q":" [ {} ] "}`,
	`{"a":[[[]],[{}],"",{"b":{"c":[1,{"d":null}]}}]}`,
	strings.Repeat(`{"a":`, 128) + "{}" + strings.Repeat("}", 128),
}

// FuzzParseArguments checks ParseArguments against encoding/json: the
// same inputs accepted (but repeated keys, deep nesting and empty input),
// the same strings read, the canonical form encoding/json would write; and
// that Redact of any span of any leaf is valid JSON that parses again,
// with the span's text gone from where it was.
func FuzzParseArguments(f *testing.F) {
	for _, s := range argumentSeeds {
		f.Add([]byte(s), uint16(1), uint16(0), uint16(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, leaf, from, to uint16) {
		a, err := jsondoc.Parse(raw)
		var m map[string]any
		stdErr := json.Unmarshal(raw, &m)
		empty := len(bytes.Trim(raw, " \t\r\n")) == 0
		switch {
		case err != nil && !errors.Is(err, jsondoc.ErrArguments):
			t.Fatalf("ParseArguments(%q) = %v; want an ErrArguments", raw, err)
		case err != nil && stdErr == nil:
			if !repeatedOrDeep(raw) && utf8.Valid(raw) {
				t.Fatalf("ParseArguments(%q) = %v; encoding/json reads it", raw, err)
			}
			return
		case err == nil && stdErr != nil && !empty:
			t.Fatalf("ParseArguments(%q) = %s; encoding/json refuses it: %v", raw, a.Canonical(), stdErr)
		case err != nil:
			return
		}
		checkCanonical(t, raw, a)
		checkLeaves(t, raw, a)
		checkRedact(t, raw, a, int(leaf), int(from), int(to))
	})
}

// repeatedOrDeep reports whether raw, which encoding/json reads, repeats a
// key in an object (or two that differ only in case) or nests deeper than
// 128.
func repeatedOrDeep(raw []byte) bool {
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if k, ok := tok.(string); ok {
				k = strings.ToLower(strings.ToUpper(k)) // keys equal but for case are refused too
				if stack[n-1].keys[k] {
					return true
				}
				stack[n-1].keys[k] = true
				stack[n-1].wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			f := &frame{}
			if tok == json.Delim('{') {
				f.keys, f.wantKey = map[string]bool{}, true
			}
			if stack = append(stack, f); len(stack) > 128 {
				return true
			}
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// checkCanonical compares Canonical with what encoding/json writes of the
// arguments it reads, every string and key normalised (which leaves ASCII
// as it is), unless two keys of an object normalise alike.
func checkCanonical(t *testing.T, raw []byte, a *jsondoc.Arguments) {
	t.Helper()
	got := a.Canonical()
	if !json.Valid([]byte(got)) {
		t.Fatalf("Canonical(%q) = %s; not valid JSON", raw, got)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil && err != io.EOF {
		t.Fatalf("Decode(%q) = %v", raw, err)
	}
	if v == nil {
		v = map[string]any{}
	}
	v, ok := normalised(v)
	if !ok {
		return
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("Encode(%v) = %v", v, err)
	}
	if w := strings.TrimSuffix(want.String(), "\n"); got != w {
		t.Fatalf("Canonical(%q) = %s; want %s", raw, got, w)
	}
	again, err := jsondoc.Canonicalize([]byte(got))
	if err != nil || again != got {
		t.Fatalf("Canonicalize(%s) = %s, %v; want it unchanged", got, again, err)
	}
}

// normalised normalises every string and key of v, reporting false when
// two keys of an object become the same.
func normalised(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return jsondoc.Normalize(v), true
	case []any:
		for i := range v {
			var ok bool
			if v[i], ok = normalised(v[i]); !ok {
				return nil, false
			}
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			nk := jsondoc.Normalize(k)
			if _, dup := out[nk]; dup {
				return nil, false
			}
			var ok bool
			if out[nk], ok = normalised(x); !ok {
				return nil, false
			}
		}
		return out, true
	}
	return v, true
}

func checkLeaves(t *testing.T, raw []byte, a *jsondoc.Arguments) {
	t.Helper()
	leaves := a.Leaves()
	for i, l := range leaves {
		if !strings.HasPrefix(l.Path, "$") {
			t.Fatalf("Leaves(%q)[%d].Path = %q; want it to start with $", raw, i, l.Path)
		}
		if l.Kind != jsondoc.LeafNumber && (!utf8.ValidString(l.Text) || jsondoc.Normalize(l.Text) != l.Text) {
			t.Fatalf("Leaves(%q)[%d].Text = %+q; not normalised", raw, i, l.Text)
		}
		if l.Kind == jsondoc.LeafKey && l.Path == "$."+l.Text {
			if _, _, ok := a.Field(l.Text); !ok {
				t.Fatalf("Field(%q) of %q not found; Leaves()[%d] is its key", l.Text, raw, i)
			}
		}
	}
}

func checkRedact(t *testing.T, raw []byte, a *jsondoc.Arguments, leaf, from, to int) {
	t.Helper()
	leaves := a.Leaves()
	if len(leaves) == 0 {
		return
	}
	leaf %= len(leaves)
	l := leaves[leaf]
	start, end := from%(len(l.Text)+1), to%(len(l.Text)+1)
	if start > end {
		start, end = end, start
	}
	span := jsondoc.Span{Leaf: leaf, Start: start, End: end}
	out, err := a.Redact([]jsondoc.Span{span})
	if err != nil {
		t.Fatalf("Redact(%q, %v) = %v", raw, span, err)
	}
	if !json.Valid(out) {
		t.Fatalf("Redact(%q, %v) = %q; not valid JSON", raw, span, out)
	}
	b, err := jsondoc.Parse(out)
	if err != nil {
		t.Fatalf("ParseArguments(Redact(%q, %v)) = %v; Redact gave %q", raw, span, err, out)
	}
	if start == end {
		if !bytes.Equal(out, raw) {
			t.Fatalf("Redact(%q, %v) = %q; want it unchanged", raw, span, out)
		}
		return
	}
	for start > 0 && !utf8.RuneStart(l.Text[start]) {
		start--
	}
	for end < len(l.Text) && !utf8.RuneStart(l.Text[end]) {
		end++
	}
	want := jsondoc.Normalize(l.Text[:start] + "[REDACTED]" + l.Text[end:])
	found := func(ok func(jsondoc.Leaf) bool) {
		t.Helper()
		for _, m := range b.Leaves() {
			if ok(m) {
				return
			}
		}
		t.Fatalf("Redact(%q, %v) = %q; its leaves %q hold no redacted %s at %s", raw, span, out, b.Leaves(), l.Kind, l.Path)
	}
	switch {
	case leaf+1 < len(leaves) && strings.HasPrefix(leaves[leaf+1].Path, l.Path+"#"):
		// A string holding a document: its document is rewritten.
	case l.Kind == jsondoc.LeafString:
		found(func(m jsondoc.Leaf) bool { return m.Kind == l.Kind && m.Path == l.Path && m.Text == want })
	case l.Kind == jsondoc.LeafNumber:
		found(func(m jsondoc.Leaf) bool {
			return m.Kind == jsondoc.LeafString && m.Path == l.Path && m.Text == "[REDACTED]"
		})
	case l.Kind == jsondoc.LeafKey:
		found(func(m jsondoc.Leaf) bool {
			return m.Kind == l.Kind && (m.Text == want || strings.HasPrefix(m.Text, want+" "))
		})
	}
}

// FuzzNormalize checks that Normalize is its own normalisation, gives
// valid UTF-8 without zero-width characters, and keeps tag characters and
// bidi controls.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"prod", "ｐｒｏｄ", "pr\u200bod", "\ufb01le", "a\U000E0041b\u202Ec", "\u3164\uffa0", "\xff\xfe",
		"e\u200b\u0301", "a" + strings.Repeat("\u0301\u0316", 20), "\u1100\u1161\u11a8", "\u2764\ufe0f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := jsondoc.Normalize(s)
		if !utf8.ValidString(n) {
			t.Fatalf("Normalize(%+q) = %+q; not valid UTF-8", s, n)
		}
		if again := jsondoc.Normalize(n); again != n {
			t.Fatalf("Normalize(%+q) = %+q, but Normalize(%+q) = %+q", s, n, n, again)
		}
		if isASCII(s) && n != s {
			t.Fatalf("Normalize(%+q) = %+q; want ASCII unchanged", s, n)
		}
		for _, r := range n {
			if zeroWidth(r) {
				t.Fatalf("Normalize(%+q) = %+q; holds %U", s, n, r)
			}
		}
		if k, kn := countKept(s), countKept(n); k != kn {
			t.Fatalf("Normalize(%+q) = %+q; %d tag characters and bidi controls, want %d", s, n, kn, k)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// zeroWidth reports the characters Normalize must remove.
func zeroWidth(r rune) bool {
	return 0x200B <= r && r <= 0x200D || 0x2060 <= r && r <= 0x2064 ||
		r == 0xFEFF || r == 0xAD || r == 0x180E || r == 0x34F
}

// countKept counts the tag characters and bidi controls Normalize must
// keep.
func countKept(s string) int {
	n := 0
	for _, r := range s {
		if 0xE0000 <= r && r <= 0xE007F || 0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069 {
			n++
		}
	}
	return n
}
