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

// FuzzWindowsSpelling holds the sensitive-name matcher to its rule that a
// Windows path names what its POSIX counterpart names: a path under the
// home directory that is sensitive spelled ~/… is sensitive spelled with
// a drive letter, backslashes and another case, %USERPROFILE% or a
// device path, and with a trailing dot or an alternate data stream; and
// a benign path under a project is benign under a drive.
func FuzzWindowsSpelling(f *testing.F) {
	for _, s := range []string{".aws/credentials", ".ssh/id_rsa", ".netrc", "a/.env.local", "src/main.go", ".env.example", ".ss?/id_*", "x/server.pem"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || len(s) > 200 || strings.HasPrefix(s, "/") || strings.Contains(s, "..") || strings.ContainsFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/*?", r))
		}) {
			return
		}
		win := strings.ReplaceAll(s, "/", `\`)
		spellings := []string{`C:\Users\me\` + win, `c:/USERS/ME/` + strings.ToUpper(s), `%USERPROFILE%\` + win, `\\?\C:\Users\me\` + win}
		if !strings.HasSuffix(s, "/") && !strings.HasSuffix(s, ".") {
			spellings = append(spellings, `C:\Users\me\`+win+".", `C:\Users\me\`+win+"::$DATA")
		}
		want := sensitiveWord("~/" + s)
		for _, w := range spellings {
			if want && !sensitiveWord(w) {
				t.Errorf("sensitiveWord(%q) found no sensitive_file; ~/%s is one", w, s)
			}
		}
		if !want && !strings.ContainsAny(s, "*?") && !strings.HasSuffix(strings.ToLower(s), ".pub") {
			if w := `D:/proj/` + s; sensitiveWord(w) && !sensitiveWord("/proj/"+s) {
				t.Errorf("sensitiveWord(%q) found a sensitive_file; /proj/%s is none", w, s)
			}
		}
	})
}
