package onboard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/internal/testdir"
)

// clientFiles are real config files of each client's format, as the
// clients write them (and as people edit them).
var clientFiles = []struct {
	name, client, data string
}{
	{"claude-desktop windows paths and env secrets", "claude-desktop", `{
  "mcpServers": {
    "filesystem": {
      "command": "C:\\Program Files\\nodejs\\npx.cmd",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "C:\\Users\\me\\Desktop", "D:\\work\\notes"]
    },
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_1234567890abcdefghijklmnopqrstuvwxyz12"
      }
    }
  },
  "globalShortcut": "Alt+Space"
}
`},
	{"claude-code user file", "claude-code", `{
  "numStartups": 42,
  "theme": "dark",
  "mcpServers": {
    "memory": {
      "type": "stdio",
      "command": "/usr/local/bin/mcp-server-memory",
      "args": [],
      "env": {"MEMORY_FILE_PATH": "/home/me/.memory.json", "OPENAI_API_KEY": "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD"}
    },
    "linear": {"type": "sse", "url": "https://mcp.linear.app/sse"},
    "sentry": {"type": "http", "url": "https://mcp.sentry.dev/mcp", "headers": {"Authorization": "Bearer sntrys_abcdef0123456789abcdef0123456789"}}
  },
  "projects": {
    "/home/me/src/app": {"mcpServers": {}, "allowedTools": []}
  }
}
`},
	{"claude-code project .mcp.json", "claude-code", `{
  "mcpServers": {
    "db": {"command": "uvx", "args": ["mcp-server-postgres", "postgresql://app:hunter2@localhost/app"]}
  }
}
`},
	{"vscode mcp.json with inputs and comments", "vscode", `{
	// Inputs are asked when a server starts.
	"inputs": [
		{"type": "promptString", "id": "perplexity-key", "description": "Perplexity API Key", "password": true},
	],
	"servers": {
		"perplexity": {
			"type": "stdio",
			"command": "npx",
			"args": ["-y", "server-perplexity-ask"],
			"env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}"},
		},
		/* remote */
		"fetch": {"type": "http", "url": "https://api.example.com/mcp", "headers": {"X-Team": "${env:TEAM}"}},
	},
}
`},
	{"vscode settings.json", "vscode", `{
    "editor.fontSize": 14,
    // MCP servers
    "mcp": {
        "servers": {
            "time": {"command": "uvx", "args": ["mcp-server-time"]}
        }
    },
    "files.autoSave": "off"
}
`},
	{"cursor", "cursor", "{\r\n  \"mcpServers\": {\r\n    \"browser\": {\r\n      \"command\": \"npx\",\r\n      \"args\": [\"@browsermcp/mcp@latest\"],\r\n      \"env\": {\"API_TOKEN\": \"tok_abc\"}\r\n    },\r\n    \"remote\": {\"url\": \"https://x.example/mcp\", \"headers\": {\"Authorization\": \"Bearer abc\"}}\r\n  }\r\n}\r\n"},
	{"one line", "cursor", `{"mcpServers":{"a":{"command":"a-server"}},"x":1}`},
	{"no servers yet", "claude-desktop", "{\n  \"globalShortcut\": \"\"\n}\n"},
	{"empty object", "cursor", "{}"},
}

var entry = Entry{
	Command: `C:\Program Files\gatehouse\gatehouse.exe`,
	Args:    []string{"serve", "--config", `C:\Users\me\gatehouse.yaml`, "--workspace", "dev"},
	Env:     [][2]string{{"GITHUB_PERSONAL_ACCESS_TOKEN", "ghp_1234567890abcdefghijklmnopqrstuvwxyz12"}, {"OPENAI_API_KEY", "sk-x"}},
}

