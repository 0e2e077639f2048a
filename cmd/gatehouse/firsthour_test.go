package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// serve --http prints each workspace's URL, and /mcp when there is one
// workspace, and a client reaches the tools at the URL printed.
func TestServePrintsWhereToConnect(t *testing.T) {
	bin := gatehouseBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "gatehouse.yaml")
	writeConfig(t, cfgPath, "a")
	_, logs, _ := startServeHTTP(t, bin, cfgPath)
	wsURL := logs.wait(t, regexp.MustCompile(`^gatehouse: workspace w: (http://\S+/w/w/mcp)$`), 10*time.Second)[1]
	oneURL := logs.wait(t, regexp.MustCompile(`^gatehouse: workspace w also at (http://\S+/mcp)$`), 10*time.Second)[1]
	for _, u := range []string{wsURL, oneURL} {
		tr, err := transport.NewStreamableHTTP(u)
		if err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(tr)
		if err := c.Start(context.WithoutCancel(t.Context())); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{}); err != nil {
			t.Fatalf("initialize at the printed %s: %v", u, err)
		}
		if names := toolNames(t, c); !slices.Contains(names, "a__echo") {
			t.Errorf("tools at the printed %s = %v", u, names)
		}
	}
}

// serve over stdio says on stderr which workspace it serves on
// stdin/stdout; stdout carries only the protocol.
func TestServeStdioSaysWhatItServes(t *testing.T) {
	bin := gatehouseBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "gatehouse.yaml")
	writeConfig(t, cfgPath, "a")
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdin = strings.NewReader("") // the client hangs up at once
	var stderr, stdout strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "gatehouse: serving workspace w on stdin/stdout") {
		t.Errorf("stderr does not say what is served:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "register it as") {
		t.Errorf("registration help printed to a client's pipe:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout holds %q; want only the protocol", stdout.String())
	}
}

// A port in use fails serve --http at once with a clear error and exit 1,
// before any upstream is started.
func TestServePortInUseStartsNoUpstream(t *testing.T) {
	bin := gatehouseBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	cfgPath := writeConfigText(t, "version: 1\nworkspaces:\n  w:\n    upstreams:\n"+
		"      - name: u\n        command: sh\n        args: [\"-c\", \"touch '"+marker+"'; sleep 30\"]\n")
	cmd := exec.Command(bin, "serve", "--config", cfgPath, "--http", ln.Addr().String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("serve on a port in use: %v; want exit 1\n%s", err, out)
	}
	if want := "--http " + ln.Addr().String() + ": cannot listen"; !strings.Contains(string(out), want) || !strings.Contains(string(out), "address already in use") {
		t.Errorf("output:\n%s\nwant %q and the reason", out, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("serve took %v to fail; want at once", d)
	}
	time.Sleep(300 * time.Millisecond) // a child started would have touched it by now
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("an upstream was started although the port was in use")
	}
}

// check --connect shows, under a failed stdio upstream's DOWN, the last
// lines its child wrote to stderr (no more than five), and not the
// background retry warnings.
func TestCheckConnectShowsChildStderr(t *testing.T) {
	bin := gatehouseBinary(t)
	script := `for i in 1 2 3 4 5 6; do echo "noise $i" >&2; done; echo "using ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" >&2; echo "error: GITHUB_TOKEN is not set" >&2; exit 1`
	cfgPath := writeConfigText(t, "version: 1\nworkspaces:\n  w:\n    upstreams:\n"+
		"      - name: broken\n        command: sh\n        args: [\"-c\", "+strconv.Quote(script)+"]\n")
	out, err := exec.Command(bin, "check", "--connect", "--config", cfgPath).CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("check --connect: %v; want exit 1\n%s", err, out)
	}
	text := string(out)
	down := strings.Index(text, "DOWN  broken")
	if down < 0 {
		t.Fatalf("no DOWN line for broken:\n%s", text)
	}
	after := text[down:]
	for _, want := range []string{"| noise 4", "| noise 6", "| error: GITHUB_TOKEN is not set"} {
		if !strings.Contains(after, want) {
			t.Errorf("output lacks %q after DOWN:\n%s", want, text)
		}
	}
	// One of each reads as one, not as "1 upstreams".
	for _, want := range []string{"(1 workspace, 1 upstream)", "workspace w: 0 tools", "1 upstream could not be reached"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(after, "| using [REDACTED]") {
		t.Errorf("a token the child printed is not masked:\n%s", text)
	}
	for _, not := range []string{"noise 1", "noise 2", "noise 3", "retry_in", "upstream unavailable", "ghp_a1B2"} {
		if strings.Contains(text, not) {
			t.Errorf("output holds %q:\n%s", not, text)
		}
	}
	// tools names the child's last word on stderr in its failure.
	out, _ = exec.Command(bin, "tools", "--config", cfgPath, "--workspace", "w").CombinedOutput()
	if !strings.Contains(string(out), "broken (initialize: child process exited: exit status 1: error: GITHUB_TOKEN is not set)") || strings.Contains(string(out), "retry_in") {
		t.Errorf("tools output:\n%s", out)
	}
}

