//go:build unix

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// clientInfo is how the tests' clients introduce themselves.
var clientInfo = mcp.Implementation{Name: "gatehouse-e2e", Version: "1.0.0"}

// generation is one protocol generation of the mcp-go client.
type generation struct {
	name    string
	options []client.ClientOption
	// version is the protocol version the client must end up speaking.
	version string
}

var (
	// modern is the mcp-go default: stateless 2026-07-28, no initialize.
	// Its server/discover probe waits as long as a gateway may take to
	// start (a stdio gateway answers once its upstreams are up); mcp-go's
	// default of 5 s falls back to 2025-11-25 on a loaded machine.
	modern = generation{name: "modern", version: mcp.LATEST_PROTOCOL_VERSION, options: []client.ClientOption{client.WithDiscoverTimeout(startTimeout)}}
	// legacy is 2025-11-25: the initialize handshake and, over HTTP, a session.
	legacy = generation{
		name:    "legacy",
		options: []client.ClientOption{client.WithLegacyProtocolOnly()},
		version: mcp.LATEST_LEGACY_PROTOCOL_VERSION,
	}
	generations = []generation{modern, legacy}
)

// initialize starts cl and negotiates gen's protocol version.
func initialize(t *testing.T, cl *client.Client, gen generation) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	// The transport keeps Start's context to answer the server's requests
	// (elicitation, sampling): it must live as long as the client.
	if err := cl.Start(context.WithoutCancel(t.Context())); err != nil {
		t.Fatalf("start client: %v", err)
	}
	res, err := cl.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: clientInfo}})
	if err != nil {
		t.Fatalf("initialize (%s): %v", gen.name, err)
	}
	if got := cl.ProtocolVersion(); got != gen.version {
		t.Fatalf("negotiated protocol version = %q (server said %q); want %q", got, res.ProtocolVersion, gen.version)
	}
}

// connectHTTP connects an mcp-go client of the given generation to url.
func connectHTTP(t *testing.T, url string, gen generation) *client.Client {
	t.Helper()
	// A pool of its own: mcp-go's client closes its pool's idle
	// connections when it closes, which on the shared default transport
	// would race other clients' requests.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewClient(tr, gen.options...)
	t.Cleanup(func() { _ = cl.Close() })
	initialize(t, cl, gen)
	if gen.version == legacy.version && cl.GetSessionId() == "" {
		t.Errorf("legacy client over HTTP got no Mcp-Session-Id from %s", url)
	}
	return cl
}

// rawCaller sends one JSON-RPC request and returns its raw result.
type rawCaller func(ctx context.Context, method string, params map[string]any) (json.RawMessage, error)

var rawIDs atomic.Int64

// rawVia sends requests through cl's transport, bypassing the typed API so
// that results arrive as the server wrote them (mcp.Tool, for one, drops
// parts of a schema). On a modern connection it adds the per-request _meta
// and headers that the client would add.
func rawVia(cl *client.Client) rawCaller {
	return func(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
		p := map[string]any{}
		for k, v := range params {
			p[k] = v
		}
		var header http.Header
		if v := cl.ProtocolVersion(); mcp.IsModernProtocol(v) {
			meta := map[string]any{}
			if m, ok := p["_meta"].(map[string]any); ok {
				for k, v := range m {
					meta[k] = v
				}
			}
			meta[mcp.MetaKeyProtocolVersion] = v
			meta[mcp.MetaKeyClientInfo] = clientInfo
			meta[mcp.MetaKeyClientCapabilities] = cl.GetClientCapabilities()
			p["_meta"] = meta
			encoded, err := json.Marshal(p)
			if err != nil {
				return nil, err
			}
			header = http.Header{}
			for name, value := range mcp.StandardHeaders(v, mcp.MCPMethod(method), encoded) {
				header.Set(name, value)
			}
		}
		resp, err := cl.GetTransport().SendRequest(ctx, transport.JSONRPCRequest{
			JSONRPC: mcp.JSONRPC_VERSION,
			ID:      mcp.NewRequestId(fmt.Sprintf("e2e-raw-%d", rawIDs.Add(1))),
			Method:  method,
			Params:  p,
			Header:  header,
		})
		if err != nil {
			return nil, err
		}
		if resp.Error != nil {
			return nil, resp.Error.AsError()
		}
		return resp.Result, nil
	}
}

// callTool calls a tool through cl with a 60 s bound.
func callTool(t *testing.T, cl *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	return cl.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
}

// resultText joins the text content of a tool result.
func resultText(res *mcp.CallToolResult) string {
	var s string
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			s += tc.Text
		}
	}
	return s
}

// eachFace runs f in a subtest for each protocol generation and each face
// of workspace dev — a stdio gateway of its own, or a client of gw over
// HTTP — with a connected client and a prefix unique to the subtest.
func eachFace(t *testing.T, cfg string, gw *httpGateway, f func(t *testing.T, cl *client.Client, prefix string)) {
	t.Helper()
	for _, gen := range generations {
		for _, face := range []string{"stdio", "http"} {
			t.Run(gen.name+"/"+face, func(t *testing.T) {
				var cl *client.Client
				if face == "stdio" {
					cl = startStdio(t, cfg, "dev", gen).client
				} else {
					cl = connectHTTP(t, gw.url("/w/dev/mcp"), gen)
				}
				f(t, cl, gen.name+"-"+face)
			})
		}
	}
}
