package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/gatehouse-mcp/gatehouse/workspace"
	"github.com/spf13/cobra"
)

// How long shutdown waits for calls in flight, and how long serve waits at
// start for upstreams to connect before it serves what it has.
const (
	drainTimeout = 30 * time.Second
	// streamsTimeout bounds the wait, once the calls have finished, for
	// the HTTP requests still open (streams a client keeps) to end.
	streamsTimeout = 5 * time.Second
	startTimeout   = 20 * time.Second
)

// useConfigListen is the value of a bare --http: listen where the config says.
const useConfigListen = "config"

func newServeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve workspaces over stdio (one workspace) or streamable HTTP (all)",
		Long: `Serve runs the gateway.

Without --http it speaks MCP over stdio to the one client that started it
(Claude Desktop, an IDE): pass --workspace unless the config has exactly one.
Logs go to stderr; stdout carries only the protocol.

With --http [ADDR] it serves every workspace at http://ADDR/w/{workspace}/mcp,
and at /mcp when there is exactly one. ADDR defaults to the config's listen.
Only loopback addresses are served: API keys for remote clients come later.

The config is reloaded when its file changes and on SIGHUP (Unix; Windows
has no SIGHUP: there a file change reloads it); an invalid new config is
rejected and the old one keeps serving. SIGINT (Ctrl-C) and SIGTERM (on
Windows also closing the console, logoff and shutdown) stop taking calls,
let running ones finish, stop the upstreams and exit 0.`,
		Args: cobra.MaximumNArgs(1), // the ADDR of "--http ADDR" (see runServe)
		RunE: runServe,
	}
	cmd.Flags().String("workspace", "", "workspace to serve over stdio")
	cmd.Flags().String("http", "", "serve streamable HTTP on ADDR (host:port) instead of stdio")
	cmd.Flags().Lookup("http").NoOptDefVal = useConfigListen
	cmd.Flags().String("user", "", "who the gateway acts for (default $GATEHOUSE_USER, then the OS user)")
	cmd.Flags().Bool("stdio-fast-path", true, "over stdio, read plain tools/call requests on the fast path (false: mcp-go reads every line)")
	return cmd
}

func runServe(cmd *cobra.Command, args []string) error {
	s := newSettings(cmd)
	log, err := s.logger(os.Stderr)
	if err != nil {
		return err
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	httpAddr, _ := cmd.Flags().GetString("http")
	// --http takes an optional value, so pflag reads "--http ADDR" as a bare
	// --http followed by an argument.
	if len(args) == 1 {
		if httpAddr != useConfigListen {
			return usageError(fmt.Errorf("unexpected argument %q", args[0]))
		}
		httpAddr = args[0]
	}
	wsName := s.v.GetString("workspace")

	specs := cfg.WorkspaceSpecs()
	if httpAddr == "" {
		if specs, err = pickWorkspace(cfg, wsName); err != nil {
			return err
		}
	}
	listenFromConfig := httpAddr == useConfigListen
	if listenFromConfig {
		httpAddr = cfg.Listen
	}
	// The port is bound before anything starts: one in use fails at once,
	// with no upstream launched.
	var ln net.Listener
	if httpAddr != "" {
		if err := checkLoopback(httpAddr); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp", httpAddr); err != nil {
			return runtimeError(fmt.Errorf("--http %s: cannot listen (is another gatehouse or program using the port?): %w", httpAddr, err))
		}
		defer ln.Close()
	}

	ctx, stop := stopContext(context.Background())
	defer stop()
	tuneGC(ctx, os.Getenv)
	reportRuntime(ctx, log, runtimeReportEvery)

	verdicts := openVerdictLog(cfg, log)
	defer closeVerdictLog(log, verdicts) // after the gateway's: its last calls are recorded
	approvals := openApprovals(cfg, log)
	if approvals != nil {
		defer approvals.Close()
	}
	judges := &judges{log: log}
	enforcer, err := newEnforcer(cfg, log, nil, verdicts, judges, asApprovals(approvals))
	if err != nil {
		return usageError(err)
	}
	g := gateway.New(specs, gateway.Options{
		Logger:  log,
		Version: version,
		User:    s.user(),
		HTTP: gateway.HTTPOptions{AllowedOrigins: cfg.HTTP.AllowedOrigins, MaxRequestBytes: cfg.HTTP.MaxRequestBytes, BodyTimeout: time.Duration(cfg.HTTP.BodyTimeout),
			MaxSessions: cfg.HTTP.MaxSessions, SessionIdleTimeout: time.Duration(cfg.HTTP.SessionIdleTimeout), SessionQueue: cfg.HTTP.SessionQueue},
		Stdio:            gateway.StdioOptions{MaxRequestBytes: int(cfg.Stdio.MaxRequestBytes)},
		Enforcer:         enforcer,
		PlainStdio:       !s.v.GetBool("stdio-fast-path"),
		MaxCallsInFlight: cfg.Limits.MaxCallsInFlight,
	})
	defer g.Close()
	warnJudge(log, cfg, judges.judge)
	warnApprovers(log, cfg, specs, s.user())
	g.Start(ctx)
	waitCtx, cancel := context.WithTimeout(ctx, startTimeout)
	_ = g.WaitReady(waitCtx)
	cancel()
	logSummary(log, g)

	reloader := &reloader{path: cfg.File, log: log, gateway: g, enforcer: enforcer, verdicts: verdicts, judges: judges, approvals: asApprovals(approvals), only: wsNameIfStdio(httpAddr, specs), listenFromConfig: listenFromConfig}
	reloader.start(ctx, cfg)
	defer reloader.stop()

	if ln != nil {
		return serveHTTP(ctx, log, g, ln, specs)
	}
	return serveStdio(ctx, log, g, specs[0].Name, cfg.File, s.v.GetBool("stdio-fast-path"))
}

