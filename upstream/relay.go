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
// that cannot be tied to exactly one downstream client.
var ErrNoRelay = errors.New("no client to relay the request to: it arrived outside a tool call, or while calls of several clients were running")

type relayKey struct{}

// inflight tracks the calls running on a Conn and the relay of each. An
// upstream's request over HTTP carries the context of the call it belongs
// to; over stdio it does not, and is relayed only when every running call
// came from the same client — never guessed between two.
type inflight struct {
	mu    sync.Mutex
	calls map[*Relay]int // relay → running calls with it
}

func (f *inflight) begin(ctx context.Context, r Relay) (context.Context, func()) {
	if r == nil {
		return ctx, func() {}
	}
	key := &r
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[*Relay]int{}
	}
	f.calls[key]++
	f.mu.Unlock()
	return context.WithValue(ctx, relayKey{}, r), func() {
		f.mu.Lock()
		if f.calls[key]--; f.calls[key] == 0 {
			delete(f.calls, key)
		}
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
	var only Relay
	for key := range f.calls {
		if only != nil && only != *key {
			return nil, ErrNoRelay
		}
		only = *key
	}
	if only == nil {
		return nil, ErrNoRelay
	}
	return only, nil
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
