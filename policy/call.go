package policy

import "encoding/json"

// Kind says what a client asks the gateway for: to call a tool, to read a
// resource, or to get a prompt. It chooses which scope of a policy applies
// (tools, resources or prompts).
type Kind string

// The kinds of call. A Call's empty Kind is a tool call.
const (
	KindTool     Kind = "tool"
	KindResource Kind = "resource"
	KindPrompt   Kind = "prompt"
)

// The MCP methods a Call may stand for (Call.Method).
const (
	MethodToolsCall          = "tools/call"
	MethodResourcesRead      = "resources/read"
	MethodResourcesSubscribe = "resources/subscribe"
	MethodPromptsGet         = "prompts/get"
	MethodCompletionComplete = "completion/complete"
)

// Call is one request as the engine judges it: a tools/call, or one of the
// side channels (DESIGN §7) — resources/read and resources/subscribe (Kind
// resource, Tool and Exposed the resource's URI), prompts/get (Kind prompt,
// Tool and Exposed the prompt's names), and completion/complete (Kind
// prompt for a prompt's argument, Kind resource for a resource template's,
// whose URI template is then Tool and Exposed).
type Call struct {
	// Kind is what the call is about; "" is KindTool.
	Kind Kind
	// Method is the MCP method of the request; "" is tools/call.
	Method    string
	Workspace string
	Upstream  string
	// Tool is the upstream's own name of the tool (of the prompt; the
	// resource's URI).
	Tool string
	// Exposed is the name the client called (of the prompt; the
	// resource's URI).
	Exposed string
	// Description is the tool's description as the upstream gave it:
	// untrusted text, shown to the judge as such.
	Description string
	// Arguments are the call's arguments as the client sent them: a JSON
	// object, or empty. A resource request's are {"uri": URI}; a prompt's
	// the prompt's arguments; a completion's {"argument": {"name", "value"},
	// "context": {"arguments": {…}}}.
	Arguments json.RawMessage
	// User is who the gateway acts for.
	User string
	// Client is the client's name from initialize.
	Client string
	// Session is the downstream session; empty when stateless.
	Session string
}

// CallKind is c's kind, KindTool when unset.
func (c *Call) CallKind() Kind {
	if c.Kind == "" {
		return KindTool
	}
	return c.Kind
}

// CallMethod is c's MCP method, tools/call when unset.
func (c *Call) CallMethod() string {
	if c.Method == "" {
		return MethodToolsCall
	}
	return c.Method
}

// Label names what c asks for as a person reads it in the log: the
// exposed tool name of a tools/call, "METHOD TARGET" of any other request
// ("resources/read file:///x", "prompts/get fs__review").
func (c *Call) Label() string {
	if c.CallMethod() == MethodToolsCall {
		return c.Exposed
	}
	return c.CallMethod() + " " + c.Exposed
}
