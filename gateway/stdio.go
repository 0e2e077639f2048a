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

// stdioWorkers is how many tool calls a stdio client may have running at
// once: slow calls (an upstream that takes minutes, a judge, a person
// approving) must not starve quick ones.
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
	stdio := server.NewStdioServer(s.mcp)
	server.WithWorkerPoolSize(stdioWorkers)(stdio)
	server.WithQueueSize(4 * stdioWorkers)(stdio)
	stdio.SetErrorLogger(slog.NewLogLogger(s.log.Handler(), slog.LevelError))
	var err error
	if g.opts.PlainStdio {
		err = stdio.Listen(ctx, in, out)
	} else {
		err = stdiofast.Listen(ctx, s.mcp, stdio, in, out, stdiofast.Options{
			ServerInfo: mcp.Implementation{Name: serverName, Version: s.version},
			Go:         s.workers.run,
			MaxCalls:   g.fastMaxCalls,
			Taken:      func() { g.fastServed.Add(1) },
			Logger:     s.log,
		})
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}
