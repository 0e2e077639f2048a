package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-mcp/gatehouse/config"
)

func TestInitWritesACheckedConfigAndNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, "init", "--dir", dir)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "gatehouse.yaml")
	if info, err := os.Stat(filepath.Join(dir, "sandbox")); err != nil || !info.IsDir() {
		t.Errorf("no sandbox directory: %v", err)
	}
	if out, err := runCLI(t, "check", "--config", path); err != nil {
		t.Fatalf("check on the starter config: %v\n%s", err, out)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ws, ok := cfg.Workspace("dev")
	if !ok || len(ws.Upstreams) != 1 || !strings.HasSuffix(ws.Upstreams[0].Args[2], "sandbox") || !strings.Contains(strings.Join(cfg.Include, ","), "code-assistant") {
		t.Errorf("starter config: %+v include %v", ws, cfg.Include)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "README") {
		t.Error("the starter config does not point at the README")
	}

	os.WriteFile(path, []byte("mine\n"), 0o644)
	_, err = runCLI(t, "init", "--dir", dir)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "exists") {
		t.Errorf("init over an existing file: %v (exit %d)", err, exitCode(err))
	}
	if data, _ := os.ReadFile(path); string(data) != "mine\n" {
		t.Errorf("init overwrote the file: %q", data)
	}
}

const claudeDesktopFile = `{
  "mcpServers": {
    "memory": {
      "command": "mcp-server-memory",
      "args": [],
      "env": {"MEMORY_FILE_PATH": "C:\\Users\\me\\AppData\\memory.json", "GITHUB_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}
    },
    "Remote API": {
      "url": "https://api.example.com/mcp",
      "headers": {"Authorization": "Bearer live_abcdefghijklmnopqrstuvwxyz"}
    }
  },
  "globalShortcut": "Ctrl+Alt+Space"
}
`

func TestImportTurnsSecretsIntoVariables(t *testing.T) {
	dir := t.TempDir()
	client := filepath.Join(dir, "claude_desktop_config.json")
	os.WriteFile(client, []byte(claudeDesktopFile), 0o600)
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", cfgPath)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(cfgPath)
	y := string(data)
	for _, secret := range []string{"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "live_abcdefghijklmnopqrstuvwxyz"} {
		if strings.Contains(y, secret) || strings.Contains(out, secret) {
			t.Errorf("the secret %s was copied:\n%s\n%s", secret, y, out)
		}
	}
	if !strings.Contains(y, "GITHUB_TOKEN=${GITHUB_TOKEN}") || !strings.Contains(y, `MEMORY_FILE_PATH=C:\Users\me\AppData\memory.json`) {
		t.Errorf("imported config:\n%s", y)
	}
	if !strings.Contains(out, "GITHUB_TOKEN") || !strings.Contains(out, `env GITHUB_TOKEN of server "memory"`) || !strings.Contains(out, "REMOTE_API_AUTHORIZATION") {
		t.Errorf("the note does not name the variables and their source:\n%s", out)
	}
	// check passes, and warns of each variable not set: the upstream is
	// reached without that entry.
	if out, err := runCLI(t, "check", "--config", cfgPath); err != nil || !strings.Contains(out, "warning:") ||
		!strings.Contains(out, "GITHUB_TOKEN is not set") || !strings.Contains(out, "REMOTE_API_AUTHORIZATION is not set") {
		t.Errorf("check without the variables: %v\n%s", err, out)
	}
	t.Setenv("GITHUB_TOKEN", "x")
	t.Setenv("REMOTE_API_AUTHORIZATION", "y")
	if out, err := runCLI(t, "check", "--config", cfgPath); err != nil {
		t.Errorf("check on the imported config: %v\n%s", err, out)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := cfg.Workspace("dev")
	if len(ws.Upstreams) != 2 || ws.Upstreams[1].Name != "Remote-API" || ws.Upstreams[1].Headers[0] != "Authorization=Bearer y" {
		t.Errorf("upstreams: %+v", ws.Upstreams)
	}

	// --out never overwrites; merging into an existing workspace needs --force.
	before, _ := os.ReadFile(cfgPath)
	if _, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", cfgPath); exitCode(err) != exitUsage {
		t.Errorf("import --out onto an existing file: %v", err)
	}
	if _, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--config", cfgPath); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--force") {
		t.Errorf("import into an existing workspace: %v", err)
	}
	if after, _ := os.ReadFile(cfgPath); string(after) != string(before) {
		t.Error("a refused import changed the config")
	}
}

