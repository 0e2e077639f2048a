package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// TestMain runs the test binary as a chatty stdio upstream when asked
// (chattyUpstream).
func TestMain(m *testing.M) {
	if os.Getenv("GATEHOUSE_TEST_CHATTY") == "1" {
		runChattyUpstream()
		return
	}
	os.Exit(m.Run())
}

// chattyUpstream is a stdio upstream, this test binary, with one tool
// (echo, and sleep: ms milliseconds) that, once a client initializes it, logs every interval — each
// message's data the time it was sent, in unix nanoseconds, and some text
// — or, with a zero interval, never: its log messages and its results
// share one pipe to the gateway, as a child's do.
func chattyUpstream(t *testing.T, every time.Duration) upstream.Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return upstream.Spec{Name: "up", Transport: upstream.TransportStdio, Command: exe, Prefix: true,
		Env: []string{"GATEHOUSE_TEST_CHATTY=1", "GATEHOUSE_TEST_CHATTY_EVERY=" + every.String()}}
}

func runChattyUpstream() {
	every, _ := time.ParseDuration(os.Getenv("GATEHOUSE_TEST_CHATTY_EVERY"))
	srv := server.NewMCPServer("chatty", "1", server.WithLogging())
	srv.AddTool(mcp.NewTool("echo", mcp.WithString("message")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(req.GetString("message", "")), nil
	})
	srv.AddTool(mcp.NewTool("sleep", mcp.WithNumber("ms")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		time.Sleep(time.Duration(req.GetFloat("ms", 0)) * time.Millisecond)
		return mcp.NewToolResultText("slept"), nil
	})
	var once sync.Once
	hooks := &server.Hooks{}
	hooks.AddAfterInitialize(func(context.Context, any, *mcp.InitializeRequest, *mcp.InitializeResult) {
		if every <= 0 {
			return
		}
		once.Do(func() {
			go func() {
				text := strings.Repeat("log line ", 20)
				for {
					srv.SendNotificationToAllClients(string(mcp.MethodNotificationMessage), map[string]any{
						"level": "info", "logger": "chatty", "data": fmt.Sprint(time.Now().UnixNano(), " ", text)})
					time.Sleep(every)
				}
			}()
		})
	})
	server.WithHooks(hooks)(srv)
	_ = server.ServeStdio(srv)
}

