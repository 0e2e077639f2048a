package onboard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrWorkspaceExists is returned, wrapped, by Merge when the config
// already defines the workspace and replacing it was not asked for.
var ErrWorkspaceExists = errors.New("workspace already defined")

// NewConfig is a config file holding only workspace ws with imp's
// upstreams, the code-assistant template included; header is a comment
// put at its top.
func NewConfig(ws string, imp *Import, header string) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode}
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: header}
	doc.Content = []*yaml.Node{root}
	root.Content = append(root.Content,
		scalar("version"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"},
		scalar("include"), &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{scalar("code-assistant")}},
	)
	root.Content[2].HeadComment = "Built-in policies for coding agents: see the README, \"Policy templates\"."
	return Merge(doc, ws, imp, false)
}

// MergeBytes is Merge on a config file's bytes.
func MergeBytes(data []byte, ws string, imp *Import, replace bool) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse the config: %w", err)
	}
	if doc.Kind == 0 { // an empty file
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if out, ok, err := appendText(data, &doc, ws, imp); ok || err != nil {
		return out, err
	}
	return Merge(&doc, ws, imp, replace)
}

// appendText adds a new workspace to the file's text, leaving every
// other byte as it was: at the end of a block `workspaces:` mapping, or
// as a new `workspaces:` at the end of the file. ok is false when the
// file does not lend itself to that (the workspace exists, workspaces is
// empty or in flow style): Merge re-encodes it instead.
func appendText(data []byte, doc *yaml.Node, ws string, imp *Import) ([]byte, bool, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || doc.Content[0].Style&yaml.FlowStyle != 0 {
		return nil, false, nil
	}
	root := doc.Content[0]
	body, err := encodeWorkspace(ws, imp)
	if err != nil {
		return nil, false, err
	}
	text := string(data)
	nl := "\n"
	if strings.Contains(text, "\r\n") {
		nl = "\r\n" // a file with CRLF lines gets CRLF lines
	}
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", nl) }
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += nl
	}
	at := -1 // index in root.Content of the workspaces key
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "workspaces" {
			at = i
		}
	}
	if at < 0 {
		return []byte(text + crlf("workspaces:\n"+indent(body, "  "))), true, nil
	}
	w := root.Content[at+1]
	if w.Kind != yaml.MappingNode || w.Style&yaml.FlowStyle != 0 || len(w.Content) == 0 || get(w, ws) != nil {
		return nil, false, nil
	}
	prefix := strings.Repeat(" ", w.Content[0].Column-1)
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	end := len(lines) // insert before lines[end]
	if at+2 < len(root.Content) {
		end = root.Content[at+2].Line - 1
		// Leave the next key's own comments and the blank lines before it.
		for end > 0 {
			t := strings.TrimRight(lines[end-1], "\r\n")
			if t == "" || strings.HasPrefix(t, "#") {
				end--
				continue
			}
			break
		}
	}
	out := strings.Join(lines[:end], "") + crlf(indent(body, prefix)) + strings.Join(lines[end:], "")
	return []byte(out), true, nil
}

// encodeWorkspace renders `ws:` and its upstreams, indented by two.
func encodeWorkspace(ws string, imp *Import) (string, error) {
	var ups yaml.Node
	if err := ups.Encode(imp.Upstreams); err != nil {
		return "", err
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		scalar(ws), {Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("upstreams"), &ups}},
	}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// Merge adds workspace ws with imp's upstreams under the document's
// workspaces (kept with its comments) and encodes it. When ws exists it
// is ErrWorkspaceExists, unless replace: then only its upstreams are
// replaced, its policies and settings kept.
func Merge(doc *yaml.Node, ws string, imp *Import, replace bool) ([]byte, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the config is not a YAML mapping")
	}
	root := doc.Content[0]
	var ups yaml.Node
	if err := ups.Encode(imp.Upstreams); err != nil {
		return nil, err
	}
	workspaces := get(root, "workspaces")
	if workspaces == nil || workspaces.Kind == yaml.ScalarNode && workspaces.Tag == "!!null" {
		if workspaces == nil {
			workspaces = &yaml.Node{Kind: yaml.MappingNode}
			root.Content = append(root.Content, scalar("workspaces"), workspaces)
		} else {
			*workspaces = yaml.Node{Kind: yaml.MappingNode}
		}
	}
	if workspaces.Kind != yaml.MappingNode {
		return nil, errors.New("the config's workspaces is not a mapping")
	}
	if w := get(workspaces, ws); w != nil {
		if !replace {
			return nil, fmt.Errorf("%w: %s (pass --force to replace its upstreams, keeping its policies)", ErrWorkspaceExists, ws)
		}
		if w.Kind != yaml.MappingNode {
			*w = yaml.Node{Kind: yaml.MappingNode}
		}
		if u := get(w, "upstreams"); u != nil {
			*u = ups
		} else {
			w.Content = append(w.Content, scalar("upstreams"), &ups)
		}
	} else {
		w := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("upstreams"), &ups}}
		workspaces.Content = append(workspaces.Content, scalar(ws), w)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf.Bytes(), nil
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// get returns the value of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
