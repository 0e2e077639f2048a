package prefilter

import (
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/internal/jsondoc"
)

// FuzzPattern checks that the literal screen in front of a regexp never
// changes its answer: a pattern matches a (normalised) text exactly when
// the regexp alone does.
func FuzzPattern(f *testing.F) {
	for _, seed := range [][2]string{
		{`"env":"prod`, `{"env":"production"}`},
		{`(?i)\btable_1\b`, `DROP TABLE_1;`},
		{`(?i)drop\s+table`, `DrOp   TaBlE x`},
		{`\b\d{3}-\d{2}-\d{4}\b`, `ssn 123-45-6789`},
		{`(ab)+c|d`, `xxababcx`},
		{`(?i)k`, "\u212a"},
		{`(?i)straße`, `STRASSE`},
		{`a{2,}b`, `aab`},
		{`(?i)ſ`, `S`},
		{`(?i)(^|/)(\.env|\.netrc|id_(rsa|dsa))($|")`, `{"path":"/home/a/.ssh/ID_RSA"}`},
		{`foo|bar\d|(?i)baz`, `xBAZx`},
		{`(a|b)(cd|ef)+`, `zbefcd`},
		{`x(?:abc|ab)?y|qq`, `xy`},
		{`\.(ssh|gnupg)[/\\]|/etc/(shadow|sudoers)\b`, `/ETC/sudoers`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		p, err := Compile(expr)
		if err != nil {
			return
		}
		text = jsondoc.Normalize(text)
		lower := strings.ToLower(text)
		var g Bigrams
		g.Fill(lower)
		want := p.re.MatchString(text)
		got := p.Match(text, func() string { return lower }, func() *Bigrams { return &g })
		if got != want {
			t.Errorf("pattern %q (literal %q, fold %v, any of %v) on %q = %v; the regexp alone says %v", expr, p.lit, p.fold, p.anyOf, text, got, want)
		}
	})
}

// FuzzToLower checks the fast lower-casing against strings.ToLower.
func FuzzToLower(f *testing.F) {
	for _, seed := range []string{"", "a", "ABC", `{"SQL":"SELECT * FROM Orders WHERE id = 1"}`, "already lower case text", "Straße ÄÖÜ", "MiXeD CaSe 12345678Z", "\xff\xfeABCDEFGH", "ABCDEFGH\u212a"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ToLower(s), strings.ToLower(s); got != want {
			t.Errorf("ToLower(%q) = %q; want %q", s, got, want)
		}
	})
}

// FuzzFillLower checks that the Bigrams of a text lower-cased on the fly
// are those of strings.ToLower, whenever fillLower says it could.
func FuzzFillLower(f *testing.F) {
	for _, seed := range []string{"", "A", "Ab", `{"SQL":"DROP TABLE x"}`, "ÄB", "ab\u212a", "x\xffY"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want Bigrams
		got.Fill("SOME Earlier Text") // a set is refilled, not cleared
		ascii := got.FillLower(s)
		if ascii != isASCII(s) {
			t.Fatalf("fillLower(%q) = %v; want %v", s, ascii, isASCII(s))
		}
		if !ascii {
			return
		}
		want.Fill(strings.ToLower(s))
		for k := range got.seen {
			if in, wantIn := got.seen[k] == got.epoch, want.seen[k] == want.epoch; in != wantIn {
				t.Fatalf("fillLower(%q) has pair %q: %v; fill(strings.ToLower(%q)) has it: %v", s, []byte{byte(k >> 8), byte(k)}, in, s, wantIn)
			}
		}
	})
}
