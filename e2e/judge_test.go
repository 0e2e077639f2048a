//go:build unix

package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/llmjudge/llmjudgetest"
)

// judgeConfig is a config whose workspace "dev" serves server-filesystem
// on sandbox, with a plain-English policy on writes judged by the model
// at judgeURL.
func judgeConfig(t *testing.T, sandbox, judgeURL string) (cfg, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "audit.db")
	return writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+db+`
judge:
  provider: openai
  model: judge-model
  base_url: `+judgeURL+`/v1
  api_key_env: OPENAI_API_KEY
  timeout: 5s
policies:
  - name: protect-notes
    tools: ["*write*"]
    rules: Never overwrite or write files whose name says they are important.
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
`), db
}

// fakeJudge answers like a model that reads the call: a write to a file
// named "important" violates the policy; anything else complies.
func fakeJudge(r llmjudgetest.Request) llmjudgetest.Reply {
	id := regexp.MustCompile(`\{"id":"([^"]+)"`).FindStringSubmatch(r.System)
	if id == nil {
		return llmjudgetest.Reply{Content: "no policy asked"}
	}
	verdict, reason := "comply", "an ordinary file"
	if strings.Contains(r.User, "important") {
		verdict, reason = "violate", "it would overwrite a file marked important"
	}
	b, _ := json.Marshal(map[string]any{"results": []map[string]string{{"policy": id[1], "verdict": verdict, "reason": reason}}})
	return llmjudgetest.Reply{Content: string(b)}
}

// Through the running gateway, over stdio and HTTP and both protocol
// generations, with a real upstream: the judge's violation blocks the call
// (the client reads the judge's reason, the file is never written) and its
// comply lets the call run; every verdict records the judge.
func TestJudgeEnforced(t *testing.T) {
	requireAll(t)
	judge := llmjudgetest.New(t)
	judge.Respond(fakeJudge)
	sandbox := sandboxDir(t)
	cfg, db := judgeConfig(t, sandbox, judge.URL)
	httpGW := startHTTP(t, cfg)
	eachFace(t, cfg, httpGW, func(t *testing.T, cl *client.Client, prefix string) {
		before := judge.Count()

		important := filepath.Join(sandbox, prefix+"-important.txt")
		res, err := callTool(t, cl, "fs__write_file", map[string]any{"path": important, "content": "overwritten"})
		if err != nil {
			t.Fatalf("write_file: %v", err)
		}
		want := `Blocked by policy "protect-notes": it would overwrite a file marked important`
		if !res.IsError || !strings.HasPrefix(resultText(res), want) {
			t.Errorf("violating write_file = %q (isError %v); want %q", resultText(res), res.IsError, want)
		}
		if _, err := os.Stat(important); !os.IsNotExist(err) {
			t.Errorf("the blocked call reached the upstream: %s exists (%v)", important, err)
		}

		plain := filepath.Join(sandbox, prefix+"-plain.txt")
		res, err = callTool(t, cl, "fs__write_file", map[string]any{"path": plain, "content": "hello"})
		if err != nil || res.IsError {
			t.Fatalf("complying write_file = %v, %q; want it run", err, resultText(res))
		}
		if data, err := os.ReadFile(plain); err != nil || string(data) != "hello" {
			t.Errorf("complying write_file wrote %q, %v", data, err)
		}

		// A read is not in the policy's scope: no request.
		n := judge.Count()
		if res, err := callTool(t, cl, "fs__read_text_file", map[string]any{"path": plain}); err != nil || res.IsError {
			t.Errorf("read_text_file = %v, %v", err, res)
		}
		if judge.Count() != n || n-before != 2 {
			t.Errorf("the judge got %d requests for two writes and %d for a read", n-before, judge.Count()-n)
		}
	})
	for _, r := range judge.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer "+secretKey {
			t.Errorf("the judge was asked with Authorization %q; want the key api_key_env names", got)
			break
		}
	}

	// The verdict log has the judge's part of every judged call.
	if err := httpGW.stop(t); err != nil {
		t.Errorf("gateway exit: %v", err)
	}
	var entries []audit.Entry
	deadline := time.Now().Add(10 * time.Second)
	for len(entries) < 8 && time.Now().Before(deadline) { // the stdio gateways flush as they exit
		time.Sleep(100 * time.Millisecond)
		r, err := audit.OpenReader(db)
		if err != nil {
			continue
		}
		entries, err = r.List(t.Context(), audit.Filter{Tool: "write_file"})
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	blocked := 0
	for _, e := range entries {
		if !e.Judge.Asked || e.Judge.Model != "openai/judge-model" || e.Judge.PromptVersion == "" {
			t.Errorf("record %s: judge %+v; want asked, model and prompt version", e.ID, e.Judge)
		}
		if e.Decision == "block" {
			blocked++
		}
	}
	if len(entries) != 8 || blocked != 4 {
		t.Errorf("%d write_file records, %d blocked; want 8 and 4", len(entries), blocked)
	}
}
