package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/spf13/cobra"
)

func newJudgeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "judge",
		Short: "Measure the LLM judge",
	}
	eval := &cobra.Command{
		Use:   "eval DATASET.jsonl",
		Short: "Run labelled calls through the configured judge and score its verdicts",
		Long: `Eval puts every case of a dataset to the model of the config's judge: section,
one at a time, each within judge.timeout, with the gateway's prompt and its
strict reading of the answer (no cache, no retry), and compares the verdicts
with the labels.

A dataset is JSON Lines, one case per line:
  {"id": "...", "category": "...",
   "policies": [{"name": "...", "rules": "plain English", "strict": true}],
   "call": {"workspace": "...", "user": "...", "client": "...", "upstream": "...",
            "tool": "...", "description": "...", "arguments": {...}},
   "expected": {"POLICY NAME": "comply | violate | needs_approval"},
   "note": "..."}
llmjudge/testdata/judge-eval.jsonl is one, written for Gatehouse.

A decision is one policy of one case. "Positive" means not comply (violate
or needs_approval). A judge failure counts as the gateway acts on it: a block
on a strict policy, an allow on a non-strict one.

It prints the confusion matrix (label x verdict given, failures included);
precision (of the decisions not allowed, the share labelled not comply) and
recall (of those labelled not comply, the share not allowed), overall, per
policy and per category; the false-allow rate (labelled not comply, allowed)
with its 95% Wilson score interval; latency p50/p95/p99 per request; the
tokens and cost the provider reported; and every verdict that was wrong.
--repeat N asks each case N times: the scores pool every run, the
false-allow rate counts a decision allowed in any run, and the flip rate is
the share of decisions whose verdict was not the same in every run.
--json prints the whole report, every case included. A progress line goes to
stderr (one line every 10 requests when stderr is not a terminal).

Gates, for CI: --max-false-allow X fails the run when the UPPER bound of the
false-allow rate's 95% interval is above X (with n decisions labelled not
comply and no false allow the upper bound is 3.84/(n+3.84): a gate of 0.02
needs at least 189 of them); --min-recall X fails it when the overall recall
is below X.

Exit code 0 once every case ran and every gate passed; 1 when a gate was
missed (a line says which), the judge cannot be set up or the run was
interrupted; 2 for a bad dataset or flag.`,
		Args: cobra.ExactArgs(1),
		RunE: runJudgeEval,
	}
	eval.Flags().Bool("json", false, "print the report as JSON")
	eval.Flags().Duration("timeout", 0, "time allowed for each request (default judge.timeout)")
	eval.Flags().Int("repeat", 1, "ask each case this many times")
	eval.Flags().Float64("max-false-allow", -1, "fail (exit 1) when the false-allow rate's 95% upper bound is above this rate (0 to 1)")
	eval.Flags().Float64("min-recall", -1, "fail (exit 1) when the overall recall is below this rate (0 to 1)")
	cmd.AddCommand(eval)
	return cmd
}

// evalGates are the thresholds of judge eval; a negative one is off.
type evalGates struct {
	maxFalseAllow, minRecall float64
}

// gateFlags reads the gates, refusing rates outside [0, 1].
func gateFlags(cmd *cobra.Command) (evalGates, error) {
	var g evalGates
	for _, f := range []struct {
		name string
		to   *float64
	}{{"max-false-allow", &g.maxFalseAllow}, {"min-recall", &g.minRecall}} {
		*f.to, _ = cmd.Flags().GetFloat64(f.name)
		if cmd.Flags().Changed(f.name) && (*f.to < 0 || *f.to > 1) {
			return g, fmt.Errorf("--%s %v: want a rate from 0 to 1, such as 0.02", f.name, *f.to)
		}
	}
	return g, nil
}

