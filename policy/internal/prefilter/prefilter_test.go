package prefilter

import (
	"strings"
	"testing"
)

// TestBigramsRefill checks that a set refilled again and again, past the
// wrap of its epoch, holds the pairs of its last text and no others.
func TestBigramsRefill(t *testing.T) {
	var b Bigrams
	for i := range 600 {
		text := "abc"
		if i%2 == 1 {
			text = "xyz"
		}
		b.Fill(text)
		for _, tt := range []struct {
			lit  string
			want bool
		}{{"ab", i%2 == 0}, {"abc", i%2 == 0}, {"xy", i%2 == 1}, {"yz", i%2 == 1}, {"bx", false}, {"a", true}, {"", true}} {
			if got := b.MayContain(tt.lit); got != tt.want {
				t.Fatalf("fill %d (%q): mayContain(%q) = %v; want %v", i, text, tt.lit, got, tt.want)
			}
		}
	}
}

// A pattern with no single required literal but an alternation of them
// is screened by the set: a text with none of them never runs the regexp.
func TestAnyOfScreen(t *testing.T) {
	p, err := Compile(`(?i)(^|["'\s/\\=])(\.env(\.(local|prod))?|\.netrc|id_(rsa|ed25519)|[\w.-]+\.(pem|key))(["';|&)]|$)|\.(ssh|gnupg)[/\\]|/etc/(shadow|sudoers)\b`)
	if err != nil {
		t.Fatal(err)
	}
	if p.lit != "" || len(p.anyOf) == 0 {
		t.Fatalf("literal %q, any of %v; want a set of alternatives", p.lit, p.anyOf)
	}
	for text, want := range map[string]bool{
		`{"message":"hello"}`:                  false,
		`{"path":"/home/a/.ssh/id_rsa"}`:       true,
		`{"cat":"/ETC/SHADOW"}`:                true,
		`{"file":"deploy.KEY"}`:                true,
		`{"note":"the key to success"}`:        false,
		`{"path":"/srv/app/.env.prod"}`:        true,
		`{"path":"/srv/app/environment.yaml"}`: false,
	} {
		lower := strings.ToLower(text)
		var g Bigrams
		g.Fill(lower)
		if got := p.Match(text, func() string { return lower }, func() *Bigrams { return &g }); got != want {
			t.Errorf("match(%s) = %v; want %v", text, got, want)
		}
		if screened := !p.mayMatchAnyOf(text, func() string { return lower }, nil); want && screened {
			t.Errorf("the screen refused %s, which matches", text)
		}
	}
	if p.mayMatchAnyOf(`{"message":"hello"}`, func() string { return `{"message":"hello"}` }, nil) {
		t.Error("the screen let a text with none of the literals through")
	}
}
