// Package onboard reads and rewrites the MCP server lists of AI clients
// (Claude Desktop, Claude Code, VS Code, Cursor): import turns a client's
// servers into a Gatehouse workspace, install points the client at
// Gatehouse instead and uninstall puts back what was there (DESIGN §13).
package onboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// Client is one AI client's config format.
type Client struct {
	// Name is how the command line names it: claude-desktop, claude-code,
	// vscode or cursor.
	Name string
	// key is the key of the server object: mcpServers, or servers for
	// VS Code.
	key string
}

// Clients are the clients supported, by Name.
var Clients = map[string]Client{
	"claude-desktop": {Name: "claude-desktop", key: "mcpServers"},
	"claude-code":    {Name: "claude-code", key: "mcpServers"},
	"vscode":         {Name: "vscode", key: "servers"},
	"cursor":         {Name: "cursor", key: "mcpServers"},
}

// ClientNames lists the clients, for messages.
const ClientNames = "claude-desktop, claude-code, vscode or cursor"

// Lookup returns the client called name.
func Lookup(name string) (Client, error) {
	c, ok := Clients[name]
	if !ok {
		return Client{}, fmt.Errorf("unknown client %q: want %s", name, ClientNames)
	}
	return c, nil
}

// Env is what DefaultPath reads of the machine: the OS (runtime.GOOS),
// the home directory, %APPDATA% and the working directory.
type Env struct {
	GOOS, Home, AppData, Dir string
}

// HostEnv is Env of the running process.
func HostEnv() Env {
	home, _ := os.UserHomeDir()
	dir, _ := os.Getwd()
	return Env{GOOS: runtime.GOOS, Home: home, AppData: os.Getenv("APPDATA"), Dir: dir}
}

// DefaultPath is where the client keeps its MCP servers on e's OS,
// spelled as that OS spells paths: Claude Desktop's
// claude_desktop_config.json (in %APPDATA%\Claude on Windows,
// ~/Library/Application Support/Claude on macOS, ~/.config/Claude
// elsewhere); Claude Code's ./.mcp.json if it exists, else
// ~/.claude.json; VS Code's ./.vscode/mcp.json if it exists, else the
// user's mcp.json (in %APPDATA%\Code\User, ~/Library/Application
// Support/Code/User or ~/.config/Code/User); Cursor's ./.cursor/mcp.json
// if it exists, else ~/.cursor/mcp.json.
func (c Client) DefaultPath(e Env) string {
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	appData := func(app string) string { // the per-user application data directory
		switch e.GOOS {
		case "darwin":
			return e.join(e.Home, "Library", "Application Support", app)
		case "windows":
			base := e.AppData
			if base == "" {
				base = e.join(e.Home, "AppData", "Roaming")
			}
			return e.join(base, app)
		default:
			return e.join(e.Home, ".config", app)
		}
	}
	switch c.Name {
	case "claude-desktop":
		return e.join(appData("Claude"), "claude_desktop_config.json")
	case "claude-code":
		if p := e.join(e.Dir, ".mcp.json"); exists(p) {
			return p
		}
		return e.join(e.Home, ".claude.json")
	case "vscode":
		if p := e.join(e.Dir, ".vscode", "mcp.json"); exists(p) {
			return p
		}
		return e.join(appData("Code"), "User", "mcp.json")
	default: // cursor
		if p := e.join(e.Dir, ".cursor", "mcp.json"); exists(p) {
			return p
		}
		return e.join(e.Home, ".cursor", "mcp.json")
	}
}

