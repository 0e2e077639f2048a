package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

func newPolicyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "List policies, and try a call against them",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPolicyListCommand(), newPolicyTestCommand())
	return cmd
}

func newPolicyListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the policies with their scope, action, priority, state and fire counts",
		Long: `List prints the policies of the config in evaluation order: the global ones,
then each workspace's own (only the named workspace's with --workspace).
Included templates' policies are global ones.

FIRED is how often each policy fired (matched and acted, or, judged, found a
violation) in the verdict log over --since: a workspace's own policy in that
workspace's calls, a global one in all calls (in --workspace's with it).
Without a verdict log the counts are 0.`,
		Args: cobra.NoArgs,
		RunE: runPolicyList,
	}
	cmd.Flags().String("workspace", "", "list the policies that apply in this workspace")
	cmd.Flags().String("since", defaultStatsSince, `count fires over this last period (90s, 2h, 7d); "" for the whole log`)
	cmd.Flags().Bool("json", false, "print JSON")
	return cmd
}

func newPolicyTestCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test --workspace W --tool T --args JSON",
		Short: "Decide a call against the policies without running it",
		Long: `Test decides a tools/call as the gateway would — without calling any upstream
and without counting against rate limits — and prints, in evaluation order,
every policy and whether and why it applied, what the detectors found (masked),
the risk score, the deciding policy and the decision.

--tool is the name a client calls (upstream__tool, or the bare name of an
upstream with prefix: false); --upstream picks the upstream when a bare name
is ambiguous. Instead of --tool, --resource URI decides a resources/read of
the URI (its arguments are {"uri": URI}; --upstream says which upstream
serves it), and --prompt NAME a prompts/get of the prompt, with --args as
its arguments. The exit code is 0 whatever the decision; read it from the
output, or from "decision" with --json.`,
		Args: cobra.NoArgs,
		RunE: runPolicyTest,
	}
	cmd.Flags().String("workspace", "", "workspace the call is made in (required when the config has several)")
	cmd.Flags().String("tool", "", "tool name as the client calls it")
	cmd.Flags().String("resource", "", "decide a resources/read of this URI instead of a tool call")
	cmd.Flags().String("prompt", "", "decide a prompts/get of this prompt (as the client names it) instead of a tool call")
	cmd.Flags().String("upstream", "", "upstream of the tool (prompt, resource), when the name alone does not say")
	cmd.Flags().String("args", "{}", "the call's arguments, a JSON object")
	cmd.Flags().String("user", "", "the user (default $GATEHOUSE_USER, then the OS user)")
	cmd.Flags().String("client", "", "the client's name, as sent in initialize")
	cmd.Flags().Bool("no-judge", false, "do not ask the judge: report plain-English policies as not judged")
	cmd.Flags().Bool("show-prompt", false, "also print the exact request sent to the judge and its answer")
	cmd.Flags().Bool("json", false, "print JSON")
	return cmd
}

// listedPolicy is one policy as `policy list --json` prints it.
type listedPolicy struct {
	Name        string   `json:"name"`
	Layer       string   `json:"layer"`
	Workspace   string   `json:"workspace,omitempty"`
	Kind        string   `json:"kind"` // the action, or "rules"
	Priority    int      `json:"priority"`
	Enabled     bool     `json:"enabled"`
	Strict      bool     `json:"strict"`
	Tools       []string `json:"tools,omitempty"`
	Resources   []string `json:"resources,omitempty"`
	Prompts     []string `json:"prompts,omitempty"`
	Upstreams   []string `json:"upstreams,omitempty"`
	Description string   `json:"description,omitempty"`
	Source      string   `json:"source"`
	// Fired is how often the policy fired in the --since window: a global
	// policy in the calls of --workspace (or of all), a workspace policy in
	// its workspace's.
	Fired int `json:"fired"`
	// Approval says who may approve the calls the policy holds; set for
	// require_approval and plain-English policies.
	Approval *listedApproval `json:"approval,omitempty"`
}

// listedApproval is a policy's approval rule as `policy list` prints it.
type listedApproval struct {
	InClient  bool     `json:"in_client"`
	Approvers []string `json:"approvers"`
}

