package e2e_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
					g := gen
					g.options = append(append([]client.ClientOption(nil), gen.options...), client.WithElicitationHandler(answerer{approve}))
					var cl *client.Client
					if face == "stdio" {
						cl = startStdio(t, cfg, "dev", g).client
					} else {
						opts := []transport.StreamableHTTPCOption{transport.WithHTTPBasicClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})}
						if g.version == legacy.version {
							// A 2025-11-25 server asks on the standalone stream.
							opts = append(opts, transport.WithContinuousListening())
						}
						tr, err := transport.NewStreamableHTTP(httpGW.url("/w/dev/mcp"), opts...)
						if err != nil {
							t.Fatal(err)
						}
						cl = client.NewClient(tr, g.options...)
						t.Cleanup(func() { _ = cl.Close() })
						initialize(t, cl, g)
					}
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
