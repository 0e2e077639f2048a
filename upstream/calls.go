package upstream

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// Call is one tools/call to forward.
type Call struct {
	// Name is the upstream's own name of the tool.
	Name string
	// Arguments are sent as they are (after any redaction by the caller).
	Arguments any
	// Meta is the caller's _meta, passed through; a progress token in it is
	// replaced by one of the Conn's own (see OnProgress).
	Meta *mcp.Meta
	// OnProgress, if not nil, receives the upstream's progress notifications
	// for this call. It runs on the transport's reader goroutine.
	OnProgress func(mcp.ProgressNotificationParams)
	// Relay, if not nil, answers sampling and elicitation requests the
	// upstream makes while the call runs. Nil refuses them.
	Relay Relay
}

// CallTool forwards a tools/call. A result with isError is a result, not an
// error; errors are the upstream's JSON-RPC errors, transport failures and
// *UnavailableError when the upstream is not connected.
func (c *Conn) CallTool(ctx context.Context, call Call) (*mcp.CallToolResult, error) {
	sess, err := c.current()
	if err != nil {
		return nil, err
	}
	c.active.Add(1)
	defer c.active.Add(-1)
	req := mcp.CallToolRequest{}
	req.Params.Name = call.Name
	req.Params.Arguments = call.Arguments
	req.Params.Meta = c.progressMeta(call)
	if req.Params.Meta != nil && req.Params.Meta.ProgressToken != nil {
		defer c.progress.Delete(req.Params.Meta.ProgressToken)
	}
	ctx, done := c.inflight.begin(ctx, call.Relay)
	defer done()
	res, err := sess.client.CallTool(ctx, req)
	if err != nil {
		return nil, c.failed(sess, err)
	}
	return res, nil
}

// GetPrompt forwards a prompts/get.
func (c *Conn) GetPrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	return withClient(ctx, c, func(cl *client.Client) (*mcp.GetPromptResult, error) {
		return cl.GetPrompt(ctx, req)
	})
}

// ReadResource forwards a resources/read.
func (c *Conn) ReadResource(ctx context.Context, req mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	return withClient(ctx, c, func(cl *client.Client) (*mcp.ReadResourceResult, error) {
		return cl.ReadResource(ctx, req)
	})
}

// Complete forwards a completion/complete.
func (c *Conn) Complete(ctx context.Context, req mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	return withClient(ctx, c, func(cl *client.Client) (*mcp.CompleteResult, error) {
		return cl.Complete(ctx, req)
	})
}

// Subscribe forwards a resources/subscribe (on a 2026-07-28 connection:
// reopens the notification stream with the URI in its filter).
func (c *Conn) Subscribe(ctx context.Context, uri string) error {
	return c.subscription(ctx, uri, true)
}

// Unsubscribe forwards a resources/unsubscribe.
func (c *Conn) Unsubscribe(ctx context.Context, uri string) error {
	return c.subscription(ctx, uri, false)
}

func (c *Conn) subscription(ctx context.Context, uri string, on bool) error {
	sess, err := c.current()
	if err != nil {
		return err
	}
	if on {
		req := mcp.SubscribeRequest{}
		req.Params.URI = uri
		err = sess.client.Subscribe(ctx, req)
	} else {
		req := mcp.UnsubscribeRequest{}
		req.Params.URI = uri
		err = sess.client.Unsubscribe(ctx, req)
	}
	if err != nil {
		return c.failed(sess, err)
	}
	c.listen(c.lifetime, ctx, sess)
	return nil
}

// SetLevel forwards a logging/setLevel, when the upstream offers logging.
func (c *Conn) SetLevel(ctx context.Context, level mcp.LoggingLevel) error {
	_, err := withClient(ctx, c, func(cl *client.Client) (struct{}, error) {
		if cl.GetServerCapabilities().Logging == nil {
			return struct{}{}, nil
		}
		req := mcp.SetLevelRequest{}
		req.Params.Level = level
		return struct{}{}, cl.SetLevel(ctx, req)
	})
	return err
}

func withClient[T any](ctx context.Context, c *Conn, f func(*client.Client) (T, error)) (T, error) {
	var zero T
	sess, err := c.current()
	if err != nil {
		return zero, err
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	v, err := f(sess.client)
	if err != nil {
		return zero, c.failed(sess, err)
	}
	return v, nil
}

// progressMeta copies the caller's _meta and, when the caller wants
// progress, gives the upstream a token of the Conn's own, so that tokens of
// different callers can never collide upstream.
func (c *Conn) progressMeta(call Call) *mcp.Meta {
	if call.Meta == nil && call.OnProgress == nil {
		return nil
	}
	meta := &mcp.Meta{}
	if call.Meta != nil {
		meta.AdditionalFields = call.Meta.AdditionalFields
	}
	if call.OnProgress != nil {
		token := fmt.Sprintf("gatehouse-%d", c.progressSeq.Add(1))
		meta.ProgressToken = token
		c.progress.Store(token, call.OnProgress)
	}
	return meta
}

// routeProgress hands a progress notification to the call it belongs to.
func (c *Conn) routeProgress(n mcp.JSONRPCNotification) bool {
	token, ok := n.Params.AdditionalFields["progressToken"].(string)
	if !ok {
		return false
	}
	f, ok := c.progress.Load(token)
	if !ok {
		return true // a late notification for a finished call: drop it
	}
	p := mcp.ProgressNotificationParams{ProgressToken: token}
	p.Progress, _ = n.Params.AdditionalFields["progress"].(float64)
	p.Total, _ = n.Params.AdditionalFields["total"].(float64)
	p.Message, _ = n.Params.AdditionalFields["message"].(string)
	f.(func(mcp.ProgressNotificationParams))(p)
	return true
}
