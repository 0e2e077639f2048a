package detect_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/policy/detect"
)

var update = flag.Bool("update", false, "rewrite README.md's detector table from the table of kinds")

// readme is README.md at the root of the module.
const readme = "../../README.md"

// readmeHeader opens the detector table in README.md; the table runs from
// it to the first line that is not a row.
const readmeHeader = "| detector | kind | severity | finds |\n|---|---|---|---|\n"

// renderKinds renders the table of kinds as README.md presents it. A | or
// < in a description is escaped, or Markdown would take it for a new cell
// or an HTML tag (<IMPORTANT> would vanish).
func renderKinds() string {
	var b strings.Builder
	b.WriteString(readmeHeader)
	for _, k := range detect.Kinds() {
		desc := markdownEscaper.Replace(k.Description)
		fmt.Fprintf(&b, "| `%s` | `%s` | %.2f | %s |\n", k.Threat, k.Kind, k.Severity, desc)
	}
	return b.String()
}

var markdownEscaper = strings.NewReplacer("|", `\|`, "<", `\<`)

// kindsSection returns where the detector table starts and ends in doc.
func kindsSection(doc []byte) (start, end int, ok bool) {
	start = bytes.Index(doc, []byte(readmeHeader))
	if start < 0 {
		return 0, 0, false
	}
	end = start + len(readmeHeader)
	for end < len(doc) && doc[end] == '|' {
		nl := bytes.IndexByte(doc[end:], '\n')
		if nl < 0 {
			end = len(doc)
			break
		}
		end += nl + 1
	}
	return start, end, true
}

// TestREADMEKinds checks that README.md's detector table is the table of
// kinds. With -update it rewrites the README's table instead:
//
//	go test ./policy/detect -run TestREADMEKinds -update
func TestREADMEKinds(t *testing.T) {
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatalf("read the README: %v", err)
	}
	start, end, ok := kindsSection(doc)
	if !ok {
		t.Fatalf("README.md has no detector table (a line %q)", strings.SplitN(readmeHeader, "\n", 2)[0])
	}
	want := renderKinds()
	got := string(doc[start:end])
	if got == want {
		return
	}
	if *update {
		out := append(append(append([]byte{}, doc[:start]...), want...), doc[end:]...)
		if err := os.WriteFile(readme, out, 0o644); err != nil {
			t.Fatalf("rewrite the README: %v", err)
		}
		t.Logf("rewrote README.md's detector table")
		return
	}
	t.Errorf("README.md's detector table differs from the table of kinds (policy/detect/kinds.go); run go test ./policy/detect -run TestREADMEKinds -update\n%s", lineDiff(got, want))
}

// lineDiff lists the lines of got that want lacks (-) and of want that
// got lacks (+), in order.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	inG, inW := map[string]bool{}, map[string]bool{}
	for _, l := range g {
		inG[l] = true
	}
	for _, l := range w {
		inW[l] = true
	}
	var b strings.Builder
	for _, l := range g {
		if !inW[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range w {
		if !inG[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	if b.Len() == 0 {
		b.WriteString("(the same lines, in another order)\n")
	}
	return b.String()
}

// TestKindsFound checks that the table tests find every kind of the
// table, so that no row documents a kind nothing returns.
func TestKindsFound(t *testing.T) {
	found := map[string]bool{}
	for _, tt := range detectCases() {
		for _, w := range tt.want {
			kind, _, _ := strings.Cut(w, ":")
			found[kind] = true
		}
	}
	for _, k := range detect.Kinds() {
		if !found[k.Kind] {
			t.Errorf("no table test finds kind %q", k.Kind)
		}
	}
}
