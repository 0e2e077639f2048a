package policy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// guardedEngine is an engine without policies whose guard protects a
// config, a workspace directory and a database in root, the working
// directory of the upstream "fs" of workspace "w".
func guardedEngine(t testing.TB) (e *policy.Engine, root string) {
	t.Helper()
	root = testdir.New(t)
	files := []string{"gatehouse.yaml", "gatehouse.db", "gatehouse.db-wal", "gatehouse.db-shm", "README.md", "src/main.go"}
	for _, f := range append(files, "workspaces/dev.yaml") {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "gatehouse.yaml"), filepath.Join(root, "innocent.txt")); err != nil {
		t.Fatal(err)
	}
	spec := policy.GuardSpec{
		Files:        []string{filepath.Join(root, "gatehouse.yaml"), filepath.Join(root, "gatehouse.db"), filepath.Join(root, "gatehouse.db-wal"), filepath.Join(root, "gatehouse.db-shm")},
		Dirs:         []string{filepath.Join(root, "workspaces")},
		Bases:        map[string][]string{policy.UpstreamKey("w", "fs"): {root}},
		DefaultBases: []string{"/nonexistent-gateway-cwd"},
		Home:         root,
	}
	e, err := policy.NewEngine(policy.Set{}, policy.Options{Guard: policy.NewGuard(spec)})
	if err != nil {
		t.Fatal(err)
	}
	return e, root
}

func TestGuard(t *testing.T) {
	e, root := guardedEngine(t)
	blocked := []struct{ name, tool, args string }{
		{"absolute", "read_file", `{"path":"ROOT/gatehouse.yaml"}`},
		{"relative", "read_file", `{"path":"gatehouse.yaml"}`},
		{"dot segments", "write_file", `{"path":"./x/../gatehouse.yaml","content":"policies: []"}`},
		{"repeated separators", "read_file", `{"path":"ROOT//gatehouse.yaml"}`},
		{"trailing slash", "read_file", `{"path":"ROOT/gatehouse.yaml/"}`},
		{"upper case", "read_file", `{"path":"ROOT/GATEHOUSE.YAML"}`},
		{"file url", "read", `{"uri":"file://ROOT/gatehouse%2Eyaml"}`},
		{"home", "read_file", `{"path":"~/gatehouse.yaml"}`},
		{"backslashes", "read_file", `{"path":"ROOT\\gatehouse.yaml"}`},
		{"quoted in a command", "run", `{"command":"sed -i s/block/allow/ 'gatehouse.yaml'"}`},
		{"glob", "read_multiple_files", `{"paths":["ROOT/gate*.yaml"]}`},
		{"database wal", "read_file", `{"path":"gatehouse.db-wal"}`},
		{"edit", "edit_file", `{"path":"gatehouse.yaml","edits":[{"oldText":"a","newText":"b"}]}`},
		{"move destination", "move_file", `{"source":"README.md","destination":"gatehouse.yaml"}`},
		{"workspace file", "write_file", `{"path":"workspaces/dev.yaml","content":"x"}`},
		{"new workspace file", "write_file", `{"path":"workspaces/lax.yaml","content":"x"}`},
		{"symbolic link", "read_file", `{"path":"innocent.txt"}`},
		{"moving the directory that holds it", "move_file", `{"source":"ROOT","destination":"/tmp/elsewhere"}`},
		{"rm of the directory", "run", `{"command":"rm -rf ROOT"}`},
		{"brace expansion", "run", `{"command":"cat {README.md,gatehouse.yaml}"}`},
		{"shell escape", "run", `{"command":"cat gate\\house.yaml"}`},
		{"percent-encoded", "read_file", `{"path":"gatehouse%2Eyaml"}`},
		{"dollar home", "read_file", `{"path":"$HOME/gatehouse.yaml"}`},
		{"a new line in a segment", "write_file", `{"path":"ROOT/x\n/../gatehouse.yaml","content":"policies: []"}`},
		{"padded past the bound with ./", "read_file", `{"path":"ROOT/` + strings.Repeat("./", 2100) + `gatehouse.yaml"}`},
		{"padded past the bound with a/..", "read_file", `{"path":"ROOT/` + strings.Repeat("a/../", 1000) + `gatehouse.yaml"}`},
		{"padded with slashes", "read_file", `{"path":"ROOT` + strings.Repeat("/", 5000) + `gatehouse.yaml"}`},
		{"a key of a map of path to content", "write_files", `{"files":{"ROOT/gatehouse.yaml":"policies: []"}}`},
	}
	for _, tc := range blocked {
		t.Run(tc.name, func(t *testing.T) {
			v := evaluateGuarded(t, e, tc.tool, strings.ReplaceAll(tc.args, "ROOT", jsonPath(root)))
			if v.Decision != policy.DecisionBlock || v.Policy != policy.GuardPolicy {
				t.Fatalf("Evaluate(%s %s) = %s by %q; want block by %s", tc.tool, tc.args, v.Decision, v.Policy, policy.GuardPolicy)
			}
			if !strings.Contains(v.Message, "gateway's own files") {
				t.Errorf("Evaluate(%s).Message = %q; want it to say the file is the gateway's own", tc.args, v.Message)
			}
		})
	}
	allowed := []struct{ name, tool, args string }{
		{"ordinary file", "read_file", `{"path":"README.md"}`},
		{"ordinary file, absolute", "read_file", `{"path":"ROOT/src/main.go"}`},
		{"list the directory that holds it", "list_directory", `{"path":"ROOT"}`},
		{"search the directory", "search_files", `{"path":".","pattern":"*"}`},
		{"write a file that mentions it", "write_file", `{"path":"NOTES.md","content":"edit gatehouse.yaml to change the policies"}`},
		{"same name elsewhere", "read_file", `{"path":"/etc/gatehouse.yaml.example"}`},
		{"other upstream, other base", "read_file", `{"path":"README.md"}`},
	}
	for _, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			v := evaluateGuarded(t, e, tc.tool, strings.ReplaceAll(tc.args, "ROOT", jsonPath(root)))
			if v.Decision != policy.DecisionAllow {
				t.Fatalf("Evaluate(%s %s) = %s (%s); want allow", tc.tool, tc.args, v.Decision, v.Reason)
			}
		})
	}
}