// heapWatch samples the heap in use until stopped and reports the most it
// grew above where it started.
func heapWatch() (stop func() uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// writeLongLine writes a tools/call line of about size bytes to w, its
// argument sent a megabyte at a time, as a client streaming it would;
// before and after are the JSON around the argument's text.
func writeLongLine(w io.Writer, size int, before, after string) error {
	if _, err := io.WriteString(w, before); err != nil {
		return err
	}
	chunk := strings.Repeat("A", 1<<20)
	for n := 0; n < size; n += len(chunk) {
		if _, err := io.WriteString(w, chunk); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, after+"\n")
	return err
}

// A stdio request line longer than stdio.max_request_bytes is dropped as
// it arrives — the gateway holds no more than the limit of it, not the
// line — and answered with an error naming the limit, with the request's
// id when it comes before the parameters (else null); the session goes on
// serving the next line. On both stdio paths: mcp-go's and the fast path.
func TestStdioLongLineRefused(t *testing.T) {
	size := 200 << 20 // the line
	if testing.Short() {
		size = 32 << 20
	}
	up := upstreamtest.NewServer(upstreamtest.Options{})
	url := up.ServeHTTP(t)
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprint("fast=", fast), func(t *testing.T) {
			g := startGateway(t, gateway.Options{PlainStdio: !fast}, workspace.Spec{Name: "w", Upstreams: []upstream.Spec{httpUpstream("up", url)}})
			in, out, _, _ := rawStdio(t, g, "w")
			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`+"\n")
			answer(t, out, "init")
			fmt.Fprintf(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")

			start := time.Now()
			stop := heapWatch()
			werr := make(chan error, 1)
			go func() {
				werr <- writeLongLine(in, size, `{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"`, `"}}}`)
			}()
			refused := answer(t, out, "big")
			if err := <-werr; err != nil {
				t.Fatalf("write the long line: %v", err)
			}
			grew := stop()
			t.Logf("a %d MB line refused in %v; the heap grew by at most %d MB", size>>20, time.Since(start).Round(time.Millisecond), grew>>20)
			if grew > 64<<20 {
				t.Errorf("the heap grew by %d MB while a %d MB line was read; want under 64 MB (the line is dropped as it arrives)", grew>>20, size>>20)
			}
			e, _ := refused["error"].(map[string]any)
			if msg, _ := e["message"].(string); e["code"] != float64(-32600) || !strings.Contains(msg, "stdio.max_request_bytes") || !strings.Contains(msg, fmt.Sprint(gateway.DefaultMaxStdioRequestBytes)) {
				t.Errorf("answer to the long line = %v; want an invalid-request error naming stdio.max_request_bytes and its %d bytes", refused, gateway.DefaultMaxStdioRequestBytes)
			}

			// An id after the parameters cannot be read: the answer's id is null.
			go func() {
				werr <- writeLongLine(in, 5<<20, `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"`, `"}},"id":"late"}`)
			}()
			if m := answer(t, out, nil); m["error"] == nil {
				t.Errorf("answer to a long line with its id last = %v; want an error with id null", m)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write the long line: %v", err)
			}

			fmt.Fprintf(in, `{"jsonrpc":"2.0","id":"next","method":"tools/call","params":{"name":"up__echo","arguments":{"message":"still here"}}}`+"\n")
			res, _ := answer(t, out, "next")["result"].(map[string]any)
			if fmt.Sprint(res["content"]) == "" || !strings.Contains(fmt.Sprint(res["content"]), "still here") {
				t.Errorf("the call after the long lines got %v; want its echo", res)
			}
			// A line within the limit, longer than any buffer, is served.
			go func() {
				werr <- writeLongLine(in, gateway.DefaultMaxStdioRequestBytes-(1<<20), `{"jsonrpc":"2.0","id":"within","method":"ping","params":{"pad":"`, `"}}`)
			}()
			if m := answer(t, out, "within"); m["result"] == nil {
				t.Errorf("a line within the limit got %.200v; want its result", m)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write the line: %v", err)
			}
		})
	}
}

// logLines is a logger for a gateway that keeps what it logs.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// count is how many lines logged hold all of words.
func (l *logLines) count(words ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for line := range strings.Lines(l.b.String()) {
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(line, w) }) {
			n++
		}
	}
	return n
}

// rawHTTP sends one request to the streamable HTTP face at url: a POST
// of body, or a GET when body is empty, of session id when not empty.
func rawHTTP(t *testing.T, hc *http.Client, url, id, body string) (*http.Response, error) {
	method, rd := http.MethodGet, io.Reader(nil)
	if body != "" {
		method, rd = http.MethodPost, strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if id != "" {
		req.Header.Set("Mcp-Session-Id", id)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	return hc.Do(req)
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// deafSession opens a 2025-11-25 session over HTTP that asks for every log
// message (logging/setLevel debug) and never opens a stream to read them:
// an absent reader. It returns the session's id, or the status of a
// refused initialize with its body.
func deafSession(t *testing.T, hc *http.Client, url string) (id string, status int, body string, err error) {
	resp, err := rawHTTP(t, hc, url, "", initializeBody)
	if err != nil {
		return "", 0, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode, string(b), nil
	}
	id = resp.Header.Get("Mcp-Session-Id")
	for _, msg := range []string{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`} {
		resp, err := rawHTTP(t, hc, url, id, msg)
		if err != nil {
			return "", 0, "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return "", resp.StatusCode, "", fmt.Errorf("%s: %s", msg, resp.Status)
		}
	}
	return id, http.StatusOK, "", nil
}

// openSessions opens n sessions as deafSession does, 32 at a time.
func openSessions(t *testing.T, url string, n int) []string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer hc.CloseIdleConnections()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				id, status, body, err := deafSession(t, hc, url)
				if err != nil || status != http.StatusOK {
					t.Errorf("session %d: %v %d %s", i, err, status, body)
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	return ids
}