func runPolicyList(cmd *cobra.Command, _ []string) error {
	s := newSettings(cmd)
	sinceFlag, _ := cmd.Flags().GetString("since")
	since, err := parseSince(sinceFlag, time.Now())
	if err != nil {
		return err
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	engine, err := newEngine(cfg, nil, nil)
	if err != nil {
		return usageError(err)
	}
	name := s.v.GetString("workspace")
	if name != "" {
		if _, ok := cfg.Workspace(name); !ok {
			return usageError(fmt.Errorf("--workspace %q: no such workspace in %s", name, cfg.File))
		}
	}
	fires := newFireCounter(nil, since, name)
	switch r, err := audit.OpenReader(cfg.Audit.Database); {
	case errors.Is(err, audit.ErrNoLog):
		fmt.Fprintf(cmd.ErrOrStderr(), "gatehouse: %v: every FIRED count is 0\n", noLogError(cfg))
	case err != nil:
		fmt.Fprintf(cmd.ErrOrStderr(), "gatehouse: the verdict log cannot be read, every FIRED count is 0: %v\n", err)
	default:
		defer r.Close()
		fires.r = r
	}
	out := []listedPolicy{}
	for _, p := range policiesInScope(cfg, engine, name) {
		l := listed(p)
		if l.Fired, err = fires.count(cmd.Context(), p); err != nil {
			return runtimeError(err)
		}
		out = append(out, l)
	}
	w := cmd.OutOrStdout()
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(w, "no policies: every call is allowed")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tNAME\tKIND\tPRIORITY\tSTATE\tFIRED\tSCOPE\tSOURCE")
	for _, p := range out {
		layer := p.Layer
		if p.Workspace != "" {
			layer = "workspace " + p.Workspace
		}
		state := "enabled"
		if !p.Enabled {
			state = "DISABLED"
		}
		if p.Strict {
			state += ",strict"
		}
		if a := p.Approval; a != nil && !a.InClient {
			state += ",out-of-band"
		}
		if a := p.Approval; a != nil && len(a.Approvers) > 0 {
			state += ",approvers=" + strings.Join(a.Approvers, "+")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", layer, p.Name, p.Kind, p.Priority, state, p.Fired, scope(p), p.Source)
	}
	return tw.Flush()
}

// policiesInScope are the policies of the config in evaluation order: the
// global ones and workspace's own, or, for workspace "", the global ones
// once and then every workspace's own.
func policiesInScope(cfg *config.Config, engine *policy.Engine, workspace string) []policy.Listed {
	if workspace != "" {
		return engine.Policies(workspace)
	}
	if len(cfg.Workspaces) == 0 { // the global policies still exist
		return engine.Policies("")
	}
	var out []policy.Listed
	for i, w := range cfg.Workspaces {
		for _, p := range engine.Policies(w.Name) {
			if p.Layer == policy.LayerGlobal && i > 0 {
				continue // listed once
			}
			out = append(out, p)
		}
	}
	return out
}

func listed(p policy.Listed) listedPolicy {
	kind := string(p.Action)
	if !p.Deterministic() {
		kind = "rules"
	}
	l := listedPolicy{
		Name: p.Name, Layer: string(p.Layer), Workspace: p.Workspace, Kind: kind, Priority: p.Priority,
		Enabled: p.Enabled, Strict: p.Strict, Tools: p.Tools, Resources: p.Resources, Prompts: p.Prompts, Upstreams: p.Upstreams,
		Description: p.Description, Source: p.Source,
	}
	if kind == "rules" || p.Action == policy.ActionRequireApproval {
		l.Approval = &listedApproval{InClient: !p.Approval.OutOfBandOnly, Approvers: append([]string{}, p.Approval.Approvers...)}
	}
	return l
}

func scope(p listedPolicy) string {
	var parts []string
	if len(p.Upstreams) > 0 {
		parts = append(parts, "upstreams "+strings.Join(p.Upstreams, ","))
	}
	for _, kind := range []struct {
		name  string
		globs []string
	}{{"tools", p.Tools}, {"resources", p.Resources}, {"prompts", p.Prompts}} {
		if len(kind.globs) > 0 {
			parts = append(parts, kind.name+" "+strings.Join(kind.globs, ","))
		}
	}
	if len(parts) == 0 {
		return "every request"
	}
	return strings.Join(parts, "; ")
}

// testReport is what `policy test --json` prints. Its fields are stable
// (documented in the README); new ones may be added.
type testReport struct {
	Workspace string `json:"workspace"`
	// Method is the MCP method decided: tools/call, resources/read or
	// prompts/get.
	Method        string           `json:"method"`
	Upstream      string           `json:"upstream"`
	Tool          string           `json:"tool"`
	Exposed       string           `json:"exposed"`
	User          string           `json:"user"`
	Client        string           `json:"client"`
	Decision      string           `json:"decision"`
	Policy        string           `json:"policy"`
	Layer         string           `json:"layer"`
	Reason        string           `json:"reason"`
	Message       string           `json:"message"`
	RetryAfterSec int              `json:"retry_after_seconds"`
	Risk          float64          `json:"risk"`
	Findings      []testFinding    `json:"findings"`
	Policies      []testResult     `json:"policies"`
	Warnings      []testWarning    `json:"warnings"`
	Redactions    []testRedaction  `json:"redactions"`
	Arguments     *json.RawMessage `json:"arguments"` // after redaction; null when unchanged
	Judge         testJudge        `json:"judge"`
	PolicyVersion string           `json:"policy_version"`
	Notes         []string         `json:"notes"`
}

type testFinding struct {
	Threat   string  `json:"threat"`
	Kind     string  `json:"kind"`
	Severity float64 `json:"severity"`
	Path     string  `json:"path"`
	Masked   string  `json:"masked"`
}

type testResult struct {
	Policy   string `json:"policy"`
	Layer    string `json:"layer"`
	Kind     string `json:"kind"`
	Priority int    `json:"priority"`
	Outcome  string `json:"outcome"`
	Why      string `json:"why"`
	Source   string `json:"source"`
}

type testWarning struct {
	Policy  string `json:"policy"`
	Message string `json:"message"`
}

type testRedaction struct {
	Policy string `json:"policy"`
	Path   string `json:"path"`
	What   string `json:"what"`
}

type testJudge struct {
	Asked         bool          `json:"asked"`
	Model         string        `json:"model"`
	PromptVersion string        `json:"prompt_version"`
	LatencyMS     float64       `json:"latency_ms"`
	Error         string        `json:"error"`
	FailOpen      bool          `json:"fail_open"`
	Request       *testExchange `json:"request,omitempty"` // with --show-prompt
}

// testExchange is the request the judge sent and the answer it got.
type testExchange struct {
	Model  string `json:"model"`
	System string `json:"system"`
	User   string `json:"user"`
	// Schema is the JSON schema the answer was held to.
	Schema json.RawMessage `json:"schema,omitempty"`
	Answer string          `json:"answer"`
}

func runPolicyTest(cmd *cobra.Command, _ []string) error {
	s := newSettings(cmd)
	cfg, err := s.load()
	if err != nil {
		return err
	}
	tool, _ := cmd.Flags().GetString("tool")
	resource, _ := cmd.Flags().GetString("resource")
	prompt, _ := cmd.Flags().GetString("prompt")
	if n := len(slices.DeleteFunc([]string{tool, resource, prompt}, func(s string) bool { return s == "" })); n != 1 {
		return usageError(errors.New("say what to decide with exactly one of --tool, --resource and --prompt"))
	}
	rawArgs, _ := cmd.Flags().GetString("args")
	if resource != "" && cmd.Flags().Changed("args") {
		return usageError(errors.New("--args: a resource read's only argument is its URI (--resource)"))
	}
	if !json.Valid([]byte(rawArgs)) {
		return usageError(fmt.Errorf("--args: not valid JSON: %s", rawArgs))
	}
	specs, err := pickWorkspace(cfg, s.v.GetString("workspace"))
	if err != nil {
		return err
	}
	ws := specs[0]
	upstreamFlag, _ := cmd.Flags().GetString("upstream")
	var call policy.Call
	var notes []string
	switch {
	case resource != "":
		call = policy.Call{Kind: policy.KindResource, Method: policy.MethodResourcesRead, Workspace: ws.Name, Upstream: upstreamFlag, Tool: resource, Exposed: resource}
		if upstreamFlag == "" {
			notes = append(notes, "no --upstream: policies scoped by upstream do not apply")
		}
		rawArgs = string(policy.ResourceArguments(resource))
	case prompt != "":
		call, notes, err = resolveTool(ws, prompt, upstreamFlag)
		call.Kind, call.Method = policy.KindPrompt, policy.MethodPromptsGet
	default:
		call, notes, err = resolveTool(ws, tool, upstreamFlag)
	}
	if err != nil {
		return usageError(err)
	}
	call.Arguments = json.RawMessage(rawArgs)
	call.User = s.user()
	if u, _ := cmd.Flags().GetString("user"); u != "" {
		call.User = u
	}
	call.Client, _ = cmd.Flags().GetString("client")
	noJudge, _ := cmd.Flags().GetBool("no-judge")
	var judge policy.Judge
	if !noJudge {
		judge = (&judges{log: slog.New(slog.DiscardHandler)}).forConfig(cfg)
	}
	engine, err := newEngine(cfg, nil, judge)
	if err != nil {
		return usageError(err)
	}
	v := engine.Explain(cmd.Context(), call, policy.ExplainOptions{NoJudge: noJudge})
	if call.CallKind() != policy.KindTool && v.Decision == policy.DecisionRequireApproval {
		notes = append(notes, "approval is for tool calls only: the gateway blocks a "+call.CallMethod()+" request that policies hold for approval")
	}
	if v.Judge.Asked && v.Judge.Err != nil {
		notes = append(notes, "plain-English policies were put to the judge and it failed: "+v.Judge.Err.Error())
	}
	r := report(call, v, notes)
	if show, _ := cmd.Flags().GetBool("show-prompt"); show {
		if ex := v.Judge.Exchange; ex != nil {
			r.Judge.Request = &testExchange{Model: ex.Model, System: ex.System, User: ex.User, Schema: json.RawMessage(ex.Schema), Answer: ex.Answer}
		} else {
			r.Notes = append(r.Notes, "no request was sent to the judge, so there is no prompt to show")
		}
	}
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	printReport(cmd.OutOrStdout(), r)
	return nil
}

// resolveTool turns the name a client calls into the call's upstream and
// tool, as the catalog would without connecting: upstream__tool for an
// upstream with a prefix, the bare name for one without.
func resolveTool(ws workspace.Spec, name, upstreamName string) (policy.Call, []string, error) {
	call := policy.Call{Workspace: ws.Name, Exposed: name, Tool: name}
	var notes []string
	if upstreamName != "" {
		for _, u := range ws.Upstreams {
			if u.Name == upstreamName {
				call.Upstream = u.Name
				if u.Prefix {
					call.Tool = strings.TrimPrefix(name, u.Name+"__")
					call.Exposed = u.Name + "__" + call.Tool
				}
				return call, notes, nil
			}
		}
		return call, nil, fmt.Errorf("--upstream %q: workspace %q has no such upstream", upstreamName, ws.Name)
	}
	var bare []string
	for _, u := range ws.Upstreams {
		if u.Prefix && strings.HasPrefix(name, u.Name+"__") && len(name) > len(u.Name)+2 {
			call.Upstream, call.Tool = u.Name, name[len(u.Name)+2:]
			return call, notes, nil
		}
		if !u.Prefix {
			bare = append(bare, u.Name)
		}
	}
	switch len(bare) {
	case 1:
		call.Upstream = bare[0]
	case 0:
		notes = append(notes, fmt.Sprintf("no upstream of workspace %q exposes %q (names are upstream__tool); policies scoped by upstream do not apply", ws.Name, name))
	default:
		return call, nil, fmt.Errorf("--tool %q: several upstreams expose bare names (%s); say which with --upstream", name, strings.Join(bare, ", "))
	}
	return call, notes, nil
}

func report(call policy.Call, v policy.Verdict, notes []string) testReport {
	r := testReport{
		Workspace: call.Workspace, Method: call.CallMethod(), Upstream: call.Upstream, Tool: call.Tool, Exposed: call.Exposed,
		User: call.User, Client: call.Client,
		Decision: string(v.Decision), Policy: v.Policy, Layer: string(v.Layer), Reason: v.Reason, Message: v.Message,
		RetryAfterSec: int(v.RetryAfter.Seconds()), Risk: v.Risk, PolicyVersion: v.Version,
		Findings: []testFinding{}, Policies: []testResult{}, Warnings: []testWarning{}, Redactions: []testRedaction{},
		Judge: testJudge{
			Asked: v.Judge.Asked, Model: v.Judge.Model, PromptVersion: v.Judge.PromptVersion,
			LatencyMS: float64(v.Judge.Latency.Microseconds()) / 1000, FailOpen: v.Judge.FailOpen,
		},
		Notes: notes,
	}
	if r.Notes == nil {
		r.Notes = []string{}
	}
	if v.Judge.Err != nil {
		r.Judge.Error = v.Judge.Err.Error()
	}
	if v.Arguments != nil && v.Decision == policy.DecisionAllow { // nothing is forwarded otherwise
		a := v.Arguments
		r.Arguments = &a
	}
	for _, f := range v.Findings {
		r.Findings = append(r.Findings, testFinding{Threat: string(f.Threat), Kind: f.Kind, Severity: f.Severity, Path: f.Path, Masked: f.Masked})
	}
	for _, p := range v.Results {
		r.Policies = append(r.Policies, testResult{Policy: p.Policy, Layer: string(p.Layer), Kind: p.Kind, Priority: p.Priority, Outcome: string(p.Outcome), Why: p.Why, Source: p.Source})
	}
	for _, w := range v.Warnings {
		r.Warnings = append(r.Warnings, testWarning{Policy: w.Policy, Message: w.Message})
	}
	for _, d := range v.Redactions {
		r.Redactions = append(r.Redactions, testRedaction{Policy: d.Policy, Path: d.Path, What: d.What})
	}
	return r
}

func printReport(w io.Writer, r testReport) {
	client := r.Client
	if client == "" {
		client = "(none)"
	}
	upstreamName := r.Upstream
	if upstreamName == "" {
		upstreamName = "(unknown)"
	}
	if r.Method != policy.MethodToolsCall {
		fmt.Fprintf(w, "call:      workspace %s, %s %s (upstream %s, %s), user %s, client %s\n", r.Workspace, r.Method, r.Exposed, upstreamName, r.Tool, r.User, client)
	} else {
		fmt.Fprintf(w, "call:      workspace %s, tool %s (upstream %s, tool %s), user %s, client %s\n", r.Workspace, r.Exposed, upstreamName, r.Tool, r.User, client)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note:      %s\n", n)
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "detectors: nothing found")
	} else {
		fmt.Fprintln(w, "detectors:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "  %s\t%s\tseverity %.2f\tat %s\t%s\n", f.Threat, f.Kind, f.Severity, f.Path, f.Masked)
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(w, "risk:      %.2f\n", r.Risk)
	fmt.Fprintln(w, "policies, in evaluation order:")
	if len(r.Policies) == 0 {
		fmt.Fprintln(w, "  (none apply in this workspace)")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range r.Policies {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Layer, p.Policy, p.Kind, p.Priority, strings.ToUpper(p.Outcome), p.Why)
	}
	_ = tw.Flush()
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "warning:   %s: %s\n", x.Policy, x.Message)
	}
	for _, x := range r.Redactions {
		fmt.Fprintf(w, "redacted:  %s at %s (%s)\n", x.Policy, x.Path, x.What)
	}
	if r.Arguments != nil {
		fmt.Fprintf(w, "forwarded: %s\n", *r.Arguments)
	}
	if j := r.Judge; j.Asked {
		switch {
		case j.Model == "":
			fmt.Fprintf(w, "judge:     not asked: %s\n", j.Error)
		case j.Error != "":
			fmt.Fprintf(w, "judge:     %s (prompt %s) FAILED after %.0f ms: %s\n", j.Model, j.PromptVersion, j.LatencyMS, j.Error)
		default:
			fmt.Fprintf(w, "judge:     %s (prompt %s) answered in %.0f ms\n", j.Model, j.PromptVersion, j.LatencyMS)
		}
		if j.FailOpen {
			fmt.Fprintln(w, "           FAIL-OPEN: non-strict policies allowed although not judged")
		}
		if q := j.Request; q != nil {
			fmt.Fprintf(w, "\n--- request to %s: system message ---\n%s\n--- user message ---\n%s\n--- answer schema ---\n%s\n--- answer ---\n%s\n---\n\n", q.Model, q.System, q.User, q.Schema, orNothing(q.Answer, "(none)"))
		}
	}
	switch {
	case r.Policy != "":
		fmt.Fprintf(w, "decision:  %s by %s policy %q\n", strings.ToUpper(r.Decision), r.Layer, r.Policy)
	default:
		fmt.Fprintf(w, "decision:  %s (%s)\n", strings.ToUpper(r.Decision), orNothing(r.Reason, "no policy decided"))
	}
	if r.Message != "" {
		fmt.Fprintf(w, "message:   %s\n", r.Message)
	}
}

func orNothing(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