func TestImportMergesKeepingComments(t *testing.T) {
	dir := t.TempDir()
	if out, err := runCLI(t, "init", "--dir", dir); err != nil {
		t.Fatal(err, out)
	}
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	before, _ := os.ReadFile(cfgPath)
	client := filepath.Join(dir, "mcp.json")
	os.WriteFile(client, []byte(`{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}`), 0o644)
	if out, err := runCLI(t, "import", "cursor", client, "--workspace", "cursor", "--config", cfgPath); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(cfgPath)
	if !strings.HasPrefix(string(after), string(before)) {
		t.Errorf("the existing config was not kept as it was:\n%s", after)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if ws, ok := cfg.Workspace("cursor"); !ok || ws.Upstreams[0].Command != "uvx" {
		t.Errorf("workspace cursor: %+v", ws)
	}
}

// A client server the config would reject (a cwd that does not exist)
// writes nothing.
func TestImportInvalidWritesNothing(t *testing.T) {
	dir := t.TempDir()
	client := filepath.Join(dir, "c.json")
	os.WriteFile(client, []byte(`{"mcpServers": {"a": {"command": "a", "cwd": "/no/such/dir"}}}`), 0o644)
	cfgPath := filepath.Join(dir, "out.yaml")
	_, err := runCLI(t, "import", "claude-code", client, "--workspace", "dev", "--out", cfgPath)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "not an existing directory") {
		t.Errorf("import of an invalid server: %v", err)
	}
	if _, err := os.Stat(cfgPath); err == nil {
		t.Error("an invalid import wrote the config")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left behind: %v", entries)
	}
}

func TestInstallUninstallCommands(t *testing.T) {
	dir := t.TempDir()
	client := filepath.Join(dir, "claude_desktop_config.json")
	os.WriteFile(client, []byte(claudeDesktopFile), 0o644)
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	if out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", cfgPath); err != nil {
		t.Fatal(err, out)
	}
	args := []string{"install", "claude-desktop", "--config", cfgPath, "--workspace", "dev", "--config-file", client}

	out, err := runCLI(t, append(args, "--dry-run")...)
	if err != nil || !strings.Contains(out, `"gatehouse"`) || strings.Contains(out, "ghp_") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(client); string(data) != claudeDesktopFile {
		t.Error("dry run wrote the client file")
	}
	if _, err := os.Stat(client + ".gatehouse-backup.json"); err == nil {
		t.Error("dry run wrote a backup")
	}

	if out, err := runCLI(t, args...); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	installed, _ := os.ReadFile(client)
	if info, _ := os.Stat(client); info.Mode().Perm() != 0o600 {
		t.Errorf("the installed file holds secrets and is mode %v, want 0600", info.Mode().Perm())
	}
	exe, _ := os.Executable()
	abs, _ := filepath.Abs(cfgPath)
	for _, want := range []string{yamlQuote(exe), yamlQuote(abs), `"GITHUB_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"`, `"REMOTE_API_AUTHORIZATION": "live_abcdefghijklmnopqrstuvwxyz"`, `"globalShortcut": "Ctrl+Alt+Space"`} {
		if !strings.Contains(string(installed), want) {
			t.Errorf("installed file lacks %s:\n%s", want, installed)
		}
	}
	if strings.Contains(string(installed), "mcp-server-memory") {
		t.Errorf("the replaced server is still registered:\n%s", installed)
	}
	if info, err := os.Stat(client + ".gatehouse-backup.json"); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("backup: %v", err)
	}

	// Importing again once installed reads the servers from the backup,
	// never Gatehouse itself.
	again := filepath.Join(dir, "again.yaml")
	if out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", again); err != nil || !strings.Contains(out, "backup") {
		t.Errorf("import after install: %v\n%s", err, out)
	}
	if a, _ := os.ReadFile(again); !strings.Contains(string(a), "mcp-server-memory") || strings.Contains(string(a), "- serve") {
		t.Errorf("import after install:\n%s", a)
	}

	if out, err := runCLI(t, args...); err != nil || !strings.Contains(out, "nothing changed") {
		t.Errorf("second install: %v\n%s", err, out)
	}
	if again, _ := os.ReadFile(client); string(again) != string(installed) {
		t.Error("a second install changed the file")
	}

	out, err = runCLI(t, "uninstall", "claude-desktop", "--config-file", client, "--dry-run")
	if err != nil || !strings.Contains(out, `"memory", "Remote API"`) || strings.Contains(out, "ghp_") {
		t.Errorf("uninstall --dry-run: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(client); string(data) != string(installed) {
		t.Error("uninstall --dry-run wrote the file")
	}
	if out, err := runCLI(t, "uninstall", "claude-desktop", "--config-file", client); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(client); string(data) != claudeDesktopFile {
		t.Errorf("uninstall did not restore the file byte for byte:\n%s", data)
	}
	if info, _ := os.Stat(client); info.Mode().Perm() != 0o644 {
		t.Errorf("uninstall left mode %v, want the original 0644", info.Mode().Perm())
	}
	if _, err := os.Stat(client + ".gatehouse-backup.json"); err == nil {
		t.Error("uninstall left the backup")
	}
	if _, err := runCLI(t, "uninstall", "claude-desktop", "--config-file", client); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("uninstall when not installed: %v", err)
	}
	// install refuses a workspace the config does not have.
	if _, err := runCLI(t, "install", "claude-desktop", "--config", cfgPath, "--workspace", "nope", "--config-file", client); exitCode(err) != exitUsage {
		t.Errorf("install for a missing workspace: %v", err)
	}
}

