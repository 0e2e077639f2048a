//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
)

// secretKey is put in the gateway's environment as OPENAI_API_KEY: it must
// never reach an upstream (DESIGN §7).
const secretKey = "sk-test-secret"

// startTimeout bounds a gateway's start: building its catalog means starting
// every upstream, and Node servers take a moment each.
const startTimeout = 60 * time.Second

// listeningRE matches the line `serve --http` logs once it accepts
// connections (slog text format).
var listeningRE = regexp.MustCompile(`msg="?listening"? .*?\baddr="?([^\s"]+)`)

// gatewayEnv is the environment of every gateway these tests start: the
// test's own, with node_modules/.bin first on PATH and a judge API key that
// upstreams must not see.
func gatewayEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "PATH", "OPENAI_API_KEY", "GATEHOUSE_CONFIG":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+searchPath(), "OPENAI_API_KEY="+secretKey)
	return append(env, extra...)
}

// logBuffer collects a process's output; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// checkLog fails the test when a gateway's stderr shows a data race or a
// panic, and shows the log when the test failed for another reason.
func checkLog(t *testing.T, what string, log *logBuffer) {
	t.Helper()
	s := log.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s stderr shows %q:\n%s", what, bad, s)
			return
		}
	}
	if t.Failed() {
		t.Logf("%s stderr:\n%s", what, tail(s, 8000))
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// stdioGateway is a `gatehouse serve` child spoken to over stdio by an
// mcp-go client.
type stdioGateway struct {
	client *client.Client
	stderr *logBuffer
	mu     sync.Mutex
	cmd    *exec.Cmd
}

// pid is the gateway's process id.
func (g *stdioGateway) pid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cmd.Process.Pid
}

// startStdio starts `gatehouse serve --config cfg --workspace ws` and
// connects an mcp-go client of the given generation to it.
func startStdio(t *testing.T, cfg, ws string, gen generation, extraEnv ...string) *stdioGateway {
	t.Helper()
	g := &stdioGateway{stderr: &logBuffer{}}
	dir := t.TempDir()
	tr := transport.NewStdioWithOptions(gatehouseBin, nil,
		[]string{"serve", "--config", cfg, "--workspace", ws},
		transport.WithCommandFunc(func(_ context.Context, command string, _ []string, args []string) (*exec.Cmd, error) {
			// Not CommandContext: the gateway lives until the test closes
			// the client, not as long as the context passed to Start.
			cmd := exec.Command(command, args...)
			cmd.Env = gatewayEnv(extraEnv...)
			cmd.Dir = dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			g.mu.Lock()
			g.cmd = cmd
			g.mu.Unlock()
			return cmd, nil
		}),
		transport.WithCommandStderrWriter(g.stderr),
	)
	g.client = client.NewClient(tr, gen.options...)
	t.Cleanup(func() {
		_ = g.client.Close()
		g.mu.Lock()
		cmd := g.cmd
		g.mu.Unlock()
		if cmd != nil && cmd.Process != nil {
			// Anything the gateway left behind in its process group.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		checkLog(t, "gateway (stdio)", g.stderr)
	})
	initialize(t, g.client, gen)
	return g
}

// httpGateway is a `gatehouse serve --http 127.0.0.1:0` process.
type httpGateway struct {
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	stderr *logBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, once done is closed
}

// url is the gateway's address with path appended.
func (g *httpGateway) url(path string) string { return "http://" + g.addr + path }

// startHTTP starts `gatehouse serve --config cfg --http 127.0.0.1:0` and
// waits for its listening line.
func startHTTP(t *testing.T, cfg string, extraEnv ...string) *httpGateway {
	t.Helper()
	g := &httpGateway{stderr: &logBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(gatehouseBin, "serve", "--config", cfg, "--http", "127.0.0.1:0")
	g.cmd.Env = gatewayEnv(extraEnv...)
	g.cmd.Dir = t.TempDir()
	g.cmd.Stdout = g.stderr // nothing is expected there; keep it with the log
	g.cmd.Stderr = g.stderr
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		g.stop(t)
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
		checkLog(t, "gateway (http)", g.stderr)
	})

	deadline := time.After(startTimeout)
	for g.addr == "" {
		if m := listeningRE.FindStringSubmatch(g.stderr.String()); m != nil {
			g.addr = m[1]
			break
		}
		select {
		case <-g.done:
			t.Fatalf("gateway exited before listening (%v):\n%s", g.err, g.stderr.String())
		case <-deadline:
			t.Fatalf("gateway logged no `msg=listening addr=` line within %v:\n%s", startTimeout, g.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return g
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// 20 s. It returns the exit error (nil for exit 0).
func (g *httpGateway) stop(t *testing.T) error {
	select {
	case <-g.done:
		return g.err
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		return g.err
	case <-time.After(20 * time.Second):
		t.Errorf("gateway did not exit within 20 s of SIGTERM; killing it")
		_ = g.cmd.Process.Kill()
		<-g.done
		return errors.New("killed after SIGTERM timeout")
	}
}
