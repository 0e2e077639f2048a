package workspace

import (
	"fmt"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/mark3labs/mcp-go/mcp"
)

// Tool is one exposed tool: the name the client sees, the upstream that
// serves it, and the tool as the upstream described it (with its own name
// and raw schemas).
type Tool struct {
	Exposed  string
	Upstream string
	Tool     mcp.Tool
}

// Prompt is one exposed prompt.
type Prompt struct {
	Exposed  string
	Upstream string
	Prompt   mcp.Prompt
}

// Resource is one resource and the upstream that serves it. Resource URIs
// are not renamed.
type Resource struct {
	Upstream string
	Resource mcp.Resource
}

// Template is one resource template and the upstream that serves it.
type Template struct {
	Upstream string
	Template mcp.ResourceTemplate
}

// Conflict is a name two upstreams would both expose. The upstream listed
// first in the config keeps it; the other's item is not exposed.
type Conflict struct {
	Kind    string // "tool", "prompt", "resource" or "resource template"
	Name    string // the exposed name or URI
	Kept    string // upstream that serves it
	Dropped string // upstream whose item is hidden
}

func (c Conflict) String() string {
	fix := "rename one, or set prefix: true"
	if !c.Renamable() {
		fix = "URIs are not renamed"
	}
	return fmt.Sprintf("%s %q is exposed by upstreams %q and %q; only %q serves it (%s)",
		c.Kind, c.Name, c.Kept, c.Dropped, c.Kept, fix)
}

// Renamable reports whether config can resolve the conflict: tool and
// prompt names take the upstream's prefix; resource URIs are never renamed.
func (c Conflict) Renamable() bool { return c.Kind == "tool" || c.Kind == "prompt" }

// Catalog is everything a workspace exposes, in upstream config order. It
// is immutable once built.
type Catalog struct {
	Tools     []Tool
	Prompts   []Prompt
	Resources []Resource
	Templates []Template
	Conflicts []Conflict

	tools     map[string]int
	prompts   map[string]int
	resources map[string]int
}

// Tool returns the tool a client knows by exposed name.
func (c *Catalog) Tool(exposed string) (Tool, bool) {
	i, ok := c.tools[exposed]
	if !ok {
		return Tool{}, false
	}
	return c.Tools[i], true
}

// Prompt returns the prompt a client knows by exposed name.
func (c *Catalog) Prompt(exposed string) (Prompt, bool) {
	i, ok := c.prompts[exposed]
	if !ok {
		return Prompt{}, false
	}
	return c.Prompts[i], true
}

// Resource returns the listed resource with this URI.
func (c *Catalog) Resource(uri string) (Resource, bool) {
	i, ok := c.resources[uri]
	if !ok {
		return Resource{}, false
	}
	return c.Resources[i], true
}

// source is one upstream's contribution to a catalog.
type source struct {
	spec    upstream.Spec
	catalog *upstream.Catalog // nil if the upstream was never reached
}

// buildCatalog merges the upstreams' catalogs in order. A name that two
// upstreams would expose goes to the first, and the clash is recorded.
func buildCatalog(sources []source) *Catalog {
	c := &Catalog{tools: map[string]int{}, prompts: map[string]int{}, resources: map[string]int{}}
	owner := map[string]string{} // kind + name → upstream
	claim := func(kind, name, up string) bool {
		key := kind + "\x00" + name
		if first, ok := owner[key]; ok {
			c.Conflicts = append(c.Conflicts, Conflict{Kind: kind, Name: name, Kept: first, Dropped: up})
			return false
		}
		owner[key] = up
		return true
	}
	for _, s := range sources {
		if s.catalog == nil {
			continue
		}
		up := s.spec.Name
		for _, t := range s.catalog.Tools {
			name := ExposedName(up, t.Name, s.spec.Prefix)
			if claim("tool", name, up) {
				c.tools[name] = len(c.Tools)
				c.Tools = append(c.Tools, Tool{Exposed: name, Upstream: up, Tool: t})
			}
		}
		for _, p := range s.catalog.Prompts {
			name := ExposedName(up, p.Name, s.spec.Prefix)
			if claim("prompt", name, up) {
				c.prompts[name] = len(c.Prompts)
				c.Prompts = append(c.Prompts, Prompt{Exposed: name, Upstream: up, Prompt: p})
			}
		}
		for _, r := range s.catalog.Resources {
			if claim("resource", r.URI, up) {
				c.resources[r.URI] = len(c.Resources)
				c.Resources = append(c.Resources, Resource{Upstream: up, Resource: r})
			}
		}
		for _, t := range s.catalog.Templates {
			uri := ""
			if t.URITemplate != nil {
				uri = t.URITemplate.Raw()
			}
			if claim("resource template", uri, up) {
				c.Templates = append(c.Templates, Template{Upstream: up, Template: t})
			}
		}
	}
	return c
}
