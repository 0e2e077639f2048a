package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// environment starts the processes of the paths and stops them.
type environment struct {
	dir              string
	bins             binaries
	upstreamProtocol string        // the gateway config's protocol: for the upstream, if set
	policies         string        // YAML of top-level keys for the gateway config, if set
	judge            *judgeProcess // the fake LLM provider of judged paths, with -judge
	// logLevel is the gateway processes' --log-level; "" is warn.
	logLevel string
	// gatewayStderr, if not nil, gets what the gateway processes write to
	// stderr (the soak reads their runtime lines there).
	gatewayStderr io.Writer

	mu    sync.Mutex
	procs []*process // stopped by close, last first
}

// endpoint is a connected client and what to undo after measuring with it.
type endpoint struct {
	client *client.Client
	tool   string
	stop   func()
	cpu    cpuMeter
	child  *exec.Cmd // the stdio child the client started, if any
	// gateway is the gatehouse process of a gateway path: after stop, its
	// ProcessState says how it ended.
	gateway *exec.Cmd
}

// connect starts what path p needs and returns an initialized client.
func (e *environment) connect(ctx context.Context, p path) (ep *endpoint, err error) {
	ep = &endpoint{tool: p.toolName(), stop: func() {}, cpu: cpuMeter{pids: map[string]int{}}}
	defer func() {
		if err != nil {
			ep.stop()
		}
	}()
	tr, err := e.openTransport(ctx, p, ep)
	if err != nil {
		return ep, err
	}
	var opts []client.ClientOption
	if p.protocol == legacy {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	ep.client = client.NewClient(tr, opts...)
	ep.onStop(func() { _ = ep.client.Close() })
	if err := ep.client.Start(ctx); err != nil {
		return ep, fmt.Errorf("start client: %w", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "gatehouse-bench", Version: "1"}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := ep.client.Initialize(ictx, init); err != nil {
		return ep, fmt.Errorf("initialize: %w%s", err, stderrOf(ep.client))
	}
	if got := ep.client.ProtocolVersion(); got != p.protocol.String() {
		return ep, fmt.Errorf("negotiated protocol %s, want %s", got, p.protocol)
	}
	if ep.child != nil {
		if p.route == direct {
			ep.cpu.pids[roleUpstream] = ep.child.Process.Pid
		} else {
			ep.cpu.pids[roleGateway] = ep.child.Process.Pid
			// The gateway or forwarder has started its upstream child by
			// now: it has answered the client, through the child.
			if up := childOf(ep.child.Process.Pid); up != 0 {
				ep.cpu.pids[roleUpstream] = up
			}
		}
	}
	return ep, nil
}

// onStop adds f to what stop undoes, in reverse order.
func (ep *endpoint) onStop(f func()) {
	prev := ep.stop
	ep.stop = func() { f(); prev() }
}

// openTransport starts the processes of path p and returns the client's
// transport to it.
func (e *environment) openTransport(ctx context.Context, p path, ep *endpoint) (transport.Interface, error) {
	switch p.transport {
	case transportStdio:
		// Build the child's command here to learn its pid.
		start := transport.WithCommandFunc(func(ctx context.Context, command string, env, args []string) (*exec.Cmd, error) {
			ep.child = exec.CommandContext(ctx, command, args...)
			ep.child.Env = append(os.Environ(), env...)
			if p.route == gateway || p.route == compared {
				ep.gateway = ep.child
				// Left nil, mcp-go drains the child's stderr itself.
				ep.child.Stderr = e.gatewayStderr
			}
			return ep.child, nil
		})
		switch p.route {
		case direct:
			return transport.NewStdioWithOptions(e.bins.stdioServer, nil, nil, start), nil
		case forwarder:
			return transport.NewStdioWithOptions(e.bins.self, nil, []string{forwardCommand, "-command", e.bins.stdioServer}, start), nil
		}
		cfgFile, err := e.writeConfig(p, "stdio", fmt.Sprintf("command: %q", e.bins.stdioServer))
		if err != nil {
			return nil, err
		}
		args := []string{"serve", "--config", cfgFile, "--workspace", benchWorkspace, "--log-level", e.gatewayLogLevel()}
		return transport.NewStdioWithOptions(e.gatehouseOf(p), nil, args, start), nil
	case transportHTTP:
		up, err := e.startHTTPUpstream(ctx)
		if err != nil {
			return nil, err
		}
		ep.onStop(up.stop)
		ep.cpu.pids[roleUpstream] = up.cmd.Process.Pid
		url := up.url
		if p.route != direct {
			mid, midURL, err := e.startHTTPMiddle(ctx, p, up.url)
			if err != nil {
				return nil, err
			}
			ep.onStop(mid.stop)
			ep.cpu.pids[roleGateway] = mid.cmd.Process.Pid
			if p.route != forwarder {
				ep.gateway = mid.cmd
			}
			url = midURL
		}
		return transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(benchHTTPClient()))
	default:
		return nil, fmt.Errorf("unknown transport %q", p.transport)
	}
}

// benchHTTPClient is the client side's HTTP client: a connection pool as
// large as the highest concurrency, so that the client itself never dials
// mid-run (net/http keeps only 2 idle connections per host by default).
func benchHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: t}
}

