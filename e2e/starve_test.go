//go:build unix

package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
)

// heldJudge holds each request until the current hold is let go, then
// answers as fakeJudge does.
type heldJudge struct {
	mu      sync.Mutex
	release chan struct{}
}

// hold makes the judge hold the requests to come, until let is called.
func (h *heldJudge) hold() (let func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.release = ch
	h.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (h *heldJudge) respond(r llmjudgetest.Request) llmjudgetest.Reply {
	h.mu.Lock()
	ch := h.release
	h.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(time.Minute):
	}
	return fakeJudge(r)
}

// Through the running gateway, with limits.max_calls_in_flight set in its
// config: calls held by the judge leave the session's other calls
// answered; once they fill the bound one more is refused at once, naming
// the limit and its key, and never reaches the upstream; the held calls
// run when the judge answers.
func TestCallsInFlightBounded(t *testing.T) {
	requireAll(t)
	const limit = 4
	h := &heldJudge{}
	judge := llmjudgetest.New(t)
	judge.Respond(h.respond)
	sandbox := sandboxDir(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gatehouse.yaml", fmt.Sprintf(`version: 1
audit:
  database: %s
limits:
  max_calls_in_flight: %d
judge:
  provider: openai
  model: judge-model
  base_url: %s/v1
  api_key_env: OPENAI_API_KEY
  timeout: 60s
policies:
  - name: protect-notes
    tools: ["*write*"]
    rules: Never overwrite or write files whose name says they are important.
workspaces:
  dev:
    upstreams:
      - name: fs
        command: %s
        args: [%s]
`, filepath.Join(dir, "audit.db"), limit, judge.URL, npmBin(binFilesystem), sandbox))
	readable := filepath.Join(sandbox, "readable.txt")
	if err := os.WriteFile(readable, []byte("read me"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpGW := startHTTP(t, cfg)
	eachFace(t, cfg, httpGW, func(t *testing.T, cl *client.Client, prefix string) {
		let := h.hold()
		t.Cleanup(let)
		before := judge.Count()
		type outcome struct {
			res *mcp.CallToolResult
			err error
		}
		held := make([]chan outcome, limit)
		hold := func(i int) {
			held[i] = make(chan outcome, 1)
			go func() {
				res, err := callTool(t, cl, "fs__write_file", map[string]any{"path": filepath.Join(sandbox, fmt.Sprintf("%s-held-%d.txt", prefix, i)), "content": "held"})
				held[i] <- outcome{res, err}
			}()
			deadline := time.Now().Add(30 * time.Second)
			for judge.Count() < before+i+1 {
				if time.Now().After(deadline) {
					t.Fatalf("the judge holds %d calls; want %d", judge.Count()-before, i+1)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		for i := range limit - 1 {
			hold(i)
		}

		// A call no judged policy matches is answered while they are held.
		start := time.Now()
		res, err := callTool(t, cl, "fs__read_text_file", map[string]any{"path": readable})
		if err != nil || res.IsError || resultText(res) != "read me" {
			t.Fatalf("read_text_file with %d calls held = %v, %v; want its text", limit-1, res, err)
		}
		t.Logf("%s: read_text_file with %d calls held took %v", prefix, limit-1, time.Since(start))
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("read_text_file with %d calls held took %v; want it answered while they wait", limit-1, took)
		}
		hold(limit - 1)

		// One more is refused at once.
		beyond := filepath.Join(sandbox, prefix+"-beyond.txt")
		start = time.Now()
		res, err = callTool(t, cl, "fs__write_file", map[string]any{"path": beyond, "content": "beyond"})
		took := time.Since(start)
		want := fmt.Sprintf("%d calls of this session were already running or waiting (limits.max_calls_in_flight)", limit)
		if err != nil || !res.IsError || !strings.Contains(resultText(res), want) {
			t.Errorf("a call beyond the bound = %v, %q; want a tool error saying %q", err, resultText(res), want)
		}
		if took > 5*time.Second {
			t.Errorf("a call beyond the bound was refused after %v; want at once", took)
		}
		if _, err := os.Stat(beyond); !os.IsNotExist(err) {
			t.Errorf("the call beyond the bound reached the upstream: %s exists (%v)", beyond, err)
		}

		let()
		for i, o := range held {
			r := <-o
			if r.err != nil || r.res.IsError {
				t.Errorf("held call %d = %v, %v; want it run", i, r.err, r.res)
			}
		}
	})
}
