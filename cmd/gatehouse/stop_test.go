package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/mcp"
)

// Each stop signal drains and stops serve the same way, on every platform:
// a call in flight finishes, the gateway logs that it is finishing the
// calls in flight, stops its upstreams and exits 0. The signal is sent as a
// person's Ctrl-C is (see sendStop): to the gateway's process group on
// Unix, to every process of its console on Windows, so the upstreams must
// be kept out of its way. On Windows the test runs as a Windows test
// binary under Wine, which starts itself as the gateway (runMainEnv).
func TestServeDrainsOnStopSignal(t *testing.T) {
	// Ctrl-C, and kill or a service manager's stop (on Windows: the
	// console closed, logoff, shutdown).
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			if runtime.GOOS == "windows" && sig == syscall.SIGTERM {
				t.Skip("Windows sends CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT and CTRL_SHUTDOWN_EVENT (which Go delivers as syscall.SIGTERM) only when the console closes, the user logs off or the system shuts down: no program can send them (GenerateConsoleCtrlEvent sends only Ctrl-C and Ctrl-Break)")
			}
			cfgPath := filepath.Join(testdir.New(t), "gatehouse.yaml")
			writeConfig(t, cfgPath, "a")
			proc := exec.Command(os.Args[0])
			proc.Env = append(os.Environ(), runMainEnv+"="+strings.Join([]string{"serve", "--config", cfgPath, "--http", "127.0.0.1:0"}, "\n"))
			prepareStop(proc)
			stderr, _ := proc.StderrPipe()
			if err := proc.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var waitErr error
			t.Cleanup(func() {
				_ = proc.Process.Kill()
				<-exited
			})
			logs := &logWatcher{}
			go func() {
				logs.read(stderr)
				waitErr = proc.Wait()
				close(exited)
			}()
			addr := logs.wait(t, regexp.MustCompile(`msg=listening addr=(\S+)`), 30*time.Second)[1]
			c := dialWorkspace(t, addr)
			children := childPIDs(proc.Process.Pid)
			if runtime.GOOS == "linux" && len(children) == 0 {
				t.Fatal("found no upstream child process of the gateway")
			}

			// A call in flight when the signal comes: the upstream must
			// outlive the signal and the call finish.
			progress := make(chan struct{}, 4)
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationProgress) {
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			})
			type outcome struct {
				res *mcp.CallToolResult
				err error
			}
			call := make(chan outcome, 1)
			go func() {
				res, err := c.CallTool(context.WithoutCancel(t.Context()), mcp.CallToolRequest{Params: mcp.CallToolParams{
					Name:      "a__" + upstreamtest.ToolSlow,
					Arguments: map[string]any{"ms": 1500, "steps": 3},
					Meta:      &mcp.Meta{ProgressToken: "stop"},
				}})
				call <- outcome{res, err}
			}()
			select {
			case <-progress: // the upstream has begun the call
			case <-time.After(10 * time.Second):
				t.Fatal("no progress from the slow call within 10 s")
			}

			sendStop(t, proc.Process, sig)
			select {
			case out := <-call:
				if out.err != nil || out.res.IsError || resultText(out.res) != "done" {
					t.Errorf("the call in flight when %v came = %+v, %v; want done: the drain lets it finish", sig, out.res, out.err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("the call in flight when %v came did not end within 30 s", sig)
			}
			select {
			case <-exited:
				if waitErr != nil {
					t.Fatalf("gateway exit after %v: %v; want status 0", sig, waitErr)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("gateway still running 30 s after %v", sig)
			}
			if logs.find(regexp.MustCompile(`msg="shutting down: finishing calls in flight"`)) == nil {
				t.Errorf("no drain logged after %v; log:\n%s", sig, strings.Join(logs.lines, "\n"))
			}
			for _, pid := range children {
				if processAlive(pid) {
					t.Errorf("upstream child %d outlived the gateway", pid)
				}
			}
		})
	}
}
