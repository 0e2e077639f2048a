package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
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
	// The config expands ${VAR}: a directory named with ${ is written $${.
	data := fmt.Sprintf(starterConfig, yamlQuote(strings.ReplaceAll(sandbox, "${", "$${")))
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

// yamlQuote quotes s as a YAML double-quoted scalar (JSON's escapes are
// YAML's).
func yamlQuote(s string) string {
	return strings.TrimSpace(fmt.Sprintf("%q", s))
}
