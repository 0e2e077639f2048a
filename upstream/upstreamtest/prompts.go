package upstreamtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The prompts a Server offers, by base name (before ToolPrefix).
const (
	// PromptGreet takes a required argument name and returns one user
	// message "Hello, NAME".
	PromptGreet = "greet"
	// PromptPlain takes no arguments and returns one user message.
	PromptPlain = "plain"
)

// PlainText is the text of the plain prompt's message.
const PlainText = "A plain prompt."

// GreetNames are the completions offered for the greet prompt's name
// argument, filtered by the typed prefix.
var GreetNames = []string{"alice", "albert", "bob"}

func (s *Server) addPrompts() {
	s.MCP.AddPrompts(
		server.ServerPrompt{
			Prompt: mcp.NewPrompt(s.opts.ToolPrefix+PromptGreet,
				mcp.WithPromptDescription("Greets someone by name."),
				mcp.WithArgument("name", mcp.ArgumentDescription("Who to greet."), mcp.RequiredArgument()),
			),
			Handler: greet,
		},
		server.ServerPrompt{
			Prompt:  mcp.NewPrompt(s.opts.ToolPrefix+PromptPlain, mcp.WithPromptDescription("A prompt without arguments.")),
			Handler: plain,
		},
	)
}

func greet(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	name, ok := req.Params.Arguments["name"]
	if !ok || name == "" {
		return nil, fmt.Errorf("greet: argument name is required")
	}
	return mcp.NewGetPromptResult("A greeting.", []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("Hello, "+name)),
	}), nil
}

func plain(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	return mcp.NewGetPromptResult("A plain prompt.", []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(PlainText)),
	}), nil
}

// promptCompletions completes the greet prompt's name argument.
type promptCompletions struct {
	prefix string
}

var _ server.PromptCompletionProvider = promptCompletions{}

// CompletePromptArgument offers the GreetNames that start with the typed
// value, and nothing for any other prompt or argument.
func (p promptCompletions) CompletePromptArgument(_ context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if prompt != p.prefix+PromptGreet || arg.Name != "name" {
		return &mcp.Completion{Values: []string{}}, nil
	}
	return &mcp.Completion{Values: withPrefix(GreetNames, arg.Value)}, nil
}

// withPrefix returns the values that start with prefix, never nil.
func withPrefix(values []string, prefix string) []string {
	out := []string{}
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}
