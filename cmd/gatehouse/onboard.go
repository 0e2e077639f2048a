package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/onboard"
)

// The onboarding commands (DESIGN §13): init writes a starter config,
// import turns an AI client's MCP servers into a workspace, install
// points the client at Gatehouse instead and uninstall puts back what
// was there.

// starterConfig is the config init writes; %[1]s is the sandbox
// directory, quoted.
const starterConfig = `# gatehouse.yaml, written by gatehouse init.
# Every key is described in the README, "Configuration reference", and in
# config.example.yaml. Check this file with: gatehouse check --config FILE
version: 1

# Built-in policies for coding agents (README, "Policy templates"): no path
# outside the project or into credentials, no secrets in arguments, a
# person asked before shell commands that look like injection.
include: [code-assistant]

# Plain-English policies need a judge (README, "The LLM judge"), e.g.:
# judge:
#   provider: openai
#   model: gpt-4o-mini
#   api_key_env: OPENAI_API_KEY

workspaces:
  dev:
    upstreams:
      # The MCP filesystem server, allowed the sandbox directory only.
      # Add your own servers here, or import a client's:
      #   gatehouse import claude-desktop --workspace dev
      - name: fs
        command: npx
        args: ["-y", "@modelcontextprotocol/server-filesystem", %[1]s]
`

func newInitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter gatehouse.yaml",
		Long: `Init writes DIR/gatehouse.yaml: a workspace "dev" whose one upstream is the MCP
filesystem server (started with npx) allowed only DIR/sandbox, which it
creates, and the code-assistant policy template. It never overwrites a file.`,
		Args: cobra.NoArgs,
		RunE: runInit,
	}
	cmd.Flags().String("dir", ".", "directory to write gatehouse.yaml in")
	return cmd
}

func runInit(cmd *cobra.Command, _ []string) error {
	dirFlag, _ := cmd.Flags().GetString("dir")
	dir, err := filepath.Abs(dirFlag)
	if err != nil {
		return usageError(err)
	}
	path := filepath.Join(dir, "gatehouse.yaml")
	if _, err := os.Lstat(path); err == nil {
		return usageError(fmt.Errorf("%s exists: init never overwrites a config (edit it, or use --dir)", path))
	}
	sandbox := filepath.Join(dir, "sandbox")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		return runtimeError(err)
	}
	data := fmt.Sprintf(starterConfig, jsonQuote(sandbox))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return runtimeError(err)
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return runtimeError(err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "wrote %s (workspace dev: the filesystem server on %s)\n", path, sandbox)
	fmt.Fprintf(out, "next:\n  gatehouse check --config %s --connect\n", path)
	fmt.Fprintf(out, "  gatehouse import claude-desktop --config %s --workspace dev    # add your client's servers\n", path)
	fmt.Fprintf(out, "  gatehouse install claude-desktop --config %s --workspace dev   # point the client at gatehouse\n", path)
	return nil
}

// jsonQuote quotes s as a YAML double-quoted scalar (JSON's escapes are
// YAML's).
func jsonQuote(s string) string {
	return strings.TrimSpace(fmt.Sprintf("%q", s))
}

func newImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import CLIENT [FILE]",
		Short: "Turn an AI client's MCP servers into a workspace",
		Long: `Import reads the MCP servers of CLIENT (` + onboard.ClientNames + `)
from FILE, else from the client's own config file, and adds them as the
upstreams of workspace --workspace: to the file --out (which must not exist),
else to the config (--config, ./gatehouse.yaml, $GATEHOUSE_CONFIG), keeping its
comments, else to a new ./gatehouse.yaml.

A value that holds a secret (an env or header named like *_TOKEN, *_KEY,
*SECRET*, *PASSWORD*, Authorization, or one the secret detectors find) is
written as ${VAR}, never copied; import lists the variables to set.
The config is validated before it is written: a problem writes nothing.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: runImport,
	}
	cmd.Flags().String("workspace", "", "workspace to create (required)")
	cmd.Flags().String("out", "", "write a new config file here instead of merging")
	cmd.Flags().Bool("force", false, "replace the upstreams of an existing workspace (its policies are kept)")
	cmd.Flags().String("project", "", "claude-code: the servers of this project directory in ~/.claude.json (claude mcp add's default, local scope) instead of the user-scope ones")
	return cmd
}

// readClient reads CLIENT's config file: FILE when given, else its
// default location; with --project (Claude Code), that project's
// local-scope servers in it.
func readClient(cmd *cobra.Command, args []string, flag string) (*onboard.File, error) {
	c, err := onboard.Lookup(args[0])
	if err != nil {
		return nil, usageError(err)
	}
	var keys []string
	if f := cmd.Flags().Lookup("project"); f != nil && f.Changed {
		if c.Name != "claude-code" {
			return nil, usageError(errors.New("--project is for claude-code only"))
		}
		dir, err := filepath.Abs(f.Value.String())
		if err != nil {
			return nil, usageError(err)
		}
		keys = onboard.ProjectKeys(dir)
		if flag == "" && len(args) < 2 {
			home, _ := os.UserHomeDir()
			flag = filepath.Join(home, ".claude.json")
		}
	}
	path := flag
	if len(args) > 1 {
		path = args[1]
	}
	if path == "" {
		path = c.DefaultPath(onboard.HostEnv())
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	data, err := os.ReadFile(path)
	var f *onboard.File
	if err == nil {
		f, err = onboard.ParseFileAt(c, path, data, keys)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError(fmt.Errorf("%s: no such file (give the client's config file as an argument)", path))
	}
	if err != nil {
		return nil, usageError(err)
	}
	return f, nil
}

// baseDir is what ${workspaceFolder} stands for in a client file: the
// project of a .vscode/ or .cursor/ file, else the working directory.
func baseDir(clientFile string) string {
	dir := filepath.Dir(clientFile)
	if b := filepath.Base(dir); b == ".vscode" || b == ".cursor" {
		return filepath.Dir(dir)
	}
	wd, _ := os.Getwd()
	return wd
}

func convertClient(f *onboard.File) (*onboard.Import, error) {
	home, _ := os.UserHomeDir()
	imp, err := onboard.Convert(f, baseDir(f.Path), home)
	if err != nil {
		return nil, usageError(err)
	}
	return imp, nil
}

func runImport(cmd *cobra.Command, args []string) error {
	ws, _ := cmd.Flags().GetString("workspace")
	if ws == "" {
		return usageError(errors.New("--workspace is required: the workspace to put the servers in"))
	}
	if !regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`).MatchString(ws) {
		return usageError(fmt.Errorf("--workspace %q: use 1 to 64 letters, digits, '-' or '_'", ws))
	}
	f, err := readClient(cmd, args, "")
	if err != nil {
		return err
	}
	imp, err := convertClient(f)
	if err != nil {
		return err
	}
	force, _ := cmd.Flags().GetBool("force")
	header := fmt.Sprintf("Written by gatehouse import from %s (%s). README: \"Onboarding an existing client\".", f.Client.Name, f.Path)

	// Where to write: --out (new), the config found, else ./gatehouse.yaml (new).
	target, _ := cmd.Flags().GetString("out")
	var data []byte
	fresh := true
	if target == "" {
		if p, err := newSettings(cmd).configPath(); err == nil {
			target, fresh = p, false
		} else {
			target = "gatehouse.yaml"
		}
	}
	if fresh {
		if _, err := os.Lstat(target); err == nil {
			return usageError(fmt.Errorf("%s exists: pass --config %s to add the workspace to it", target, target))
		}
		data, err = onboard.NewConfig(ws, imp, header)
	} else {
		old, rerr := os.ReadFile(target)
		if rerr != nil {
			return usageError(fmt.Errorf("read the config: %w", rerr))
		}
		data, err = onboard.MergeBytes(old, ws, imp, force)
	}
	if err != nil {
		return usageError(fmt.Errorf("%s: %w", target, err))
	}
	if err := validateConfig(target, data, ws); err != nil {
		return usageError(fmt.Errorf("the imported config is not valid, nothing written:\n%w", err))
	}
	if err := writeFileAtomic(target, data, 0o644); err != nil {
		return runtimeError(err)
	}

	out := cmd.OutOrStdout()
	names := make([]string, len(imp.Upstreams))
	for i, u := range imp.Upstreams {
		names[i] = u.Name
	}
	fmt.Fprintf(out, "imported %s from %s into workspace %s of %s: %s\n", plural(len(names), "server"), f.Path, ws, target, strings.Join(names, ", "))
	for _, n := range imp.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	if len(imp.Vars) > 0 {
		fmt.Fprintf(out, "\nThe secrets were not copied. Set these variables where the gateway runs\n(`gatehouse install %s` puts those the client's file held into its entry for gatehouse):\n", f.Client.Name)
		for _, v := range imp.Vars {
			fmt.Fprintf(out, "  %s\tfrom %s\n", v.Name, v.Source)
		}
	}
	fmt.Fprintf(out, "\nnext:\n  gatehouse check --config %s --connect\n  gatehouse install %s --config %s --workspace %s\n", target, f.Client.Name, target, ws)
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// validateConfig loads data as if it were the file target (in its
// directory, so relative paths mean the same) with every unset variable
// given a placeholder, and checks it defines workspace ws.
func validateConfig(target string, data []byte, ws string) error {
	abs, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), ".gatehouse-import-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	cfg, err := config.LoadEnv(tmp.Name(), lenientEnv)
	if err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), tmp.Name(), target))
	}
	if _, ok := cfg.Workspace(ws); !ok {
		return fmt.Errorf("workspace %s is not in the result", ws)
	}
	return nil
}

