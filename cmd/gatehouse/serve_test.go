package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// gatehouseBinary builds this command once per test binary.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gatehouse")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// logWatcher collects a process's stderr and lets a test wait for a line.
type logWatcher struct {
	mu    sync.Mutex
	lines []string
}

func (w *logWatcher) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		w.mu.Lock()
		w.lines = append(w.lines, sc.Text())
		w.mu.Unlock()
	}
}

func (w *logWatcher) find(re *regexp.Regexp) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	return nil
}

func (w *logWatcher) wait(t *testing.T, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m := w.find(re); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Fatalf("no log line matching %s within %v; log:\n%s", re, d, strings.Join(w.lines, "\n"))
	return nil
}

// writeConfig writes a config with one workspace w whose upstreams are
// stdio test servers, one per name.
func writeConfig(t *testing.T, path string, names ...string) {
	t.Helper()
	cmd, args := upstreamtest.StdioCommand(t)
	var b strings.Builder
	b.WriteString("version: 1\nworkspaces:\n  w:\n    upstreams:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "      - name: %s\n        command: %q\n        args: [", n, cmd)
		for i, a := range args {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", a)
		}
		b.WriteString("]\n")
	}
	writeAtomically(t, path, b.String())
}

// writeAtomically replaces path as editors do: write a temporary file,
// rename it over the old one.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func toolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// The config is reloaded when its file changes and on SIGHUP; an invalid
// file is rejected and the running config keeps serving; SIGTERM ends the
// process with status 0 and its children with it.
func TestServeReloadAndSignals(t *testing.T) {
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	writeConfig(t, cfgPath, "a")

	proc, logs, c := startServeHTTP(t, bin, cfgPath)
	if names := toolNames(t, c); !slices.Contains(names, "a__echo") || slices.Contains(names, "b__echo") {
		t.Fatalf("tools before reload = %v", names)
	}

	writeConfig(t, cfgPath, "a", "b")
	logs.wait(t, regexp.MustCompile(`msg="config reloaded"`), 10*time.Second)
	waitUntil(t, "b__echo after the file changed", func() bool { return slices.Contains(toolNames(t, c), "b__echo") })

	writeAtomically(t, cfgPath, "version: 1\nworkspaces:\n  w:\n    upstreams:\n      - name: a\n        commnd: nope\n")
	logs.wait(t, regexp.MustCompile(`config reload rejected.*commnd`), 10*time.Second)
	if names := toolNames(t, c); !slices.Contains(names, "a__echo") || !slices.Contains(names, "b__echo") {
		t.Fatalf("tools after a rejected reload = %v; want the old config's", names)
	}

	writeConfig(t, cfgPath, "c") // written, then forced again by SIGHUP
	if err := proc.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "only c's tools after SIGHUP", func() bool {
		names := toolNames(t, c)
		return slices.Contains(names, "c__echo") && !slices.Contains(names, "a__echo")
	})

	children := childPIDs(proc.Process.Pid)
	if len(children) == 0 {
		t.Fatalf("found no upstream child processes of the gateway")
	}
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(); err != nil {
		t.Fatalf("gateway exit after SIGTERM: %v; want status 0", err)
	}
	for _, pid := range children {
		if processAlive(pid) {
			t.Errorf("upstream child %d outlived the gateway", pid)
		}
	}
}

// startServeHTTP runs `gatehouse serve --config cfgPath --http
// 127.0.0.1:0`, waits until it listens, and connects an initialised client
// to workspace w. The process is killed and the client closed when the
// test ends.
func startServeHTTP(t *testing.T, bin, cfgPath string) (*exec.Cmd, *logWatcher, *client.Client) {
	t.Helper()
	proc := exec.Command(bin, "serve", "--config", cfgPath, "--http", "127.0.0.1:0")
	stderr, _ := proc.StderrPipe()
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
	logs := &logWatcher{}
	go logs.read(stderr)
	addr := logs.wait(t, regexp.MustCompile(`msg=listening addr=(\S+)`), 30*time.Second)[1]

	c := dialWorkspace(t, addr)
	return proc, logs, c
}

