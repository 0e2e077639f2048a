//go:build unix

package e2e_test

import (
	"context"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// answerer answers the gateway's approval question with approve.
type answerer struct{ approve bool }

func (a answerer) Elicit(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	res := &mcp.ElicitationResult{}
	res.Action = mcp.ElicitationResponseActionAccept
	res.Content = map[string]any{"approve": a.approve && strings.Contains(r.Params.Message, "write_file")}
	return res, nil
}

// Through the running gateway, over stdio and HTTP and both protocol
// generations, with a real upstream: a write held for approval runs once
// on the person's yes and never on their no.
func TestApprovalAtTheClient(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+filepath.Join(dir, "audit.db")+`
approval: {timeout: 20s}
policies:
  - name: approve-writes
    tools: ["write_file"]
    action: require_approval
    message: Writes need a yes.
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
`)
	httpGW := startHTTP(t, cfg)
	for _, gen := range generations {
		for _, face := range []string{"stdio", "http"} {
			for _, approve := range []bool{true, false} {
				name := gen.name + "/" + face + map[bool]string{true: "/yes", false: "/no"}[approve]
				t.Run(name, func(t *testing.T) {
					cl := connectFace(t, cfg, httpGW, gen, face, client.WithElicitationHandler(answerer{approve}))
					file := filepath.Join(sandbox, strings.ReplaceAll(name, "/", "-")+".txt")
					res, err := callTool(t, cl, "fs__write_file", map[string]any{"path": file, "content": "approved"})
					if err != nil {
						t.Fatalf("write_file: %v", err)
					}
					data, readErr := os.ReadFile(file)
					if approve {
						if res.IsError || readErr != nil || string(data) != "approved" {
							t.Errorf("approved write_file = %q (isError %v); file %q, %v", resultText(res), res.IsError, data, readErr)
						}
						return
					}
					if !res.IsError || !strings.Contains(resultText(res), "not approved (the person declined)") || !os.IsNotExist(readErr) {
						t.Errorf("declined write_file = %q (isError %v); file exists: %v", resultText(res), res.IsError, readErr == nil)
					}
				})
			}
		}
	}
}

// connectFace connects a client of generation gen, with opts, to workspace
// dev: a stdio gateway of its own started with env, or gw over HTTP.
func connectFace(t *testing.T, cfg string, gw *httpGateway, gen generation, face string, opt client.ClientOption, env ...string) *client.Client {
	t.Helper()
	g := gen
	g.options = append(append([]client.ClientOption(nil), gen.options...), opt)
	if face == "stdio" {
		return startStdio(t, cfg, "dev", g, env...).client
	}
	opts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})}
	if g.version == legacy.version {
		// A 2025-11-25 server asks on the standalone stream.
		opts = append(opts, transport.WithContinuousListening())
	}
	tr, err := transport.NewStreamableHTTP(gw.url("/w/dev/mcp"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewClient(tr, g.options...)
	t.Cleanup(func() { _ = cl.Close() })
	initialize(t, cl, g)
	return cl
}

// recordingAnswerer says yes to every question, and keeps them.
type recordingAnswerer struct {
	mu    sync.Mutex
	asked []string
}

func (a *recordingAnswerer) Elicit(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	a.mu.Lock()
	a.asked = append(a.asked, r.Params.Message)
	a.mu.Unlock()
	res := &mcp.ElicitationResult{}
	res.Action = mcp.ElicitationResponseActionAccept
	res.Content = map[string]any{"approve": true}
	return res, nil
}

func (a *recordingAnswerer) questions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.asked...)
}

