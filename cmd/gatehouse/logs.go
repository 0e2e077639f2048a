package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Defaults of `gatehouse logs`.
const (
	defaultLogsLimit = 50
	// followInterval is how often --follow looks for new records, and for
	// the log file while it does not exist yet.
	followInterval = 300 * time.Millisecond
	// reasonWidth is the most of a reason the table shows.
	reasonWidth = 80
	// timeFormat is how the table shows a record's time: local, to the
	// second.
	timeFormat = "2006-01-02 15:04:05"
)

// decisions are the values --decision accepts.
var decisions = []string{string(policy.DecisionAllow), string(policy.DecisionBlock), string(policy.DecisionRequireApproval)}

func newLogsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Print the verdict log: one line per tool call the gateway decided",
		Long: `Logs prints the records of the verdict log (audit.database), oldest first:
the last --limit of those the filters select. Each line starts with the
verdict id; "gatehouse logs show ID" prints that record in full.

--policy selects the calls a policy decided or fired in (matched and acted,
or, judged, found a violation). --tool matches the name the client called or
the upstream's own name of the tool. --since takes 90s, 2h, 7d and the like.

With --follow, logs keeps printing new records as the gateway writes them,
until interrupted; it waits for the log file if there is none yet. With
--json, each record is one JSON object on its own line.`,
		Args: cobra.NoArgs,
		RunE: runLogs,
	}
	f := cmd.Flags()
	f.String("workspace", "", "only the calls of this workspace")
	f.String("policy", "", "only the calls this policy decided or fired in")
	f.String("decision", "", "only the calls with this decision: "+strings.Join(decisions, ", "))
	f.String("user", "", "only the calls of this user")
	f.String("tool", "", "only the calls of this tool (the exposed or the upstream's name)")
	f.String("since", "", "only the calls of this last period (90s, 2h, 7d)")
	f.Int("limit", defaultLogsLimit, "print the last N records that match; 0 for all")
	f.Bool("follow", false, "keep printing new records until interrupted")
	f.Bool("json", false, "print one JSON object per record, one per line")
	cmd.AddCommand(newLogsShowCommand())
	return cmd
}

func newLogsShowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print one verdict record in full",
		Long: `Show prints every field of one record of the verdict log: the call, its
arguments as the log keeps them (masked by default), each policy evaluated and
what it did, warnings, redactions, detector findings, the judge, how the
upstream answered and the gateway's own time. A unique prefix of the id will do.`,
		Args: cobra.ExactArgs(1),
		RunE: runLogsShow,
	}
	cmd.Flags().Bool("json", false, "print the record as one JSON object")
	return cmd
}

// The filter flags are read from the command line only, not through
// settings: $GATEHOUSE_USER or $GATEHOUSE_WORKSPACE set for `serve` must
// not silently narrow what the log shows.
func logsFilter(cmd *cobra.Command) (audit.Filter, error) {
	f := cmd.Flags()
	var flt audit.Filter
	flt.Workspace, _ = f.GetString("workspace")
	flt.Policy, _ = f.GetString("policy")
	flt.Decision, _ = f.GetString("decision")
	flt.User, _ = f.GetString("user")
	flt.Tool, _ = f.GetString("tool")
	flt.Limit, _ = f.GetInt("limit")
	if flt.Decision != "" && !slices.Contains(decisions, flt.Decision) {
		return flt, usageError(fmt.Errorf("--decision %q: want one of %s", flt.Decision, strings.Join(decisions, ", ")))
	}
	if flt.Limit < 0 {
		return flt, usageError(fmt.Errorf("--limit %d: want 0 (all) or more", flt.Limit))
	}
	since, _ := f.GetString("since")
	var err error
	if flt.Since, err = parseSince(since, time.Now()); err != nil {
		return flt, err
	}
	return flt, nil
}

// parseSince turns a --since period into the time it starts at; "" is
// the beginning of the log.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, usageError(fmt.Errorf("--since %q: want a period such as 90s, 2h or 7d", s))
	}
	return now.Add(-time.Duration(d)), nil
}

