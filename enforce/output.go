package enforce

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Finish ends the decision d of a call that was forwarded, and returns
// what the client gets: the upstream's result, or for a failure a tool
// error with end.Failure's text. When the workspace scans output,
// everything in it is scanned and its secrets redacted first (see
// scanOutput). Then the call is recorded. Call it exactly once for every
// allowed decision, before the client gets the answer.
func (e *Enforcer) Finish(_ context.Context, d *Decision, end End) *mcp.CallToolResult {
	res := end.Result
	if res == nil {
		text := end.Failure
		if text == "" && end.Err != nil {
			text = end.Err.Error()
		}
		res = ToolError(text)
	}
	if e.ScanOutput[d.call.Workspace] {
		res = e.scanOutput(d, res)
	}
	d.rec.Upstream, d.rec.UpstreamError = upstreamOutcome(end) // how the upstream answered; its words masked
	d.rec.UpstreamLatency = end.Latency
	e.record(d)
	return res
}

// ToolError is a tool result that reports a failure to the model and the
// person: isError with one text content.
func ToolError(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, IsError: true}
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
		return policy.UpstreamToolError, Truncate(policy.MaskText(text.String()), maxUpstreamError)
	}
	return policy.UpstreamOK, ""
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return Truncate(policy.MaskText(err.Error()), maxUpstreamError)
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

// scanOutput redacts the secrets in everything the client would receive
// of res — every content item of every kind, resource links and embedded
// resources, structuredContent as the upstream's bytes that are sent, and
// _meta — by scanning res as the JSON it is sent as, and returns the
// result to send. Binary data (an image's or audio's data, a resource's
// blob) is not text and is left alone. A result that cannot be read or
// rewritten — not JSON Gatehouse can parse, a key twice in an object — is
// withheld: it is never passed on unscanned.
func (e *Enforcer) scanOutput(d *Decision, res *mcp.CallToolResult) *mcp.CallToolResult {
	out, n, err := redactSecretsJSON(res)
	c := d.call
	if err != nil {
		if e.Logger != nil {
			e.Logger.Warn("a tool result was withheld: it could not be scanned for secrets", "workspace", c.Workspace, "upstream", c.Upstream, "tool", c.Tool, "verdict", d.ID, "err", err)
		}
		return ToolError("Gatehouse withheld the tool's result: it could not scan it for secrets (" + err.Error() + ").")
	}
	if n > 0 && e.Logger != nil {
		e.Logger.Info("secrets redacted in a tool result", "workspace", c.Workspace, "upstream", c.Upstream, "tool", c.Tool, "verdict", d.ID, "secrets", n)
	}
	return out
}

// redactSecretsJSON redacts the secrets in the strings of res as sent,
// and returns the result with them replaced by [REDACTED] (res itself when
// there were none) and how many it replaced.
func redactSecretsJSON(res *mcp.CallToolResult) (*mcp.CallToolResult, int, error) {
	redacted, n, err := redactSent(res, binaryData)
	if err != nil || n == 0 {
		return res, 0, err
	}
	out := &mcp.CallToolResult{}
	if err := json.Unmarshal(redacted, out); err != nil {
		return nil, 0, fmt.Errorf("decode the redacted result: %w", err)
	}
	return out, n, nil
}

// redactSent encodes v as it is sent, and returns that JSON with the
// secrets of its strings replaced by [REDACTED] and how many it replaced;
// binary (may be nil) tells the leaves that are base64 data, by path.
// Every scan of what reaches the client goes through it.
func redactSent(v any, binary func(path string) bool) ([]byte, int, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, 0, fmt.Errorf("encode: %w", err)
	}
	doc, err := policy.ParseResult(raw)
	if err != nil {
		return nil, 0, err
	}
	spans := policy.SecretSpans(doc, func(l policy.Leaf) bool {
		return l.Kind == policy.LeafString && (binary == nil || !binary(l.Path))
	}, policy.ThreatSecret)
	if len(spans) == 0 {
		return raw, 0, nil
	}
	out, err := doc.Redact(spans)
	if err != nil {
		return nil, 0, fmt.Errorf("redact: %w", err)
	}
	return out, len(spans), nil
}

// ScanRelayed returns v with its secrets redacted when workspace scans
// output, else v itself. v is something an upstream sends the client
// outside a result — a log message's data, a progress message, the
// request of a sampling or elicitation it relays — and scan_output means
// everything the client receives is scanned. v must encode to JSON; what
// cannot be read back is replaced by a note saying it was withheld.
func ScanRelayed[T any](e *Enforcer, workspace string, v T) T {
	if e == nil || !e.ScanOutput[workspace] {
		return v
	}
	type box struct{ V T }
	redacted, n, err := redactSent(box{v}, nil) // read as one document: an object
	switch {
	case err != nil:
		return withheld[T]()
	case n == 0:
		return v
	}
	var out box
	if err := json.Unmarshal(redacted, &out); err != nil {
		return withheld[T]()
	}
	return out.V
}

// withheld is what ScanRelayed passes on of a value it could not scan: a
// note for a string or an interface, else the zero value.
func withheld[T any]() T {
	var out T
	if p, ok := any(&out).(*string); ok {
		*p = "[withheld by Gatehouse: it could not be scanned for secrets]"
	} else if p, ok := any(&out).(*any); ok {
		*p = "[withheld by Gatehouse: it could not be scanned for secrets]"
	}
	return out
}

// binaryData reports whether path (a leaf's path in a result) is a content
// item's base64 data or an embedded resource's blob: binary, not text.
func binaryData(path string) bool {
	rest, ok := strings.CutPrefix(path, "$.content[")
	if !ok || strings.Contains(rest, "#") {
		return false
	}
	_, field, ok := strings.Cut(rest, "]")
	return ok && (field == ".data" || field == ".resource.blob")
}