// warnApprovers logs, at WARN, the policies of the served workspaces
// whose approvers the agent's own user satisfies (see selfApprovals).
func warnApprovers(log *slog.Logger, cfg *config.Config, specs []workspace.Spec, actsFor string) {
	set, err := cfg.PolicySet()
	if err != nil {
		return // newEnforcer has reported it
	}
	names := make([]string, len(specs))
	for i, w := range specs {
		names[i] = w.Name
	}
	for _, w := range append(slices.Clone(cfg.Warnings), selfApprovals(set, names, actsFor, osUserName())...) {
		log.Warn(w)
	}
}

func wsNameIfStdio(httpAddr string, specs []workspace.Spec) string {
	if httpAddr != "" {
		return ""
	}
	return specs[0].Name
}

// pickWorkspace returns the one workspace a stdio server serves.
func pickWorkspace(cfg *config.Config, name string) ([]workspace.Spec, error) {
	specs := cfg.WorkspaceSpecs()
	if name == "" {
		if len(specs) == 1 {
			return specs, nil
		}
		return nil, usageError(fmt.Errorf("the config has %d workspaces: pass --workspace NAME (one of %s), or --http to serve them all", len(specs), workspaceNames(specs)))
	}
	for _, s := range specs {
		if s.Name == name {
			return []workspace.Spec{s}, nil
		}
	}
	return nil, usageError(fmt.Errorf("--workspace %q: no such workspace in %s (have %s)", name, cfg.File, workspaceNames(specs)))
}

func workspaceNames(specs []workspace.Spec) string {
	out := ""
	for i, s := range specs {
		if i > 0 {
			out += ", "
		}
		out += s.Name
	}
	return out
}

// checkLoopback refuses to serve beyond this machine: remote clients need
// API keys, which the gateway does not have yet.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError(fmt.Errorf("--http %q: want host:port: %w", addr, err))
	}
	if !gateway.IsLoopbackHost(host) {
		return usageError(fmt.Errorf("--http %q: only loopback addresses (127.0.0.1, ::1, localhost) are served; remote clients need API keys, which this version does not support", addr))
	}
	return nil
}