// openLogReader opens the verdict log of cfg for reading, after adding
// the calls a stopped gateway left in flight (recoverStopped). No log yet
// is a runtime failure that says where it was looked for.
func openLogReader(ctx context.Context, cfg *config.Config, stderr io.Writer) (*audit.Reader, error) {
	recoverStopped(ctx, cfg, stderr)
	r, err := audit.OpenReader(cfg.Audit.Database)
	if errors.Is(err, audit.ErrNoLog) {
		return nil, runtimeError(noLogError(cfg))
	}
	if err != nil {
		return nil, runtimeError(err)
	}
	return r, nil
}

// recoverStopped writes into the log the calls that a gateway which was
// killed or crashed had forwarded and not seen end, from its journal, so
// that they read "outcome unknown"; the next gateway to start would too.
// This is the only write a reader makes, and it changes no record. When it
// cannot be made (no write access), it says so and goes on.
func recoverStopped(ctx context.Context, cfg *config.Config, stderr io.Writer) {
	if _, err := audit.Recover(ctx, cfg.Audit.Database); err != nil {
		fmt.Fprintf(stderr, "gatehouse: the calls a stopped gateway had in flight are not in the log yet (the next gateway to start adds them): %v\n", err)
	}
}

func noLogError(cfg *config.Config) error {
	return fmt.Errorf("%w at %s yet: the gateway creates it with the first call it decides (audit.database in %s)",
		audit.ErrNoLog, cfg.Audit.Database, cfg.File)
}

