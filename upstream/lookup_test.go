package upstream

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
)

// TestLookCommandWindows finds commands as Windows does, in real
// directories: npm puts npx (a shell script), npx.cmd and npx.ps1 side by
// side, and a Windows client must run npx.cmd.
func TestLookCommandWindows(t *testing.T) {
	root := testdir.New(t)
	nodeDir := filepath.Join(root, "nodejs")
	sysDir := filepath.Join(root, "System32")
	binDir := filepath.Join(root, "bin")
	for _, f := range []string{
		filepath.Join(nodeDir, "npx"), filepath.Join(nodeDir, "npx.cmd"), filepath.Join(nodeDir, "npx.ps1"),
		filepath.Join(nodeDir, "node.exe"),
		filepath.Join(sysDir, "where.exe"), filepath.Join(sysDir, "tool.bat"),
		filepath.Join(binDir, "tool.exe"), filepath.Join(binDir, "mcp.server.cmd"), filepath.Join(binDir, "run.py"),
	} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(binDir, "dir.exe"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := []string{nodeDir, sysDir, binDir}
	for _, tc := range []struct {
		name, pathext, want, wantErr string
	}{
		{name: "npx", want: filepath.Join(nodeDir, "npx.cmd")},
		{name: "npx", pathext: ".COM;.EXE;.BAT;.CMD;.VBS;.JS", want: filepath.Join(nodeDir, "npx.cmd")},
		{name: "npx.cmd", want: filepath.Join(nodeDir, "npx.cmd")},
		{name: "node", want: filepath.Join(nodeDir, "node.exe")},
		// PATH order decides: System32 comes before bin.
		{name: "tool", want: filepath.Join(sysDir, "tool.bat")},
		// PATHEXT order decides within a directory, and an extension
		// PATHEXT lacks is never added.
		{name: "tool", pathext: ".EXE", want: filepath.Join(binDir, "tool.exe")},
		{name: "npx", pathext: ".PS1", want: filepath.Join(nodeDir, "npx.ps1")},
		{name: "npx", pathext: ".EXE", wantErr: "not found"},
		// A dot in the name is not an extension PATHEXT knows.
		{name: "mcp.server", want: filepath.Join(binDir, "mcp.server.cmd")},
		// A file with an extension outside PATHEXT named in full is found.
		{name: "run.py", want: filepath.Join(binDir, "run.py")},
		// A directory is not a command.
		{name: "dir", wantErr: "not found"},
		// A name with a directory is looked up there only.
		{name: filepath.Join(binDir, "tool"), want: filepath.Join(binDir, "tool.exe")},
		{name: filepath.Join(binDir, "npx"), wantErr: "no such executable"},
		{name: `.\npx`, wantErr: "no such executable"},
		// A relative one is relative to the child's directory, and stays
		// relative (exec resolves it against that directory).
		{name: filepath.Join("bin", "tool"), want: filepath.Join("bin", "tool.exe")},
		{name: filepath.Join("nodejs", "npx"), want: filepath.Join("nodejs", "npx.cmd")},
		{name: "missing", wantErr: "not found"},
		{name: "", wantErr: "empty command"},
	} {
		got, err := lookCommand(tc.name, root, path, tc.pathext, isRegular)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("lookCommand(%q, PATHEXT=%q) = %q, %v; want an error containing %q", tc.name, tc.pathext, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("lookCommand(%q, PATHEXT=%q) = %q, %v; want %q", tc.name, tc.pathext, got, err, tc.want)
		}
	}
	// The current directory is not searched: a file dropped there does
	// not stand in for a command.
	t.Chdir(binDir)
	if got, err := lookCommand("tool", binDir, []string{nodeDir}, "", isRegular); err == nil {
		t.Errorf("lookCommand found %q in the current directory; want not found", got)
	}
	// Nor is a relative PATH entry (".", "bin").
	t.Chdir(root)
	if got, err := lookCommand("tool", root, []string{".", "bin", nodeDir}, "", isRegular); err == nil {
		t.Errorf("lookCommand found %q through a relative PATH entry; want not found", got)
	}
}

func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func TestWindowsPathList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`C:\Windows\system32;C:\Windows;C:\Program Files\nodejs\`, []string{`C:\Windows\system32`, `C:\Windows`, `C:\Program Files\nodejs\`}},
		{`C:\a;;C:\b;`, []string{`C:\a`, `C:\b`}},
		{`"C:\odd;dir";C:\b`, []string{`C:\odd;dir`, `C:\b`}},
		{``, nil},
	} {
		if got := windowsPathList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("windowsPathList(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestEnvValueIgnoresCase(t *testing.T) {
	env := []string{`PATH=C:\Windows`, "PATHEXT=.EXE", `Path=C:\nodejs`}
	if got := envValue(env, "PATH"); got != `C:\nodejs` {
		t.Errorf("envValue(PATH) = %q; want the Spec's later Path entry", got)
	}
	if got := envValue(env, "pathext"); got != ".EXE" {
		t.Errorf("envValue(pathext) = %q; want .EXE", got)
	}
	if got := envValue(env, "HOME"); got != "" {
		t.Errorf("envValue(HOME) = %q; want empty", got)
	}
}

// TestInheritedEnv: a child gets PATH and HOME of the gateway; on Windows
// also what a Windows program needs to start, and on no platform anything
// that could carry a secret.
func TestInheritedEnv(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		got := inheritedEnv(goos)
		for _, want := range []string{"PATH", "HOME"} {
			if !slices.Contains(got, want) {
				t.Errorf("%s: inheritedEnv lacks %s", goos, want)
			}
		}
		for _, name := range got {
			u := strings.ToUpper(name)
			for _, secret := range []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "AWS", "ANTHROPIC", "OPENAI"} {
				if strings.Contains(u, secret) {
					t.Errorf("%s: inheritedEnv passes %s", goos, name)
				}
			}
		}
	}
	win := inheritedEnv("windows")
	for _, want := range []string{"SystemRoot", "ComSpec", "PATHEXT", "APPDATA", "LOCALAPPDATA", "USERPROFILE", "TEMP", "TMP", "SystemDrive", "windir"} {
		if !slices.Contains(win, want) {
			t.Errorf("windows: inheritedEnv lacks %s", want)
		}
	}
	if unix := inheritedEnv("linux"); len(unix) != 2 || slices.Contains(unix, "SystemRoot") {
		t.Errorf("linux: inheritedEnv = %q; want PATH and HOME only", unix)
	}
}
