package main_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkCallTool measures one tools/call of the echo tool, directly on
// the upstream and through a gateway running in this process, so that a
// CPU profile of the benchmark shows where the gateway spends its time:
//
//	go test -run '^$' -bench 'CallTool/http/gateway/modern/c=16$' -benchtime 20000x \
//	    -cpuprofile cpu.out -o bench.test ./cmd/gatehouse-bench
//	go run ./cmd/gatehouse-bench layers -calls 20001 bench.test cpu.out
//	go tool pprof -tagfocus side=gateway -top -cum bench.test cpu.out
//
// Every goroutine carries a pprof label "side": client (the benchmark's
// mcp-go client and its connections), gateway (the gateway's HTTP server or
// stdio loop, its handlers, and its upstream connections) or upstream (the
// in-process HTTP test server). The stdio upstream is a child process and
// not in the profile. Samples without the label are the runtime's own (GC
// workers, the scheduler).
//
// The names say transport/route/protocol of the client/concurrency. The
// gateway speaks its default protocol to the upstream. The c=1 benchmarks
// call sequentially (ns/op is the mean latency); the c=16 ones call from 16
// goroutines (ns/op is the inverse of throughput).
func BenchmarkCallTool(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		for _, route := range []string{"direct", "gateway"} {
			for _, proto := range []string{"modern", "legacy"} {
				b.Run(tr+"/"+route+"/"+proto, func(b *testing.B) {
					cl, tool := connect(b, tr, route == "gateway", proto == "legacy")
					call := echo(cl, tool)
					b.Run("c=1", func(b *testing.B) {
						label(b.Context(), "client", func(ctx context.Context) {
							for b.Loop() {
								if err := call(ctx); err != nil {
									b.Fatal(err)
								}
							}
						})
					})
					b.Run("c=16", func(b *testing.B) {
						b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
						b.RunParallel(func(pb *testing.PB) {
							label(b.Context(), "client", func(ctx context.Context) {
								for pb.Next() {
									if err := call(ctx); err != nil {
										b.Error(err)
										return
									}
								}
							})
						})
					})
				})
			}
		}
	}
}

// label runs f with the pprof label side=side on its goroutine, and so on
// every goroutine f starts.
func label(ctx context.Context, side string, f func(context.Context)) {
	pprof.Do(ctx, pprof.Labels("side", side), f)
}

// connect starts the path and returns an initialized client and the name
// of the echo tool on it.
func connect(b *testing.B, tr string, viaGateway, legacy bool) (*client.Client, string) {
	b.Helper()
	ctx := b.Context()
	tool := upstreamtest.ToolEcho
	var t transport.Interface
	switch {
	case tr == "stdio" && !viaGateway:
		cmd, args := upstreamtest.StdioCommand(b)
		t = transport.NewStdio(cmd, nil, args...)
	case tr == "stdio":
		cmd, args := upstreamtest.StdioCommand(b)
		g := startGateway(b, upstream.Spec{Name: "up", Transport: upstream.TransportStdio, Command: cmd, Args: args, Prefix: true})
		t = stdioTo(b, g)
		tool = "up__" + tool
	case !viaGateway:
		t = httpTransport(b, serveUpstream(b))
	default:
		g := startGateway(b, upstream.Spec{Name: "up", Transport: upstream.TransportHTTP, URL: serveUpstream(b), Prefix: true})
		var srv *httptest.Server
		label(ctx, "gateway", func(context.Context) { srv = httptest.NewServer(g.Handler()) })
		b.Cleanup(srv.Close)
		t = httpTransport(b, srv.URL+"/mcp")
		tool = "up__" + tool
	}
	var opts []client.ClientOption
	if legacy {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	cl := client.NewClient(t, opts...)
	label(ctx, "client", func(ctx context.Context) {
		if err := cl.Start(ctx); err != nil {
			b.Fatalf("Start = %v", err)
		}
	})
	b.Cleanup(func() { _ = cl.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := cl.Initialize(ctx, init); err != nil {
		b.Fatalf("Initialize = %v", err)
	}
	return cl, tool
}

// serveUpstream serves the upstream test server over streamable HTTP in
// this process, labelled side=upstream.
func serveUpstream(b *testing.B) string {
	var url string
	label(b.Context(), "upstream", func(context.Context) {
		url = upstreamtest.NewServer(upstreamtest.Options{}).ServeHTTP(b)
	})
	return url
}

// startGateway starts a gateway with one workspace "w" of one upstream,
// labelled side=gateway, and waits until the upstream is connected.
func startGateway(b *testing.B, up upstream.Spec) *gateway.Gateway {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g := gateway.New([]workspace.Spec{{Name: "w", Upstreams: []upstream.Spec{up}}}, gateway.Options{Logger: logger})
	label(context.WithoutCancel(b.Context()), "gateway", func(ctx context.Context) {
		g.Start(ctx)
		if err := g.WaitReady(ctx); err != nil {
			b.Fatalf("WaitReady = %v", err)
		}
	})
	b.Cleanup(func() { _ = g.Close() })
	if ws, ok := g.Workspace("w"); !ok || len(ws.Catalog().Tools) == 0 {
		b.Fatalf("gateway has no tools: upstream %+v", g.Status())
	}
	return g
}

// stdioTo serves the gateway's workspace over a pair of OS pipes, as
// `gatehouse serve` does on its stdin and stdout, and returns the client's
// end.
func stdioTo(b *testing.B, g *gateway.Gateway) transport.Interface {
	b.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.Context()))
	done := make(chan struct{})
	label(ctx, "gateway", func(ctx context.Context) {
		go func() {
			defer close(done)
			_ = g.ServeStdio(ctx, "w", inR, outW)
		}()
	})
	b.Cleanup(func() {
		_ = inW.Close()
		cancel()
		<-done
		_ = outW.Close()
		_ = inR.Close()
		_ = outR.Close()
	})
	return transport.NewIO(outR, inW, io.NopCloser(eofReader{}))
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// httpTransport is the client's transport to url, with a connection pool
// large enough for every concurrency the benchmark uses.
func httpTransport(b *testing.B, url string) transport.Interface {
	b.Helper()
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConnsPerHost = 64
	t, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(&http.Client{Transport: pool}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.CloseIdleConnections)
	return t
}

// echo returns a function that makes one echo call and checks that it
// echoed.
func echo(cl *client.Client, tool string) func(context.Context) error {
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = map[string]any{"message": "ping"}
	return func(ctx context.Context) error {
		res, err := cl.CallTool(ctx, req)
		return echoed(tool, res, err)
	}
}

// echoed checks the answer to an echo call.
func echoed(tool string, res *mcp.CallToolResult, err error) error {
	if err != nil {
		return fmt.Errorf("CallTool(%s) = %w", tool, err)
	}
	if res.IsError || len(res.Content) != 1 {
		return fmt.Errorf("CallTool(%s) = %+v; want the echo", tool, res.Content)
	}
	return nil
}
