package enforce

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The side channels (DESIGN §7) — resources/read, resources/subscribe,
// prompts/get and completion/complete — take the path of a tools/call:
// Decide (with no Asker), forward what it allows, scan the result with
// the Scan functions below when the workspace scans output, and Settle,
// which leaves the one record. Their results have no isError: the gateway
// answers a request it does not allow with a JSON-RPC error carrying the
// Decision's Message.
//
// Two things a tool call can have they cannot: approval (there is no
// retry to carry it, and an approval is bound to a tool), so a side
// channel held for approval is blocked and told that approvals are for
// tool calls; and a redacted resource URI (a different URI is a
// different resource), so a resource request a redact policy would change
// is blocked. A prompt's or a completion's arguments are forwarded
// redacted.

// sideChannel turns the verdict v of a call that is not a tools/call into
// what its request can do: see above.
func sideChannel(call policy.Call, v policy.Verdict) policy.Verdict {
	if call.CallKind() == policy.KindTool {
		return v
	}
	switch {
	case v.Decision == policy.DecisionRequireApproval:
		v.Decision = policy.DecisionBlock
		v.Message = v.Message + " Approvals are for tool calls only, so this " + call.CallMethod() + " request was blocked."
		v.Approval = nil
	case v.Decision == policy.DecisionAllow && v.Arguments != nil && call.CallKind() == policy.KindResource && call.CallMethod() != policy.MethodCompletionComplete:
		v.Decision = policy.DecisionBlock
		v.Policy, v.Layer = redactingPolicy(v)
		v.Reason = "the resource's URI holds what a policy redacts, and a redacted URI names another resource"
		v.Message = fmt.Sprintf("Blocked by policy %q: %s.", v.Policy, v.Reason)
	}
	return v
}

// redactingPolicy is the first policy that redacted something in v.
func redactingPolicy(v policy.Verdict) (string, policy.Layer) {
	if len(v.Redactions) == 0 {
		return "", ""
	}
	name := v.Redactions[0].Policy
	for _, r := range v.Results {
		if r.Policy == name {
			return name, r.Layer
		}
	}
	return name, ""
}

// Settle records how a side-channel request that d allowed ended: err is
// the upstream's failure (nil when it answered), cancelled says the client
// went away. Call it exactly once for every allowed decision, after the
// result is scanned.
func (e *Enforcer) Settle(_ context.Context, d *Decision, err error, cancelled bool, latency time.Duration) {
	if d.recorded {
		return
	}
	d.rec.Upstream, d.rec.UpstreamError = upstreamOutcome(End{Err: err, Cancelled: cancelled && err != nil})
	d.rec.UpstreamLatency = latency
	e.record(d)
}

// Scans reports whether the results of d's call are to be scanned for
// secrets.
func (e *Enforcer) Scans(d *Decision) bool { return e.ScanOutput[d.call.Workspace] }

// ErrWithheld is the error of a side channel's result that could not be
// scanned: it is withheld, never passed on unscanned.
var ErrWithheld = errors.New("Gatehouse withheld the result: it could not scan it for secrets")

// ScanResourceContents redacts the secrets in what a resources/read
// returns, as the client receives it: every text and _meta, and the
// blobs that hold text. An error means the contents are withheld.
func (e *Enforcer) ScanResourceContents(d *Decision, contents []mcp.ResourceContents) ([]mcp.ResourceContents, error) {
	if !e.Scans(d) {
		return contents, nil
	}
	in := mcp.ReadResourceResult{Contents: contents}
	raw, n, err := redactSent(in, resourceBlob.MatchString)
	if err == nil && n > 0 {
		var out *mcp.ReadResourceResult
		msg := json.RawMessage(raw)
		if out, err = mcp.ParseReadResourceResult(&msg); err == nil {
			contents = out.Contents
		}
	}
	if err == nil {
		var m int
		m, err = redactBlobs(contents)
		n += m
	}
	if err == nil {
		err = verifyClean(mcp.ReadResourceResult{Contents: contents}, resourceBlob.MatchString)
	}
	return contents, e.scanned(d, n, err)
}