// A client file linked from elsewhere (a dotfiles repository) stays a
// link: the file it points at is rewritten and put back.
func TestInstallKeepsALinkedFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "mcp.json")
	os.MkdirAll(filepath.Dir(real), 0o755)
	orig := `{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}`
	os.WriteFile(real, []byte(orig), 0o644)
	link := filepath.Join(dir, "mcp.json")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	if out, err := runCLI(t, "import", "cursor", link, "--workspace", "dev", "--out", cfgPath); err != nil {
		t.Fatal(err, out)
	}
	out, err := runCLI(t, "install", "cursor", "--config", cfgPath, "--workspace", "dev", "--config-file", link, "--dry-run")
	if err != nil || !strings.Contains(out, `"gatehouse"`) || strings.Contains(out, "mcp-server-time") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "install", "cursor", "--config", cfgPath, "--workspace", "dev", "--config-file", link); err != nil {
		t.Fatal(err, out)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("install replaced the link with a file")
	}
	if data, _ := os.ReadFile(real); !strings.Contains(string(data), `"gatehouse"`) {
		t.Errorf("the linked file was not rewritten: %s", data)
	}
	if out, err := runCLI(t, "uninstall", "cursor", "--config-file", link); err != nil {
		t.Fatal(err, out)
	}
	if data, _ := os.ReadFile(real); string(data) != orig {
		t.Errorf("uninstall: %s", data)
	}
}

// The gatehouse entry asks for a VS Code input as the server did
// (${input:id}, never its value from where install runs), and leaves the client's own variables to the client's
// environment.
func TestInstallEnvOfVSCodeInputs(t *testing.T) {
	dir := t.TempDir()
	client := filepath.Join(dir, ".vscode", "mcp.json")
	os.MkdirAll(filepath.Dir(client), 0o755)
	orig := `{
	"inputs": [{"type": "promptString", "id": "brave-key", "password": true}],
	"servers": {
		"brave": {"type": "stdio", "command": "npx", "args": ["-y", "brave-search"], "env": {"BRAVE_API_KEY": "${input:brave-key}", "REGION": "${env:BRAVE_REGION}"}}
	}
}
`
	os.WriteFile(client, []byte(orig), 0o644)
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	out, err := runCLI(t, "import", "vscode", client, "--workspace", "dev", "--out", cfgPath)
	if err != nil || !strings.Contains(out, "BRAVE_KEY") || !strings.Contains(out, "BRAVE_REGION") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	t.Setenv("BRAVE_KEY", "from-here")
	t.Setenv("BRAVE_REGION", "eu")
	if out, err := runCLI(t, "install", "vscode", "--config", cfgPath, "--workspace", "dev", "--config-file", client); err != nil {
		t.Fatal(err, out)
	}
	data, _ := os.ReadFile(client)
	if strings.Contains(string(data), "from-here") || !strings.Contains(string(data), `"env": {"BRAVE_KEY": "${input:brave-key}"}`) || !strings.Contains(string(data), `"type": "stdio"`) || !strings.Contains(string(data), `"inputs"`) {
		t.Errorf("installed VS Code file:\n%s", data)
	}
	if out, err := runCLI(t, "uninstall", "vscode", "--config-file", client); err != nil {
		t.Fatal(err, out)
	}
	if data, _ := os.ReadFile(client); string(data) != orig {
		t.Errorf("uninstall:\n%s", data)
	}
}