// lenientEnv is the environment with every unset variable set to a
// placeholder: for reading a config whose variables are not set yet.
func lenientEnv(name string) (string, bool) {
	if v, ok := os.LookupEnv(name); ok {
		return v, true
	}
	return "placeholder", true
}

// writeFileAtomic replaces path with data through a temporary file in
// its directory, keeping an existing file's permissions.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // a linked file (dotfiles) stays linked
	}
	if info, err := os.Stat(path); err == nil {
		perm = info.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newInstallCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install CLIENT",
		Short: "Point an AI client at Gatehouse instead of its MCP servers",
		Long: `Install rewrites CLIENT's config file (` + onboard.ClientNames + `; --config-file, else
the client's own) so that its one MCP server is Gatehouse over stdio: this
binary, serve --config <this config> --workspace W. The servers it replaces
are kept in a backup next to the file (FILE.gatehouse-backup.json), every
other byte of the file is left as it was, and running it again changes
nothing. The entry's env gets the variables the workspace refers to whose
values the client's file held (the secrets import did not copy), and the
judge's key variable when it is set here. "gatehouse uninstall CLIENT"
puts the file back.`,
		Args: cobra.ExactArgs(1),
		RunE: runInstall,
	}
	cmd.Flags().String("workspace", "", "workspace the client is to use (required)")
	cmd.Flags().String("config-file", "", "the client's config file (default: its own location)")
	cmd.Flags().Bool("dry-run", false, "print the result and write nothing")
	cmd.Flags().String("project", "", "claude-code: replace the servers of this project directory in ~/.claude.json (local scope) instead of the user-scope ones")
	return cmd
}