// servers returns the server object of data as the client reads it.
func servers(t *testing.T, client, data string) map[string]map[string]any {
	t.Helper()
	f, err := ParseFile(Clients[client], "f.json", []byte(data))
	if err != nil {
		t.Fatalf("the client's file no longer parses: %v\n%s", err, data)
	}
	var v map[string]any
	if err := json.Unmarshal(f.b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	for _, k := range f.path {
		v, _ = v[k].(map[string]any)
	}
	out := map[string]map[string]any{}
	for k, s := range v {
		out[k], _ = s.(map[string]any)
	}
	return out
}

func TestInstallUninstallRoundTrip(t *testing.T) {
	for _, tc := range clientFiles {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile(Clients[tc.client], "f.json", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Install(f, entry, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Changed || res.Backup == nil {
				t.Fatalf("first install: changed %v, backup %v", res.Changed, res.Backup != nil)
			}
			got := servers(t, tc.client, string(res.Data))
			if len(got) != 1 || got[EntryName] == nil {
				t.Fatalf("after install the client starts %v, want only %q:\n%s", got, EntryName, res.Data)
			}
			g := got[EntryName]
			if g["command"] != entry.Command || len(g["args"].([]any)) != 5 || g["env"].(map[string]any)["OPENAI_API_KEY"] != "sk-x" {
				t.Errorf("gatehouse entry = %v", g)
			}
			if tc.client == "vscode" && g["type"] != "stdio" {
				t.Errorf("VS Code entry has no type stdio: %v", g)
			}
			// Every other key is as it was.
			var before, after map[string]any
			_ = json.Unmarshal(blank([]byte(tc.data)), &before)
			_ = json.Unmarshal(blank(res.Data), &after)
			for k, v := range before {
				if k == f.path[0] {
					continue
				}
				if !sameJSON(mustJSON(v), mustJSON(after[k])) {
					t.Errorf("key %q changed: %v → %v", k, v, after[k])
				}
			}

			// A second install changes nothing.
			f2, err := ParseFile(Clients[tc.client], "f.json", res.Data)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Install(f2, entry, res.Backup)
			if err != nil {
				t.Fatal(err)
			}
			if again.Changed || string(again.Data) != string(res.Data) || again.Backup != nil {
				t.Errorf("second install changed the file:\n%s", again.Data)
			}

			restored, _, err := Uninstall(f2, res.Backup)
			if err != nil {
				t.Fatal(err)
			}
			if string(restored) != tc.data {
				t.Errorf("uninstall did not restore the file byte for byte:\n got %q\nwant %q", restored, tc.data)
			}
		})
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// A client that rewrites its own file after install (Claude Code counts
// its startups there) keeps that change; uninstall puts the servers back.
func TestUninstallKeepsLaterChanges(t *testing.T) {
	tc := clientFiles[1]
	f, _ := ParseFile(Clients["claude-code"], "f.json", []byte(tc.data))
	res, err := Install(f, entry, nil)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(res.Data), `"numStartups": 42`, `"numStartups": 43`, 1)
	f2, _ := ParseFile(Clients["claude-code"], "f.json", []byte(edited))
	restored, _, err := Uninstall(f2, res.Backup)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(tc.data, `"numStartups": 42`, `"numStartups": 43`, 1)
	if string(restored) != want {
		t.Errorf("uninstall after a change:\n got %s\nwant %s", restored, want)
	}
}

// Re-installing for another workspace rewrites only the entry.
func TestInstallOtherWorkspace(t *testing.T) {
	f, _ := ParseFile(Clients["claude-desktop"], "f.json", []byte(clientFiles[0].data))
	res, _ := Install(f, entry, nil)
	f2, _ := ParseFile(Clients["claude-desktop"], "f.json", res.Data)
	e2 := entry
	e2.Args = []string{"serve", "--config", "c.yaml", "--workspace", "prod"}
	res2, err := Install(f2, e2, res.Backup)
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Changed || !strings.Contains(string(res2.Data), `"prod"`) || res2.Backup != nil {
		t.Fatalf("re-install for prod: changed %v\n%s", res2.Changed, res2.Data)
	}
	f3, _ := ParseFile(Clients["claude-desktop"], "f.json", res2.Data)
	restored, _, err := Uninstall(f3, res.Backup)
	if err != nil || string(restored) != clientFiles[0].data {
		t.Errorf("uninstall after re-install: %v\n%s", err, restored)
	}
}

func convert(t *testing.T, client, data string) *Import {
	t.Helper()
	f, err := ParseFile(Clients[client], "/p/.vscode/mcp.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Convert(f, "/p", "/home/me")
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func varNames(imp *Import) []string {
	var out []string
	for _, v := range imp.Vars {
		out = append(out, v.Name)
	}
	return out
}

func TestConvertSecretsBecomeVariables(t *testing.T) {
	imp := convert(t, "claude-code", clientFiles[1].data)
	y, err := NewConfig("dev", imp, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD", "sntrys_abcdef0123456789abcdef0123456789"} {
		if strings.Contains(string(y), secret) {
			t.Errorf("the YAML holds the secret %s:\n%s", secret, y)
		}
	}
	for _, want := range []string{"OPENAI_API_KEY=${OPENAI_API_KEY}", "Authorization=Bearer ${SENTRY_AUTHORIZATION}", "MEMORY_FILE_PATH=/home/me/.memory.json", "transport: sse"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("the YAML lacks %q:\n%s", want, y)
		}
	}
	if got := strings.Join(varNames(imp), ","); got != "OPENAI_API_KEY,SENTRY_AUTHORIZATION" {
		t.Errorf("variables = %s", got)
	}
	if imp.Vars[1].Value != "sntrys_abcdef0123456789abcdef0123456789" || !strings.Contains(imp.Vars[1].Source, `header Authorization of server "sentry"`) {
		t.Errorf("variable = %+v", imp.Vars[1])
	}

	// A secret the detectors find where nothing names it: a password in
	// a connection string argument.
	imp = convert(t, "claude-code", clientFiles[2].data)
	if a := imp.Upstreams[0].Args[1]; strings.Contains(a, "hunter2") || !strings.Contains(a, "${") {
		t.Errorf("connection string argument = %q", a)
	}
}

func TestConvertPlaceholdersAndNames(t *testing.T) {
	imp := convert(t, "vscode", `{
  "inputs": [{"type": "promptString", "id": "api-key", "password": true}],
  "servers": {
    "my server": {"command": "node", "args": ["${workspaceFolder}/server.js", "${foo:bar}", "--token", "abc123"], "env": {"KEY": "${input:api-key}", "HOME_DIR": "${userHome}", "X": "${env:X_VAR}", "LEVEL": "${LOG_LEVEL:-info}"}, "cwd": "sub"},
    "my_server": {"command": "a", "env": {"API_TOKEN": "one"}},
    "my.server": {"command": "b", "env": {"API_TOKEN": "two"}},
    "my-server": {"command": "c", "env": {"API_TOKEN": "one"}}
  }
}`)
	u := imp.Upstreams
	var names []string
	for _, x := range u {
		names = append(names, x.Name)
	}
	if got := strings.Join(names, ","); got != "my-server,my_server,my-server-2,my-server-3" {
		t.Errorf("names = %s", got)
	}
	if got := strings.Join(u[0].Args, " "); got != "/p/server.js $${foo:bar} --token ${TOKEN}" {
		t.Errorf("args = %s", got)
	}
	if got := strings.Join(u[0].Env, " "); got != "KEY=${API_KEY} HOME_DIR=/home/me X=${X_VAR} LEVEL=${LOG_LEVEL:-info}" {
		t.Errorf("env = %s", got)
	}
	if u[0].Dir != filepath.Join("/p", "sub") {
		t.Errorf("dir = %s", u[0].Dir)
	}
	// Same name, different values: unique names; same value: shared.
	if got := strings.Join(varNames(imp), ","); got != "TOKEN,API_KEY,X_VAR,API_TOKEN,MY_SERVER_2_API_TOKEN" {
		t.Errorf("variables = %s", got)
	}
	if u[3].Env[0] != "API_TOKEN=${API_TOKEN}" {
		t.Errorf("same secret twice: %v", u[3].Env)
	}
}

func TestMergeKeepsTheFile(t *testing.T) {
	orig := "# my config\nversion: 1\n\nworkspaces:\n  # the first\n  dev:\n    upstreams:\n      - name: a\n        command: a  # trailing\n\n# policies below\npolicies: []\n"
	imp := &Import{Upstreams: []Upstream{{Name: "x", Command: "x"}}}
	out, err := MergeBytes([]byte(orig), "new", imp, false)
	if err != nil {
		t.Fatal(err)
	}
	want := "# my config\nversion: 1\n\nworkspaces:\n  # the first\n  dev:\n    upstreams:\n      - name: a\n        command: a  # trailing\n  new:\n    upstreams:\n      - name: x\n        command: x\n\n# policies below\npolicies: []\n"
	if string(out) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", out, want)
	}
	if _, err := MergeBytes([]byte(orig), "dev", imp, false); err == nil {
		t.Error("merging into an existing workspace without replace succeeded")
	}
	out, err = MergeBytes([]byte(orig), "dev", imp, true)
	if err != nil || !strings.Contains(string(out), "# my config") || !strings.Contains(string(out), "name: x") || strings.Contains(string(out), "name: a") {
		t.Errorf("replace: %v\n%s", err, out)
	}
}

func TestDefaultPaths(t *testing.T) {
	dir := testdir.New(t)
	mac := Env{GOOS: "darwin", Home: "/Users/me", Dir: dir}
	linux := Env{GOOS: "linux", Home: "/home/me", Dir: dir}
	windows := Env{GOOS: "windows", Home: `C:\Users\me`, AppData: `C:\Users\me\AppData\Roaming`, Dir: dir}
	roaming := Env{GOOS: "windows", Home: `\\srv\profiles\me`, AppData: `\\srv\profiles\me\AppData\Roaming`, Dir: dir}
	noAppData := windows
	noAppData.AppData = ""
	for _, tc := range []struct {
		client string
		env    Env
		want   string
	}{
		{"claude-desktop", mac, "/Users/me/Library/Application Support/Claude/claude_desktop_config.json"},
		{"claude-desktop", linux, "/home/me/.config/Claude/claude_desktop_config.json"},
		{"claude-desktop", windows, `C:\Users\me\AppData\Roaming\Claude\claude_desktop_config.json`},
		{"claude-desktop", noAppData, `C:\Users\me\AppData\Roaming\Claude\claude_desktop_config.json`},
		{"claude-desktop", roaming, `\\srv\profiles\me\AppData\Roaming\Claude\claude_desktop_config.json`},
		{"claude-code", linux, "/home/me/.claude.json"},
		{"claude-code", windows, `C:\Users\me\.claude.json`},
		{"vscode", mac, "/Users/me/Library/Application Support/Code/User/mcp.json"},
		{"vscode", windows, `C:\Users\me\AppData\Roaming\Code\User\mcp.json`},
		{"cursor", mac, "/Users/me/.cursor/mcp.json"},
		{"cursor", windows, `C:\Users\me\.cursor\mcp.json`},
	} {
		if tc.env.GOOS == runtime.GOOS {
			// On its own OS the path is filepath's: the same text.
			tc.want = filepath.Clean(tc.want)
		}
		if got := Clients[tc.client].DefaultPath(tc.env); got != tc.want {
			t.Errorf("DefaultPath(%s on %s) = %s; want %s", tc.client, tc.env.GOOS, got, tc.want)
		}
	}
	// A project's own file comes first.
	os.MkdirAll(filepath.Join(dir, ".vscode"), 0o755)
	os.WriteFile(filepath.Join(dir, ".vscode", "mcp.json"), []byte("{}"), 0o644)
	if got := Clients["vscode"].DefaultPath(Env{GOOS: runtime.GOOS, Home: "/h", Dir: dir}); got != filepath.Join(dir, ".vscode", "mcp.json") {
		t.Errorf("vscode in a project: %s", got)
	}
}

// Claude Code's local scope (the default of `claude mcp add`): the
// servers of one project in ~/.claude.json, the user's own left alone.
func TestClaudeCodeProjectScope(t *testing.T) {
	data := `{
  "mcpServers": {"user-wide": {"command": "u"}},
  "projects": {
    "/home/me/a": {"allowedTools": [], "mcpServers": {"local": {"type": "stdio", "command": "l", "env": {"SLACK_BOT_TOKEN": "xoxb-123456789012-abcdefghijkl"}}}},
    "/home/me/b": {"mcpServers": {"other": {"command": "o"}}}
  }
}
`
	keys := ProjectKeys("/home/me/a")
	f, err := ParseFileAt(Clients["claude-code"], "f.json", []byte(data), keys)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Convert(f, "/", "/")
	if err != nil || len(imp.Upstreams) != 1 || imp.Upstreams[0].Name != "local" || imp.Upstreams[0].Env[0] != "SLACK_BOT_TOKEN=${SLACK_BOT_TOKEN}" {
		t.Fatalf("import of the project's servers: %v %+v", err, imp)
	}
	res, err := Install(f, entry, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Data)
	if !strings.Contains(out, `"user-wide": {"command": "u"}`) || !strings.Contains(out, `"other": {"command": "o"}`) || strings.Contains(out, `"local"`) || strings.Count(out, `"gatehouse"`) != 1 {
		t.Errorf("install touched more than the project's servers:\n%s", out)
	}
	// The user's servers are another install: refused while this one holds.
	f2, _ := ParseFile(Clients["claude-code"], "f.json", res.Data)
	if _, err := Install(f2, entry, res.Backup); err == nil || !strings.Contains(err.Error(), "uninstall first") {
		t.Errorf("install of another scope over an install: %v", err)
	}
	edited := strings.Replace(out, `"allowedTools": []`, `"allowedTools": ["x"]`, 1)
	f3, _ := ParseFile(Clients["claude-code"], "f.json", []byte(edited))
	restored, _, err := Uninstall(f3, res.Backup)
	if err != nil || string(restored) != strings.Replace(data, `"allowedTools": []`, `"allowedTools": ["x"]`, 1) {
		t.Errorf("uninstall: %v\n%s", err, restored)
	}
}

// Notepad saves with a byte order mark; it is kept.
func TestByteOrderMark(t *testing.T) {
	data := "\xef\xbb\xbf{\r\n  \"mcpServers\": {\"a\": {\"command\": \"a\"}}\r\n}\r\n"
	f, err := ParseFile(Clients["claude-desktop"], "f.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Install(f, entry, nil)
	if err != nil || !strings.HasPrefix(string(res.Data), "\xef\xbb\xbf{") {
		t.Fatalf("install: %v\n%q", err, res.Data)
	}
	f2, _ := ParseFile(Clients["claude-desktop"], "f.json", res.Data)
	if restored, _, err := Uninstall(f2, res.Backup); err != nil || string(restored) != data {
		t.Errorf("uninstall: %v %q", err, restored)
	}
}

// Clients take numbers and booleans where strings belong, and VS Code a
// null env value (removing the variable).
func TestConvertNonStringValues(t *testing.T) {
	imp := convert(t, "vscode", `{"servers": {"s": {"command": "srv", "args": ["--port", 8080, true], "env": {"DEBUG": 1, "HOME": null}}}}`)
	u := imp.Upstreams[0]
	if strings.Join(u.Args, " ") != "--port 8080 true" || strings.Join(u.Env, " ") != "DEBUG=1" {
		t.Errorf("args %q env %q", u.Args, u.Env)
	}
	f, _ := ParseFile(Clients["cursor"], "f.json", []byte(`{"mcpServers": {"s": {"command": "x", "args": [{"a": 1}]}}}`))
	if _, err := Convert(f, "/", "/"); err == nil || !strings.Contains(err.Error(), `server "s"`) {
		t.Errorf("an object as an argument: %v", err)
	}
}

// A client whose only server is Gatehouse has nothing to import: the
// gateway is never made its own upstream.
func TestConvertSkipsGatehouse(t *testing.T) {
	f, _ := ParseFile(Clients["cursor"], "f.json", []byte(`{"mcpServers": {"gatehouse": {"command": "/usr/local/bin/gatehouse", "args": ["serve", "--workspace", "dev"]}}}`))
	if imp, err := Convert(f, "/", "/"); err == nil || !strings.Contains(err.Error(), "Gatehouse itself") {
		t.Errorf("import of gatehouse: %v %+v", err, imp)
	}
}

// A secret inside a value (a proxy's or database URL's password) gets a
// variable of its own, <UPSTREAM>_<KEY>_SECRET, never the value's own
// name; and no secret is named as a variable the gateway reads itself
// (install would set HTTPS_PROXY to the password for the gateway).
func TestConvertSecretNamesAreNeverTheGatewaysOwn(t *testing.T) {
	imp := convert(t, "cursor", `{"mcpServers": {"db": {"command": "db-mcp", "env": {
		"HTTPS_PROXY": "http://alice:S3cretPassw0rd@proxy.corp:8080",
		"https_proxy": "http://alice:S3cretPassw0rd@proxy.corp:8080",
		"DATABASE_URL": "postgres://u:pw9Xq27LmZ@db.corp/app",
		"SSL_KEY": "0123456789abcdef",
		"GATEHOUSE_TOKEN": "abcdefabcdef",
		"PATH": "/usr/bin", "TEMP": "Bearer tmp-abcdef"}}}}`)
	y, err := NewConfig("dev", imp, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"S3cretPassw0rd", "pw9Xq27LmZ", "0123456789abcdef", "abcdefabcdef"} {
		if strings.Contains(string(y), secret) {
			t.Errorf("the YAML holds %s:\n%s", secret, y)
		}
	}
	names := map[string]bool{}
	for _, v := range imp.Vars {
		names[v.Name] = true
		if reservedName(v.Name) || !envNameOK(v.Name) {
			t.Errorf("variable %s (%s) is one the gateway reads, or not valid", v.Name, v.Source)
		}
	}
	for _, want := range []string{"HTTPS_PROXY=http://alice:${DB_HTTPS_PROXY_SECRET}@proxy.corp:8080", "DATABASE_URL=postgres://u:${DB_DATABASE_URL_SECRET}@db.corp/app", "PATH=/usr/bin", "TEMP=Bearer ${DB_TEMP_SECRET}", "SSL_KEY=${DB_SSL_KEY_SECRET}", "GATEHOUSE_TOKEN=${DB_GATEHOUSE_TOKEN_SECRET}"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("the YAML lacks %s:\n%s", want, y)
		}
	}
	if len(names) != len(imp.Vars) {
		t.Errorf("variables not unique: %v", varNames(imp))
	}
}

// The names and shapes of secrets: *_PASS, *_PWD, *_PW, *_DSN, the
// arguments after --pass, --pwd and mysql's -p, and any value that is a
// credential by its scheme (Bearer, Basic, Token), whatever its name.
func TestConvertSecretNamesAndSchemes(t *testing.T) {
	secrets := []string{"dbpass-1", "smtppass-2", "redispass-3", "mysqlpwd-4", "dbpw-5", "https://k6@o1.ingest.example.io/7", "argpass-8", "argpwd-9", "mysqlp-10", "bearer-11", "basic-12", "token-13", "argbearer-14", "eqpass-15"}
	imp := convert(t, "cursor", `{"mcpServers": {"db": {"command": "db-mcp",
		"args": ["--pass", "argpass-8", "--pwd", "argpwd-9", "-p", "mysqlp-10", "--header", "Authorization: Bearer argbearer-14", "--pass=eqpass-15", "-p", "8080", "--pwd", "/srv/data", "-p", "@scope/pkg"],
		"env": {"DB_PASS": "dbpass-1", "SMTP_PASS": "smtppass-2", "REDIS_PASS": "redispass-3", "MYSQL_PWD": "mysqlpwd-4", "DB_PW": "dbpw-5", "SENTRY_DSN": "https://k6@o1.ingest.example.io/7",
			"UPSTREAM_AUTH_HEADER": "Bearer bearer-11", "X": "Basic basic-12", "Y": "token token-13", "PASSENGERS": "4", "NOTE": "token ring network"}}}}`)
	y, err := NewConfig("dev", imp, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		if strings.Contains(string(y), secret) {
			t.Errorf("the YAML holds %s:\n%s", secret, y)
		}
	}
	for _, want := range []string{"MYSQL_PWD=${MYSQL_PWD}", "SENTRY_DSN=${SENTRY_DSN}", "UPSTREAM_AUTH_HEADER=Bearer ${", "X=Basic ${", "Authorization: Bearer ${", "- \"8080\"", "/srv/data", "@scope/pkg", "PASSENGERS=", "NOTE=token ring network"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("the YAML lacks %s:\n%s", want, y)
		}
	}
}

// Gatehouse under any name is never imported: its binary by any path
// and case, a gateway's workspace endpoint on this machine as a url or
// through a stdio bridge; each is named in a note.
func TestConvertSkipsGatehouseUnderAnyName(t *testing.T) {
	imp := convert(t, "cursor", `{"mcpServers": {
		"guard": {"command": "C:\\Tools\\GateHouse.EXE", "args": ["serve", "--workspace", "dev"]},
		"gw": {"url": "http://127.0.0.1:8080/w/dev/mcp"},
		"gw2": {"url": "http://localhost:9000/w/x/mcp/", "type": "http"},
		"bridge": {"command": "npx", "args": ["-y", "mcp-remote", "http://[::1]:8080/w/dev/mcp"]},
		"api": {"url": "https://api.example.com/w/dev/mcp"},
		"local": {"url": "http://127.0.0.1:3000/mcp"},
		"tool": {"command": "gatehouse-helper", "args": ["serve"]},
		"npx": {"command": "npx", "args": ["-y", "@gatehouse-mcp/gatehouse@1.2", "serve"]},
		"docker": {"command": "docker", "args": ["run", "-i", "ghcr.io/gatehouse-mcp/gatehouse:1", "serve", "--workspace", "dev"]}}}`)
	var names []string
	for _, u := range imp.Upstreams {
		names = append(names, u.Name)
	}
	if got := strings.Join(names, ","); got != "api,local,tool" {
		t.Errorf("imported %s, want api,local,tool", got)
	}
	notes := strings.Join(imp.Notes, "\n")
	for _, skipped := range []string{`"guard"`, `"gw"`, `"gw2"`, `"bridge"`, `"npx"`, `"docker"`} {
		if !strings.Contains(notes, skipped+" is Gatehouse itself") {
			t.Errorf("no note for %s:\n%s", skipped, notes)
		}
	}
}

// A key on the way to the server list twice (two mcpServers) is
// refused with its name: clients use the last, and install must not
// rewrite the one the client ignores.
func TestDuplicateKeyOnThePathIsRefused(t *testing.T) {
	for _, tc := range []struct{ client, data, key string }{
		{"cursor", `{"mcpServers": {"a": {"command": "a"}}, "mcpServers": {"b": {"command": "b"}}}`, "mcpServers"},
		{"vscode", `{"mcp": {"servers": {}}, "mcp": {"servers": {"b": {"command": "b"}}}}`, "mcp"},
	} {
		_, err := ParseFile(Clients[tc.client], "f.json", []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), `"`+tc.key+`" is there twice`) {
			t.Errorf("%s: %v", tc.data, err)
		}
	}
	// Elsewhere in the file a repeated key is the client's business.
	if _, err := ParseFile(Clients["cursor"], "f.json", []byte(`{"x": 1, "x": 2, "mcpServers": {"a": {"command": "a"}}}`)); err != nil {
		t.Errorf("a repeated key off the path: %v", err)
	}
}

