package upstreamtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// HTTPPath is the path of the streamable HTTP endpoint of ServeHTTP.
const HTTPPath = "/mcp"

// SSEPath is the path of the SSE endpoint of ServeSSE.
const SSEPath = "/sse"

// shutdownTimeout bounds how long a test's cleanup waits for the transport
// to close its sessions.
const shutdownTimeout = 5 * time.Second

// ServeHTTP serves s over streamable HTTP on 127.0.0.1 at a free port until
// the test ends, and returns the endpoint URL, which ends in /mcp. Clients of
// both protocol generations are served on the same endpoint.
//
// Unlike http.Handler's method of the same name it takes a test, not a
// request: Server is not itself a handler.
func (s *Server) ServeHTTP(t testing.TB) (url string) {
	t.Helper()
	streamable := server.NewStreamableHTTPServer(s.MCP)
	mux := http.NewServeMux()
	mux.Handle(HTTPPath, streamable)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := streamable.Shutdown(ctx); err != nil {
			t.Logf("upstreamtest: shut down streamable HTTP: %v", err)
		}
		closeServer(ts)
	})
	return ts.URL + HTTPPath
}

// ServeSSE serves s over the legacy HTTP+SSE transport on 127.0.0.1 at a
// free port until the test ends, and returns the URL of the SSE endpoint
// (ending in /sse); the server names the message endpoint in its first event.
func (s *Server) ServeSSE(t testing.TB) (url string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	sse := server.NewSSEServer(s.MCP, server.WithBaseURL(base), server.WithSSEEndpoint(SSEPath))
	ts.Config.Handler = sse
	ts.Start()
	t.Cleanup(func() {
		// Shutdown only closes sessions of a server it started itself, so
		// close them here: that ends the open SSE streams.
		sse.CloseSessions()
		closeServer(ts)
	})
	return base + SSEPath
}

// closeServer stops ts without waiting for open streams to end on their own.
func closeServer(ts *httptest.Server) {
	ts.CloseClientConnections()
	ts.Close()
}

// StdioCommand returns how to run the stdio test server: the command and
// the arguments that pass opts (at most one; none means the zero Options).
// The child serves NewServer(opts) on stdin and stdout, logs only to stderr,
// and exits with status 3 when its crash tool is called.
//
// The command is the binary named by the environment variable
// TestServerEnv when it is set (a prebuilt server, for a test binary that
// runs where there is no Go toolchain, such as a Windows test binary under
// Wine), and otherwise is built from testdata/stdioserver once per test
// binary. The build runs the go command of the current toolchain (`go env
// GOROOT`) from the working directory, which must lie inside this module;
// go test runs tests in their package directory, so any test of the module
// qualifies. The binary lives in a directory made by os.MkdirTemp that is
// left behind when the test binary exits.
func StdioCommand(t testing.TB, opts ...Options) (command string, args []string) {
	t.Helper()
	if len(opts) > 1 {
		t.Fatalf("upstreamtest.StdioCommand: %d Options given, want at most one", len(opts))
	}
	path, err := buildStdio()
	if err != nil {
		t.Fatalf("upstreamtest: %v", err)
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	return path, StdioArgs(o)
}

// StdioArgs renders opts as the stdio server's flags. ExitOnCrash is not a
// flag: the child always sets it.
func StdioArgs(opts Options) []string {
	var args []string
	if opts.Name != "" {
		args = append(args, "-name", opts.Name)
	}
	if opts.ToolPrefix != "" {
		args = append(args, "-prefix", opts.ToolPrefix)
	}
	if opts.Pages > 0 {
		args = append(args, "-pages", strconv.Itoa(opts.Pages))
	}
	return args
}

// TestServerEnv names the environment variable that gives StdioCommand a
// prebuilt stdio server (built from testdata/stdioserver for the platform
// the tests run on) instead of building one.
const TestServerEnv = "GATEHOUSE_TEST_SERVER"

// buildStdio returns the stdio server's path: the prebuilt one TestServerEnv
// names, or one it builds the first time it is called. It returns the same
// path, or the same error, every time.
var buildStdio = sync.OnceValues(func() (string, error) {
	if prebuilt := os.Getenv(TestServerEnv); prebuilt != "" {
		path, err := filepath.Abs(prebuilt)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", TestServerEnv, prebuilt, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", TestServerEnv, prebuilt, err)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s=%s: not a file (want a stdio server built from %s)", TestServerEnv, prebuilt, stdioPkg())
		}
		return path, nil
	}
	goCmd, err := goCommand()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "upstreamtest-stdio-")
	if err != nil {
		return "", fmt.Errorf("build stdio server: %w", err)
	}
	// Windows runs only a file whose name has an executable extension.
	bin := filepath.Join(dir, "stdioserver"+exeSuffix())
	pkg := stdioPkg()
	cmd := exec.Command(goCmd, "build", "-o", bin, pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build stdio server: go build %s: %w\n%s", pkg, err, out.Bytes())
	}
	return bin, nil
})

// stdioPkg is the import path of the stdio server's main package.
func stdioPkg() string { return reflect.TypeFor[Server]().PkgPath() + "/testdata/stdioserver" }

// exeSuffix is what an executable's name ends in here: ".exe" on Windows.
func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// goCommand returns the go command of the toolchain on PATH, resolved
// through `go env GOROOT` so that toolchain switching is honoured.
func goCommand() (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("find go toolchain: go env GOROOT: %w", err)
	}
	goroot := strings.TrimSpace(string(out))
	if goroot == "" {
		return "", fmt.Errorf("find go toolchain: go env GOROOT is empty")
	}
	return filepath.Join(goroot, "bin", "go"), nil
}
