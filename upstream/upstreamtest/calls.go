package upstreamtest

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// Call is one tools/call request the server received.
type Call struct {
	// Tool is the tool name as the client sent it, prefix included.
	Tool string
	// Args is the arguments object exactly as it arrived on the wire, or nil
	// when the request had none.
	Args json.RawMessage
	// Meta is the request's _meta without its progress token, or nil.
	Meta map[string]any
}

// Calls records every tools/call request a [Server] receives, unknown tools
// included, before the tool runs. It is safe for concurrent use.
//
// A request counts once per tools/call message. A modern (2026-07-28) client
// answering the sample or elicit tool's input request sends the call twice,
// so it is recorded twice; a legacy client's call is recorded once, because
// mcp-go re-invokes the handler without a new message.
type Calls struct {
	mu    sync.Mutex
	calls []Call
}

// record is the BeforeCallTool hook that fills the record.
func (c *Calls) record(_ context.Context, _ any, request *mcp.CallToolRequest) {
	call := Call{Tool: request.Params.Name}
	if m := request.Params.Meta; m != nil && len(m.AdditionalFields) > 0 {
		call.Meta = make(map[string]any, len(m.AdditionalFields))
		for k, v := range m.AdditionalFields {
			call.Meta[k] = v
		}
	}
	switch {
	case len(request.Params.RawArguments) > 0:
		call.Args = append(json.RawMessage(nil), request.Params.RawArguments...)
	case request.Params.Arguments != nil:
		if raw, err := json.Marshal(request.Params.Arguments); err == nil {
			call.Args = raw
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
}

// All returns a copy of every call received, oldest first.
func (c *Calls) All() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Call, len(c.calls))
	copy(out, c.calls)
	return out
}

// CallCount returns how many tools/call requests named tool were received.
// tool is the name as sent, prefix included.
func (c *Calls) CallCount(tool string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, call := range c.calls {
		if call.Tool == tool {
			n++
		}
	}
	return n
}

// LastArgs returns the arguments of the latest call of tool decoded as a JSON
// object, or nil when there was no such call or it carried no object.
func (c *Calls) LastArgs(tool string) map[string]any {
	c.mu.Lock()
	var raw json.RawMessage
	for i := len(c.calls) - 1; i >= 0; i-- {
		if c.calls[i].Tool == tool {
			raw = c.calls[i].Args
			break
		}
	}
	c.mu.Unlock()

	var args map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &args) != nil {
		return nil
	}
	return args
}
