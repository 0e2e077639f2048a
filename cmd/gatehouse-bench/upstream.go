package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream/upstreamtest"
	"github.com/mark3labs/mcp-go/server"
)

// serveUpstreamCommand is the first argument that makes this program the
// HTTP upstream of the benchmark instead of the benchmark itself.
const serveUpstreamCommand = "serve-upstream"

// serveUpstream serves an upstreamtest.Server over streamable HTTP on a
// free loopback port, as upstreamtest's ServeHTTP does in tests, prints its
// URL on out and serves until in ends (the benchmark closes it, or dies).
// It runs in its own process so that the upstream's CPU is not the
// client's, as with the stdio test server.
func serveUpstream(in io.Reader, out io.Writer) error {
	streamable := server.NewStreamableHTTPServer(upstreamtest.NewServer(upstreamtest.Options{}).MCP)
	mux := http.NewServeMux()
	mux.Handle(upstreamtest.HTTPPath, streamable)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	announce := func() error {
		_, err := fmt.Fprintf(out, "http://%s%s\n", ln.Addr(), upstreamtest.HTTPPath)
		return err
	}
	return serveUntilEOF(srv, ln, in, announce, func(ctx context.Context) error {
		_ = streamable.Shutdown(ctx)
		return srv.Close()
	})
}

// serveUntilEOF serves srv on ln until in ends (the benchmark closes it, or
// dies), then stops it with stop. announce, if not nil, runs once serving.
func serveUntilEOF(srv *http.Server, ln net.Listener, in io.Reader, announce func() error, stop func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if announce != nil {
		if err := announce(); err != nil {
			return err
		}
	}
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, in)
		close(stdinClosed)
	}()
	select {
	case err := <-done:
		return err
	case <-stdinClosed:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return stop(ctx)
}
