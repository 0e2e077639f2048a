package upstream

import (
	"context"
	"errors"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// Relay answers the requests an upstream makes of the client during a call
// — an LLM completion (sampling) or a question for the person
// (elicitation) — by asking the downstream client that made the call.
type Relay interface {
	CreateMessage(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error)
	Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error)
}

// ErrNoRelay is the answer to an upstream's sampling or elicitation request
// that cannot be tied to exactly one call.
var ErrNoRelay = errors.New("no call to relay the request to: it arrived outside a tool call, or while several calls were running")

type relayKey struct{}

// inflight tracks the calls running on a Conn that have a relay. An
// upstream's request over HTTP usually carries the context of the call it
// belongs to; otherwise (stdio, or an HTTP server that sends it on its
// standalone stream) it is relayed only while exactly one such call runs —
// never guessed between two.
type inflight struct {
	mu    sync.Mutex
	next  uint64
	calls map[uint64]Relay
}

func (f *inflight) begin(ctx context.Context, r Relay) (context.Context, func()) {
	if r == nil {
		return ctx, func() {}
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[uint64]Relay{}
	}
	f.next++
	id := f.next
	f.calls[id] = r
	f.mu.Unlock()
	return context.WithValue(ctx, relayKey{}, r), func() {
		f.mu.Lock()
		delete(f.calls, id)
		f.mu.Unlock()
	}
}

// find returns the relay for a request from the upstream.
func (f *inflight) find(ctx context.Context) (Relay, error) {
	if r, ok := ctx.Value(relayKey{}).(Relay); ok {
		return r, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 1 {
		return nil, ErrNoRelay
	}
	for _, r := range f.calls {
		return r, nil
	}
	return nil, ErrNoRelay
}

type relaySampling struct{ c *Conn }

func (r relaySampling) CreateMessage(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	relay, err := r.c.inflight.find(ctx)
	if err != nil {
		return nil, err
	}
	return relay.CreateMessage(ctx, req)
}

type relayElicitation struct{ c *Conn }

func (r relayElicitation) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	relay, err := r.c.inflight.find(ctx)
	if err != nil {
		return nil, err
	}
	return relay.Elicit(ctx, req)
}