func runInstall(cmd *cobra.Command, args []string) error {
	ws, _ := cmd.Flags().GetString("workspace")
	if ws == "" {
		return usageError(errors.New("--workspace is required: the workspace the client is to use"))
	}
	cfgPath, err := newSettings(cmd).configPath()
	if err != nil {
		return err
	}
	cfg, err := config.LoadEnv(cfgPath, lenientEnv)
	if err != nil {
		return usageError(err)
	}
	if _, ok := cfg.Workspace(ws); !ok {
		return usageError(fmt.Errorf("%s has no workspace %q (gatehouse import CLIENT --workspace %s makes one)", cfg.File, ws, ws))
	}
	clientFile, _ := cmd.Flags().GetString("config-file")
	f, err := readClient(cmd, args, clientFile)
	if err != nil {
		return err
	}
	backupPath := onboard.BackupPath(f.Path)
	backup, err := os.ReadFile(backupPath)
	if errors.Is(err, fs.ErrNotExist) {
		backup = nil
	} else if err != nil {
		return runtimeError(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return runtimeError(err)
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if strings.Contains(exe, "go-build") {
		fmt.Fprintf(errOut, "warning: %s is a temporary binary of go run: build gatehouse and run install with it\n", exe)
	}
	env, warnings := entryEnv(f, backup, cfg)
	for _, w := range warnings {
		fmt.Fprintln(errOut, "warning:", w)
	}
	entry := onboard.Entry{Command: exe, Args: []string{"serve", "--config", cfg.File, "--workspace", ws}, Env: env}
	res, err := onboard.Install(f, entry, backup)
	if err != nil {
		return usageError(err)
	}
	if dry, _ := cmd.Flags().GetBool("dry-run"); dry {
		masked := entry
		masked.Env = nil
		for _, kv := range env {
			masked.Env = append(masked.Env, [2]string{kv[0], "<hidden>"})
		}
		shown, err := onboard.Install(f, masked, backup)
		if err != nil {
			return usageError(err)
		}
		if !res.Changed {
			fmt.Fprintf(out, "%s: already installed for workspace %s; nothing would change\n", f.Path, ws)
			return nil
		}
		after, err := onboard.ParseFileAt(f.Client, f.Path, shown.Data, f.Keys())
		if err != nil {
			return runtimeError(err)
		}
		fmt.Fprintf(out, "would set %s in %s to (secret values hidden here; every other byte kept):\n%s\n", strings.Join(f.Keys(), "."), f.Path, after.ServersText())
		if res.Backup != nil {
			fmt.Fprintf(out, "would move %s into %s\n", plural(len(res.Replaced), "server"), backupPath)
		}
		return nil
	}
	if !res.Changed {
		fmt.Fprintf(out, "%s: already installed for workspace %s; nothing changed\n", f.Path, ws)
		return nil
	}
	if res.Backup != nil {
		bf, err := os.OpenFile(backupPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return runtimeError(fmt.Errorf("write the backup: %w", err))
		}
		_, err = bf.Write(res.Backup)
		if cerr := bf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(backupPath)
			return runtimeError(fmt.Errorf("write the backup: %w", err))
		}
	}
	if err := writeFileAtomic(f.Path, res.Data, 0o600); err != nil {
		if res.Backup != nil {
			os.Remove(backupPath)
		}
		return runtimeError(err)
	}
	if res.Backup != nil {
		fmt.Fprintf(out, "%s: %s moved into %s; the client now starts only gatehouse (workspace %s)\n", f.Path, plural(len(res.Replaced), "server"), backupPath, ws)
	} else {
		fmt.Fprintf(out, "%s: the gatehouse entry now serves workspace %s\n", f.Path, ws)
	}
	if len(res.Kept) > 0 {
		fmt.Fprintf(errOut, "warning: %s also start(s) %s, added since the first install: those bypass the gateway\n", f.Path, strings.Join(res.Kept, ", "))
	}
	fmt.Fprintf(out, "restart the client to use it; gatehouse uninstall %s puts the file back\n", f.Client.Name)
	return nil
}

// entryEnv is the env of the client's gatehouse entry: each variable
// the config refers to whose value the client's servers held (read from
// the backup once installed), each VS Code input when set in this
// environment, and the judge's key variables when set in this
// environment. Warnings name what the gateway will lack.
func entryEnv(f *onboard.File, backup []byte, cfg *config.Config) ([][2]string, []string) {
	src := f
	if backup != nil {
		var b onboard.Backup
		if json.Unmarshal(backup, &b) == nil {
			if orig, err := onboard.ParseFileAt(f.Client, f.Path, []byte(b.Original), f.Keys()); err == nil {
				src = orig
			}
		}
	}
	raw, _ := os.ReadFile(cfg.File)
	refers := func(name string) bool {
		return regexp.MustCompile(`\$\{` + regexp.QuoteMeta(name) + `(\}|:-)`).Match(raw)
	}
	var env [][2]string
	var warnings []string
	seen := map[string]bool{}
	if imp, err := onboard.Convert(src, baseDir(src.Path), ""); err == nil {
		for _, v := range imp.Vars {
			if !refers(v.Name) || seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			value := v.Value
			if value == "" && !v.Input {
				// The client's own variable: the gateway inherits it from
				// the client's environment as the server did.
				continue
			}
			if value == "" {
				value = os.Getenv(v.Name)
			}
			if value == "" {
				warnings = append(warnings, fmt.Sprintf("%s (%s) is not set here: add it to the client's gatehouse entry (env) by hand", v.Name, v.Source))
				continue
			}
			env = append(env, [2]string{v.Name, value})
		}
	}
	for _, name := range []string{cfg.Judge.APIKeyEnv, cfg.Judge.Confirm.APIKeyEnv} {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := os.LookupEnv(name); ok && v != "" {
			env = append(env, [2]string{name, v})
		} else {
			warnings = append(warnings, fmt.Sprintf("the judge's key variable %s is not set here: the gateway gets it only if the client's own environment has it (or add it to the entry's env)", name))
		}
	}
	return env, warnings
}

func newUninstallCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "uninstall CLIENT",
		Short: "Put back the MCP servers install replaced",
		Long: `Uninstall puts CLIENT's config file back as it was before install, byte for
byte, from FILE.gatehouse-backup.json, and removes the backup. If the file
changed since install, only its server list is put back and the other
changes are kept.`,
		Args: cobra.ExactArgs(1),
		RunE: runUninstall,
	}
	cmd.Flags().String("config-file", "", "the client's config file (default: its own location)")
	cmd.Flags().Bool("dry-run", false, "print the result and write nothing")
	return cmd
}

func runUninstall(cmd *cobra.Command, args []string) error {
	clientFile, _ := cmd.Flags().GetString("config-file")
	f, err := readClient(cmd, args, clientFile)
	if err != nil {
		return err
	}
	backupPath := onboard.BackupPath(f.Path)
	backup, err := os.ReadFile(backupPath)
	if errors.Is(err, fs.ErrNotExist) {
		return usageError(fmt.Errorf("%s: not installed (no %s)", f.Path, backupPath))
	}
	if err != nil {
		return runtimeError(err)
	}
	data, err := onboard.Uninstall(f, backup)
	if err != nil {
		return usageError(err)
	}
	out := cmd.OutOrStdout()
	if dry, _ := cmd.Flags().GetBool("dry-run"); dry {
		fmt.Fprintf(out, "would write %s:\n%s\n", f.Path, data)
		return nil
	}
	if err := writeFileAtomic(f.Path, data, 0o600); err != nil {
		return runtimeError(err)
	}
	if err := os.Remove(backupPath); err != nil {
		return runtimeError(err)
	}
	fmt.Fprintf(out, "%s: put back as it was before install; restart the client\n", f.Path)
	return nil
}
