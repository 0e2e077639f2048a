package detect

import (
	"strings"
	"testing"
)

// Every sensitive name of the table, and each of its examples, holds one
// of the anchors that let a path word through to the full check — in the
// spellings the check understands: bare, under a directory, rooted.
func TestPathAnchors(t *testing.T) {
	for _, name := range sensitiveNames {
		forms := [][]string{name.segs}
		forms = append(forms, name.examples...)
		for _, segs := range forms {
			if strings.ContainsAny(strings.Join(segs, ""), "*?[") {
				continue // the examples stand for it
			}
			for _, w := range []string{strings.Join(segs, "/"), "/" + strings.Join(segs, "/"), "~/" + strings.Join(segs, "/"), "C:/Users/me/" + strings.Join(segs, "/")} {
				if !mayNameSensitive(w) || !mayNameSensitive(strings.ToUpper(w)) {
					t.Errorf("%q holds no anchor: it would never be checked", w)
				}
			}
		}
	}
	for _, w := range []string{"src/server/handler.go", "docs/README.md", "memory.go", "keyboard", "environment", "system.go"} {
		if mayNameSensitive(w) {
			t.Errorf("%q is let through to the full check; want it skipped", w)
		}
	}
}