// connectQuiet is a 2025-11-25 client over HTTP without a standalone GET
// stream: between its requests nothing of it is open.
func connectQuiet(t *testing.T, url string) *client.Client {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := connect(t, tr, legacy)
	return c
}

// tryInitialize initializes a 2025-11-25 client of url and returns the
// error, if any.
func tryInitialize(t *testing.T, url string) error {
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithLegacyProtocolOnly())
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(context.WithoutCancel(t.Context())); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "gateway-test", Version: "1"}
	_, err = c.Initialize(t.Context(), init)
	return err
}

// A workspace holds at most http.max_sessions HTTP sessions: a request
// that would open one more — an initialize, whatever its headers, or a
// GET naming no session — is refused with 503 and an error naming the key,
// while the sessions open go on working; a GET naming a session that is
// not live is 404, not a session of its own; a session that ends makes
// room; 2026-07-28 clients, which hold no session, are not counted.
func TestHTTPSessionsBounded(t *testing.T) {
	var logs logLines
	g := startGateway(t, gateway.Options{Logger: logs.logger(), HTTP: gateway.HTTPOptions{MaxSessions: 3}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, 0)}})
	url := serveHTTP(t, g) + "/w/w/mcp"

	var open []*client.Client
	for range 3 {
		c, _ := connectHTTP(t, url, legacy) // with its GET stream
		open = append(open, c)
	}
	err := tryInitialize(t, url)
	if err == nil || !strings.Contains(err.Error(), "http.max_sessions") {
		t.Fatalf("a fourth session: %v; want refused naming http.max_sessions", err)
	}
	hc := &http.Client{}
	for _, tc := range []struct{ name, id, body string }{
		{"initialize naming a session", "gh-made-up", initializeBody},
		{"initialize spelled with an escape", "", strings.Replace(initializeBody, `"initialize"`, `"initi\u0061lize"`, 1)},
		{"GET naming no session", "", ""},
	} {
		resp, err := rawHTTP(t, hc, url, tc.id, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "http.max_sessions") {
			t.Errorf("%s at the bound: %s %s; want 503 naming http.max_sessions", tc.name, resp.Status, b)
		}
	}
	resp, err := rawHTTP(t, hc, url, "gh-made-up", "")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET naming a made-up session: %s; want 404", resp.Status)
	}
	if n := gateway.HTTPSessions(g, "w"); n != 3 {
		t.Errorf("%d sessions open; want 3", n)
	}
	for i, c := range open {
		if res := call(t, c, "up__echo", map[string]any{"message": fmt.Sprint("open ", i)}); res.IsError || text(res) != fmt.Sprint("open ", i) {
			t.Errorf("session %d at the bound: %s", i, text(res))
		}
	}
	m, _ := connectHTTP(t, url, modern)
	if res := call(t, m, "up__echo", map[string]any{"message": "modern"}); text(res) != "modern" {
		t.Errorf("a 2026-07-28 client at the bound: %s", text(res))
	}

	_ = open[0].Close() // DELETE: room for one
	waitFor(t, "the closed session to end", 5*time.Second, func() bool { return gateway.HTTPSessions(g, "w") == 2 })
	c, _ := connectHTTP(t, url, legacy)
	if res := call(t, c, "up__echo", map[string]any{"message": "again"}); text(res) != "again" {
		t.Errorf("a session after one ended: %s", text(res))
	}
	if err := tryInitialize(t, url); err == nil || !strings.Contains(err.Error(), "http.max_sessions") {
		t.Errorf("a fourth session again: %v; want refused naming http.max_sessions", err)
	}
	// Logged when the workspace reaches the bound, not at each refusal.
	if n := logs.count("level=WARN", "http.max_sessions"); n != 2 {
		t.Errorf("the bound was logged %d times; want 2, once each time it was reached:\n%s", n, logs.b.String())
	}
}

