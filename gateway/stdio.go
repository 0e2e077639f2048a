package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-mcp/gatehouse/gateway/internal/stdiofast"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// stdioWorkers and the queue behind them are mcp-go's pool for the
// tools/call lines it reads itself. None reaches it (package stdiofast
// runs every call on a goroutine of its own); were one to, it would not
// run in mcp-go's read loop before the queue is full.
const stdioWorkers = 64

// ServeStdio serves one workspace to one client over in and out until in
// ends or ctx is cancelled. Either way it stops reading, cancels the calls
// still running (call Shutdown first to let them finish) and returns once
// every answer is written.
func (g *Gateway) ServeStdio(ctx context.Context, name string, in io.Reader, out io.Writer) error {
	s, ok := g.server(name)
	if !ok {
		return fmt.Errorf("serve %q: %w", name, ErrUnknownWorkspace)
	}
	workers := stdioWorkers
	if g.stdioPool > 0 {
		workers = g.stdioPool
	}
	stdio := server.NewStdioServer(s.mcp)
	server.WithWorkerPoolSize(workers)(stdio)
	server.WithQueueSize(4 * workers)(stdio)
	stdio.SetErrorLogger(slog.NewLogLogger(s.log.Handler(), slog.LevelError))
	// Every tools/call runs off the read loop, fast path or not: a call
	// held by the judge or a person never stops the reading of the lines
	// after it (the answer to its own question among them). How many run
	// at once is bounded by the calls' handler (inflight.go).
	err := stdiofast.Listen(ctx, s.mcp, stdio, in, out, stdiofast.Options{
		ServerInfo: mcp.Implementation{Name: serverName, Version: s.version},
		Go:         s.workers.run,
		Plain:      g.opts.PlainStdio,
		Taken:      func() { g.fastServed.Add(1) },
		Logger:     s.log,
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
