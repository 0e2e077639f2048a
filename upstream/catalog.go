package upstream

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// maxPages bounds how many pages one list may take, so that an upstream
// whose cursors never end cannot hold a connection attempt forever.
const maxPages = 1000

// Catalog is what an upstream offers, as it last listed it. Tools keep their
// input and output schemas exactly as the upstream sent them
// (RawInputSchema, RawOutputSchema).
type Catalog struct {
	ServerInfo   mcp.Implementation
	Capabilities mcp.ServerCapabilities
	Instructions string
	Tools        []mcp.Tool
	Prompts      []mcp.Prompt
	Resources    []mcp.Resource
	Templates    []mcp.ResourceTemplate
}

// list reads every list the upstream's capabilities say it has, following
// pagination.
func (c *Conn) list(ctx context.Context, sess *session) (*Catalog, error) {
	cl := sess.client
	caps := cl.GetServerCapabilities()
	cat := &Catalog{Capabilities: caps, ServerInfo: sess.serverInfo, Instructions: sess.instructions}
	var err error
	if caps.Tools != nil {
		if cat.Tools, err = listTools(ctx, sess); err != nil {
			return nil, c.failed(sess, fmt.Errorf("tools: %w", err))
		}
	}
	if caps.Prompts != nil {
		cat.Prompts, err = paginate(ctx, func(cur mcp.Cursor) ([]mcp.Prompt, mcp.Cursor, error) {
			req := mcp.ListPromptsRequest{}
			req.Params.Cursor = cur
			r, err := cl.ListPromptsByPage(ctx, req)
			if err != nil {
				return nil, "", err
			}
			return r.Prompts, r.NextCursor, nil
		})
		if err != nil {
			return nil, c.failed(sess, fmt.Errorf("prompts: %w", err))
		}
	}
	if caps.Resources != nil {
		cat.Resources, err = paginate(ctx, func(cur mcp.Cursor) ([]mcp.Resource, mcp.Cursor, error) {
			req := mcp.ListResourcesRequest{}
			req.Params.Cursor = cur
			r, err := cl.ListResourcesByPage(ctx, req)
			if err != nil {
				return nil, "", err
			}
			return r.Resources, r.NextCursor, nil
		})
		if err != nil {
			return nil, c.failed(sess, fmt.Errorf("resources: %w", err))
		}
		cat.Templates, err = paginate(ctx, func(cur mcp.Cursor) ([]mcp.ResourceTemplate, mcp.Cursor, error) {
			req := mcp.ListResourceTemplatesRequest{}
			req.Params.Cursor = cur
			r, err := cl.ListResourceTemplatesByPage(ctx, req)
			if err != nil {
				return nil, "", err
			}
			return r.ResourceTemplates, r.NextCursor, nil
		})
		if err != nil {
			return nil, c.failed(sess, fmt.Errorf("resource templates: %w", err))
		}
	}
	return cat, nil
}

// listTools lists every tool, keeping each page's raw schemas.
func listTools(ctx context.Context, sess *session) ([]mcp.Tool, error) {
	return paginate(ctx, func(cur mcp.Cursor) ([]mcp.Tool, mcp.Cursor, error) {
		var raw json.RawMessage
		pctx := withRawSink(ctx, func(r json.RawMessage) { raw = r })
		req := mcp.ListToolsRequest{}
		req.Params.Cursor = cur
		r, err := sess.client.ListToolsByPage(pctx, req)
		if err != nil {
			return nil, "", err
		}
		keepRawSchemas(r.Tools, raw)
		return r.Tools, r.NextCursor, nil
	})
}

// paginate calls page until the cursor runs out, refusing cursors that
// repeat or never end.
func paginate[T any](ctx context.Context, page func(mcp.Cursor) ([]T, mcp.Cursor, error)) ([]T, error) {
	var all []T
	var cursor mcp.Cursor
	seen := map[mcp.Cursor]bool{}
	for range maxPages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		items, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("pagination cursor %q repeated", next)
		}
		seen[next] = true
		cursor = next
	}
	return nil, fmt.Errorf("more than %d pages", maxPages)
}