func runLogs(cmd *cobra.Command, _ []string) error {
	flt, err := logsFilter(cmd)
	if err != nil {
		return err
	}
	cfg, err := newSettings(cmd).load()
	if err != nil {
		return err
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	follow, _ := cmd.Flags().GetBool("follow")
	out := newEntryPrinter(cmd.OutOrStdout(), asJSON)
	out.follow = follow
	if !follow {
		r, err := openLogReader(cmd.Context(), cfg, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		defer r.Close()
		entries, err := r.List(cmd.Context(), flt)
		if err != nil {
			return runtimeError(err)
		}
		return out.print(entries)
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
	defer stop()
	recoverStopped(ctx, cfg, cmd.ErrOrStderr())
	r, waited, err := waitForLog(ctx, cfg, cmd.ErrOrStderr())
	if err != nil || r == nil { // nil: interrupted while waiting
		return err
	}
	defer r.Close()
	return followLog(ctx, r, flt, out, waited)
}

// waitForLog opens the verdict log, waiting for the gateway to create it
// if there is none yet, and says whether it waited. It returns a nil
// Reader when ctx ends first.
func waitForLog(ctx context.Context, cfg *config.Config, stderr io.Writer) (*audit.Reader, bool, error) {
	told := false
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		// A file whose schema a gateway has not created yet is no log yet
		// either.
		r, err := audit.OpenReaderContext(ctx, cfg.Audit.Database)
		switch {
		case err == nil:
			return r, told, nil
		case ctx.Err() != nil:
			return nil, told, nil
		case !errors.Is(err, audit.ErrNoLog):
			return nil, told, runtimeError(err)
		}
		if !told {
			fmt.Fprintf(stderr, "gatehouse: %v; waiting for it (interrupt to stop)\n", noLogError(cfg))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, told, nil
		case <-tick.C:
		}
	}
}

// followLog prints the last records flt selects, then every new one it
// selects, until ctx ends. A log that did not exist when --follow started
// (fromStart) is followed from its first record: every record is new.
func followLog(ctx context.Context, r *audit.Reader, flt audit.Filter, out *entryPrinter, fromStart bool) error {
	if fromStart {
		return interrupted(ctx, r.Follow(ctx, flt, 0, followInterval, func(e audit.Entry) error {
			return out.print([]audit.Entry{e})
		}))
	}
	// Every record written up to seq that matches is in the list below (or
	// older than its limit): follow from there, or from the last record
	// printed if the list saw later ones.
	seq, err := r.LastSeq(ctx)
	if err != nil {
		return interrupted(ctx, err)
	}
	entries, err := r.List(ctx, flt)
	if err != nil {
		return interrupted(ctx, err)
	}
	if err := out.print(entries); err != nil {
		return err
	}
	if n := len(entries); n > 0 {
		seq = max(seq, entries[n-1].Seq)
	}
	err = r.Follow(ctx, flt, seq, followInterval, func(e audit.Entry) error {
		return out.print([]audit.Entry{e})
	})
	return interrupted(ctx, err)
}

// interrupted is err, unless ctx ended: an interrupt ends --follow
// normally.
func interrupted(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil {
		return nil
	}
	return runtimeError(err)
}

// entryPrinter prints records as a table or as JSON lines. The table's
// header is printed once. Its columns are at least logsWidths wide, wider
// where the first records printed need it (all of them, for logs); with
// --follow (follow set) they are then fixed, and a later cell too long
// for its column is cut with "…", so that every row lines up with the
// header. `logs show ID` prints a record in full.
type entryPrinter struct {
	w       io.Writer
	json    *json.Encoder
	widths  []int
	started bool
	follow  bool
}

var logsHeader = []string{"ID", "TIME", "WORKSPACE", "USER", "TOOL", "DECISION", "POLICY", "REASON"}

// logsWidths are the least widths of the table's columns but the last:
// an id, a time, and room for common names and for a decision with its
// approval ("require_approval (unavailable ap-…)").
var logsWidths = []int{26, len(timeFormat), 10, 10, 22, 44, 16}

func newEntryPrinter(w io.Writer, asJSON bool) *entryPrinter {
	p := &entryPrinter{w: w}
	if asJSON {
		p.json = json.NewEncoder(w)
		p.json.SetEscapeHTML(false)
	}
	return p
}

func (p *entryPrinter) print(entries []audit.Entry) error {
	if p.json != nil {
		for _, e := range entries {
			if err := p.json.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	rows := make([][]string, 0, len(entries)+1)
	first := !p.started
	if first {
		rows = append(rows, logsHeader)
		p.started = true
		p.widths = slices.Clone(logsWidths)
	}
	for _, e := range entries {
		rows = append(rows, tableRow(e))
	}
	if first || !p.follow {
		for _, row := range rows {
			for i, cell := range row[:len(row)-1] { // the last column is not padded
				p.widths[i] = max(p.widths[i], utf8.RuneCountInString(cell))
			}
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row[:len(row)-1] {
			cell = truncate(cell, p.widths[i])
			b.WriteString(cell)
			b.WriteString(strings.Repeat(" ", p.widths[i]-utf8.RuneCountInString(cell)+2))
		}
		b.WriteString(row[len(row)-1])
		b.WriteByte('\n')
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// tableRow is the cells of e's line, each one line of printable text.
func tableRow(e audit.Entry) []string {
	reason := e.Reason
	if reason == "" && e.Policy == "" {
		reason = "no policy decided"
	}
	return []string{
		e.ID,
		e.Time.Local().Format(timeFormat),
		orDash(oneLine(e.Workspace)),
		orDash(oneLine(e.User)),
		orDash(oneLine(e.Exposed)),
		decisionCell(e),
		orDash(oneLine(e.Policy)),
		truncate(oneLine(reason), reasonWidth),
	}
}

// decisionCell is e's decision and, for a call held for approval, what
// became of it: "require_approval (approved)", "(pending ap-…)", and for
// a call parked pending whose request was decided or lapsed since, what
// it is now: "(pending ap-…, now declined)".
func decisionCell(e audit.Entry) string {
	a := e.Approval
	if a == nil {
		return e.Decision
	}
	what := a.State
	if a.ID != "" {
		what += " " + a.ID
	}
	if a.Now != "" && a.Now != a.State {
		what += ", now " + a.Now
	}
	return e.Decision + " (" + oneLine(what) + ")"
}

// oneLine makes s one line of printable text: newlines, tabs and other
// control characters (a client could send a terminal's escapes) become
// spaces, and runs of spaces one.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// printable replaces the control characters of s other than newlines by
// spaces, for text printed in full.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// truncate cuts s to n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runLogsShow(cmd *cobra.Command, args []string) error {
	id := strings.TrimSpace(args[0])
	if id == "" {
		return usageError(errors.New("logs show: the verdict id is empty"))
	}
	cfg, err := newSettings(cmd).load()
	if err != nil {
		return err
	}
	r, err := openLogReader(cmd.Context(), cfg, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer r.Close()
	e, err := r.Get(cmd.Context(), id)
	if err != nil {
		return runtimeError(err)
	}
	w := cmd.OutOrStdout()
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(e)
	}
	printEntry(w, e)
	return nil
}

// printEntry prints every field of e for a person to read.
func printEntry(w io.Writer, e audit.Entry) {
	field := func(label, format string, a ...any) {
		text := printable(fmt.Sprintf(format, a...))
		fmt.Fprintf(w, "%-16s%s\n", label+":", strings.ReplaceAll(text, "\n", "\n"+strings.Repeat(" ", 16)))
	}
	field("verdict", "%s", e.ID)
	field("time", "%s", e.Time.Local().Format("2006-01-02 15:04:05.000000 -0700"))
	field("workspace", "%s", e.Workspace)
	field("user", "%s", orNothing(e.User, "(unknown)"))
	field("client", "%s", orNothing(e.Client, "(none)"))
	field("session", "%s", orNothing(e.Session, "(none)"))
	field("tool", "%s (upstream %s, tool %s)", e.Exposed, orNothing(e.Upstream, "(unknown)"), e.Tool)
	switch {
	case e.Policy != "":
		field("decision", "%s by %s policy %q", strings.ToUpper(e.Decision), e.Layer, e.Policy)
	default:
		field("decision", "%s (no policy decided)", strings.ToUpper(e.Decision))
	}
	if e.Reason != "" {
		field("reason", "%s", e.Reason)
	}
	if e.Message != "" {
		field("message", "%s", e.Message)
	}
	if a := e.Approval; a != nil {
		field("approval", "%s", approvalSummary(a))
		if a.Request != nil {
			field("request", "%s", requestSummary(a.Request))
		}
	}
	field("risk", "%.2f", e.Risk)
	field("arguments", "%s", argumentsText(e))

	fmt.Fprintln(w, "policies, in evaluation order:")
	if len(e.Results) == 0 {
		fmt.Fprintln(w, "  (none matched or were judged)")
	}
	rows := make([][]string, 0, len(e.Results))
	for _, x := range e.Results {
		rows = append(rows, []string{x.Layer, x.Policy, x.Kind, strings.ToUpper(x.Outcome), x.Why})
	}
	printIndented(w, rows)
	for _, x := range e.Results {
		if x.Analysis != "" {
			field("analysis", "%s: %s", x.Policy, x.Analysis)
		}
	}
	for _, x := range e.Warnings {
		field("warning", "%s: %s", x.Policy, x.Message)
	}
	for _, x := range e.Redactions {
		field("redacted", "%s at %s (%s)", x.Policy, x.Path, x.What)
	}
	if len(e.Findings) == 0 {
		field("detectors", "nothing found")
	} else {
		fmt.Fprintln(w, "detectors:")
		rows := make([][]string, 0, len(e.Findings))
		for _, f := range e.Findings {
			rows = append(rows, []string{f.Threat, f.Kind, fmt.Sprintf("severity %.2f", f.Severity), "at " + f.Path, f.Masked})
		}
		printIndented(w, rows)
	}
	field("judge", "%s", judgeSummary(e.Judge))
	field("upstream", "%s", upstreamSummary(e))
	field("overhead", "%s", millis(e.OverheadMS))
	field("policy version", "%s", orNothing(e.PolicyVersion, "(none)"))
	field("written", "record %d, by gateway process %d", e.Seq, e.PID)
}

// printIndented prints rows as an aligned table indented by two spaces,
// the last column unpadded.
func printIndented(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(oneLine(cell)))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, cell := range row {
			cell = oneLine(cell)
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// argumentsText is e's arguments as the log keeps them: masked JSON
// pretty-printed, a hash, or nothing.
func argumentsText(e audit.Entry) string {
	switch {
	case len(e.Arguments) == 0:
		return "(not kept: audit.arguments is none)"
	case e.ArgumentsForm == policy.ArgumentsMasked:
		var v any
		if err := json.Unmarshal(e.Arguments, &v); err != nil {
			return "(masked) " + string(e.Arguments)
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		return "(masked)\n" + string(b)
	default:
		var s string
		if json.Unmarshal(e.Arguments, &s) != nil {
			s = string(e.Arguments)
		}
		return "(" + e.ArgumentsForm + ") " + s
	}
}

// approvalSummary is what became of a call held for approval, as its
// record says.
func approvalSummary(a *audit.EntryApproval) string {
	s := strings.ToUpper(a.State)
	switch a.Via {
	case policy.ApprovalViaClient:
		s += ", asked in the client"
	case policy.ApprovalViaOutOfBand:
		s += ", out of band"
	}
	if a.By != "" {
		s += ", by " + a.By
	}
	if a.ID != "" {
		s += " (request " + a.ID + ")"
	}
	if a.Now != "" && a.Now != a.State {
		s += "; now " + strings.ToUpper(a.Now)
	}
	return s
}

// requestSummary is an out-of-band request as it stands now.
func requestSummary(r *audit.ApprovalEntry) string {
	at := func(t time.Time) string { return t.Local().Format(timeFormat) }
	var parts []string
	switch {
	case r.DecidedBy == "" && r.Status == audit.StatusExpired:
		parts = append(parts, "nobody decided")
	case r.DecidedBy == "":
		parts = append(parts, r.Status)
	case r.Status == audit.StatusDenied:
		d := "denied by " + r.DecidedBy + " at " + at(r.DecidedAt)
		if r.DecisionReason != "" {
			d += ": " + r.DecisionReason
		}
		parts = append(parts, d)
	default:
		parts = append(parts, "approved by "+r.DecidedBy+" at "+at(r.DecidedAt))
	}
	switch r.Status {
	case audit.StatusPending:
		parts = append(parts, "expires "+at(r.Expires))
	case audit.StatusApproved:
		parts = append(parts, "the call may run once until "+at(r.Expires))
	case audit.StatusExpired:
		if r.DecidedBy != "" {
			parts = append(parts, "expired unused at "+at(r.Expires))
		} else {
			parts = append(parts, "expired at "+at(r.Expires))
		}
	case audit.StatusUsed:
		used := "used at " + at(r.UsedAt)
		if r.UsedVerdict != "" {
			used += " by verdict " + r.UsedVerdict
		}
		parts = append(parts, used)
	}
	if len(r.Approvers) > 0 {
		parts = append(parts, "approvers "+strings.Join(r.Approvers, ", "))
	}
	return r.ID + ": " + strings.Join(parts, "; ")
}

func judgeSummary(j audit.Judge) string {
	if !j.Asked {
		return "not asked"
	}
	parts := []string{"asked"}
	if j.Model != "" {
		parts = append(parts, "model "+j.Model)
	}
	if j.PromptVersion != "" {
		parts = append(parts, "prompt "+j.PromptVersion)
	}
	if j.LatencyMS != nil {
		parts = append(parts, millis(*j.LatencyMS))
	}
	if j.Cached {
		parts = append(parts, "cached answer")
	}
	if j.Error != "" {
		parts = append(parts, "failed: "+j.Error)
	}
	if j.FailOpen {
		parts = append(parts, "FAIL-OPEN: allowed although not judged")
	}
	return strings.Join(parts, ", ")
}

func upstreamSummary(e audit.Entry) string {
	s := strings.ReplaceAll(e.UpstreamOutcome, "_", " ")
	switch policy.UpstreamOutcome(e.UpstreamOutcome) {
	case policy.UpstreamNotRun:
		return "not run"
	case policy.UpstreamUnknown:
		return e.UpstreamError // "outcome unknown: the gateway stopped …"
	}
	if e.UpstreamLatencyMS != nil {
		s += " in " + millis(*e.UpstreamLatencyMS)
	}
	if e.UpstreamError != "" {
		s += ": " + e.UpstreamError
	}
	return s
}

// millis formats a time in milliseconds.
func millis(ms float64) string {
	return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
}
