package policy

import (
	"strings"
	"testing"
)

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
