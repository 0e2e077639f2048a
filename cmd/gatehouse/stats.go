package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// defaultStatsSince is the window of `stats` and of the fire counts of
// `policy list`.
const defaultStatsSince = "7d"

func newStatsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Summarise the verdict log: violations, policies that fire and never do, latency",
		Long: `Stats summarises the calls of the verdict log over a window (--since, 7 days
by default; "" for the whole log): how many were allowed, blocked or sent
for approval, allowed fail-open, judge and upstream failures, what became
of the calls held for approval and of the out-of-band requests, the most
violated policies, violations by user and by tool, how often each policy
fired, the judge's latency and the gateway's own.

Dead rules are the policies of the config that never fired in the window:
with --workspace, the global policies and that workspace's own, counted in
its calls; otherwise every policy, a workspace's own counted in its calls.
Disabled policies are listed as such: they cannot fire.`,
		Args: cobra.NoArgs,
		RunE: runStats,
	}
	cmd.Flags().String("since", defaultStatsSince, `summarise the calls of this last period (90s, 2h, 7d); "" for all`)
	cmd.Flags().String("workspace", "", "only the calls of this workspace")
	cmd.Flags().Bool("json", false, "print one JSON object")
	return cmd
}

// statsReport is what `stats --json` prints: the fields of audit.Stats
// and those below. The field names are stable (documented in the README);
// new ones may be added.
type statsReport struct {
	audit.Stats
	// Window is --since as given; "" for the whole log.
	Window string `json:"window"`
	// DeadPolicies are the configured policies that never fired in the
	// window, in evaluation order.
	DeadPolicies []deadPolicy `json:"dead_policies"`
}

// deadPolicy is a configured policy that never fired in the window.
type deadPolicy struct {
	Policy    string `json:"policy"`
	Layer     string `json:"layer"`
	Workspace string `json:"workspace,omitempty"` // of a workspace-layer policy
	Kind      string `json:"kind"`                // the action, or "rules"
	Enabled   bool   `json:"enabled"`
}