// writeConfigText writes body as the gatehouse.yaml of a fresh directory
// and returns its path.
func writeConfigText(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		var child int
		if _, err := fmt.Sscanf(e.Name(), "%d", &child); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut after ')'.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		var ppid int
		if len(fields) > 1 {
			fmt.Sscanf(fields[1], "%d", &ppid)
		}
		if ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// --config wins over $GATEHOUSE_CONFIG, which wins over ./gatehouse.yaml.
func TestConfigPathOrder(t *testing.T) {
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	write := func(name, ws string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("version: 1\nworkspaces:\n  "+ws+":\n    upstreams: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagFile := write("flag.yaml", "fromflag")
	envFile := write("env.yaml", "fromenv")
	check := func(t *testing.T, env, want string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"check"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GATEHOUSE_CONFIG="+env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("check %v: %v\n%s", args, err, out)
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("check %v read %s; want %s", args, out, want)
		}
	}
	check(t, envFile, "env.yaml") // no flag, no ./gatehouse.yaml
	write("gatehouse.yaml", "fromcwd")
	check(t, envFile, "env.yaml")                        // the variable before ./gatehouse.yaml
	check(t, "", "gatehouse.yaml")                       // ./gatehouse.yaml when the variable is empty
	check(t, envFile, "flag.yaml", "--config", flagFile) // the flag before both
}

// With no flag, no variable and no ./gatehouse.yaml, the config is
// gatehouse.yaml in the user's config folder — %APPDATA%\gatehouse,
// ~/Library/Application Support/gatehouse, ~/.config/gatehouse — and the
// error without one names where it was looked for.
func TestConfigPathUserFolder(t *testing.T) {
	bin := gatehouseBinary(t)
	dir, home, appData := t.TempDir(), t.TempDir(), t.TempDir()
	user := map[string]string{
		"windows": filepath.Join(appData, "gatehouse", "gatehouse.yaml"),
		"darwin":  filepath.Join(home, "Library", "Application Support", "gatehouse", "gatehouse.yaml"),
	}[runtime.GOOS]
	if user == "" {
		user = filepath.Join(home, ".config", "gatehouse", "gatehouse.yaml")
	}
	check := func() (string, error) {
		cmd := exec.Command(bin, "check")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GATEHOUSE_CONFIG=", "HOME="+home, "USERPROFILE="+home, "XDG_CONFIG_HOME=", "APPDATA="+appData)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err == nil || !strings.Contains(out, user) {
		t.Fatalf("check without a config: %v\n%s\nwant an error naming %s", err, out, user)
	}
	if err := os.MkdirAll(filepath.Dir(user), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, []byte("version: 1\nworkspaces:\n  mine:\n    upstreams: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err != nil || !strings.Contains(out, user) {
		t.Errorf("check with %s: %v\n%s", user, err, out)
	}
	// ./gatehouse.yaml still comes first.
	cwd := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cwd, []byte("version: 1\nworkspaces:\n  here:\n    upstreams: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err != nil || strings.Contains(out, user) || !strings.Contains(out, "gatehouse.yaml") {
		t.Errorf("check with ./gatehouse.yaml and %s: %v\n%s\nwant ./gatehouse.yaml read", user, err, out)
	}
}

// check --connect fails on a tool name two upstreams would share, but only
// notes a shared resource URI, which config cannot rename.
func TestCheckConnectConflicts(t *testing.T) {
	bin := gatehouseBinary(t)
	cmd, args := upstreamtest.StdioCommand(t)
	for _, tc := range []struct {
		name     string
		prefix   bool
		wantCode int
		want     string
	}{
		{"prefixed: resources only", true, 0, "note  resource"},
		{"bare: tools clash", false, 2, "CONFLICT tool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gatehouse.yaml")
			var b strings.Builder
			b.WriteString("version: 1\nworkspaces:\n  w:\n    upstreams:\n")
			for _, n := range []string{"a", "b"} {
				fmt.Fprintf(&b, "      - name: %s\n        prefix: %v\n        command: %q\n        args: [", n, tc.prefix, cmd)
				for i, a := range args {
					if i > 0 {
						b.WriteString(", ")
					}
					fmt.Fprintf(&b, "%q", a)
				}
				b.WriteString("]\n")
			}
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "check", "--connect", "--config", path).CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode || !strings.Contains(string(out), tc.want) {
				t.Errorf("check --connect exit %d, output:\n%s\nwant exit %d and %q", code, out, tc.wantCode, tc.want)
			}
		})
	}
}
