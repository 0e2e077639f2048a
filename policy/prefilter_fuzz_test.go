package policy

import (
	"strings"
	"testing"
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
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		p, err := compilePattern(expr)
		if err != nil {
			return
		}
		text = Normalize(text)
		lower := strings.ToLower(text)
		var g bigrams
		g.fill(lower)
		want := p.re.MatchString(text)
		got := p.match(text, func() string { return lower }, func() *bigrams { return &g })
		if got != want {
			t.Errorf("pattern %q (literal %q, fold %v) on %q = %v; the regexp alone says %v", expr, p.lit, p.fold, text, got, want)
		}
	})
}

// FuzzGlob checks that any glob a config may hold compiles or fails
// cleanly, and matches any name without panicking, case-insensitively.
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{{"execute_*", "Execute_Command"}, {"*sql*", "db__run_SQL"}, {"[a-", "x"}, {"{a,b}*", "bz"}, {"**", ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		var errs int
		gs := compileGlobs([]string{pattern}, "tools", func(string, string, error) { errs++ })
		if len(gs) == 0 {
			if errs == 0 {
				t.Errorf("glob %q neither compiled nor reported", pattern)
			}
			return
		}
		if gs[0].Match(strings.ToLower(name)) != matchAny(gs, strings.ToUpper(name)) && strings.ToLower(strings.ToUpper(name)) == strings.ToLower(name) {
			t.Errorf("glob %q matches %q differently by case", pattern, name)
		}
	})
}
