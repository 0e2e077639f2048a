package main_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkVerdictLog is the A/B of the verdict log: the same gateway (no
// policies, the in-process HTTP upstream, a 2026-07-28 client), once
// without a recorder and once writing every call to a SQLite file, so that
// the difference is the log's cost and nothing else (cpu-µs/op is the CPU
// of the whole process — client, gateway, upstream — per call):
//
//	go test -run '^$' -bench VerdictLog -count 6 ./cmd/gatehouse-bench | tee log.txt
//	benchstat -col /log log.txt
func BenchmarkVerdictLog(b *testing.B) {
	for _, tr := range []string{"stdio", "http"} {
		for _, on := range []bool{false, true} {
			name := tr + "/log=off"
			if on {
				name = tr + "/log=on"
			}
			b.Run(name, func(b *testing.B) {
				engine, err := policy.NewEngine(policy.Set{}, policy.Options{})
				if err != nil {
					b.Fatal(err)
				}
				enf := &enforce.Enforcer{Engine: engine}
				if on {
					l, err := audit.Open(filepath.Join(b.TempDir(), "verdicts.db"), audit.Options{}, nil)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = l.Close(context.Background()) })
					enf.Recorder = l
				}
				cl := connectWith(b, tr, enf)
				call := echo(cl, "up__echo")
				b.Run("c=1", func(b *testing.B) {
					for b.Loop() {
						if err := call(b.Context()); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("c=16", func(b *testing.B) {
					b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
					before := cpuTime()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := call(b.Context()); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64((cpuTime()-before).Microseconds())/float64(b.N), "cpu-µs/op")
				})
			})
		}
	}
}

// connectWith starts a gateway enforcing with enf in front of the
// in-process HTTP upstream and returns a 2026-07-28 client of it over tr.
func connectWith(b *testing.B, tr string, enf *enforce.Enforcer) *client.Client {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	up := upstream.Spec{Name: "up", Transport: upstream.TransportHTTP, URL: serveUpstream(b), Prefix: true}
	g := gateway.New([]workspace.Spec{{Name: "w", Upstreams: []upstream.Spec{up}}}, gateway.Options{Logger: logger, Enforcer: enf})
	g.Start(context.WithoutCancel(b.Context()))
	if err := g.WaitReady(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close() })
	var cl *client.Client
	if tr == "stdio" {
		cl = client.NewClient(stdioTo(b, g))
	} else {
		srv := httptest.NewServer(g.Handler())
		b.Cleanup(srv.Close)
		cl = client.NewClient(httpTransport(b, srv.URL+"/mcp"))
	}
	if err := cl.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cl.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := cl.Initialize(b.Context(), init); err != nil {
		b.Fatal(err)
	}
	return cl
}
