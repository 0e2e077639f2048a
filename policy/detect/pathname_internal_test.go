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

// The anchors never hide a word the full check would find: whatever a
// word is, if it names a sensitive file it reaches that check.
func FuzzAnchorsNeverHide(f *testing.F) {
	for _, s := range []string{"~/.ssh/id_rsa", "/ETC/SHA\\DOW", `C:\Users\me\.aws\credentials`, "~/.ss?/id_*", "[.]env", "%2Fetc%2Fshadow", ".s''sh/x", "os.Args[1]", "~/.{ssh,aws}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, w string) {
		if len(w) > maxPathWord || w == "" {
			return
		}
		if sensitiveWord(w) && !mayNameSensitive(w) {
			t.Errorf("%q names a sensitive file, but mayNameSensitive skips it", w)
		}
	})
}