// The done-when, in-process: with no file named anywhere,
// import reads the client's own file and writes ./gatehouse.yaml, and
// install finds both.
func TestImportInstallFromTheClientsOwnPlace(t *testing.T) {
	home, work := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GATEHOUSE_CONFIG", "")
	t.Chdir(work)
	client := filepath.Join(home, ".cursor", "mcp.json")
	os.MkdirAll(filepath.Dir(client), 0o755)
	orig := `{"mcpServers": {"notion": {"command": "npx", "args": ["-y", "@notionhq/notion-mcp-server"], "env": {"NOTION_TOKEN": "ntn_0123456789abcdefghijklmnopqrstuvwxyz"}}}}`
	os.WriteFile(client, []byte(orig), 0o600)
	out, err := runCLI(t, "import", "cursor", "--workspace", "dev")
	if err != nil || !strings.Contains(out, client) {
		t.Fatalf("import from the default place: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(work, "gatehouse.yaml"))
	if err != nil || strings.Contains(string(data), "ntn_") || !strings.Contains(string(data), "NOTION_TOKEN=${NOTION_TOKEN}") {
		t.Fatalf("./gatehouse.yaml: %v\n%s", err, data)
	}
	if out, err := runCLI(t, "install", "cursor", "--workspace", "dev"); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	installed, _ := os.ReadFile(client)
	if !strings.Contains(string(installed), filepath.Join(work, "gatehouse.yaml")) || !strings.Contains(string(installed), `"NOTION_TOKEN": "ntn_0123456789abcdefghijklmnopqrstuvwxyz"`) {
		t.Errorf("installed:\n%s", installed)
	}
	if out, err := runCLI(t, "uninstall", "cursor"); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(client); string(data) != orig {
		t.Errorf("uninstall:\n%s", data)
	}
}

// A binary reached through a link on PATH (as package managers install
// it) is registered by the link's path, which survives upgrades.
func TestStableExecutable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	link := filepath.Join(bin, filepath.Base(exe))
	if err := os.Symlink(exe, link); err != nil {
		t.Skip(err)
	}
	t.Setenv("PATH", bin)
	if got, err := stableExecutable(); err != nil || got != link {
		t.Errorf("through a link on PATH: %q, %v; want %q", got, err, link)
	}
	t.Setenv("PATH", t.TempDir())
	if got, err := stableExecutable(); err != nil || got != exe {
		t.Errorf("not on PATH: %q, %v; want %q", got, err, exe)
	}
}

// --config naming a file that does not exist yet: import creates it.
func TestImportCreatesTheNamedConfig(t *testing.T) {
	dir := t.TempDir()
	client := filepath.Join(dir, "c.json")
	os.WriteFile(client, []byte(`{"mcpServers": {"a": {"command": "a"}}}`), 0o644)
	cfgPath := filepath.Join(dir, "new.yaml")
	if out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--config", cfgPath); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if _, err := config.Load(cfgPath); err != nil {
		t.Errorf("the new config: %v", err)
	}
}