// logSummary reports, on stderr, what the gateway serves and what failed.
func logSummary(log *slog.Logger, g *gateway.Gateway) {
	for _, ws := range g.Status() {
		up, down := 0, 0
		for _, u := range ws.Upstreams {
			if u.Status.State == upstream.StateReady {
				up++
				log.Info("upstream ready", "workspace", ws.Name, "upstream", u.Name, "tools", u.Tools)
			} else {
				down++
				attrs := []any{"workspace", ws.Name, "upstream", u.Name, "state", u.Status.State, "err", u.Status.Err}
				if lines := upstream.Stderr(u.Status.Err); len(lines) > 0 {
					attrs = append(attrs, "stderr", strings.Join(lines, " | "))
				}
				log.Error("upstream unavailable (retrying in the background)", attrs...)
			}
		}
		for _, c := range ws.Conflicts {
			log.Error("name collision", "workspace", ws.Name, "conflict", c.String())
		}
		log.Info("workspace", "workspace", ws.Name, "upstreams_up", up, "upstreams_down", down, "tools", ws.Tools)
	}
}

// connectHelp is what serve prints on stderr before it serves: where a
// client connects. Over HTTP, each workspace's URL (and /mcp when there is
// one); over stdio, the workspace it serves and, when a person started it
// at a terminal, how a client registers it instead.
func connectHelp(w io.Writer, addr string, specs []workspace.Spec, stdio string, cfgFile string, terminal bool) {
	if stdio != "" {
		fmt.Fprintf(w, "gatehouse: serving workspace %s on stdin/stdout (MCP over stdio)\n", stdio)
		if terminal {
			abs, err := filepath.Abs(cfgFile)
			if err != nil {
				abs = cfgFile
			}
			exe, err := os.Executable()
			if err != nil {
				exe = "gatehouse"
			}
			fmt.Fprintf(w, "gatehouse: stdin is a terminal: an AI client starts this itself; register it as\n"+
				"  command: %s\n  args:    [\"serve\", \"--config\", %q, \"--workspace\", %q]\n"+
				"  (see the README, \"Register it in your AI client\"); or serve HTTP with --http\n", exe, abs, stdio)
		}
		return
	}
	for _, s := range specs {
		fmt.Fprintf(w, "gatehouse: workspace %s: http://%s/w/%s/mcp\n", s.Name, addr, s.Name)
	}
	if len(specs) == 1 {
		fmt.Fprintf(w, "gatehouse: workspace %s also at http://%s/mcp\n", specs[0].Name, addr)
	}
}

// isTerminal reports whether f is a character device: a person's terminal
// rather than a client's pipe.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func serveStdio(ctx context.Context, log *slog.Logger, g *gateway.Gateway, name, cfgFile string, fastPath bool) error {
	// A client that closes its end of our stdout or stderr has gone away:
	// a write there must fail with EPIPE and end the serve loop normally,
	// not kill the gateway with SIGPIPE before it has drained and shut its
	// upstreams down.
	signal.Ignore(syscall.SIGPIPE)
	listenCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stdin, restore := pollable(os.Stdin)
	defer restore()
	done := make(chan error, 1)
	go func() { done <- g.ServeStdio(listenCtx, name, stdin, os.Stdout) }()
	log.Info("serving over stdio", "workspace", name, "fast_path", fastPath)
	connectHelp(os.Stderr, "", nil, name, cfgFile, isTerminal(os.Stdin))
	select {
	case err := <-done:
		// The client closed stdin: a normal end.
		if err != nil {
			return runtimeError(fmt.Errorf("serve stdio: %w", err))
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing calls in flight")
	drain(log, g)
	// Stop reading: mcp-go's Listen returns once the answers of the calls
	// it ran are written, ServeStdio once the fast path's are too.
	cancel()
	<-done
	return nil
}

func serveHTTP(ctx context.Context, log *slog.Logger, g *gateway.Gateway, ln net.Listener, specs []workspace.Spec) error {
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	connectHelp(os.Stderr, ln.Addr().String(), specs, "", "", false)
	select {
	case err := <-done:
		return runtimeError(fmt.Errorf("serve http: %w", err))
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing calls in flight")
	shutCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	// Stop accepting; Shutdown returns when every request has been
	// answered and its connection is idle.
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(shutCtx) }()
	drain(log, g) // the calls finish; then the sessions' streams end
	select {
	case <-shutdown:
	case <-time.After(streamsTimeout):
		log.Warn("requests still open after the calls finished were cut off", "timeout", streamsTimeout)
	}
	_ = srv.Close()
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return runtimeError(err)
	}
	return nil
}

