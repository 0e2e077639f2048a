//go:build unix

package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// directServer is an npm MCP server started without the gateway and spoken
// to by a minimal JSON-RPC client over stdio: the reference the gateway's
// answers are compared with. It declares no client capabilities and speaks
// 2025-11-25, the version these servers implement.
type directServer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *logBuffer

	mu      sync.Mutex
	nextID  int
	pending map[string]chan rpcMessage
	readErr error
	done    chan struct{} // closed when stdout ends
}

// rpcMessage is any JSON-RPC 2.0 message.
type rpcMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// startDirect runs command with args and env (plus PATH and HOME, as the
// gateway gives its children) and performs the initialize handshake.
func startDirect(t *testing.T, command string, args []string, env ...string) *directServer {
	t.Helper()
	s := &directServer{stderr: &logBuffer{}, pending: map[string]chan rpcMessage{}, done: make(chan struct{})}
	s.cmd = exec.Command(command, args...)
	s.cmd.Env = append([]string{"PATH=" + searchPath(), "HOME=" + t.TempDir()}, env...)
	s.cmd.Stderr = s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", command, err)
	}
	go s.read(stdout)
	t.Cleanup(func() {
		_ = s.stdin.Close()
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		_ = s.cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", command, tail(s.stderr.String(), 4000))
		}
	})

	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	if _, err := s.call(ctx, "initialize", map[string]any{
		"protocolVersion": "2025-11-25",
		"capabilities":    map[string]any{},
		"clientInfo":      clientInfo,
	}); err != nil {
		t.Fatalf("initialize %s: %v", command, err)
	}
	if err := s.send(rpcMessage{JSONRPC: "2.0", Method: "notifications/initialized"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// read dispatches the server's messages: responses to their callers,
// requests to a refusal (the client declared no capabilities), and
// notifications nowhere.
func (s *directServer) read(stdout io.Reader) {
	defer close(s.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var m rpcMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			continue
		}
		switch {
		case m.Method != "" && m.ID != nil:
			reply := rpcMessage{JSONRPC: "2.0", ID: m.ID}
			if m.Method == "ping" {
				reply.Result = json.RawMessage(`{}`)
			} else {
				reply.Error = &rpcError{Code: -32601, Message: "method not found"}
			}
			_ = s.send(reply)
		case m.Method == "" && m.ID != nil:
			s.mu.Lock()
			ch := s.pending[string(m.ID)]
			delete(s.pending, string(m.ID))
			s.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
	s.mu.Lock()
	s.readErr = sc.Err()
	if s.readErr == nil {
		s.readErr = io.EOF
	}
	s.mu.Unlock()
}

func (s *directServer) send(m rpcMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.stdin.Write(append(b, '\n'))
	return err
}

// call sends a request and returns its raw result.
func (s *directServer) call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	s.mu.Lock()
	s.nextID++
	id := strconv.Itoa(s.nextID)
	ch := make(chan rpcMessage, 1)
	s.pending[id] = ch
	s.mu.Unlock()

	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	if params == nil {
		p = nil
	}
	if err := s.send(rpcMessage{JSONRPC: "2.0", ID: json.RawMessage(id), Method: method, Params: p}); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, m.Error
		}
		return m.Result, nil
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return nil, fmt.Errorf("%s: server closed stdout: %w", method, s.readErr)
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// caller adapts s to rawCaller.
func (s *directServer) caller() rawCaller { return s.call }

// callDirect calls a tool on s and returns its raw result.
func callDirect(t *testing.T, s *directServer, name string, args map[string]any) json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	raw, err := s.call(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		t.Fatalf("direct tools/call %s: %v", name, err)
	}
	return raw
}