// A GET stream naming no session opens one session, and counts once
// against http.max_sessions for as long as it stays open.
func TestHTTPGetStreamCountsOnce(t *testing.T) {
	g := startGateway(t, gateway.Options{HTTP: gateway.HTTPOptions{MaxSessions: 3}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, 0)}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	connectHTTP(t, url, legacy)
	resp, err := rawHTTP(t, &http.Client{}, url, "", "") // a GET stream, left open
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET naming no session: %s; want a stream", resp.Status)
	}
	waitFor(t, "the stream's session", 5*time.Second, func() bool { return gateway.HTTPSessions(g, "w") == 2 })
	if err := tryInitialize(t, url); err != nil {
		t.Errorf("a third session beside a client and an open GET stream (max 3): %v; want it opened", err)
	}
}

// A 2026-07-28 client holds no session, but each subscriptions/listen
// stream holds as much: they are bounded by http.max_sessions too, apart
// from the sessions; one more is refused at once naming the limit, while
// calls go on, and a stream that closes makes room.
func TestHTTPListenStreamsBounded(t *testing.T) {
	g := startGateway(t, gateway.Options{HTTP: gateway.HTTPOptions{MaxSessions: 2}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, 0)}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	filter := mcp.SubscriptionFilter{ResourceSubscriptions: []string{"test://r"}}
	var stops []func()
	for range 2 {
		c, _ := connectHTTP(t, url, modern)
		stop, err := c.ListenAsync(context.WithoutCancel(t.Context()), filter, nil)
		if err != nil {
			t.Fatalf("ListenAsync: %v", err)
		}
		stops = append(stops, stop)
	}
	waitFor(t, "two listening streams", 5*time.Second, func() bool { return gateway.HTTPListens(g, "w") == 2 })
	c, _ := connectHTTP(t, url, modern)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Listen(ctx, filter); err == nil || !strings.Contains(err.Error(), "http.max_sessions") {
		t.Fatalf("a third listening stream (max 2): %v; want refused naming http.max_sessions", err)
	}
	if res := call(t, c, "up__echo", map[string]any{"message": "still"}); text(res) != "still" {
		t.Errorf("a call beside the full streams: %s", text(res))
	}
	stops[0]()
	waitFor(t, "a stream to close", 5*time.Second, func() bool { return gateway.HTTPListens(g, "w") == 1 })
	stop, err := c.ListenAsync(context.WithoutCancel(t.Context()), filter, nil)
	if err != nil {
		t.Fatalf("ListenAsync after one closed: %v", err)
	}
	defer stop()
	waitFor(t, "the new stream", 5*time.Second, func() bool { return gateway.HTTPListens(g, "w") == 2 })
	stops[1]()
}

// A session without a request open for longer than
// http.session_idle_timeout ends: its state is freed, its next request is
// answered 404 (the protocol's "session not found"), and a new initialize
// works — also where the ended session held the last place under
// http.max_sessions. A session whose GET stream stays open lives on, and
// so does one whose call runs longer than the timeout.
func TestHTTPSessionIdleTimeout(t *testing.T) {
	const idle = time.Second
	var logs logLines
	g := startGateway(t, gateway.Options{Logger: logs.logger(), HTTP: gateway.HTTPOptions{MaxSessions: 2, SessionIdleTimeout: idle}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, 0)}})
	url := serveHTTP(t, g) + "/w/w/mcp"

	busy := connectQuiet(t, url)
	if res := call(t, busy, "up__sleep", map[string]any{"ms": 3 * idle.Milliseconds()}); text(res) != "slept" {
		t.Fatalf("a call longer than the idle timeout: %s", text(res))
	}
	if res := call(t, busy, "up__echo", map[string]any{"message": "busy"}); text(res) != "busy" {
		t.Fatalf("the session after its long call: %s", text(res))
	}
	_ = busy.Close()
	waitFor(t, "the busy session to end", 5*time.Second, func() bool { return gateway.HTTPSessions(g, "w") == 0 })

	listening, _ := connectHTTP(t, url, legacy) // keeps its GET stream open
	quiet := connectQuiet(t, url)
	if res := call(t, quiet, "up__echo", map[string]any{"message": "before"}); text(res) != "before" {
		t.Fatalf("before: %s", text(res))
	}
	if err := tryInitialize(t, url); err == nil || !strings.Contains(err.Error(), "http.max_sessions") {
		t.Fatalf("a third session: %v; want refused naming http.max_sessions", err)
	}
	waitFor(t, "the quiet session to end", 10*idle, func() bool { return gateway.HTTPSessions(g, "w") == 1 })
	time.Sleep(idle) // more than the timeout again: the listening one stays

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "up__echo"
	req.Params.Arguments = map[string]any{"message": "after"}
	if _, err := quiet.CallTool(ctx, req); !errors.Is(err, transport.ErrSessionTerminated) {
		t.Errorf("a call of the idle session: %v; want 404, session terminated", err)
	}
	if res := call(t, listening, "up__echo", map[string]any{"message": "listening"}); text(res) != "listening" {
		t.Errorf("the session with its stream open: %s", text(res))
	}
	again := connectQuiet(t, url)
	if res := call(t, again, "up__echo", map[string]any{"message": "again"}); text(res) != "again" {
		t.Errorf("a new session: %s", text(res))
	}
	if n := logs.count("HTTP session ended", "http.session_idle_timeout"); n != 1 {
		t.Errorf("%d sessions logged as ended for idleness; want 1:\n%s", n, logs.b.String())
	}
}