// stderrOf returns the tail of a stdio client's child stderr, for errors.
func stderrOf(cl *client.Client) string {
	r, ok := client.GetStderr(cl)
	if !ok {
		return ""
	}
	done := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, io.LimitReader(r, 4096))
		done <- b.Bytes()
	}()
	select {
	case b := <-done:
		if len(b) > 0 {
			return "\n" + string(b)
		}
	case <-time.After(200 * time.Millisecond):
	}
	return ""
}

// gatewayLogLevel is the --log-level of the gateway processes.
func (e *environment) gatewayLogLevel() string {
	if e.logLevel == "" {
		return "warn"
	}
	return e.logLevel
}

// gatehouseOf is the gatehouse binary of gateway path p.
func (e *environment) gatehouseOf(p path) string {
	if p.route == compared {
		return e.bins.compare
	}
	return e.bins.gatehouse
}

// writeConfig writes path p's gatehouse config with one workspace whose
// one upstream is described by the YAML fields in upstream.
func (e *environment) writeConfig(p path, name, upstream string) (string, error) {
	top, err := e.topLevel(p)
	if err != nil {
		return "", err
	}
	if e.upstreamProtocol != "" {
		upstream += fmt.Sprintf("\n        protocol: %q", e.upstreamProtocol)
	}
	yaml := fmt.Sprintf(`version: 1
%s
workspaces:
  %s:
    upstreams:
      - name: %s
        %s
`, top, benchWorkspace, benchUpstream, upstream)
	file := e.configFile(name)
	return file, os.WriteFile(file, []byte(yaml), 0o600)
}

// configFile is the file of the gateway config writeConfig writes for name.
func (e *environment) configFile(name string) string {
	return filepath.Join(e.dir, name+".yaml")
}

// start starts cmd with its stdin held open (closing it asks the process
// to end) and the tail of its stderr kept for error messages (and also
// written to cmd.Stderr, if set).
func (e *environment) start(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, stderr: &tailBuffer{}}
	if cmd.Stderr != nil {
		cmd.Stderr = io.MultiWriter(p.stderr, cmd.Stderr)
	} else {
		cmd.Stderr = p.stderr
	}
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

func (e *environment) close() {
	e.mu.Lock()
	procs := e.procs
	e.procs = nil
	e.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
}

// httpUpstream is the HTTP test server process.
type httpUpstream struct {
	*process
	url string
}

// startHTTPUpstream runs this program as serve-upstream and reads its URL.
func (e *environment) startHTTPUpstream(ctx context.Context) (*httpUpstream, error) {
	cmd := exec.Command(e.bins.self, serveUpstreamCommand)
	out := &firstLine{line: make(chan string, 1)}
	cmd.Stdout = out
	p, err := e.start(cmd)
	if err != nil {
		return nil, err
	}
	select {
	case u := <-out.line:
		if !strings.HasPrefix(u, "http://") {
			p.stop()
			return nil, fmt.Errorf("serve-upstream printed %q, want its URL%s", u, p.stderr.tail())
		}
		return &httpUpstream{process: p, url: u}, nil
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("serve-upstream did not print its URL within 10s%s", p.stderr.tail())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// startHTTPMiddle runs `gatehouse serve --http`, or the forwarder, of
// path on in front of upstreamURL and waits until it accepts connections.
func (e *environment) startHTTPMiddle(ctx context.Context, on path, upstreamURL string) (*process, string, error) {
	via := on.route
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, "", err
	}
	var cmd *exec.Cmd
	endpoint := "http://" + addr + "/w/" + benchWorkspace + "/mcp"
	if via == forwarder {
		cmd = exec.Command(e.bins.self, forwardCommand, "-url", upstreamURL, "-listen", addr)
	} else {
		cfgFile, err := e.writeConfig(on, "http", fmt.Sprintf("url: %q", upstreamURL))
		if err != nil {
			return nil, "", err
		}
		cmd = exec.Command(e.gatehouseOf(on), "serve", "--config", cfgFile, "--http", addr, "--log-level", e.gatewayLogLevel())
		if e.gatewayStderr != nil {
			cmd.Stderr = e.gatewayStderr
		}
	}
	p, err := e.start(cmd)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return p, endpoint, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.stop()
			return nil, "", errors.Join(fmt.Errorf("%s did not listen on %s%s", via, addr, p.stderr.tail()), ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago. (gatehouse reports the port it got only at log level info,
// which the benchmark keeps off.)
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// firstLine is a process's stdout that hands the first line written to it
// to line, and discards the rest.
type firstLine struct {
	line chan string // buffered, one
	buf  []byte
	sent bool
}

func (f *firstLine) Write(p []byte) (int, error) {
	if f.sent {
		return len(p), nil
	}
	f.buf = append(f.buf, p...)
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
		f.line <- strings.TrimSpace(string(f.buf[:i]))
		f.sent, f.buf = true, nil
	}
	return len(p), nil
}