// A project's file (shared with the repository) never gets a secret's
// value, neither one the replaced servers held nor the judge's key from
// the shell: the entry refers to the variable as the client expands it.
// The user's own file gets the values.
func TestInstallProjectFileGetsNoSecretValues(t *testing.T) {
	const token, judgeKey = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "sk-judge-0123456789abcdefghijklmnop"
	t.Setenv("JUDGE_KEY_FOR_TEST", judgeKey)
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct {
		client, file, ref, judgeRef string
		project                     bool
	}{
		{"claude-code", filepath.Join(t.TempDir(), ".mcp.json"), `"GITHUB_TOKEN": "${GITHUB_TOKEN}"`, `"JUDGE_KEY_FOR_TEST": "${JUDGE_KEY_FOR_TEST}"`, true},
		{"cursor", filepath.Join(t.TempDir(), ".cursor", "mcp.json"), `"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"`, `"JUDGE_KEY_FOR_TEST": "${env:JUDGE_KEY_FOR_TEST}"`, true},
		{"vscode", filepath.Join(t.TempDir(), ".vscode", "mcp.json"), `"GITHUB_TOKEN": "${env:GITHUB_TOKEN}"`, `"JUDGE_KEY_FOR_TEST": "${env:JUDGE_KEY_FOR_TEST}"`, true},
		{"cursor", filepath.Join(home, ".cursor", "mcp.json"), `"GITHUB_TOKEN": "` + token + `"`, `"JUDGE_KEY_FOR_TEST": "` + judgeKey + `"`, false},
		{"claude-code", filepath.Join(home, ".claude.json"), `"GITHUB_TOKEN": "` + token + `"`, `"JUDGE_KEY_FOR_TEST": "` + judgeKey + `"`, false},
	} {
		t.Run(tc.client+"/"+filepath.Base(filepath.Dir(tc.file)), func(t *testing.T) {
			key := "mcpServers"
			if tc.client == "vscode" {
				key = "servers"
			}
			orig := `{"` + key + `": {"github": {"command": "github-mcp", "env": {"GITHUB_TOKEN": "` + token + `"}}}}`
			os.MkdirAll(filepath.Dir(tc.file), 0o755)
			os.WriteFile(tc.file, []byte(orig), 0o644)
			cfgPath := filepath.Join(t.TempDir(), "gatehouse.yaml")
			out, err := runCLI(t, "import", tc.client, tc.file, "--workspace", "dev", "--out", cfgPath)
			if err != nil || strings.Contains(out, "project's file") != tc.project {
				t.Fatalf("import: %v\n%s", err, out)
			}
			y, _ := os.ReadFile(cfgPath)
			os.WriteFile(cfgPath, append(y, []byte("judge:\n  provider: openai\n  model: gpt-4o-mini\n  api_key_env: JUDGE_KEY_FOR_TEST\n")...), 0o644)
			dry, err := runCLI(t, "install", tc.client, "--config", cfgPath, "--workspace", "dev", "--config-file", tc.file, "--dry-run")
			if err != nil || strings.Contains(dry, token) || strings.Contains(dry, judgeKey) || (tc.project && !strings.Contains(dry, tc.ref)) {
				t.Errorf("dry run shows a value, or hides a reference: %v\n%s", err, dry)
			}
			stdout, stderr, err := runCLIApart(t, "install", tc.client, "--config", cfgPath, "--workspace", "dev", "--config-file", tc.file)
			if err != nil {
				t.Fatal(err, stdout, stderr)
			}
			data, _ := os.ReadFile(tc.file)
			if !strings.Contains(string(data), tc.ref) || !strings.Contains(string(data), tc.judgeRef) {
				t.Errorf("installed file lacks %s or %s:\n%s", tc.ref, tc.judgeRef, data)
			}
			if tc.project && (strings.Contains(string(data), token) || strings.Contains(string(data), judgeKey) || !strings.Contains(stderr, "project")) {
				t.Errorf("a project's file got a secret value, or no warning:\n%s\n%s", data, stderr)
			}
			if info, _ := os.Stat(tc.file); tc.project && info.Mode().Perm() != 0o644 {
				t.Errorf("a file without values became %v", info.Mode().Perm())
			}
			if warned := strings.Contains(stdout, "keep it out of version control"); warned != tc.project {
				t.Errorf("warning about the backup beside a project's file: %v; want %v\n%s", warned, tc.project, stdout)
			}
		})
	}
}

