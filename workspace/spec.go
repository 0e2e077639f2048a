// Package workspace is one workspace at run time: its set of upstream
// connections and its catalog, which maps every exposed tool, prompt,
// resource and resource template to the upstream that serves it.
package workspace

import "github.com/gatehouse-mcp/gatehouse/upstream"

// Spec describes one workspace: a name and its upstreams, in config order.
// Config order decides which upstream keeps a name when two would expose
// the same one.
type Spec struct {
	Name      string
	Upstreams []upstream.Spec
	// Strict is the workspace's default for its policies: fail closed when
	// a policy cannot be decided. Nil means the top-level default.
	Strict *bool
}
