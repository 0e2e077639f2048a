package policy_test

import (
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

func TestCanonicalURI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"file:///etc/passwd", "file:///etc/passwd"},
		{"file:///tmp/../etc/passwd", "file:///etc/passwd"},
		{"file:////etc//passwd", "file:///etc/passwd"},
		{"file:///./etc/./passwd", "file:///etc/passwd"},
		{"file:///%65tc/passwd", "file:///etc/passwd"},
		{"file:///tmp/%2e%2e/etc/passwd", "file:///etc/passwd"},
		{"FILE://LOCALHOST/etc/passwd", "file:///etc/passwd"},
		{"file:///etc/", "file:///etc/"},
		{"file:///../../etc/shadow", "file:///etc/shadow"},
		{"demo://resource/dynamic/text/1", "demo://resource/dynamic/text/1"},
		{"memory://knowledge-graph", "memory://knowledge-graph"},
		{"https://Example.COM/a/../b?q=1#f", "https://example.com/b?q=1#f"},
		{"mailto:someone@example.com", "mailto:someone@example.com"},
		{"not a uri %zz", "not a uri %zz"},
	} {
		if got := policy.CanonicalURI(tc.in); got != tc.want {
			t.Errorf("CanonicalURI(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzCanonicalURI: any input gives an answer, and the answer is a fixed
// point (canonical twice is canonical once).
func FuzzCanonicalURI(f *testing.F) {
	for _, s := range []string{"file:///tmp/../etc/passwd", "file:////x", "http://h/%2e%2e/", "a:b", "::", "file://localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := policy.CanonicalURI(s)
		if twice := policy.CanonicalURI(once); twice != once {
			t.Errorf("CanonicalURI(%q) = %q, then %q", s, once, twice)
		}
	})
}

func TestResourceArguments(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"file:///etc/hosts", `{"uri":"file:///etc/hosts"}`},
		{"file:///%65tc/hosts", `{"uri":"file:///%65tc/hosts","resolved_uri":"file:///etc/hosts"}`},
	} {
		if got := string(policy.ResourceArguments(tc.uri)); got != tc.want {
			t.Errorf("ResourceArguments(%q) = %s; want %s", tc.uri, got, tc.want)
		}
	}
}
