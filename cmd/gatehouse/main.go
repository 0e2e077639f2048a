// Command gatehouse is an MCP gateway: one MCP server in front of a
// workspace's upstream MCP servers, that checks every tool call against the
// organisation's policies before it runs.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes (DESIGN §6).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// exitError carries the exit code a failure should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error   { return &exitError{exitUsage, err} }
func runtimeError(err error) error { return &exitError{exitRuntime, err} }

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the command line and returns the process's exit code.
func run(args []string) int {
	root := newRootCommand()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "gatehouse:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// cobra's own errors: unknown flags, commands, missing arguments.
	return exitUsage
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "An MCP gateway that checks every tool call against your policies",
		Long: `Gatehouse is the one MCP server your AI client talks to. It serves the tools,
prompts and resources of a workspace's upstream MCP servers, and checks every
tool call against your policies before it runs.

Configuration is read from --config, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml,
else gatehouse.yaml in the user's config folder (%APPDATA%\gatehouse on Windows,
~/Library/Application Support/gatehouse on macOS, ~/.config/gatehouse elsewhere).
Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config.`,
		Version:       buildVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "config file (default $GATEHOUSE_CONFIG, then ./gatehouse.yaml, then the user's config folder)")
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(newServeCommand(), newCheckCommand(), newToolsCommand(), newPolicyCommand(), newLogsCommand(), newStatsCommand(), newApprovalsCommand(), newJudgeCommand(),
		newInitCommand(), newImportCommand(), newInstallCommand(), newUninstallCommand())
	return root
}
