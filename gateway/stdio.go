package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-mcp/gatehouse/gateway/internal/linelimit"
	"github.com/gatehouse-mcp/gatehouse/gateway/internal/stdiofast"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// stdioWorkers and the queue behind them are mcp-go's pool for the
// tools/call lines it reads itself. None reaches it (package stdiofast
// runs every call on a goroutine of its own); were one to, it would not
// run in mcp-go's read loop before the queue is full.
const stdioWorkers = 64

// DefaultMaxStdioRequestBytes bounds a stdio request line when Options sets
// none: the same as an HTTP request body.
const DefaultMaxStdioRequestBytes = DefaultMaxRequestBytes

// StdioOptions configure the stdio face.
type StdioOptions struct {
	// MaxRequestBytes bounds a request line (its newline aside); zero
	// means DefaultMaxStdioRequestBytes. A longer line is dropped as it
	// arrives and answered with an error naming the limit.
	MaxRequestBytes int
}

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
	out = stdiofast.LockedWriter(out) // limitLines answers on it too
	in = g.limitLines(s, in, out)
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

// limitLines bounds the lines read from in (stdio.max_request_bytes): an
// over-long line is dropped as it arrives — neither mcp-go nor the fast path
// sees it — logged, and answered on out with an invalid-request error
// naming the limit, with the request's id when the line's head shows it
// (linelimit.RequestID), else null. The session goes on with the next line.
func (g *Gateway) limitLines(s *wsServer, in io.Reader, out io.Writer) io.Reader {
	limit := g.opts.Stdio.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxStdioRequestBytes
	}
	why := fmt.Sprintf("request too large: a line of more than %d bytes (stdio.max_request_bytes)", limit)
	return linelimit.NewReader(in, limit, func(head []byte) {
		id := linelimit.RequestID(head)
		s.log.Warn("stdio request refused: "+why, "id", string(id))
		if id == nil {
			id = json.RawMessage("null")
		}
		b, _ := json.Marshal(lineError{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: mcp.NewJSONRPCErrorDetails(mcp.INVALID_REQUEST, why, nil)})
		if _, err := out.Write(append(b, '\n')); err != nil {
			s.log.Debug("answer not delivered", "err", err)
		}
	})
}

// lineError is the answer to an over-long line.
type lineError struct {
	JSONRPC string                  `json:"jsonrpc"`
	ID      json.RawMessage         `json:"id"`
	Error   mcp.JSONRPCErrorDetails `json:"error"`
}