// Through the running gateway, with real filesystem servers, both
// generations, stdio and HTTP (issue 14, 2 and 3): when the global layer
// asks the person at the client and the workspace wants an out-of-band
// approval by someone else, the caller — whose client would say yes — is
// never asked; the call waits for that approver, and their approval runs
// exactly this call once, on this upstream only.
func TestApprovalIsStricterRuleAndBoundToTheCall(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	dir := t.TempDir()
	approver := osUser(t)
	cfg := writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+filepath.Join(dir, "audit.db")+`
approval: {timeout: 20s}
policies:
  - name: approve-writes
    tools: ["write_file"]
    action: require_approval
    message: Writes need a yes.
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
      - name: fs2
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
    policies:
      - name: production-writes
        tools: ["write_file"]
        action: require_approval
        in_client: false
        approvers: [`+approver+`]
        message: Production writes need the operator.
`)
	const caller = "agent-ada"
	httpGW := startHTTP(t, cfg, "GATEHOUSE_USER="+caller)
	for _, gen := range generations {
		for _, face := range []string{"stdio", "http"} {
			t.Run(gen.name+"/"+face, func(t *testing.T) {
				person := &recordingAnswerer{}
				cl := connectFace(t, cfg, httpGW, gen, face, client.WithElicitationHandler(person), "GATEHOUSE_USER="+caller)
				file := filepath.Join(sandbox, "prod-"+gen.name+"-"+face+".txt")
				args := map[string]any{"path": file, "content": "deployed"}
				write := func(tool string) (*mcp.CallToolResult, bool) {
					t.Helper()
					res, err := callTool(t, cl, tool, args)
					if err != nil {
						t.Fatalf("%s: %v", tool, err)
					}
					_, statErr := os.Stat(file)
					return res, statErr == nil
				}

				res, wrote := write("fs__write_file")
				id, _ := res.Meta.AdditionalFields["io.gatehouse/approval"].(string)
				if !res.IsError || wrote || id == "" || !strings.Contains(resultText(res), approver) {
					t.Fatalf("held write = %q (isError %v, approval %q, file written %v); want it parked for %s", resultText(res), res.IsError, id, wrote, approver)
				}
				if q := person.questions(); len(q) > 0 {
					t.Fatalf("the caller was asked to approve their own call, which the workspace reserves to %s: %q", approver, q)
				}
				if out, errOut, code := runGatehouse(t, "approvals", "approve", id, "--config", cfg); code != 0 {
					t.Fatalf("approvals approve %s: exit %d\n%s%s", id, code, out, errOut)
				}
				if res, wrote := write("fs2__write_file"); !res.IsError || wrote {
					t.Fatalf("the approval for fs ran the same call on fs2: %q (file written %v)", resultText(res), wrote)
				}
				if res, wrote := write("fs__write_file"); res.IsError || !wrote {
					t.Fatalf("the approved call = %q (isError %v, file written %v); want it run", resultText(res), res.IsError, wrote)
				}
				if err := os.Remove(file); err != nil {
					t.Fatal(err)
				}
				if res, wrote := write("fs__write_file"); !res.IsError || wrote {
					t.Errorf("one approval ran the call twice: %q", resultText(res))
				}
			})
		}
	}
}

// The person at the client is shown what they approve (issue 14, 10): the
// upstream's names quoted, every argument — those that say what the call
// acts on first, however the client ordered them — and what is cut said.
func TestApprovalQuestionShowsTheCall(t *testing.T) {
	requireAll(t)
	sandbox := sandboxDir(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gatehouse.yaml", `version: 1
audit:
  database: `+filepath.Join(dir, "audit.db")+`
approval: {timeout: 20s}
policies:
  - name: approve-writes
    tools: ["write_file"]
    action: require_approval
workspaces:
  dev:
    upstreams:
      - name: fs
        command: `+npmBin(binFilesystem)+`
        args: [`+sandbox+`]
`)
	httpGW := startHTTP(t, cfg)
	for _, gen := range generations {
		for _, face := range []string{"stdio", "http"} {
			t.Run(gen.name+"/"+face, func(t *testing.T) {
				person := &recordingAnswerer{}
				cl := connectFace(t, cfg, httpGW, gen, face, client.WithElicitationHandler(person))
				target := filepath.Join(sandbox, "q-"+gen.name+"-"+face+".txt")
				// A long content first: the path must still be shown, and first.
				content := strings.Repeat("filler ", 2000)
				if _, err := callTool(t, cl, "fs__write_file", map[string]any{"content": content, "path": target}); err != nil {
					t.Fatal(err)
				}
				q := person.questions()
				if len(q) != 1 {
					t.Fatalf("asked %d questions; want 1", len(q))
				}
				msg := q[0]
				for _, want := range []string{`Tool: "write_file" (upstream "fs")`, `"path": "` + target + `"`, "bytes more"} {
					if !strings.Contains(msg, want) {
						t.Errorf("the question lacks %q:\n%s", want, msg)
					}
				}
				if p, c := strings.Index(msg, `"path"`), strings.Index(msg, `"content"`); p < 0 || c < 0 || p > c {
					t.Errorf("the path is not shown before the content:\n%s", msg)
				}
			})
		}
	}
}

// osUser is the name of the OS user running the tests: who approves out of
// band from this machine's command line.
func osUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}
