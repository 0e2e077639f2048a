package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/onboard"
)

func newImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import CLIENT [FILE]",
		Short: "Turn an AI client's MCP servers into a workspace",
		Long: `Import reads the MCP servers of CLIENT (` + onboard.ClientNames + `)
from FILE, else from the client's own config file, and adds them as the
upstreams of workspace --workspace: to the file --out (which must not exist),
else to the config (--config, $GATEHOUSE_CONFIG, ./gatehouse.yaml, the user's
config folder), keeping its comments, else to a new ./gatehouse.yaml.

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
	f, err := onboard.ReadFileAt(c, path, keys)
	if errors.Is(err, fs.ErrNotExist) {
		how := "give the client's config file as an argument"
		if cmd.Flags().Lookup("config-file") != nil {
			how = "name the client's config file with --config-file FILE"
		}
		return nil, usageError(fmt.Errorf("%s: no such file (%s)", path, how))
	}
	if err != nil {
		return nil, usageError(err)
	}
	return f, nil
}

// projectHint is why a Claude Code ~/.claude.json read without
// --project may be the wrong place: it has no user-scope servers but
// the working directory's project has some (claude mcp add's default
// scope). "" otherwise.
func projectHint(cmd *cobra.Command, f *onboard.File) string {
	if f.Client.Name != "claude-code" || filepath.Base(f.Path) != ".claude.json" {
		return ""
	}
	if fl := cmd.Flags().Lookup("project"); fl == nil || fl.Changed {
		return ""
	}
	if s, err := f.Servers(); err != nil || len(s) > 0 {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	p, err := onboard.ParseFileAt(f.Client, f.Path, f.Data, onboard.ProjectKeys(wd))
	if err != nil {
		return ""
	}
	if s, err := p.Servers(); err == nil && len(s) > 0 {
		return fmt.Sprintf("%s has no user-scope servers, but this directory's project (%s) has %s: pass --project %s", f.Path, wd, count(len(s), "server"), shellQuote(wd))
	}
	return ""
}

// escapeControls escapes the control characters of s (as strconv.Quote
// would), so that text from a client's file cannot reach the terminal
// as an escape sequence.
func escapeControls(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// shellQuote quotes s for a shell command line when it needs it.
func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// beforeInstall is the client file as it was before install when
// install replaced its servers (read from the backup, whose path it
// returns), else f.
func beforeInstall(f *onboard.File) (*onboard.File, string, error) {
	path := onboard.BackupPath(f.Path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, "", nil
	}
	if err != nil {
		return nil, "", runtimeError(err)
	}
	b, err := onboard.ReadBackup(data)
	if err != nil {
		return nil, "", usageError(fmt.Errorf("%s: %w", path, err))
	}
	orig, err := onboard.ParseFileAt(f.Client, f.Path, []byte(b.Original), b.Keys)
	if err != nil {
		return nil, "", usageError(fmt.Errorf("%s: %w", path, err))
	}
	return orig, path, nil
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
	ws := newSettings(cmd).v.GetString("workspace")
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
	var fromBackup string
	if f, fromBackup, err = beforeInstall(f); err != nil {
		return err
	}
	if hint := projectHint(cmd, f); hint != "" {
		return usageError(errors.New(hint))
	}
	imp, err := convertClient(f)
	if err != nil {
		return err
	}
	if fromBackup != "" {
		imp.Notes = append([]string{"gatehouse is installed in this file: the servers are read from " + fromBackup}, imp.Notes...)
	}
	force, _ := cmd.Flags().GetBool("force")
	header := fmt.Sprintf("Written by gatehouse import from %s (%s). README: \"Onboarding an existing client\".", f.Client.Name, f.Path)

	// Where to write: --out (new), the config found (new if it does
	// not exist yet), else ./gatehouse.yaml (new).
	target, _ := cmd.Flags().GetString("out")
	if target != "" {
		if info, err := os.Stat(target); err == nil && info.IsDir() {
			return usageError(fmt.Errorf("--out %s is a directory: name the file to write, e.g. %s", target, filepath.Join(target, "gatehouse.yaml")))
		}
		if info, err := os.Stat(filepath.Dir(target)); err != nil || !info.IsDir() {
			return usageError(fmt.Errorf("--out %s: the directory %s does not exist", target, filepath.Dir(target)))
		}
	}
	var data []byte
	fresh := true
	if target == "" {
		target = "gatehouse.yaml"
		if p, err := newSettings(cmd).configPath(); err == nil {
			_, statErr := os.Stat(p)
			target, fresh = p, errors.Is(statErr, fs.ErrNotExist)
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
	if err := writeFileAtomic(target, data, 0); err != nil {
		return runtimeError(err)
	}

	out := cmd.OutOrStdout()
	names := make([]string, len(imp.Upstreams))
	for i, u := range imp.Upstreams {
		names[i] = u.Name
	}
	fmt.Fprintf(out, "imported %s from %s into workspace %s of %s: %s\n", count(len(names), "server"), f.Path, ws, target, quoteAll(names))
	for _, n := range imp.Notes {
		fmt.Fprintf(out, "note: %s\n", escapeControls(n))
	}
	if len(imp.Vars) > 0 {
		home, _ := os.UserHomeDir()
		if f.ProjectScope(home) {
			fmt.Fprintf(out, "\nThe secrets were not copied. Set these variables where the gateway runs\n(%s is a project's file: `gatehouse install %s` refers to them there, never writes\ntheir values, so set them where the client runs):\n", f.Path, f.Client.Name)
		} else {
			fmt.Fprintf(out, "\nThe secrets were not copied. Set these variables where the gateway runs\n(`gatehouse install %s` puts those the client's file held into its entry for gatehouse):\n", f.Client.Name)
		}
		for _, v := range imp.Vars {
			fmt.Fprintf(out, "  %s\tfrom %s\n", v.Name, escapeControls(v.Source))
		}
	}
	where := ""
	if fl := cmd.Flags().Lookup("project"); fl.Changed {
		dir, _ := filepath.Abs(fl.Value.String())
		where += " --project " + shellQuote(dir)
	}
	if len(args) > 1 {
		where += " --config-file " + shellQuote(f.Path)
	}
	fmt.Fprintf(out, "\nnext:\n  gatehouse check --config %s --connect\n  gatehouse install %s --config %s --workspace %s%s\n", shellQuote(target), f.Client.Name, shellQuote(target), ws, where)
	return nil
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
// its directory, with permissions perm; a zero perm keeps an existing
// file's (a new one gets 0644).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // a linked file (dotfiles) stays linked
	}
	if perm == 0 {
		perm = 0o644
		if info, err := os.Stat(path); err == nil {
			perm = info.Mode().Perm()
		}
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