// TestGuardBases checks that a relative path is resolved against the
// bases of the call's own upstream.
func TestGuardBases(t *testing.T) {
	e, _ := guardedEngine(t)
	v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "other", Tool: "read_file", Arguments: []byte(`{"path":"gatehouse.yaml"}`)})
	if v.Decision != policy.DecisionAllow {
		t.Errorf("Evaluate(other upstream, relative gatehouse.yaml) = %s; want allow (its base is elsewhere)", v.Decision)
	}
}

func evaluateGuarded(t *testing.T, e *policy.Engine, tool, args string) policy.Verdict {
	t.Helper()
	return e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: tool, Exposed: "fs__" + tool, Arguments: []byte(args)})
}

// jsonPath is p as it goes inside a JSON string.
func jsonPath(p string) string {
	b, _ := json.Marshal(p)
	return string(b[1 : len(b)-1])
}

// No policy switches the guard off: an allow policy of the highest
// priority on every tool does not let a call through to the config.
func TestGuardBeforePolicies(t *testing.T) {
	_, root := guardedEngine(t)
	spec := policy.GuardSpec{Files: []string{filepath.Join(root, "gatehouse.yaml")}, DefaultBases: []string{root}}
	set := policy.Set{Global: []policy.Policy{{Name: "allow-all", Action: policy.ActionAllow, Priority: 1 << 20, Enabled: true}}}
	e, err := policy.NewEngine(set, policy.Options{Guard: policy.NewGuard(spec)})
	if err != nil {
		t.Fatal(err)
	}
	v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: "write_file", Arguments: []byte(`{"path":"gatehouse.yaml","content":"x"}`)})
	if v.Decision != policy.DecisionBlock || v.Policy != policy.GuardPolicy {
		t.Errorf("Evaluate(write_file gatehouse.yaml) under allow-all = %s by %q; want block by %s", v.Decision, v.Policy, policy.GuardPolicy)
	}
	v = e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: "write_file", Arguments: []byte(`{"path":"notes.md","content":"x"}`)})
	if v.Decision != policy.DecisionAllow || v.Policy != "allow-all" {
		t.Errorf("Evaluate(write_file notes.md) = %s by %q; want allow by allow-all", v.Decision, v.Policy)
	}
}