func drain(log *slog.Logger, g *gateway.Gateway) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		log.Warn("calls still running after the drain timeout were cut off", "timeout", drainTimeout)
	}
}

// newEnforcer builds the policy enforcement of cfg, recording to verdicts,
// judging with the judge judges holds for cfg, and keeping out-of-band
// approvals in approvals (nil: none).
// prev is the enforcer it replaces on reload, whose rate-limit counts it
// keeps; nil at start.
func newEnforcer(cfg *config.Config, log *slog.Logger, prev *enforce.Enforcer, verdicts *audit.Log, judges *judges, approvals policy.Approvals) (*enforce.Enforcer, error) {
	var limiter *policy.Limiter
	if prev != nil {
		limiter = prev.Engine.Limiter()
	}
	// The verdict log a running gateway keeps writing, even after a reload
	// names another database, stays protected.
	var open []string
	if verdicts != nil {
		open = append(open, verdicts.File())
	}
	engine, err := newEngine(cfg, limiter, judges.forConfig(cfg), open...)
	if err != nil {
		return nil, err
	}
	return &enforce.Enforcer{
		Engine: engine, ScanOutput: cfg.ScanOutputWorkspaces(), Logger: log,
		Recorder: verdicts, AuditRequired: cfg.AuditRequired(),
		Approvals:        approvals,
		ApprovalTimeout:  time.Duration(cfg.Approval.Timeout),
		ApprovalLifetime: time.Duration(cfg.Approval.Lifetime),
		// Counted by the store, which bounds them (enforce.BoundedApprovals).
		MaxPendingPerUser: cfg.Approval.MaxPendingPerUser,
	}, nil
}

// openApprovals opens the out-of-band approvals kept in the verdict log's
// database. When it cannot be opened the gateway runs on, and calls held
// for approval can only be approved at the client.
func openApprovals(cfg *config.Config, log *slog.Logger) *audit.Approvals {
	a, err := audit.OpenApprovals(cfg.Audit.Database, time.Duration(cfg.Approval.Lifetime))
	if err != nil {
		log.Error("out-of-band approvals are unavailable: calls held for approval can only be approved at the client", "file", cfg.Audit.Database, "err", err)
		return nil
	}
	return a
}

// The approvals store bounds the requests pending per user.
var _ enforce.BoundedApprovals = (*audit.Approvals)(nil)

// asApprovals is a as a policy.Approvals, nil when a is.

func asApprovals(a *audit.Approvals) policy.Approvals {
	if a == nil {
		return nil
	}
	return a
}

// logCloseTimeout bounds how long shutdown waits to write the verdicts
// still queued.
const logCloseTimeout = 15 * time.Second

// openVerdictLog opens the verdict log of cfg. A log that cannot be opened
// is reported loudly but does not stop the gateway: its records wait in
// memory while it keeps trying, and workspaces that require the log refuse
// calls meanwhile.
func openVerdictLog(cfg *config.Config, log *slog.Logger) *audit.Log {
	l, err := audit.Open(cfg.Audit.Database, auditOptions(cfg), log)
	if err != nil {
		log.Error("VERDICT LOG CANNOT BE OPENED: calls are recorded in memory until it can; workspaces that require it refuse calls meanwhile", "file", cfg.Audit.Database, "err", err)
	}
	return l
}

func auditOptions(cfg *config.Config) audit.Options {
	return audit.Options{Arguments: cfg.Audit.Arguments, Retention: time.Duration(cfg.Audit.Retention)}
}

// closeVerdictLog writes what is queued and closes the log.
func closeVerdictLog(log *slog.Logger, l *audit.Log) {
	ctx, cancel := context.WithTimeout(context.Background(), logCloseTimeout)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		log.Error("verdict log: closing", "err", err)
	}
}
