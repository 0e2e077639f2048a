package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/onboard"
)

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
	ws := newSettings(cmd).v.GetString("workspace")
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
	exe, err := stableExecutable()
	if err != nil {
		return runtimeError(err)
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if strings.Contains(exe, "go-build") {
		fmt.Fprintf(errOut, "warning: %s is a temporary binary of go run: build gatehouse and run install with it\n", exe)
	}
	if hint := projectHint(cmd, f); hint != "" && backup == nil {
		fmt.Fprintln(errOut, "warning:", hint+" (else those servers keep bypassing the gateway)")
	}
	env, warnings, values := entryEnv(f, backup, cfg)
	for _, w := range warnings {
		fmt.Fprintln(errOut, "warning:", escapeControls(w))
	}
	entry := onboard.Entry{Command: exe, Args: []string{"serve", "--config", cfg.File, "--workspace", ws}, Env: env}
	res, err := onboard.Install(f, entry, backup)
	if err != nil {
		return usageError(err)
	}
	if len(res.Kept) > 0 {
		fmt.Fprintf(errOut, "warning: %s also starts %s, added since the first install: those bypass the gateway (run gatehouse import to guard them too)\n", f.Path, quoteAll(res.Kept))
	}
	if dry, _ := cmd.Flags().GetBool("dry-run"); dry {
		masked := entry
		masked.Env = nil
		for _, kv := range env {
			if !strings.HasPrefix(kv[1], "${") || !strings.HasSuffix(kv[1], "}") {
				kv[1] = "<hidden>" // a value; a reference is shown
			}
			masked.Env = append(masked.Env, kv)
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
			fmt.Fprintf(out, "would move %s into %s\n", count(len(res.Replaced), "server"), backupPath)
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
	// The entry's env holds secrets: the file becomes owner-only (the
	// backup keeps its mode for uninstall).
	perm := os.FileMode(0)
	if values && f.Mode&0o077 != 0 {
		perm = f.Mode &^ 0o077
	}
	if err := writeFileAtomic(f.Path, res.Data, perm); err != nil {
		if res.Backup != nil {
			os.Remove(backupPath)
		}
		return runtimeError(err)
	}
	switch {
	case res.Backup != nil && len(res.Replaced) == 0:
		fmt.Fprintf(out, "%s: gatehouse added (workspace %s); there were no servers there to replace\n", f.Path, ws)
	case res.Backup != nil:
		fmt.Fprintf(out, "%s: %s moved into %s; the client now starts only gatehouse (workspace %s)\n", f.Path, count(len(res.Replaced), "server"), backupPath, ws)
	default:
		fmt.Fprintf(out, "%s: the gatehouse entry now serves workspace %s\n", f.Path, ws)
	}
	if home, _ := os.UserHomeDir(); res.Backup != nil && f.ProjectScope(home) {
		// The backup is the whole original file, secrets and all, beside
		// a file that is usually committed.
		fmt.Fprintf(out, "warning: %s holds the file as it was, with any secrets it had: keep it out of version control (add %s to .gitignore)\n",
			backupPath, filepath.Base(backupPath))
	}
	where := ""
	if fl := cmd.Flags().Lookup("project"); fl.Changed {
		dir, _ := filepath.Abs(fl.Value.String())
		where = " --project " + shellQuote(dir)
	}
	if clientFile != "" {
		where += " --config-file " + shellQuote(f.Path)
	}
	fmt.Fprintf(out, "restart the client to use it; gatehouse uninstall %s%s puts the file back\n", f.Client.Name, where)
	return nil
}

// entryEnv is the env of the client's gatehouse entry: each variable
// the config refers to whose value the client's servers held (read from
// the backup once installed), each VS Code input (as ${input:id}, the
// client asks for it), and the judge's key variables. In the user's own
// file a value held or set here is written (the file becomes
// owner-only: values reports it); in a project's file (ProjectScope) no
// value ever is: a reference the client expands from its environment
// (${VAR}, ${env:VAR}) is written instead. Warnings name what the
// gateway will lack.
func entryEnv(f *onboard.File, backup []byte, cfg *config.Config) (env [][2]string, warnings []string, values bool) {
	src := f
	if backup != nil {
		if orig, _, err := beforeInstall(f); err == nil {
			src = orig
		}
	}
	home, _ := os.UserHomeDir()
	project := f.ProjectScope(home)
	raw, _ := os.ReadFile(cfg.File)
	refers := func(name string) bool {
		return regexp.MustCompile(`\$\{` + regexp.QuoteMeta(name) + `(\}|:-)`).Match(raw)
	}
	// set adds name: its value in the user's file, else a reference.
	set := func(name, value, what string) {
		if project {
			ref := f.Client.EnvReference(name)
			if ref == "" {
				warnings = append(warnings, fmt.Sprintf("%s (%s) is left out: %s is a project's file and %s cannot refer to a variable; give the gateway %s in the client's environment", name, what, f.Path, f.Client.Name, name))
				return
			}
			env = append(env, [2]string{name, ref})
			warnings = append(warnings, fmt.Sprintf("%s (%s) is written as %s, not its value: %s is a project's file; set %s where the client runs", name, what, ref, f.Path, name))
			return
		}
		if value == "" {
			value = os.Getenv(name)
		}
		if value == "" {
			warnings = append(warnings, fmt.Sprintf("%s (%s) is not set here: add it to the client's gatehouse entry (env) by hand", name, what))
			return
		}
		env = append(env, [2]string{name, value})
		values = true
	}
	seen := map[string]bool{}
	if imp, err := onboard.Convert(src, baseDir(src.Path), ""); err == nil {
		for _, v := range imp.Vars {
			if !refers(v.Name) || seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			switch {
			case v.Input && f.Client.Name == "vscode" && v.InputID != "":
				// VS Code asks for the input when it starts gatehouse.
				env = append(env, [2]string{v.Name, "${input:" + v.InputID + "}"})
			case v.Value == "" && !v.Input:
				// The client's own variable: the gateway inherits it from
				// the client's environment as the server did.
			default:
				set(v.Name, v.Value, v.Source)
			}
		}
	}
	for _, name := range []string{cfg.Judge.APIKeyEnv, cfg.Judge.Confirm.APIKeyEnv} {
		if name == "" {
			continue
		}
		if seen[name] {
			for _, kv := range env {
				if here := os.Getenv(name); kv[0] == name && here != "" && kv[1] != here && !project {
					warnings = append(warnings, fmt.Sprintf("the judge's key variable %s is also a variable of the replaced servers: the gateway gets their value, not the one set here", name))
				}
			}
			continue
		}
		seen[name] = true
		if project {
			set(name, "", "the judge's key")
			continue
		}
		if v, ok := os.LookupEnv(name); ok && v != "" {
			env = append(env, [2]string{name, v})
			values = true
		} else {
			warnings = append(warnings, fmt.Sprintf("the judge's key variable %s is not set here: the gateway gets it only if the client's own environment has it (or add it to the entry's env)", name))
		}
	}
	return env, warnings, values
}

func newUninstallCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "uninstall CLIENT",
		Short: "Put back the MCP servers install replaced",
		Long: `Uninstall puts CLIENT's config file back as it was before install, byte for
byte, from FILE.gatehouse-backup.json, and removes the backup. If the file
changed since install, only its server list is put back and the other
changes are kept, with the servers added to the list since install.`,
		Args: cobra.ExactArgs(1),
		RunE: runUninstall,
	}
	cmd.Flags().String("config-file", "", "the client's config file (default: its own location)")
	cmd.Flags().Bool("dry-run", false, "print the result and write nothing")
	cmd.Flags().String("project", "", "claude-code: put back the servers of this project directory in ~/.claude.json, as install --project replaced them")
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
	data, kept, err := onboard.Uninstall(f, backup)
	if err != nil {
		return usageError(err)
	}
	b, err := onboard.ReadBackup(backup)
	if err != nil {
		return usageError(err)
	}
	out := cmd.OutOrStdout()
	if dry, _ := cmd.Flags().GetBool("dry-run"); dry {
		// Not the file itself: it holds the servers' secrets.
		restored, err := onboard.ParseFileAt(f.Client, f.Path, data, b.Keys)
		if err != nil {
			return runtimeError(err)
		}
		servers, _ := restored.Servers()
		names := make([]string, len(servers))
		for i, s := range servers {
			names[i] = s.Name
		}
		fmt.Fprintf(out, "would put back %s in %s: %s\n", count(len(names), "server"), f.Path, quoteAll(names))
		if len(kept) > 0 {
			fmt.Fprintf(out, "would keep %s added since install: %s\n", count(len(kept), "server"), quoteAll(kept))
		}
		return nil
	}
	perm, _ := b.FileMode()
	if err := writeFileAtomic(f.Path, data, perm); err != nil {
		return runtimeError(err)
	}
	if err := os.Remove(backupPath); err != nil {
		return runtimeError(err)
	}
	if len(kept) > 0 {
		fmt.Fprintf(out, "%s: the servers install replaced are put back, and %s added since install kept: %s; restart the client\n", f.Path, count(len(kept), "server"), quoteAll(kept))
		return nil
	}
	fmt.Fprintf(out, "%s: put back as it was before install; restart the client\n", f.Path)
	return nil
}

// quoteAll quotes each name (strconv.Quote: a name from a client's
// file cannot put control sequences on the terminal) and joins them.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// stableExecutable is the absolute path of the running binary; when the
// gatehouse found on PATH is a link to it (a package manager's
// /usr/local/bin/gatehouse), that path, which survives upgrades.
func stableExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the gatehouse binary: %w", err)
	}
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		real = exe
	}
	if onPath, err := exec.LookPath(filepath.Base(exe)); err == nil {
		if abs, err := filepath.Abs(onPath); err == nil {
			if r, err := filepath.EvalSymlinks(abs); err == nil && r == real {
				return abs, nil
			}
		}
	}
	return exe, nil
}