// A strict plain-English policy whose judge cannot be set up, because the
// client's entry did not pass the key on, blocks the call with a message
// that says the judge is not configured and where to look; the gateway's
// log names the missing variable.
func TestStrictBlockSaysTheJudgeIsNotConfigured(t *testing.T) {
	bin := gatehouseBinary(t)
	cmd, args := upstreamtest.StdioCommand(t)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	cfgPath := writeConfigText(t, fmt.Sprintf(`version: 1
audit: {database: %q}
judge:
  provider: anthropic
  model: claude-haiku-4-5
  api_key_env: GATEHOUSE_FH_UNSET_KEY
policies:
  - name: careful
    tools: ["*echo*"]
    strict: true
    rules: Never echo anything rude.
workspaces:
  w:
    upstreams:
      - name: a
        command: %q
        args: [%s]
`, filepath.Join(t.TempDir(), "v.db"), cmd, strings.Join(quoted, ", ")))
	os.Unsetenv("GATEHOUSE_FH_UNSET_KEY")
	_, logs, c := startServeHTTP(t, bin, cfgPath)
	req := mcp.CallToolRequest{}
	req.Params.Name = "a__echo"
	req.Params.Arguments = map[string]any{"text": "hello"}
	res, err := c.CallTool(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := `Blocked by policy "careful": it could not be evaluated (the judge is not configured: see the gateway's log)`
	if text := resultText(res); !res.IsError || !strings.Contains(text, want) {
		t.Errorf("result = %q (isError %v); want %q", text, res.IsError, want)
	}
	logs.wait(t, regexp.MustCompile(`GATEHOUSE_FH_UNSET_KEY, which is not set`), 5*time.Second)
}

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 calls"}, {1, "1 call"}, {2, "2 calls"}} {
		if got := count(c.n, "call"); got != c.want {
			t.Errorf("count(%d) = %q; want %q", c.n, got, c.want)
		}
	}
	if got := count(1, "policy", "policies"); got != "1 policy" {
		t.Errorf("count(1, policy) = %q", got)
	}
	if got := count(3, "policy", "policies"); got != "3 policies" {
		t.Errorf("count(3, policy) = %q", got)
	}
}

// serve over stdio started by a person at a terminal says how a client
// registers it: the binary, and the config as an absolute path. (script
// gives it a terminal.)
func TestServeStdioAtATerminalSaysHowToRegister(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to give serve a terminal")
	}
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	writeConfig(t, filepath.Join(dir, "gatehouse.yaml"), "a")
	cmd := exec.Command(scriptBin, "-qec", bin+" serve --config gatehouse.yaml --log-level warn", "/dev/null")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	_, _ = stdin.Write([]byte{4}) // ^D: end of input at the terminal
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("serve did not end on ^D:\n%s", out.String())
	}
	text := strings.ReplaceAll(out.String(), "\r", "")
	for _, want := range []string{
		"gatehouse: serving workspace w on stdin/stdout",
		"command: " + bin,
		`args:    ["serve", "--config", "` + filepath.Join(dir, "gatehouse.yaml") + `", "--workspace", "w"]`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("serve at a terminal lacks %q:\n%s", want, text)
		}
	}
}
