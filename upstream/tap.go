package upstream

import (
	"context"
	"encoding/json"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// mcp-go decodes tools/list into mcp.Tool, which keeps only part of a JSON
// schema. Gatehouse must show clients each tool's schema exactly as the
// upstream sent it, so the transports are wrapped: a request whose context
// carries a rawSink hands the raw result of the response to it. Each wrapper
// embeds the concrete transport so that every optional interface the mcp-go
// client looks for (bidirectional requests, HTTP protocol headers, connection
// loss) stays exactly as the concrete transport has it.

type rawSinkKey struct{}

// withRawSink returns a context whose requests report their raw results.
func withRawSink(ctx context.Context, sink func(json.RawMessage)) context.Context {
	return context.WithValue(ctx, rawSinkKey{}, sink)
}

func tapResponse(ctx context.Context, resp *transport.JSONRPCResponse, err error) {
	if err != nil || resp == nil || resp.Error != nil {
		return
	}
	if sink, ok := ctx.Value(rawSinkKey{}).(func(json.RawMessage)); ok {
		sink(resp.Result)
	}
}

type tappedStdio struct{ *transport.Stdio }

func (t tappedStdio) SendRequest(ctx context.Context, r transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := t.Stdio.SendRequest(ctx, r)
	tapResponse(ctx, resp, err)
	return resp, err
}

type tappedHTTP struct{ *transport.StreamableHTTP }

func (t tappedHTTP) SendRequest(ctx context.Context, r transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := t.StreamableHTTP.SendRequest(ctx, r)
	tapResponse(ctx, resp, err)
	return resp, err
}

type tappedSSE struct{ *transport.SSE }

func (t tappedSSE) SendRequest(ctx context.Context, r transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	resp, err := t.SSE.SendRequest(ctx, r)
	tapResponse(ctx, resp, err)
	return resp, err
}

// rawToolsPage is the part of a tools/list result that mcp.Tool loses.
type rawToolsPage struct {
	Tools []struct {
		Name         string          `json:"name"`
		InputSchema  json.RawMessage `json:"inputSchema"`
		OutputSchema json.RawMessage `json:"outputSchema"`
	} `json:"tools"`
}

// keepRawSchemas replaces the decoded schemas of tools with the raw ones of
// the page they came from.
func keepRawSchemas(tools []mcp.Tool, raw json.RawMessage) {
	var page rawToolsPage
	if json.Unmarshal(raw, &page) != nil {
		return
	}
	byName := make(map[string]int, len(page.Tools))
	for i, t := range page.Tools {
		byName[t.Name] = i
	}
	for i := range tools {
		j, ok := byName[tools[i].Name]
		if !ok {
			continue
		}
		if in := page.Tools[j].InputSchema; len(in) > 0 && string(in) != "null" {
			tools[i].InputSchema = mcp.ToolInputSchema{}
			tools[i].RawInputSchema = append(json.RawMessage(nil), in...)
		}
		if out := page.Tools[j].OutputSchema; len(out) > 0 && string(out) != "null" {
			tools[i].OutputSchema = mcp.ToolOutputSchema{}
			tools[i].RawOutputSchema = append(json.RawMessage(nil), out...)
		}
	}
}