// join joins path elements as e's OS does, whatever OS runs this: with
// backslashes on Windows (a UNC path's \\ kept), with slashes elsewhere.
func (e Env) join(elem ...string) string {
	if e.GOOS == runtime.GOOS {
		return filepath.Join(elem...)
	}
	if e.GOOS != "windows" {
		return path.Join(elem...)
	}
	for i := range elem {
		elem[i] = strings.ReplaceAll(elem[i], `\`, "/")
	}
	p := path.Join(elem...)
	if strings.HasPrefix(elem[0], "//") {
		p = "/" + p
	}
	return strings.ReplaceAll(p, "/", `\`)
}

// ProjectScope reports whether f is a project's file, which is shared
// with the project (a repository) rather than the user's own: Claude
// Code's .mcp.json (anything but ~/.claude.json), VS Code's
// .vscode/mcp.json or workspace settings (anything outside its User
// directory), Cursor's .cursor/mcp.json of a project (anything but
// ~/.cursor/mcp.json). Claude Desktop has only the user's file. A
// secret's value is never written into a project's file.
func (f *File) ProjectScope(home string) bool {
	dir := filepath.Dir(f.Path)
	switch f.Client.Name {
	case "claude-desktop":
		return false
	case "claude-code":
		return filepath.Base(f.Path) != ".claude.json"
	case "vscode":
		for d := dir; ; d = filepath.Dir(d) {
			if filepath.Base(d) == "User" {
				return false
			}
			if filepath.Dir(d) == d {
				return true
			}
		}
	default: // cursor
		return home == "" || filepath.Clean(dir) != filepath.Join(home, ".cursor")
	}
}

// EnvReference is how the client's file refers to the variable name of
// the environment the client runs in: ${name} for Claude Code, ${env:name}
// for VS Code and Cursor; "" when the client cannot (Claude Desktop).
func (c Client) EnvReference(name string) string {
	switch c.Name {
	case "claude-code":
		return "${" + name + "}"
	case "vscode", "cursor":
		return "${env:" + name + "}"
	}
	return ""
}

// File is a client's config file, read.
type File struct {
	Client Client
	Path   string
	Data   []byte // as on disk
	// Mode is the file's permissions when read from disk, else 0.
	Mode os.FileMode
	b    []byte // Data with comments and trailing commas blanked
	// path is the keys leading to the server object: [mcpServers],
	// [servers], or [mcp servers] in a VS Code settings.json.
	path []string
	// servers is the span of the server object; ok false when absent.
	servers span
	ok      bool
}

// ReadFile reads a client config file.
func ReadFile(c Client, path string) (*File, error) {
	return ReadFileAt(c, path, nil)
}

// ReadFileAt reads a client config file whose server object is at keys
// (nil: the client's own).
func ReadFileAt(c Client, path string, keys []string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s config: %w", c.Name, err)
	}
	f, err := ParseFileAt(c, path, data, keys)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(path); err == nil {
		f.Mode = info.Mode().Perm()
	}
	return f, nil
}

// ParseFile parses a client config file's bytes.
func ParseFile(c Client, path string, data []byte) (*File, error) {
	return ParseFileAt(c, path, data, nil)
}

// ProjectKeys are the keys of Claude Code's local-scope servers of the
// project in directory dir (the default scope of `claude mcp add`), in
// ~/.claude.json.
func ProjectKeys(dir string) []string { return []string{"projects", dir, "mcpServers"} }

// ParseFileAt parses a client config file whose server object is at
// keys; nil keys mean the client's own (mcpServers; servers, or
// mcp.servers in a VS Code settings.json).
func ParseFileAt(c Client, path string, data []byte, keys []string) (*File, error) {
	f := &File{Client: c, Path: path, Data: data, b: blank(data)}
	if !json.Valid(f.b) {
		var v any
		err := json.Unmarshal(f.b, &v)
		return nil, fmt.Errorf("%s: not valid JSON: %v", path, err)
	}
	top, _, _ := find(f.b)
	if f.b[top.Start] != '{' {
		return nil, fmt.Errorf("%s: not a JSON object", path)
	}
	f.path = []string{c.key}
	if keys != nil {
		f.path = keys
	} else if c.Name == "vscode" {
		// settings.json holds the servers under "mcp": {"servers": …}.
		_, ok, err := find(f.b, "servers")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !ok {
			_, ok, err := find(f.b, "mcp", "servers")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			if ok {
				f.path = []string{"mcp", "servers"}
			}
		}
	}
	sp, ok, err := find(f.b, f.path...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ok && f.b[sp.Start] != '{' {
		return nil, fmt.Errorf("%s: %s is not a JSON object", path, strings.Join(f.path, "."))
	}
	f.servers, f.ok = sp, ok
	return f, nil
}

// ServersText is the text of the file's server object, "" when it has
// none.
func (f *File) ServersText() string {
	if !f.ok {
		return ""
	}
	return string(f.Data[f.servers.Start:f.servers.End])
}

// Keys are the keys leading to the file's server object.
func (f *File) Keys() []string { return f.path }

// Server is one MCP server of a client, as the client wrote it.
type Server struct {
	Name    string     `json:"-"`
	Type    string     `json:"type"`
	Command string     `json:"command"`
	Args    stringList `json:"args"`
	Env     stringMap  `json:"env"`
	// EnvOrder is the order of Env's keys in the file.
	EnvOrder []string  `json:"-"`
	Cwd      string    `json:"cwd"`
	URL      string    `json:"url"`
	Headers  stringMap `json:"headers"`
	// HeaderOrder is the order of Headers' keys in the file.
	HeaderOrder []string `json:"-"`
	Disabled    bool     `json:"disabled"`
	// EnvFile is VS Code's file of NAME=VALUE lines for the server.
	EnvFile string `json:"envFile"`
}

// Servers returns the file's servers in file order.
func (f *File) Servers() ([]Server, error) {
	if !f.ok {
		return nil, nil
	}
	ms, err := members(f.b, f.servers)
	if err != nil {
		return nil, err
	}
	out := make([]Server, 0, len(ms))
	for _, m := range ms {
		raw := f.b[m.Span.Start:m.Span.End]
		var s Server
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s: server %q: %v", f.Path, m.Key, err)
		}
		s.Name = m.Key
		s.EnvOrder = f.keysOf(m.Span, "env")
		s.HeaderOrder = f.keysOf(m.Span, "headers")
		out = append(out, s)
	}
	return out, nil
}

// keysOf lists the keys of the object field key of the object at sp.
func (f *File) keysOf(sp span, key string) []string {
	ms, err := members(f.b, sp)
	if err != nil {
		return nil
	}
	for _, m := range ms {
		if m.Key != key {
			continue
		}
		inner, err := members(f.b, m.Span)
		if err != nil {
			return nil
		}
		keys := make([]string, len(inner))
		for i, k := range inner {
			keys[i] = k.Key
		}
		return keys
	}
	return nil
}

// Inputs returns VS Code's "inputs" ids (a ${input:id} is asked of the
// user when the server starts).
func (f *File) Inputs() map[string]bool {
	sp, ok, _ := find(f.b, "inputs")
	if !ok {
		return nil
	}
	var inputs []struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(f.b[sp.Start:sp.End], &inputs) != nil {
		return nil
	}
	out := map[string]bool{}
	for _, in := range inputs {
		out[in.ID] = true
	}
	return out
}

var errNoServers = errors.New("no MCP servers")

// scalarText is the text of a JSON string, number or boolean (clients
// accept `"args": ["--port", 8080]` and `"env": {"DEBUG": 1}`); ok is
// false for null.
func scalarText(raw json.RawMessage) (text string, ok bool, err error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, err
	}
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case float64, bool:
		return strings.TrimSpace(string(raw)), true, nil
	default:
		return "", false, fmt.Errorf("want a string, not %s", raw)
	}
}

// stringList is a JSON array of strings (numbers and booleans taken as
// written).
type stringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *stringList) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return err
	}
	for _, r := range raws {
		s, ok, err := scalarText(r)
		if err != nil {
			return err
		}
		if ok {
			*l = append(*l, s)
		}
	}
	return nil
}

// stringMap is a JSON object of strings (numbers and booleans taken as
// written; a null drops the key, as VS Code does).
type stringMap map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (m *stringMap) UnmarshalJSON(data []byte) error {
	var raws map[string]json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return err
	}
	*m = stringMap{}
	for k, r := range raws {
		s, ok, err := scalarText(r)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if ok {
			(*m)[k] = s
		}
	}
	return nil
}