// ScanPrompt redacts the secrets in what a prompts/get returns: its
// description, every message's content of every type, embedded resources
// (their blobs that hold text too) and _meta. An error means the result is
// withheld.
func (e *Enforcer) ScanPrompt(d *Decision, res *mcp.GetPromptResult) (*mcp.GetPromptResult, error) {
	if !e.Scans(d) {
		return res, nil
	}
	raw, n, err := redactSent(res, promptBinary.MatchString)
	if err == nil && n > 0 {
		msg := json.RawMessage(raw)
		res, err = mcp.ParseGetPromptResult(&msg)
	}
	if err == nil {
		for i, m := range res.Messages {
			if er, ok := m.Content.(mcp.EmbeddedResource); ok {
				c := []mcp.ResourceContents{er.Resource}
				var k int
				if k, err = redactBlobs(c); err != nil {
					break
				}
				er.Resource, n = c[0], n+k
				res.Messages[i].Content = er
			}
		}
	}
	if err == nil {
		err = verifyClean(res, promptBinary.MatchString)
	}
	return res, e.scanned(d, n, err)
}

// ScanCompletion redacts the secrets in the values a completion/complete
// returns. An error means the values are withheld.
func (e *Enforcer) ScanCompletion(d *Decision, c *mcp.Completion) (*mcp.Completion, error) {
	if !e.Scans(d) {
		return c, nil
	}
	raw, n, err := redactSent(c, nil)
	if err == nil && n > 0 {
		out := &mcp.Completion{}
		if err = json.Unmarshal(raw, out); err == nil {
			c = out
		}
	}
	if err == nil {
		err = verifyClean(c, nil)
	}
	return c, e.scanned(d, n, err)
}

// ScanError redacts the secrets in an upstream's failure, which the client
// reads as a JSON-RPC error's message, when d's workspace scans output.
func (e *Enforcer) ScanError(d *Decision, err error) error {
	if err == nil || !e.Scans(d) {
		return err
	}
	text, n := policy.RedactSecrets(err.Error())
	if n == 0 {
		return err
	}
	return errors.New(text)
}

// scanned logs what scanning d's result did and words its failure.
func (e *Enforcer) scanned(d *Decision, n int, err error) error {
	c := d.call
	if err != nil {
		if e.Logger != nil {
			e.Logger.Warn("a result was withheld: it could not be scanned for secrets", "workspace", c.Workspace, "upstream", c.Upstream, "method", c.CallMethod(), "verdict", d.ID, "err", err)
		}
		return fmt.Errorf("%w (%v)", ErrWithheld, err)
	}
	if n > 0 && e.Logger != nil {
		e.Logger.Info("secrets redacted in a result", "workspace", c.Workspace, "upstream", c.Upstream, "method", c.CallMethod(), "verdict", d.ID, "secrets", n)
	}
	return nil
}

// The paths of the binary leaves of a side channel's result: base64 data,
// scanned decoded where it is text (redactBlobs), never as its base64.
var (
	resourceBlob = regexp.MustCompile(`^\$\.contents\[\d+\]\.blob$`)
	promptBinary = regexp.MustCompile(`^\$\.messages\[\d+\]\.content\.(data|resource\.blob)$`)
)

// verifyClean encodes v as it will be sent and fails if a secret is still
// in it: what the client receives is what was scanned, whatever a decoder
// kept of the upstream's bytes.
func verifyClean(v any, binary func(path string) bool) error {
	_, n, err := redactSent(v, binary)
	if err == nil && n > 0 {
		err = fmt.Errorf("%d secrets remained after redaction", n)
	}
	return err
}

// redactBlobs redacts the secrets in the blobs of contents that hold
// UTF-8 text, re-encoding them, and returns how many it replaced. A blob
// that is not base64 is not passed on.
func redactBlobs(contents []mcp.ResourceContents) (int, error) {
	n := 0
	for i, c := range contents {
		b, ok := c.(mcp.BlobResourceContents)
		if !ok {
			continue
		}
		data, err := decodeBlob(b.Blob)
		if err != nil {
			return n, fmt.Errorf("blob of %q is not base64: %w", b.URI, err)
		}
		if !utf8.Valid(data) {
			continue // binary: not text a secret could be read from
		}
		text, k := policy.RedactSecrets(string(data))
		if k == 0 {
			continue
		}
		b.Blob = base64.StdEncoding.EncodeToString([]byte(text))
		contents[i] = b
		n += k
	}
	return n, nil
}

// decodeBlob decodes a blob as a client would: standard base64, padded or
// not, with any line breaks in it ignored.
func decodeBlob(blob string) ([]byte, error) {
	blob = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, blob)
	if data, err := base64.StdEncoding.DecodeString(blob); err == nil {
		return data, nil
	}
	return base64.RawStdEncoding.DecodeString(blob)
}
