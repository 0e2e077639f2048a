package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
)

// Widths of the cells of `approvals list` that can run long.
const (
	approvalReasonWidth = 40
	approvalArgsWidth   = 60
)

func newApprovalsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List and decide the calls held for an out-of-band approval",
		Long: `A policy can hold a call for a person's approval. When the person at the AI
client cannot be asked, or the policy wants someone else to decide (in_client:
false, approvers), the gateway parks the call as a pending request, kept in the
verdict log's database (audit.database), and tells the client the request's id.

"approvals list" shows the pending requests; "approvals approve ID" lets the
client's retry of the same call — same workspace, user, tool and arguments —
run once within approval.lifetime; "approvals deny ID" refuses it. A request
nobody decides within approval.lifetime expires.

Who decides is the OS user running the command: established, never asserted,
so there is no --user here (and $GATEHOUSE_USER is not read). A request that
names approvers may be approved only by one of them; one that names none by
anyone but the caller. The caller may deny their own request.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newApprovalsListCommand(), newApprovalsDecideCommand(true), newApprovalsDecideCommand(false))
	return cmd
}

func newApprovalsListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pending approval requests, newest first",
		Long: `List prints the pending approval requests, newest first: when each was made,
by whom, of which tool, the policy that holds it and why, when it expires, and
the call's arguments as the verdict log keeps them (masked). With --all, every
request: approved, denied, used and expired ones too. With --json, each
request is one JSON object on its own line.`,
		Args: cobra.NoArgs,
		RunE: runApprovalsList,
	}
	cmd.Flags().String("workspace", "", "only the requests of this workspace")
	cmd.Flags().Bool("all", false, "every request, decided and expired ones too")
	cmd.Flags().Bool("json", false, "print one JSON object per request, one per line")
	return cmd
}

func newApprovalsDecideCommand(approve bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve a pending request: the same call may then run once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApprovalsDecide(cmd, args[0], approve)
		},
	}
	cmd.Long = `Approve decides a pending request as the OS user who runs this command: an