// A VS Code input whose id is a variable the gateway reads itself
// (https_proxy) gets a name of its own: install hands the input to the
// gateway under that name.
func TestConvertInputNamesAreNeverTheGatewaysOwn(t *testing.T) {
	imp := convert(t, "vscode", `{"inputs": [{"id": "https_proxy"}, {"id": "path"}], "servers": {"s": {"command": "s-mcp", "env": {"HTTPS_PROXY": "${input:https_proxy}", "P": "${input:path}"}}}}`)
	for _, v := range imp.Vars {
		if reservedName(v.Name) || !v.Input {
			t.Errorf("input variable %+v", v)
		}
	}
	if got := strings.Join(varNames(imp), ","); got != "HTTPS_PROXY_INPUT,PATH_INPUT" {
		t.Errorf("variables = %s", got)
	}
}

// A header named as a secret env would be (X-DB-Pass, X-Password,
// X-Sentry-DSN) holds one too.
func TestConvertHeadersNamedLikeSecrets(t *testing.T) {
	imp := convert(t, "cursor", `{"mcpServers": {"api": {"url": "https://api.example.com/mcp", "headers": {"X-DB-Pass": "hp-1", "X-Password": "hp-2", "X-Sentry-DSN": "hp-3", "X-Region": "eu"}}}}`)
	y, err := NewConfig("dev", imp, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hp-1", "hp-2", "hp-3"} {
		if strings.Contains(string(y), secret) {
			t.Errorf("the YAML holds %s:\n%s", secret, y)
		}
	}
	if !strings.Contains(string(y), "X-Region=eu") {
		t.Errorf("a plain header was taken for a secret:\n%s", y)
	}
}

// A URL's query parameter named as a secret (?api_key=, &token=) is
// one, in the url of a remote server or in an argument.
func TestConvertSecretQueryParameters(t *testing.T) {
	imp := convert(t, "cursor", `{"mcpServers": {
		"remote": {"url": "https://mcp.example.com/sse?api_key=qp-1&region=eu"},
		"bridge": {"command": "npx", "args": ["mcp-remote", "https://mcp.example.com/mcp?x=1&token=qp-2#frag"]}}}`)
	y, err := NewConfig("dev", imp, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"qp-1", "qp-2"} {
		if strings.Contains(string(y), secret) {
			t.Errorf("the YAML holds %s:\n%s", secret, y)
		}
	}
	for _, want := range []string{"https://mcp.example.com/sse?api_key=${REMOTE_API_KEY_SECRET}&region=eu", "https://mcp.example.com/mcp?x=1&token=${BRIDGE_TOKEN_SECRET}#frag"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("the YAML lacks %s:\n%s", want, y)
		}
	}
}