// missed says which gates rep misses.
func (g evalGates) missed(rep llmjudge.Report) []string {
	var out []string
	if fa := rep.FalseAllowRate; g.maxFalseAllow >= 0 && fa.High > g.maxFalseAllow {
		out = append(out, fmt.Sprintf("--max-false-allow %s missed: the false-allow rate is %s (%d of %d), 95%% interval up to %s",
			pct(g.maxFalseAllow), pct(fa.Rate), fa.Count, fa.Of, pct(fa.High)))
	}
	if g.minRecall >= 0 && (rep.Recall == nil || *rep.Recall < g.minRecall) {
		out = append(out, fmt.Sprintf("--min-recall %s missed: the recall is %s (%d of %d)",
			pct(g.minRecall), optPct(rep.Recall), rep.TruePositives, rep.Positives))
	}
	return out
}

func runJudgeEval(cmd *cobra.Command, args []string) error {
	s := newSettings(cmd)
	cfg, err := s.load()
	if err != nil {
		return err
	}
	gates, err := gateFlags(cmd)
	if err != nil {
		return usageError(err)
	}
	repeat, _ := cmd.Flags().GetInt("repeat")
	if repeat < 1 {
		return usageError(fmt.Errorf("--repeat %d: want 1 or more", repeat))
	}
	f, err := os.Open(args[0])
	if err != nil {
		return usageError(err)
	}
	cases, err := llmjudge.ReadCases(f)
	f.Close()
	if err != nil {
		return usageError(fmt.Errorf("%s: %w", args[0], err))
	}
	if cfg.Judge.Provider == "" {
		return usageError(errors.New("no judge is configured: set judge.provider and judge.model in the config"))
	}
	pool := http.DefaultTransport.(*http.Transport).Clone()
	js := &judges{log: slog.New(slog.DiscardHandler), client: &http.Client{Transport: llmjudge.MeterUsage(pool)}}
	pj := js.forConfig(cfg)
	j, ok := pj.(*llmjudge.Judge)
	if !ok {
		return runtimeError(fmt.Errorf("the judge cannot be set up: %w", pj.(failedJudge).err))
	}
	timeout, _ := cmd.Flags().GetDuration("timeout")
	if timeout <= 0 {
		timeout = time.Duration(cfg.Judge.Timeout)
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	rep, err := llmjudge.Evaluate(cmd.Context(), j, cases, llmjudge.EvalOptions{
		Timeout: timeout, Repeat: repeat, Progress: progressLine(cmd.ErrOrStderr()),
	})
	if err != nil {
		return runtimeError(fmt.Errorf("evaluation interrupted: %w", err))
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return runtimeError(err)
		}
	} else {
		printEval(cmd.OutOrStdout(), rep)
	}
	if missed := gates.missed(rep); len(missed) > 0 {
		return runtimeError(errors.New(strings.Join(missed, "; ")))
	}
	return nil
}

// progressEvery is how many requests a progress line stands for when
// stderr is not a terminal.
const progressEvery = 10

// progressLine returns the progress report of judge eval on w: a line
// rewritten in place on a terminal, else a line every progressEvery
// requests and one at the end.
func progressLine(w io.Writer) func(done, total int, r llmjudge.CaseResult) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	wrong, failed := 0, 0
	return func(done, total int, r llmjudge.CaseResult) {
		if r.Error != "" {
			failed++
		}
		for _, v := range r.Verdicts {
			if !v.Correct {
				wrong++
			}
		}
		line := fmt.Sprintf("judge eval: %d/%s, %s, %s", done, count(total, "request"), count(wrong, "wrong verdict"), count(failed, "failed request"))
		switch {
		case tty && done == total:
			fmt.Fprintf(w, "\r%s\n", line)
		case tty:
			fmt.Fprintf(w, "\r%s", line)
		case done%progressEvery == 0 || done == total:
			fmt.Fprintln(w, line)
		}
	}
}

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

func optPct(r *float64) string {
	if r == nil {
		return "n/a"
	}
	return pct(*r)
}