// FuzzGuard holds the guard to its promise on any text around a protected
// path: a command that names the config's absolute path between spaces is
// blocked, whatever comes before and after.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{"cat", "sed -i 's/a/b/'", "{a,b", "$IFS", `"quoted`, "\\", "~"} {
		f.Add(s, s)
	}
	e, root := guardedEngine(f)
	target := filepath.Join(root, "gatehouse.yaml")
	f.Fuzz(func(t *testing.T, before, after string) {
		args, _ := json.Marshal(map[string]string{"command": before + " " + target + " " + after})
		v := e.Evaluate(t.Context(), policy.Call{Workspace: "w", Upstream: "fs", Tool: "run", Arguments: args})
		if v.Decision != policy.DecisionBlock {
			t.Errorf("Evaluate(run %s) = %s; want block", args, v.Decision)
		}
	})
}

// windowsGuard is an engine whose guard protects a gateway's files where
// it keeps them on Windows, %APPDATA%\Gatehouse; the upstream "fs" of
// workspace "w" works in C:\Users\me\projects\app. No file exists: what
// is checked is how the guard reads Windows spellings, on every platform.
func windowsGuard(t testing.TB) *policy.Engine {
	t.Helper()
	dir := `C:\Users\me\AppData\Roaming\Gatehouse`
	spec := policy.GuardSpec{
		Files:        []string{dir + `\gatehouse.yaml`, dir + `\gatehouse.db`, dir + `\gatehouse.db-wal`},
		Dirs:         []string{dir + `\workspaces`},
		Bases:        map[string][]string{policy.UpstreamKey("w", "fs"): {`C:\Users\me\projects\app`}},
		DefaultBases: []string{`C:\Windows\System32`},
		Home:         `C:\Users\me`,
	}
	e, err := policy.NewEngine(policy.Set{}, policy.Options{Guard: policy.NewGuard(spec)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The guard of a gateway on Windows reads every spelling Windows reads as
// its files: drive letters in any case, backslashes, ..\, device and UNC
// paths, the administrative share, the home variables of cmd and
// PowerShell, trailing dots and spaces, alternate data streams and 8.3
// short names.
func TestGuardWindowsPaths(t *testing.T) {
	e := windowsGuard(t)
	const cfg = `C:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`
	blocked := []struct{ name, tool, path string }{
		{"absolute", "read_file", cfg},
		{"slashes and case", "read_file", `c:/users/ME/appdata/ROAMING/gatehouse/Gatehouse.YAML`},
		{"dot segments", "write_file", `C:\Users\me\projects\app\..\..\AppData\Roaming\Gatehouse\.\gatehouse.yaml`},
		{"relative to the upstream", "read_file", `..\..\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"above the drive's root", "read_file", `C:\..\..\..\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"device path", "read_file", `\\?\C:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"device path with a dot", "read_file", `\\.\C:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"NT object path", "read_file", `\??\C:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"administrative share", "read_file", `\\localhost\C$\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"administrative share by address", "read_file", `\\127.0.0.1\c$\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"UNC device path", "read_file", `\\?\UNC\localhost\C$\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"file URL", "read", `file:///C:/Users/me/AppData/Roaming/Gatehouse/gatehouse.yaml`},
		{"APPDATA", "read_file", `%APPDATA%\Gatehouse\gatehouse.yaml`},
		{"appdata in lower case", "read_file", `%appdata%/gatehouse/gatehouse.yaml`},
		{"USERPROFILE", "read_file", `%USERPROFILE%\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"HOMEDRIVE and HOMEPATH", "read_file", `%HOMEDRIVE%%HOMEPATH%\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"PowerShell env", "run", `Get-Content $env:APPDATA\Gatehouse\gatehouse.yaml`},
		{"PowerShell env in braces", "read_file", `${env:USERPROFILE}\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"tilde", "read_file", `~\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"trailing dot", "write_file", cfg + `.`},
		{"trailing dots and spaces", "write_file", cfg + `. . `},
		{"dot after a directory", "read_file", `C:\Users\me\AppData\Roaming\Gatehouse.\gatehouse.yaml`},
		{"space after a directory", "read_file", `C:\Users\me\AppData\Roaming\Gatehouse \gatehouse.yaml`},
		{"data stream", "read_file", cfg + `::$DATA`},
		{"named stream", "write_file", cfg + `:Zone.Identifier:$DATA`},
		{"short names", "read_file", `C:\Users\me\AppData\Roaming\GATEHO~1\GATEHO~1.YAM`},
		{"short name of the database", "read_file", `C:\Users\me\APPDAT~1\Roaming\Gatehouse\GATEHO~1.DB`},
		{"new workspace file", "write_file", `C:\Users\me\AppData\Roaming\Gatehouse\Workspaces\lax.yaml`},
		{"workspace file by short name", "write_file", `%APPDATA%\Gatehouse\WORKSP~1\lax.yaml`},
		{"glob", "read_multiple_files", `C:\Users\me\AppData\Roaming\Gatehouse\*.yaml`},
		{"in a command", "run", `type "C:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml"`},
		{"copy in cmd", "run", `copy %APPDATA%\Gatehouse\gatehouse.db C:\Temp\x`},
		{"moving the directory", "move_file", `C:\Users\me\AppData\Roaming\Gatehouse`},
	}
	for _, tc := range blocked {
		t.Run(tc.name, func(t *testing.T) {
			args := `{"path":"` + jsonPath(tc.path) + `","content":"x"}`
			v := evaluateGuarded(t, e, tc.tool, args)
			if v.Decision != policy.DecisionBlock || v.Policy != policy.GuardPolicy {
				t.Fatalf("Evaluate(%s %s) = %s by %q; want block by %s", tc.tool, args, v.Decision, v.Policy, policy.GuardPolicy)
			}
		})
	}
	allowed := []struct{ name, tool, path string }{
		{"a project file", "read_file", `C:\Users\me\projects\app\README.md`},
		{"relative project file", "read_file", `src\main.go`},
		{"another application's settings", "read_file", `%APPDATA%\Code\User\settings.json`},
		{"list the directory that holds it", "list_directory", `C:\Users\me\AppData\Roaming\Gatehouse`},
		{"same path on another drive", "read_file", `D:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"another share", "read_file", `\\fileserver\c$\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml`},
		{"a look-alike name", "read_file", `C:\Users\me\AppData\Roaming\Gatehouse\gatehouse.yaml.example`},
		{"a short name of something else", "read_file", `C:\Users\me\AppData\Roaming\Gatehouse\README~1.TXT`},
	}
	for _, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			args := `{"path":"` + jsonPath(tc.path) + `"}`
			if v := evaluateGuarded(t, e, tc.tool, args); v.Decision != policy.DecisionAllow {
				t.Fatalf("Evaluate(%s %s) = %s (%s); want allow", tc.tool, args, v.Decision, v.Reason)
			}
		})
	}
}

// FuzzGuardWindows holds the guard of a gateway on Windows to its promise
// on any spelling of the config's path Windows reads as it: each
// segment's case changed, separators swapped, dots and spaces added after
// a segment, and a stream added, in any mix the fuzzer finds.
func FuzzGuardWindows(f *testing.F) {
	f.Add(uint64(0), uint8(0), "")
	f.Add(uint64(0xdeadbeef), uint8(3), "::$DATA")
	f.Add(uint64(1<<40-1), uint8(7), ":x")
	e := windowsGuard(f)
	prefixes := []string{`C:\`, `c:/`, `\\?\C:\`, `\\.\c:/`, `\\localhost\C$\`, `file:///C:/`, `C:\Windows\..\`, `\??\C:\`}
	segs := []string{"Users", "me", "AppData", "Roaming", "Gatehouse", "gatehouse.yaml"}
	f.Fuzz(func(t *testing.T, bits uint64, prefix uint8, stream string) {
		if strings.ContainsAny(stream, "/\\\x00\"'`") || len(stream) > 20 || stream != "" && stream[0] != ':' {
			return
		}
		var b strings.Builder
		b.WriteString(prefixes[int(prefix)%len(prefixes)])
		for i, s := range segs {
			r := bits >> (i * 6)
			if r&1 != 0 {
				s = strings.ToUpper(s)
			}
			if r&2 != 0 {
				s = strings.ToLower(s)
			}
			b.WriteString(s)
			if r&4 != 0 {
				b.WriteString(".")
			}
			if r&8 != 0 && i < len(segs)-1 {
				b.WriteString(" ")
			}
			switch {
			case i == len(segs)-1:
			case r&16 != 0:
				b.WriteString("/")
			default:
				b.WriteString(`\`)
			}
		}
		b.WriteString(stream)
		args, _ := json.Marshal(map[string]string{"path": b.String()})
		if v := evaluateGuarded(t, e, "read_file", string(args)); v.Decision != policy.DecisionBlock {
			t.Errorf("Evaluate(read_file %s) = %s; want block", args, v.Decision)
		}
	})
}