// sessionCount is how many sessions TestManySessionsChattyUpstream opens:
// GATEHOUSE_TEST_SESSIONS, default 500.
func sessionCount(t *testing.T) int {
	n := 500
	if v := os.Getenv("GATEHOUSE_TEST_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("GATEHOUSE_TEST_SESSIONS=%q: want a positive number", v)
		}
	}
	return n
}

// With many sessions that asked for every log message and never read
// them, and an upstream that logs without pause, a call of another session
// answers promptly, a session that reads gets the log messages as they
// come, and what waits for each session is bounded by
// http.session_queue in the gateway's queue and in mcp-go's; memory stays
// bounded. (The 5,000 sessions: GATEHOUSE_TEST_SESSIONS=5000.)
func TestManySessionsChattyUpstream(t *testing.T) {
	sessions := sessionCount(t)
	const queue = 16
	g := startGateway(t, gateway.Options{HTTP: gateway.HTTPOptions{MaxSessions: sessions + 10, SessionQueue: queue}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, 200*time.Microsecond)}})
	url := serveHTTP(t, g) + "/w/w/mcp"

	start := time.Now()
	openSessions(t, url, sessions)
	t.Logf("%d sessions opened in %v", sessions, time.Since(start).Round(time.Millisecond))
	c, _ := connectHTTP(t, url, legacy)
	reader, notes := connectHTTP(t, url, legacy)
	if err := reader.SetLevel(t.Context(), mcp.SetLevelRequest{Params: mcp.SetLevelParams{Level: mcp.LoggingLevelDebug}}); err != nil {
		t.Fatal(err)
	}

	stop := heapWatch()
	time.Sleep(time.Second) // every queue full
	var slowest time.Duration
	for i := range 20 {
		began := time.Now()
		if res := call(t, c, "up__echo", map[string]any{"message": fmt.Sprint("call ", i)}); res.IsError {
			t.Fatalf("call %d: %s", i, text(res))
		}
		slowest = max(slowest, time.Since(began))
	}
	grew := stop()
	inGatehouse, inMCP := gateway.QueueDepths(g, "w")
	t.Logf("%d sessions: the slowest of 20 calls took %v; the heap grew by at most %d MB; at most %d+%d notifications wait for a session",
		sessions, slowest.Round(time.Millisecond), grew>>20, inGatehouse, inMCP)
	if slowest > time.Second {
		t.Errorf("a call took %v while %d sessions did not read their log messages; want under 1s", slowest, sessions)
	}
	if inGatehouse > queue || inMCP > queue {
		t.Errorf("%d notifications wait for a session in the gateway's queue, %d in mcp-go's; want at most %d (http.session_queue) in each", inGatehouse, inMCP, queue)
	}
	if limit := uint64(sessions)*16<<10 + 64<<20; grew > limit {
		t.Errorf("the heap grew by %d MB; want under %d MB", grew>>20, limit>>20)
	}
	seen := len(notes.methods(string(mcp.MethodNotificationMessage)))
	waitFor(t, "the reading session to get more log messages", 10*time.Second, func() bool {
		return len(notes.methods(string(mcp.MethodNotificationMessage))) > seen+queue
	})
}

