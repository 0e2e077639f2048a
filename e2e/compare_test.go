//go:build unix

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// gatewayMetaPrefix marks the _meta keys the gateway adds to results (the
// verdict id, DESIGN §4); they are not part of what the upstream said.
const gatewayMetaPrefix = "io.gatehouse/"

// ownMetaKey reports whether a result's _meta key belongs to the server that
// answered rather than to the tool's result: the gateway's own keys, and
// the serverInfo a 2026-07-28 server puts in every result.
func ownMetaKey(k string) bool {
	return strings.HasPrefix(k, gatewayMetaPrefix) || k == mcp.MetaKeyServerInfo
}

// listTools lists every tool through call, following nextCursor, and
// returns each tool's JSON as the server wrote it, by name.
func listTools(t *testing.T, call rawCaller) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	tools := map[string]json.RawMessage{}
	var cursor string
	for page := 0; ; page++ {
		if page == 100 {
			t.Fatalf("tools/list: more than 100 pages")
		}
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		raw, err := call(ctx, "tools/list", params)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		var res struct {
			Tools      []json.RawMessage `json:"tools"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("decode tools/list result: %v\n%s", err, raw)
		}
		for _, tool := range res.Tools {
			var head struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(tool, &head); err != nil || head.Name == "" {
				t.Fatalf("tools/list: tool without a name: %s", tool)
			}
			if _, dup := tools[head.Name]; dup {
				t.Errorf("tools/list lists %q twice", head.Name)
			}
			tools[head.Name] = tool
		}
		if res.NextCursor == "" {
			return tools
		}
		cursor = res.NextCursor
	}
}

// renamed is a tool's JSON with its name replaced.
func renamed(t *testing.T, tool json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(tool, &fields); err != nil {
		t.Fatal(err)
	}
	fields["name"], _ = json.Marshal(name)
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameBytes compares two JSON texts byte for byte, ignoring only
// insignificant whitespace and the HTML-safe escaping of <, >, & (and
// U+2028, U+2029) that Go's encoder applies. Key order and number
// formatting count.
func sameBytes(a, b json.RawMessage) bool {
	return bytes.Equal(normBytes(a), normBytes(b))
}

func normBytes(raw json.RawMessage) []byte {
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return raw
	}
	json.HTMLEscape(&escaped, compact.Bytes())
	return escaped.Bytes()
}

// canonical is raw re-encoded with sorted keys and numbers kept as written.
func canonical(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// compareTool compares the gateway's JSON for one tool with the upstream's
// (already renamed): the input and output schemas byte for byte, every
// other field as a JSON value.
func compareTool(t *testing.T, exposed string, got, want json.RawMessage) {
	t.Helper()
	var g, w map[string]json.RawMessage
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: decode gateway tool: %v", exposed, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: decode upstream tool: %v", exposed, err)
	}
	keys := map[string]bool{}
	for k := range g {
		keys[k] = true
	}
	for k := range w {
		keys[k] = true
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		gv, inGot := g[k]
		wv, inWant := w[k]
		switch {
		case !inWant:
			t.Errorf("tools/list %s: the gateway adds %q = %s, which the upstream does not send", exposed, k, gv)
		case !inGot:
			t.Errorf("tools/list %s: the gateway drops %q (upstream: %s)", exposed, k, wv)
		case k == "inputSchema" || k == "outputSchema":
			if sameBytes(gv, wv) {
				continue
			}
			if canonical(gv) == canonical(wv) {
				t.Errorf("tools/list %s: %s is the same JSON value but not the same bytes (key order or number formatting changed):\n got %s\nwant %s", exposed, k, gv, wv)
			} else {
				t.Errorf("tools/list %s: %s differs:\n got %s\nwant %s", exposed, k, gv, wv)
			}
		default:
			if canonical(gv) != canonical(wv) {
				t.Errorf("tools/list %s: %q differs:\n got %s\nwant %s", exposed, k, gv, wv)
			}
		}
	}
}

// compareCatalog checks that every tool in want is listed in got, identical,
// and that got lists nothing else but the names optional allows.
func compareCatalog(t *testing.T, got, want map[string]json.RawMessage, optional func(string) bool) {
	t.Helper()
	for _, name := range sortedKeys(want) {
		g, ok := got[name]
		if !ok {
			t.Errorf("tools/list through the gateway lacks %q", name)
			continue
		}
		compareTool(t, name, g, want[name])
	}
	var extra []string
	for _, name := range sortedKeys(got) {
		if _, ok := want[name]; ok {
			continue
		}
		if optional != nil && optional(name) {
			extra = append(extra, name)
			continue
		}
		t.Errorf("tools/list through the gateway lists %q, which no upstream lists directly", name)
	}
	if len(extra) > 0 {
		t.Logf("tools/list through the gateway also lists %v (upstream tools that depend on client capabilities)", extra)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// typedResult decodes a raw tools/call result the way the mcp-go client
// does, without the parts that legitimately differ through the gateway.
func typedResult(t *testing.T, raw json.RawMessage) *mcp.CallToolResult {
	t.Helper()
	res, err := mcp.ParseCallToolResult(&raw)
	if err != nil {
		t.Fatalf("parse tools/call result: %v\n%s", err, raw)
	}
	return res
}

// marshalResult is res as JSON, without the result type (a 2026-07-28
// server must set it; a 2025-11-25 one must not) and without the _meta keys
// of the answering server (ownMetaKey).
func marshalResult(t *testing.T, res *mcp.CallToolResult) []byte {
	t.Helper()
	r := *res
	r.ResultType = ""
	if r.Meta != nil {
		m := *r.Meta
		m.AdditionalFields = map[string]any{}
		for k, v := range r.Meta.AdditionalFields {
			if !ownMetaKey(k) {
				m.AdditionalFields[k] = v
			}
		}
		r.Meta = &m
		if m.ProgressToken == nil && len(m.AdditionalFields) == 0 {
			r.Meta = nil
		}
	}
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stripRawResult is a raw result without resultType and without the _meta
// keys of the answering server (ownMetaKey), in canonical form.
func stripRawResult(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("decode result: %v\n%s", err, raw)
	}
	delete(fields, "resultType")
	if m, ok := fields["_meta"]; ok {
		var meta map[string]json.RawMessage
		if err := json.Unmarshal(m, &meta); err == nil {
			for k := range meta {
				if ownMetaKey(k) {
					delete(meta, k)
				}
			}
			if len(meta) == 0 {
				delete(fields, "_meta")
			} else {
				fields["_meta"], _ = json.Marshal(meta)
			}
		}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return canonical(b)
}