approver's identity is established, never asserted, so there is no --user.
The request's approvers must name that user; a request that names none may
be approved by anyone but the caller.`
	if !approve {
		cmd.Use = "deny ID"
		cmd.Short = "Deny a pending request: the call will not run"
		cmd.Long = `Deny decides a pending request as the OS user who runs this command (there
is no --user): one of its approvers, or the caller.`
		cmd.Flags().String("reason", "", "why, for the verdict log")
	}
	// --user is refused with the reason, not as an unknown flag.
	cmd.Flags().String("user", "", "not accepted: the approver is the OS user running this command")
	_ = cmd.Flags().MarkHidden("user")
	return cmd
}

// establishApprover says who runs `approvals approve` and `deny`: the OS
// user. Tests replace it to act as several approvers; nothing a user sets
// at run time does.
var establishApprover = audit.OSApprover

// openApprovalStore opens the approvals kept in cfg's verdict log; it
// returns nil, nil when there is no log yet, so no request either.
func openApprovalStore(cfg *config.Config) (*audit.Approvals, error) {
	if _, err := os.Stat(cfg.Audit.Database); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	a, err := audit.OpenApprovals(cfg.Audit.Database, time.Duration(cfg.Approval.Lifetime))
	if err != nil {
		return nil, runtimeError(err)
	}
	return a, nil
}

func runApprovalsList(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	var flt audit.ListFilter
	flt.Workspace, _ = f.GetString("workspace") // not $GATEHOUSE_WORKSPACE: see logsFilter
	flt.All, _ = f.GetBool("all")
	asJSON, _ := f.GetBool("json")
	cfg, err := newSettings(cmd).load()
	if err != nil {
		return err
	}
	store, err := openApprovalStore(cfg)
	if err != nil {
		return err
	}
	var entries []audit.ApprovalEntry
	if store != nil {
		defer store.Close()
		if entries, err = store.List(cmd.Context(), flt); err != nil {
			return runtimeError(err)
		}
	}
	w := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		what := "nothing pending: no approval request waits for a decision"
		if flt.All {
			what = "no approval requests"
		}
		if flt.Workspace != "" {
			what += " in workspace " + flt.Workspace
		}
		_, err := fmt.Fprintln(w, what)
		return err
	}
	return printApprovals(w, entries, time.Now())
}

// printApprovals prints entries as a table, the last column unpadded.
func printApprovals(w io.Writer, entries []audit.ApprovalEntry, now time.Time) error {
	rows := [][]string{{"ID", "REQUESTED", "WORKSPACE", "USER", "TOOL", "POLICY", "REASON", "EXPIRES", "STATUS", "ARGUMENTS"}}
	for _, e := range entries {
		rows = append(rows, []string{
			e.ID,
			roughly(now.Sub(e.Created)) + " ago",
			orDash(oneLine(e.Workspace)),
			orDash(oneLine(e.User)),
			orDash(oneLine(orNothing(e.Exposed, e.Tool))),
			orDash(oneLine(e.Policy)),
			orDash(truncate(oneLine(e.Reason), approvalReasonWidth)),
			expiresCell(e, now),
			e.Status,
			orDash(truncate(oneLine(compactArguments(e.Arguments)), approvalArgsWidth)),
		})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row[:len(row)-1] {
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
		}
		b.WriteString(row[len(row)-1])
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// expiresCell says when a request that can still be decided or used
// lapses, or when one lapsed.
func expiresCell(e audit.ApprovalEntry, now time.Time) string {
	switch e.Status {
	case audit.StatusPending, audit.StatusApproved:
		return "in " + roughly(e.Expires.Sub(now))
	case audit.StatusExpired:
		return roughly(now.Sub(e.Expires)) + " ago"
	}
	return "-"
}

// compactArguments is the arguments on one line: the masked JSON object
// compacted, or the hash.
func compactArguments(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// roughly is d to the unit that matters for a person: 45s, 12m, 3h5m, 9d.
func roughly(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func runApprovalsDecide(cmd *cobra.Command, id string, approve bool) error {
	verb := "deny"
	if approve {
		verb = "approve"
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return usageError(fmt.Errorf("approvals %s: the request id is empty", verb))
	}
	if cmd.Flags().Changed("user") {
		return usageError(fmt.Errorf("approvals %s: --user is not accepted: the approver is the OS user who runs this command, established, never named (an agent could name anyone); to decide as someone else, run it as that OS user", verb))
	}
	cfg, err := newSettings(cmd).load()
	if err != nil {
		return err
	}
	by, err := establishApprover()
	if err != nil {
		return runtimeError(fmt.Errorf("%s %s: %w", verb, id, err))
	}
	store, err := openApprovalStore(cfg)
	if err != nil {
		return err
	}
	if store == nil {
		return runtimeError(fmt.Errorf("%s %s: %w: there is no verdict log at %s yet (audit.database in %s)",
			verb, id, audit.ErrApprovalNotFound, cfg.Audit.Database, cfg.File))
	}
	defer store.Close()
	ctx := cmd.Context()
	reason, _ := cmd.Flags().GetString("reason")
	if approve {
		err = store.Approve(ctx, id, by)
	} else {
		err = store.Deny(ctx, id, by, reason)
	}
	if err != nil {
		return runtimeError(err)
	}
	e, err := store.Get(ctx, id)
	if err != nil {
		return runtimeError(err)
	}
	call := fmt.Sprintf("by %s in workspace %s", oneLine(e.User), e.Workspace)
	about := fmt.Sprintf("%s, policy %s", oneLine(orNothing(e.Exposed, e.Tool)), orNothing(e.Policy, "(none)"))
	w := cmd.OutOrStdout()
	if approve {
		_, err = fmt.Fprintf(w, "approved %s as %s: the same call %s may run once within %s (%s)\n", e.ID, by.Name, call, store.Lifetime(), about)
		return err
	}
	because := ""
	if e.DecisionReason != "" {
		because = ": " + oneLine(e.DecisionReason)
	}
	_, err = fmt.Fprintf(w, "denied %s as %s: the call %s will not run (%s)%s\n", e.ID, by.Name, call, about, because)
	return err
}