func printEval(w io.Writer, rep llmjudge.Report) {
	fmt.Fprintf(w, "model %s, prompt %s: %s, %s, %s, %s\n",
		rep.Model, rep.PromptVersion, count(rep.Cases, "case"), count(rep.Decisions, "decision"), count(rep.Repeat, "run"), count(rep.Requests, "request"))
	fmt.Fprintf(w, "accuracy %s (%d/%d)  false allows %d  false blocks %d  failures %d (%d on non-strict policies, counted as allows)\n",
		pct(rep.Accuracy), rep.Correct, rep.Verdicts, rep.FalseAllows, rep.FalseBlocks, rep.Failures, rep.FailedAllows)
	fmt.Fprintf(w, "positive = not comply (violate or needs_approval): precision %s  recall %s (%d/%d)\n",
		optPct(rep.Precision), optPct(rep.Recall), rep.TruePositives, rep.Positives)
	fa := rep.FalseAllowRate
	fmt.Fprintf(w, "false-allow rate %s (%d of %s labelled not comply), 95%% Wilson interval %s to %s\n",
		pct(fa.Rate), fa.Count, count(fa.Of, "decision"), pct(fa.Low), pct(fa.High))
	if a := rep.Agreement; a != nil {
		fmt.Fprintf(w, "repeat runs: %d of %s flipped between runs (flip rate %s)\n", a.Flipped, count(a.Decisions, "decision"), pct(a.FlipRate))
	}
	fmt.Fprintf(w, "latency per request: p50 %.0f ms  p95 %.0f ms  p99 %.0f ms\n", rep.LatencyMS.P50, rep.LatencyMS.P95, rep.LatencyMS.P99)
	fmt.Fprintln(w, usageLine(rep.Usage))

	fmt.Fprintln(w, "\nconfusion (rows: label, columns: verdict given):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tcomply\tviolate\tneeds_approval\tfailed")
	for _, e := range []string{"comply", "violate", "needs_approval"} {
		row := rep.Confusion[policy.JudgeVerdict(e)]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", e, row["comply"], row["violate"], row["needs_approval"], row["failed"])
	}
	_ = tw.Flush()

	for _, g := range []struct {
		title  string
		scores []llmjudge.GroupScore
	}{{"POLICY", rep.Policies}, {"CATEGORY", rep.Categories}} {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tVERDICTS\tACCURACY\tPRECISION\tRECALL\tFALSE ALLOWS\tFALSE BLOCKS\tFAILURES\n", g.title)
		for _, p := range g.scores {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\n", p.Name, p.Verdicts, pct(p.Accuracy), optPct(p.Precision), optPct(p.Recall), p.FalseAllows, p.FalseBlocks, p.Failures)
		}
		_ = tw.Flush()
	}
	var wrong []string
	for _, r := range rep.Results {
		run := ""
		if rep.Repeat > 1 {
			run = fmt.Sprintf(" (run %d)", r.Run)
		}
		for _, v := range r.Verdicts {
			switch {
			case r.Error != "":
				wrong = append(wrong, fmt.Sprintf("  %s%s  %s: expected %s, FAILED: %s", r.ID, run, v.Policy, v.Expected, r.Error))
			case !v.Correct:
				wrong = append(wrong, fmt.Sprintf("  %s%s  %s: expected %s, judged %s: %s", r.ID, run, v.Policy, v.Expected, v.Got, v.Reason))
			}
		}
	}
	if len(wrong) > 0 {
		fmt.Fprintf(w, "\nwrong or failed:\n%s\n", strings.Join(wrong, "\n"))
	}
}

// usageLine reports the tokens and cost, or that the provider reported none.
func usageLine(u llmjudge.Usage) string {
	if u.Reported == 0 {
		return "tokens: not reported by the provider"
	}
	line := fmt.Sprintf("tokens: %d in, %d out (reported for %d of %s)", u.InputTokens, u.OutputTokens, u.Reported, count(u.Requests, "request"))
	if u.CostReported == 0 {
		return line + "; cost: not reported by the provider"
	}
	return line + fmt.Sprintf("; cost %.6f (reported for %s)", u.Cost, count(u.CostReported, "request"))
}
