package enforce

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Finish ends the decision d of a call that was forwarded: it scans the
// upstream's result when the workspace says so (redacting end.Result in
// place), and records how the call ended. Call it exactly once for every
// allowed decision, before the client gets the answer.
func (e *Enforcer) Finish(_ context.Context, d *Decision, end End) {
	if end.Result != nil && e.ScanOutput[d.call.Workspace] {
		e.scanOutput(d, end.Result)
	}
	d.rec.Upstream, d.rec.UpstreamError = upstreamOutcome(end)
	d.rec.UpstreamLatency = end.Latency
	e.record(d)
}

// maxUpstreamError bounds how much of an upstream's error text a record
// keeps.
const maxUpstreamError = 1000

// upstreamOutcome classifies how a forwarded call ended, with the
// upstream's words for a failure.
func upstreamOutcome(end End) (policy.UpstreamOutcome, string) {
	switch {
	case end.Cancelled:
		return policy.UpstreamCancelled, errText(end.Err)
	case end.Err != nil:
		return policy.UpstreamTransportError, errText(end.Err)
	case end.Result != nil && end.Result.IsError:
		var text strings.Builder
		for _, c := range end.Result.Content {
			if t, ok := c.(mcp.TextContent); ok {
				if text.Len() > 0 {
					text.WriteString(" ")
				}
				text.WriteString(t.Text)
			}
		}
		return policy.UpstreamToolError, Truncate(text.String(), maxUpstreamError)
	}
	return policy.UpstreamOK, ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return Truncate(err.Error(), maxUpstreamError)
}

// Truncate cuts s to at most n bytes, on a character boundary, marking
// the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// scanOutput redacts the secrets in a result.
func (e *Enforcer) scanOutput(d *Decision, res *mcp.CallToolResult) {
	if n := redactResult(res); n > 0 && e.Logger != nil {
		c := d.call
		e.Logger.Info("secrets redacted in a tool result", "workspace", c.Workspace, "upstream", c.Upstream, "tool", c.Tool, "verdict", d.ID, "secrets", n)
	}
}

// redactResult replaces the secrets in res's text content, text resources
// and structured content, and returns how many it replaced.
func redactResult(res *mcp.CallToolResult) int {
	total := 0
	for i, c := range res.Content {
		switch c := c.(type) {
		case mcp.TextContent:
			if t, n := policy.RedactSecrets(c.Text); n > 0 {
				c.Text, total = t, total+n
				res.Content[i] = c
			}
		case mcp.EmbeddedResource:
			if r, ok := c.Resource.(mcp.TextResourceContents); ok {
				if t, n := policy.RedactSecrets(r.Text); n > 0 {
					r.Text, total = t, total+n
					c.Resource = r
					res.Content[i] = c
				}
			}
		}
	}
	if res.StructuredContent != nil {
		if out, n := redactStructured(res.StructuredContent); n > 0 {
			res.StructuredContent, total = out, total+n
		}
	}
	return total
}

// redactStructured redacts the secrets in the strings of structured
// content. Content it cannot read is replaced whole: it is never passed on
// unscanned.
func redactStructured(v any) (any, int) {
	raw, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": "structured content withheld: Gatehouse could not scan it"}, 1
	}
	args, err := policy.ParseArguments(raw)
	if err != nil {
		// Not an object (or not readable as one): scan it as text.
		t, n := policy.RedactSecrets(string(raw))
		if n == 0 {
			return v, 0
		}
		return t, n
	}
	var spans []policy.Span
	for i, l := range args.Leaves() {
		for _, f := range policy.DetectOnly(l.Text, policy.ThreatSecret) {
			spans = append(spans, policy.Span{Leaf: i, Start: f.Start, End: f.End})
		}
	}
	if len(spans) == 0 {
		return v, 0
	}
	out, err := args.Redact(spans)
	var redacted any
	if err == nil {
		err = json.Unmarshal(out, &redacted)
	}
	if err != nil {
		return map[string]any{"error": "structured content withheld: Gatehouse could not redact the secrets in it"}, len(spans)
	}
	return redacted, len(spans)
}
