package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// notifyTimeout bounds the upstream requests the gateway makes on its own
// (unsubscribing for a client that went away).
const notifyTimeout = 5 * time.Second

// relay passes an upstream's sampling and elicitation requests to the
// downstream client whose call the upstream is serving, through that call's
// context (which carries the client's session).
type relay struct {
	ctx context.Context
	srv *server.MCPServer
}

var _ upstream.Relay = relay{}

func newRelay(ctx context.Context, srv *server.MCPServer) relay { return relay{ctx: ctx, srv: srv} }

func (r relay) CreateMessage(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	return r.srv.RequestSampling(r.callCtx(ctx), req)
}

func (r relay) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return r.srv.RequestElicitation(r.callCtx(ctx), req)
}

// callCtx is the downstream call's context, also ended when the upstream
// gives up on its request.
func (r relay) callCtx(upstreamCtx context.Context) context.Context {
	ctx, cancel := context.WithCancel(r.ctx)
	stop := context.AfterFunc(upstreamCtx, cancel)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx
}

// callTracker counts the tool calls in flight, so that shutdown can stop
// taking new calls and wait for the running ones.
type callTracker struct {
	mu       sync.Mutex
	draining bool
	wg       sync.WaitGroup
}

func (t *callTracker) begin() (done func(), ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return nil, false
	}
	t.wg.Add(1)
	return t.wg.Done, true
}

// drain refuses new calls and waits for running ones, or for ctx.
func (t *callTracker) drain(ctx context.Context) error {
	t.mu.Lock()
	t.draining = true
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
