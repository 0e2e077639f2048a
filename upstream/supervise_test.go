package upstream_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/mcp"
)

// These tests run a real stdio child (the compiled upstreamtest server)
// under a supervised Conn. They run on Linux and, as Windows test binaries
// under Wine, with a prebuilt server.exe (scripts/wine-test.sh), so they
// check the process group on one and the Job Object on the other.

// waitUntil polls cond every 50 ms until it holds, or fails the test after
// limit.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stdioSpec(t *testing.T, extra ...string) upstream.Spec {
	cmd, args := upstreamtest.StdioCommand(t)
	return upstream.Spec{Name: "kid", Transport: upstream.TransportStdio, Command: cmd, Args: append(args, extra...)}
}

func echo(t *testing.T, c *upstream.Conn, msg string) (string, error) {
	t.Helper()
	res, err := callTool(t, c, upstreamtest.ToolEcho, map[string]any{"message": msg})
	if err != nil {
		return "", err
	}
	if res.IsError {
		return "", errors.New("tool error")
	}
	return resultText(res), nil
}

// A stdio child that dies is noticed at once and started again; calls
// work again on the new child.
func TestStdioChildRestartedAfterItDies(t *testing.T) {
	c := startConn(t, stdioSpec(t), upstream.Options{})
	if got, err := echo(t, c, "before"); err != nil || got != "before" {
		t.Fatalf("echo before the crash = %q, %v", got, err)
	}
	if _, err := callTool(t, c, upstreamtest.ToolCrash, nil); err == nil {
		t.Fatal("crash succeeded; want an error: the child exited")
	}
	waitUntil(t, "the child to be restarted", 15*time.Second, func() bool {
		st := c.Status()
		return st.State == upstream.StateReady && st.Restarts == 1
	})
	if got, err := echo(t, c, "after"); err != nil || got != "after" {
		t.Fatalf("echo after the restart = %q, %v", got, err)
	}
}

// A stdio child is stopped with everything it started: the grandchild it
// starts (as npx starts node) dies when the Conn is closed, and when the
// child itself dies. Without the process group (Unix) or the Job Object
// (Windows) the grandchild would live on: closing the child's stdin ends
// the child only, and a dead child's grandchildren are nobody's.
func TestStdioChildStoppedAsATree(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		file := filepath.Join(testdir.New(t), "grandchild")
		c := startConn(t, stdioSpec(t, "-grandchild", file), upstream.Options{})
		addr := grandchildAddr(t, file)
		if !alive(addr) {
			t.Fatalf("grandchild at %s not reachable while the child runs", addr)
		}
		start := time.Now()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if !alive(addr) {
			return // gone by the time Close returned
		}
		waitUntil(t, "the grandchild to die with its parent", 5*time.Second, func() bool { return !alive(addr) })
		t.Logf("grandchild died %v after Close began", time.Since(start))
	})
	t.Run("child died", func(t *testing.T) {
		file := filepath.Join(testdir.New(t), "grandchild")
		c := startConn(t, stdioSpec(t, "-grandchild", file), upstream.Options{})
		first := grandchildAddr(t, file)
		// The restarted child's grandchild writes the file anew, perhaps
		// with the port the first one held (Wine gives a freed port out
		// again): it is read only once it exists again.
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		if _, err := callTool(t, c, upstreamtest.ToolCrash, nil); err == nil {
			t.Fatal("crash succeeded; want an error: the child exited")
		}
		waitUntil(t, "the dead child's grandchild to die", 10*time.Second, func() bool { return !alive(first) })
		// The restarted child starts a grandchild of its own.
		second := grandchildAddr(t, file)
		if !alive(second) {
			t.Errorf("the restarted child's grandchild at %s is not reachable", second)
		}
	})
}

// grandchildAddr waits for the grandchild to write its address to file,
// and returns it.
func grandchildAddr(t *testing.T, file string) string {
	t.Helper()
	var addr string
	waitUntil(t, "the grandchild's address in "+file, 15*time.Second, func() bool {
		b, err := os.ReadFile(file)
		addr = string(b)
		return err == nil && addr != ""
	})
	return addr
}