// A session that does not read keeps the newest notifications: beyond
// http.session_queue the oldest are dropped, and when it opens its stream
// it gets what came last, not what came first.
func TestHTTPSessionQueueDropsOldest(t *testing.T) {
	const queue = 8
	var logs logLines
	g := startGateway(t, gateway.Options{Logger: logs.logger(), HTTP: gateway.HTTPOptions{SessionQueue: queue}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, time.Millisecond)}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	hc := &http.Client{}
	id, status, body, err := deafSession(t, hc, url)
	if err != nil || status != http.StatusOK {
		t.Fatalf("session: %v %d %s", err, status, body)
	}
	asked := time.Now()
	time.Sleep(time.Second)
	if waiting, _ := gateway.QueueDepths(g, "w"); waiting != queue {
		t.Errorf("%d notifications wait for the session; want %d (http.session_queue)", waiting, queue)
	}
	if n := logs.count("level=WARN", "notifications dropped", "http.session_queue", id); n != 1 {
		t.Errorf("the session's drops were logged %d times; want once:\n%s", n, logs.b.String())
	}
	resp, err := rawHTTP(t, hc, url, id, "") // its GET stream
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The stream carries first what waited in mcp-go's queue when the
	// session's last request ended (a few at most, sent when it asked),
	// then the gateway's queue, then what comes: of the first 2×queue
	// messages, those sent in the first half second after the session
	// asked are those few, not the queue.
	sc := bufio.NewScanner(resp.Body)
	var seen, old int
	for seen < 2*queue && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.Contains(data, "notifications/message") {
			continue
		}
		var n struct {
			Params struct{ Data string } `json:"params"`
		}
		if err := json.Unmarshal([]byte(data), &n); err != nil {
			t.Fatal(err)
		}
		nanos, _ := strconv.ParseInt(strings.Fields(n.Params.Data)[0], 10, 64)
		if time.Unix(0, nanos).Sub(asked) < time.Second/2 {
			old++
		}
		seen++
	}
	if seen < 2*queue {
		t.Fatalf("the stream ended after %d log messages: %v", seen, sc.Err())
	}
	if old > queue/2 {
		t.Errorf("%d of the first %d log messages the stream carried were sent in the first half second after the session asked; want the newest kept, the oldest dropped", old, seen)
	}
}

// A session whose GET stream is open but not read — a slow reader — holds
// no more than an absent one: once its connection's buffers are full, its
// notifications wait in its queue of http.session_queue, the oldest
// dropped, and another session's calls answer promptly.
func TestHTTPSessionSlowReader(t *testing.T) {
	const queue = 8
	g := startGateway(t, gateway.Options{HTTP: gateway.HTTPOptions{SessionQueue: queue}},
		workspace.Spec{Name: "w", Upstreams: []upstream.Spec{chattyUpstream(t, 100*time.Microsecond)}})
	url := serveHTTP(t, g) + "/w/w/mcp"
	hc := &http.Client{}
	id, status, body, err := deafSession(t, hc, url)
	if err != nil || status != http.StatusOK {
		t.Fatalf("session: %v %d %s", err, status, body)
	}
	resp, err := rawHTTP(t, hc, url, id, "") // its GET stream, never read
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	waitFor(t, "the unread stream's queue to fill", 30*time.Second, func() bool {
		waiting, _ := gateway.QueueDepths(g, "w")
		return waiting == queue
	})
	c, _ := connectHTTP(t, url, legacy)
	for i := range 10 {
		began := time.Now()
		if res := call(t, c, "up__echo", map[string]any{"message": fmt.Sprint("call ", i)}); text(res) != fmt.Sprint("call ", i) {
			t.Fatalf("call %d: %s", i, text(res))
		}
		if took := time.Since(began); took > time.Second {
			t.Errorf("call %d took %v beside a session that does not read its stream; want under 1s", i, took)
		}
	}
	if inGatehouse, inMCP := gateway.QueueDepths(g, "w"); inGatehouse > queue || inMCP > queue {
		t.Errorf("%d notifications wait for a session in the gateway's queue, %d in mcp-go's; want at most %d each", inGatehouse, inMCP, queue)
	}
}
