package upstreamtest

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The resources a Server offers. URIs are never prefixed.
const (
	// StaticResources is how many static text resources there are:
	// test://static/1 … test://static/N, each with text "static N".
	StaticResources = 5
	// BlobURI is the one binary resource; its contents are BlobBytes.
	BlobURI = "test://blob"
	// DynTemplate is the resource template; reading test://dyn/ID returns
	// the text "dynamic ID".
	DynTemplate = "test://dyn/{id}"
)

const dynPrefix = "test://dyn/"

// BlobBytes are the contents of BlobURI.
var BlobBytes = []byte{0x00, 0x01, 0x02, 0xfe, 0xff}

// DynIDs are the completions offered for the template's id argument,
// filtered by the typed prefix.
var DynIDs = []string{"1", "2", "3"}

func staticURI(n int) string  { return fmt.Sprintf("test://static/%d", n) }
func staticText(n int) string { return fmt.Sprintf("static %d", n) }

func (s *Server) addResources() {
	resources := make([]server.ServerResource, 0, StaticResources+1)
	for n := 1; n <= StaticResources; n++ {
		resources = append(resources, server.ServerResource{
			Resource: mcp.NewResource(staticURI(n), staticText(n), mcp.WithMIMEType("text/plain")),
			Handler:  staticHandler(n),
		})
	}
	resources = append(resources, server.ServerResource{
		Resource: mcp.NewResource(BlobURI, "blob", mcp.WithMIMEType("application/octet-stream")),
		Handler:  blob,
	})
	s.MCP.AddResources(resources...)

	s.MCP.AddResourceTemplate(
		mcp.NewResourceTemplate(DynTemplate, "dynamic",
			mcp.WithTemplateDescription("Text naming its id."),
			mcp.WithTemplateMIMEType("text/plain"),
		),
		dynamic,
	)
}

func staticHandler(n int) server.ResourceHandlerFunc {
	return func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{
			URI:      staticURI(n),
			MIMEType: "text/plain",
			Text:     staticText(n),
		}}, nil
	}
}

func blob(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	return []mcp.ResourceContents{mcp.BlobResourceContents{
		URI:      BlobURI,
		MIMEType: "application/octet-stream",
		Blob:     base64.StdEncoding.EncodeToString(BlobBytes),
	}}, nil
}

func dynamic(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	id := strings.TrimPrefix(req.Params.URI, dynPrefix)
	return []mcp.ResourceContents{mcp.TextResourceContents{
		URI:      req.Params.URI,
		MIMEType: "text/plain",
		Text:     "dynamic " + id,
	}}, nil
}

// resourceCompletions completes the template's id argument.
type resourceCompletions struct{}

var _ server.ResourceCompletionProvider = resourceCompletions{}

// CompleteResourceArgument offers the DynIDs that start with the typed
// value, and nothing for any other template or argument.
func (resourceCompletions) CompleteResourceArgument(_ context.Context, uri string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if uri != DynTemplate || arg.Name != "id" {
		return &mcp.Completion{Values: []string{}}, nil
	}
	return &mcp.Completion{Values: withPrefix(DynIDs, arg.Value)}, nil
}