// alive reports whether something accepts connections at addr.
func alive(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// A stdio command is found in PATH as the platform finds it: on Windows
// by the extensions of PATHEXT, so that "wrapped" runs wrapped.cmd — a
// script run by cmd.exe that runs the server, as npx.cmd runs node — and
// "server" runs server.exe; on Unix an executable script and a binary by
// their names.
func TestStdioCommandFoundInPATH(t *testing.T) {
	server, args := upstreamtest.StdioCommand(t)
	dir := testdir.New(t)
	exe := filepath.Join(dir, "gh-server")
	wrapper := filepath.Join(dir, "gh-wrapped")
	script := "#!/bin/sh\nexec '" + server + "' \"$@\"\n"
	if runtime.GOOS == "windows" {
		exe += ".exe"
		wrapper += ".cmd"
		script = "@\"" + server + "\" %*\r\n"
	}
	b, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, command := range []string{"gh-server", "gh-wrapped"} {
		t.Run(command, func(t *testing.T) {
			spec := upstream.Spec{Name: "kid", Transport: upstream.TransportStdio, Command: command, Args: append(args, "-name", command)}
			c := startConn(t, spec, upstream.Options{})
			if got, err := echo(t, c, "found"); err != nil || got != "found" {
				t.Fatalf("echo through %s = %q, %v", command, got, err)
			}
			if got := c.Catalog().ServerInfo.Name; got != command {
				t.Errorf("server name = %q; want %q: the arguments did not reach the server", got, command)
			}
		})
	}
	if runtime.GOOS == "windows" {
		// PATHEXT decides: without .CMD, gh-wrapped is not a command.
		spec := upstream.Spec{Name: "kid", Transport: upstream.TransportStdio, Command: "gh-wrapped", Env: []string{"PATHEXT=.EXE"}}
		c := upstream.New(spec, upstream.Options{})
		c.Start(t.Context())
		t.Cleanup(func() { _ = c.Close() })
		waitUntil(t, "the first attempt", 15*time.Second, func() bool { return c.Status().State != upstream.StateConnecting })
		if st := c.Status(); st.State != upstream.StateDown || st.Err == nil || !strings.Contains(st.Err.Error(), "PATHEXT") {
			t.Errorf("gh-wrapped with PATHEXT=.EXE: status %v, %v; want down, naming PATHEXT", st.State, st.Err)
		}
	}
}

// A stdio child gets only the variables of the allowlist from the
// gateway's environment — on Windows also those Windows programs need to
// start — and its Spec's own: never the gateway's secrets.
func TestStdioChildEnvironment(t *testing.T) {
	t.Setenv("GATEHOUSE_TEST_SECRET_TOKEN", "sk-test-secret")
	spec := stdioSpec(t)
	spec.Env = []string{"LISTED=yes"}
	c := startConn(t, spec, upstream.Options{})
	env := func(name string) string {
		res, err := callTool(t, c, upstreamtest.ToolEnv, map[string]any{"name": name})
		if err != nil || res.IsError {
			t.Fatalf("env(%s) = %+v, %v", name, res, err)
		}
		return resultText(res)
	}
	if got := env("GATEHOUSE_TEST_SECRET_TOKEN"); got != upstreamtest.Unset {
		t.Errorf("child sees GATEHOUSE_TEST_SECRET_TOKEN = %q; want it unset", got)
	}
	if got := env("LISTED"); got != "yes" {
		t.Errorf("child's LISTED = %q; want yes", got)
	}
	allowed := []string{"PATH", "HOME", "LISTED"}
	if runtime.GOOS == "windows" {
		need := []string{"SystemRoot", "SystemDrive", "windir", "ComSpec", "PATHEXT",
			"USERPROFILE", "APPDATA", "LOCALAPPDATA", "TEMP", "TMP"}
		allowed = append(allowed, need...)
		for _, name := range need {
			want, ok := os.LookupEnv(name)
			if !ok {
				continue
			}
			if got := env(name); got != want {
				t.Errorf("child's %s = %q; want the gateway's %q", name, got, want)
			}
		}
	}
	for _, name := range strings.Split(env("*"), "\n") {
		if underWine() && strings.HasPrefix(name, "WINE") {
			continue // WINELOADER, WINEDATADIR…: Wine's loader gives them to every process
		}
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, name) }) {
			t.Errorf("child has variable %s; want only %v", name, allowed)
		}
	}
}

// resultText joins the text items of a tool result.
func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}