func runStats(cmd *cobra.Command, _ []string) error {
	sinceFlag, _ := cmd.Flags().GetString("since")
	since, err := parseSince(sinceFlag, time.Now())
	if err != nil {
		return err
	}
	ws, _ := cmd.Flags().GetString("workspace") // not $GATEHOUSE_WORKSPACE: see logsFilter
	cfg, err := newSettings(cmd).load()
	if err != nil {
		return err
	}
	if ws != "" {
		if _, ok := cfg.Workspace(ws); !ok {
			return usageError(fmt.Errorf("--workspace %q: no such workspace in %s", ws, cfg.File))
		}
	}
	engine, err := newEngine(cfg, nil, nil)
	if err != nil {
		return usageError(err)
	}
	r, err := openLogReader(cmd.Context(), cfg, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer r.Close()
	ctx := cmd.Context()
	st, err := r.Stats(ctx, since, ws)
	if err != nil {
		return runtimeError(err)
	}
	rep := statsReport{Stats: st, Window: sinceFlag, DeadPolicies: []deadPolicy{}}
	fires := newFireCounter(r, since, ws)
	for _, p := range policiesInScope(cfg, engine, ws) {
		n, err := fires.count(ctx, p)
		if err != nil {
			return runtimeError(err)
		}
		if n == 0 {
			l := listed(p)
			rep.DeadPolicies = append(rep.DeadPolicies, deadPolicy{Policy: l.Name, Layer: l.Layer, Workspace: l.Workspace, Kind: l.Kind, Enabled: l.Enabled})
		}
	}
	w := cmd.OutOrStdout()
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	printStats(w, cfg.Audit.Database, rep)
	return nil
}

// fireCounter says how often configured policies fired since a time: a
// global policy in the calls of one workspace or ("") all, a workspace
// policy in the calls of its own workspace — two workspaces may each have
// a policy of the same name.
type fireCounter struct {
	r      *audit.Reader // nil when there is no log: every count is 0
	since  time.Time
	scope  string
	counts map[string]map[fireKey]int // by the workspace queried
}

type fireKey struct{ policy, layer string }

func newFireCounter(r *audit.Reader, since time.Time, scope string) *fireCounter {
	return &fireCounter{r: r, since: since, scope: scope, counts: map[string]map[fireKey]int{}}
}

// count is how often p fired.
func (f *fireCounter) count(ctx context.Context, p policy.Listed) (int, error) {
	if f.r == nil {
		return 0, nil
	}
	ws := f.scope
	if p.Layer == policy.LayerWorkspace {
		ws = p.Workspace
	}
	m, ok := f.counts[ws]
	if !ok {
		pcs, err := f.r.FireCounts(ctx, f.since, ws)
		if err != nil {
			return 0, err
		}
		m = make(map[fireKey]int, len(pcs))
		for _, pc := range pcs {
			m[fireKey{pc.Policy, pc.Layer}] = pc.Count
		}
		f.counts[ws] = m
	}
	return m[fireKey{p.Name, string(p.Layer)}], nil
}

func printStats(w io.Writer, file string, r statsReport) {
	scope := "all workspaces"
	if r.Workspace != "" {
		scope = "workspace " + r.Workspace
	}
	window := "the whole log"
	if !r.Since.IsZero() {
		window = fmt.Sprintf("the last %s (since %s)", r.Window, r.Since.Local().Format(timeFormat))
	}
	fmt.Fprintf(w, "verdict log %s: %s, %s\n\n", file, scope, window)

	line := func(label string, n int) { fmt.Fprintf(w, "%-20s%6d\n", label, n) }
	line("calls", r.Calls)
	line("allowed", r.Allowed)
	line("blocked", r.Blocked)
	line("approval required", r.Approval)
	line("violations", r.Violations)
	line("allowed fail-open", r.FailOpen)
	line("judge failures", r.JudgeFailures)
	line("upstream errors", r.UpstreamErrors)
	line("outcome unknown", r.Unknown) // the gateway stopped while they ran

	sub := func(label string, n int) { fmt.Fprintf(w, "  %-18s%6d\n", label, n) }
	h := r.Held
	fmt.Fprintln(w, "\ncalls held for approval, by outcome now:")
	sub("approved", h.Approved)
	sub("declined", h.Declined)
	sub("cancelled", h.Cancelled)
	sub("expired", h.Expired)
	sub("pending", h.Pending)
	sub("unavailable", h.Unavailable)
	q := r.Requests
	fmt.Fprintln(w, "out-of-band approval requests, by status now:")
	sub("pending", q.Pending)
	sub("approved", q.Approved)
	sub("denied", q.Denied)
	sub("used", q.Used)
	sub("expired", q.Expired)

	counts := func(title string, cs []audit.Count) {
		fmt.Fprintf(w, "\n%s:\n", title)
		if len(cs) == 0 {
			fmt.Fprintln(w, "  (none)")
			return
		}
		for _, c := range cs {
			fmt.Fprintf(w, "  %6d  %s\n", c.Count, orNothing(oneLine(c.Name), "(none)"))
		}
	}
	counts("most violated policies", r.MostViolated)
	counts("violations by user", r.ByUser)
	counts("violations by tool", r.ByTool)

	fmt.Fprintln(w, "\nfires per policy:")
	if len(r.Fired) == 0 {
		fmt.Fprintln(w, "  (none fired)")
	}
	for _, f := range r.Fired {
		layer := f.Layer
		if f.Workspace != "" {
			layer += " " + f.Workspace
		}
		fmt.Fprintf(w, "  %6d  %s (%s)\n", f.Count, f.Policy, layer)
	}

	fmt.Fprintln(w, "\ndead rules (configured, never fired in the window):")
	if len(r.DeadPolicies) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	rows := make([][]string, 0, len(r.DeadPolicies))
	for _, d := range r.DeadPolicies {
		layer := d.Layer
		if d.Workspace != "" {
			layer = "workspace " + d.Workspace
		}
		state := ""
		if !d.Enabled {
			state = "DISABLED"
		}
		rows = append(rows, []string{layer, d.Policy, d.Kind, state})
	}
	printIndented(w, rows)

	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-20s%s\n", "judge latency", latencyText(r.JudgeLatency, "judge never asked"))
	fmt.Fprintf(w, "%-20s%s\n", "gateway overhead", latencyText(r.Overhead, "no calls"))
}

func latencyText(l *audit.Latency, none string) string {
	if l == nil {
		return none
	}
	return strings.Join([]string{
		"p50 " + millis(l.P50), "p95 " + millis(l.P95), "p99 " + millis(l.P99), "max " + millis(l.Max),
		"(" + count(l.N, "call") + ")",
	}, "  ")
}
