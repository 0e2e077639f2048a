package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/spf13/cobra"
)

// connectTimeout bounds how long check --connect and tools wait for
// upstreams.
const connectTimeout = 60 * time.Second

func newCheckCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the config; with --connect also reach every upstream",
		Long: `Check validates the config file and every workspaces_dir file, and reports
every problem with its file, line, field and value (exit 2).

It warns of approver lists the agent's own user satisfies: those naming
the user the gateway acts for (--user, else $GATEHOUSE_USER, else the OS
user) or the OS user running it, and empty ones when those two differ.

With --connect it also starts every upstream, lists what each offers and
reports those it could not reach (exit 1) and names two upstreams would both
expose (exit 2).`,
		Args: cobra.NoArgs,
		RunE: runCheck,
	}
	cmd.Flags().Bool("connect", false, "also connect to every upstream")
	cmd.Flags().String("user", "", "the user serve will act for, for the approvers check (default $GATEHOUSE_USER, then the OS user)")
	return cmd
}

func runCheck(cmd *cobra.Command, _ []string) error {
	s := newSettings(cmd)
	cfg, err := s.load()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	specs := cfg.WorkspaceSpecs()
	n := 0
	for _, w := range specs {
		n += len(w.Upstreams)
	}
	fmt.Fprintf(out, "%s: valid (%s, %s)\n", cfg.File, count(len(specs), "workspace"), count(n, "upstream"))
	if _, err := newEngine(cfg, nil, nil); err != nil {
		return usageError(err)
	}
	if err := checkApprovers(out, cfg, s.user()); err != nil {
		return err
	}
	logErr := checkVerdictLog(cmd.Context(), out, cfg)
	if err := checkJudge(cmd.Context(), out, cfg); logErr == nil {
		logErr = err
	}
	if connect, _ := cmd.Flags().GetBool("connect"); !connect {
		return logErr
	}

	g, err := startGateway(cmd.Context(), s, cfg, "")
	if err != nil {
		return err
	}
	defer g.Close()
	var down, conflicts int
	for _, ws := range g.Status() {
		fmt.Fprintf(out, "workspace %s: %s\n", ws.Name, count(ws.Tools, "tool"))
		for _, u := range ws.Upstreams {
			if u.Status.State == upstream.StateReady {
				fmt.Fprintf(out, "  ok    %-20s %s\n", u.Name, count(u.Tools, "tool"))
				continue
			}
			down++
			fmt.Fprintf(out, "  DOWN  %-20s %s\n", u.Name, policy.MaskText(fmt.Sprint(u.Status.Err)))
			if lines := upstream.Stderr(u.Status.Err); len(lines) > 0 {
				fmt.Fprintf(out, "        its last stderr:\n")
				for _, l := range lines {
					fmt.Fprintf(out, "        | %s\n", policy.MaskText(l)) // a child may print its token
				}
			}
		}
		for _, c := range ws.Conflicts {
			if !c.Renamable() {
				fmt.Fprintf(out, "  note  %s\n", c)
				continue
			}
			conflicts++
			fmt.Fprintf(out, "  CONFLICT %s\n", c)
		}
	}
	switch {
	case conflicts > 0:
		return usageError(fmt.Errorf("%s between upstreams", count(conflicts, "name collision")))
	case down > 0:
		return runtimeError(fmt.Errorf("%s could not be reached", count(down, "upstream")))
	}
	return logErr
}

// checkApprovers warns of the policies whose approvers the agent's own
// user satisfies (see selfApprovals); a warning, not a failure.
func checkApprovers(out io.Writer, cfg *config.Config, actsFor string) error {
	set, err := cfg.PolicySet()
	if err != nil {
		return usageError(err)
	}
	var names []string
	for _, w := range cfg.WorkspaceSpecs() {
		names = append(names, w.Name)
	}
	for _, w := range append(slices.Clone(cfg.Warnings), selfApprovals(set, names, actsFor, osUserName())...) {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	return nil
}

// checkVerdictLog says whether the gateway can write the verdict log.
func checkVerdictLog(ctx context.Context, out io.Writer, cfg *config.Config) error {
	st, err := audit.Check(ctx, cfg.Audit.Database)
	switch {
	case err != nil:
		fmt.Fprintf(out, "verdict log %s: CANNOT BE WRITTEN: %v\n", cfg.Audit.Database, err)
		return runtimeError(errors.New("the verdict log cannot be written"))
	case !st.Exists:
		fmt.Fprintf(out, "verdict log %s: ok (not created yet; serve creates it)\n", cfg.Audit.Database)
	default:
		fmt.Fprintf(out, "verdict log %s: ok (%s)\n", cfg.Audit.Database, count(int(st.Records), "record"))
	}
	return nil
}

// startGateway starts the workspaces of cfg (only the named one, if name is
// set) and waits for every upstream's first connection attempt. Its log
// goes to stderr at warn level unless --log-level says otherwise.
func startGateway(ctx context.Context, s settings, cfg *config.Config, name string) (*gateway.Gateway, error) {
	specs := cfg.WorkspaceSpecs()
	if name != "" {
		var err error
		if specs, err = pickWorkspace(cfg, name); err != nil {
			return nil, err
		}
	}
	var logw io.Writer = os.Stderr
	log, err := s.logger(logw)
	if err != nil {
		return nil, err
	}
	if !s.v.IsSet("log-level") {
		log = slog.New(noRetries{slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})})
	}
	if ctx == nil {
		ctx = context.Background()
	}
	g := gateway.New(specs, gateway.Options{Logger: log, Version: version, User: s.user()})
	g.Start(ctx)
	wctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := g.WaitReady(wctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		g.Close()
		return nil, runtimeError(err)
	}
	return g, nil
}

// noRetries drops the records of upstreams retrying in the background
// (those with a retry_in): a command that reports each upstream's state
// itself would only repeat it, interleaved with its own report.
type noRetries struct{ slog.Handler }

func (h noRetries) Handle(ctx context.Context, r slog.Record) error {
	retry := false
	r.Attrs(func(a slog.Attr) bool {
		retry = a.Key == "retry_in"
		return !retry
	})
	if retry {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h noRetries) WithAttrs(as []slog.Attr) slog.Handler {
	return noRetries{h.Handler.WithAttrs(as)}
}

func (h noRetries) WithGroup(name string) slog.Handler {
	return noRetries{h.Handler.WithGroup(name)}
}