// A server added to the client after install bypasses the gateway:
// install says so every time, also when it has nothing to change, and
// uninstall keeps it (and says so) rather than dropping it.
func TestInstallWarnsOfAndUninstallKeepsLaterServers(t *testing.T) {
	dir := t.TempDir()
	client := filepath.Join(dir, "claude_desktop_config.json")
	os.WriteFile(client, []byte(claudeDesktopFile), 0o644)
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	if out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", cfgPath); err != nil {
		t.Fatal(err, out)
	}
	args := []string{"install", "claude-desktop", "--config", cfgPath, "--workspace", "dev", "--config-file", client}
	if out, err := runCLI(t, args...); err != nil {
		t.Fatal(err, out)
	}
	installed, _ := os.ReadFile(client)
	added := strings.Replace(string(installed), `"mcpServers": {`, `"mcpServers": {
    "later\u001b]0;x": {"command": "later-mcp"},`, 1)
	os.WriteFile(client, []byte(added), 0o600)
	for _, extra := range [][]string{nil, {"--dry-run"}} {
		stdout, stderr, err := runCLIApart(t, append(args, extra...)...)
		if err != nil || !strings.Contains(stdout, "nothing") || !strings.Contains(stderr, `"later\x1b]0;x"`) || !strings.Contains(stderr, "bypass") || strings.Contains(stderr, "\x1b") {
			t.Errorf("install %v with a server added since: %v\n%s\n%s", extra, err, stdout, stderr)
		}
	}
	out, err := runCLI(t, "uninstall", "claude-desktop", "--config-file", client)
	if err != nil || !strings.Contains(out, "kept") || !strings.Contains(out, `"later\x1b]0;x"`) {
		t.Errorf("uninstall: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(client)
	got := servers(t, data)
	for _, name := range []string{"memory", "Remote API", "later\x1b]0;x"} {
		if _, ok := got[name]; !ok {
			t.Errorf("uninstall lost %q:\n%s", name, data)
		}
	}
	if _, ok := got["gatehouse"]; ok {
		t.Errorf("uninstall kept gatehouse:\n%s", data)
	}
}

func servers(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var v struct {
		MCPServers map[string]any `json:"mcpServers"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v:\n%s", err, data)
	}
	return v.MCPServers
}

// Claude Code keeps `claude mcp add`'s servers per project in
// ~/.claude.json: import without --project says where they are; the
// next steps it prints carry --project; install and uninstall take it.
// Install into a list with nothing to replace does not claim it did.
func TestClaudeCodeProjectFlagCarriesThrough(t *testing.T) {
	home, work := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GATEHOUSE_CONFIG", "")
	t.Chdir(work)
	wd, _ := os.Getwd()
	client := filepath.Join(home, ".claude.json")
	orig := `{"numStartups": 3, "projects": {` + string(mustQuote(wd)) + `: {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}}}`
	os.WriteFile(client, []byte(orig), 0o600)
	cfgPath := filepath.Join(work, "gh.yaml")
	_, err := runCLI(t, "import", "claude-code", "--workspace", "dev", "--out", cfgPath)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--project "+wd) {
		t.Fatalf("import without --project: %v", err)
	}
	out, err := runCLI(t, "import", "claude-code", "--workspace", "dev", "--out", cfgPath, "--project", wd)
	if err != nil || !strings.Contains(out, "install claude-code --config "+cfgPath+" --workspace dev --project "+wd) {
		t.Fatalf("import --project: %v\n%s", err, out)
	}
	out, err = runCLI(t, "install", "claude-code", "--config", cfgPath, "--workspace", "dev", "--project", wd)
	if err != nil || !strings.Contains(out, "uninstall claude-code --project "+wd) {
		t.Fatalf("install --project: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(client); strings.Contains(string(data), "mcp-server-time") || !strings.Contains(string(data), `"gatehouse"`) {
		t.Errorf("installed:\n%s", data)
	}
	if out, err := runCLI(t, "uninstall", "claude-code", "--project", wd); err != nil {
		t.Fatalf("uninstall --project: %v\n%s", err, out)
	}
	if data, _ := os.ReadFile(client); string(data) != orig {
		t.Errorf("uninstall --project:\n%s", data)
	}

	empty := filepath.Join(work, "mcp.json")
	os.WriteFile(empty, []byte(`{"mcpServers": {}}`), 0o644)
	out, err = runCLI(t, "install", "cursor", "--config", cfgPath, "--workspace", "dev", "--config-file", empty)
	if err != nil || strings.Contains(out, "starts only gatehouse") || !strings.Contains(out, "no servers") {
		t.Errorf("install into an empty list: %v\n%s", err, out)
	}
}

func mustQuote(s string) []byte { b, _ := json.Marshal(s); return b }

// Small things a person meets: errors name the flag to use, a server's
// name cannot put control sequences on the terminal, a directory named
// with ${ stays itself, and a CRLF config keeps CRLF lines.
func TestOnboardingEdges(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	client := filepath.Join(dir, "c.json")
	os.WriteFile(client, []byte(`{"mcpServers": {"evil\u001b]0;pwned\u0007": {"command": "x-mcp", "env": {"A_TOKEN": "t-1\u009b31m"}}, "ok": {"command": "y-mcp", "envFile": "/x\u001b[2J"}}}`), 0o644)

	_, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", dir)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("--out a directory: %v", err)
	}
	_, err = runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", filepath.Join(dir, "missing", "g.yaml"))
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("--out into a missing directory: %v", err)
	}
	out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", cfgPath)
	if err != nil || strings.ContainsAny(out, "\x1b\x07\u009b") || !strings.Contains(out, `\x1b`) {
		t.Errorf("import printed a raw control sequence, or no name: %v\n%q", err, out)
	}
	for _, cmd := range []string{"install", "uninstall"} {
		args := []string{cmd, "claude-desktop", "--config-file", filepath.Join(dir, "nope.json")}
		if cmd == "install" {
			args = append(args, "--config", cfgPath, "--workspace", "dev")
		}
		if _, err := runCLI(t, args...); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--config-file") {
			t.Errorf("%s with a missing file: %v", cmd, err)
		}
	}

	odd := filepath.Join(t.TempDir(), "${HOME}x")
	os.MkdirAll(odd, 0o755)
	if out, err := runCLI(t, "init", "--dir", odd); err != nil {
		t.Fatal(err, out)
	}
	cfg, err := config.Load(filepath.Join(odd, "gatehouse.yaml"))
	if err != nil {
		t.Fatalf("init in a directory named with ${: %v", err)
	}
	if ws, _ := cfg.Workspace("dev"); ws.Upstreams[0].Args[2] != filepath.Join(odd, "sandbox") {
		t.Errorf("sandbox = %q, want %q", ws.Upstreams[0].Args[2], filepath.Join(odd, "sandbox"))
	}

	crlf := filepath.Join(dir, "crlf.yaml")
	os.WriteFile(crlf, []byte("# mine\r\nworkspaces:\r\n  other:\r\n    upstreams:\r\n      - name: a\r\n        command: a\r\n"), 0o644)
	if out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--config", crlf); err != nil {
		t.Fatal(err, out)
	}
	data, _ := os.ReadFile(crlf)
	if strings.Count(string(data), "\n") != strings.Count(string(data), "\r\n") {
		t.Errorf("a CRLF config got LF lines:\n%q", data)
	}
}

// The judge's key variable is also one a replaced server held, with
// another value than the shell's: install says which the gateway gets.
func TestInstallWarnsWhenTheJudgesKeyIsAServersVariable(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-shell-0123456789abcdefghij")
	dir := t.TempDir()
	client := filepath.Join(dir, "claude_desktop_config.json")
	os.WriteFile(client, []byte(`{"mcpServers": {"ai": {"command": "ai-mcp", "env": {"OPENAI_API_KEY": "sk-file-0123456789abcdefghij"}}}}`), 0o600)
	cfgPath := filepath.Join(dir, "gatehouse.yaml")
	if out, err := runCLI(t, "import", "claude-desktop", client, "--workspace", "dev", "--out", cfgPath); err != nil {
		t.Fatal(err, out)
	}
	y, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(y, []byte("judge:\n  provider: openai\n  model: gpt-4o-mini\n  api_key_env: OPENAI_API_KEY\n")...), 0o644)
	_, stderr, err := runCLIApart(t, "install", "claude-desktop", "--config", cfgPath, "--workspace", "dev", "--config-file", client)
	if err != nil || !strings.Contains(stderr, "judge's key variable OPENAI_API_KEY is also") {
		t.Errorf("install: %v\n%s", err, stderr)
	}
}
