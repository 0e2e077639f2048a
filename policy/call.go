package policy

import "encoding/json"

// Call is one tools/call as the engine judges it.
type Call struct {
	Workspace string
	Upstream  string
	// Tool is the upstream's own name of the tool.
	Tool string
	// Exposed is the name the client called.
	Exposed string
	// Description is the tool's description as the upstream gave it:
	// untrusted text, shown to the judge as such.
	Description string
	// Arguments are the call's arguments as the client sent them: a JSON
	// object, or empty.
	Arguments json.RawMessage
	// User is who the gateway acts for.
	User string
	// Client is the client's name from initialize.
	Client string
	// Session is the downstream session; empty when stateless.
	Session string
}
