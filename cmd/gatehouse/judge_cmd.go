package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-mcp/gatehouse/llmjudge"
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
one at a time, each within judge.timeout, exactly as the gateway would (same
prompt, same strict reading of the answer, no cache), and compares the
verdicts with the labels.

A dataset is JSON Lines, one case per line:
  {"id": "...", "category": "...",
   "policies": [{"name": "...", "rules": "plain English", "strict": true}],
   "call": {"workspace": "...", "user": "...", "client": "...", "upstream": "...",
            "tool": "...", "description": "...", "arguments": {...}},
   "expected": {"POLICY NAME": "comply | violate | needs_approval"},
   "note": "..."}
llmjudge/testdata/judge-eval.jsonl is one, written for Gatehouse.

It prints accuracy, false allows (a violation or approval judged comply: the
dangerous mistake), false blocks, failures (no valid answer in time) and
latency p50/p95, overall and per policy, then every case it got wrong.
--json prints the whole report, every case included.
Exit code 0 once every case ran, whatever the score; 1 when the judge cannot
be set up or the run was interrupted; 2 for a bad dataset.`,
		Args: cobra.ExactArgs(1),
		RunE: runJudgeEval,
	}
	eval.Flags().Bool("json", false, "print the report as JSON")
	eval.Flags().Duration("timeout", 0, "time allowed for each case (default judge.timeout)")
	cmd.AddCommand(eval)
	return cmd
}

func runJudgeEval(cmd *cobra.Command, args []string) error {
	s := newSettings(cmd)
	cfg, err := s.load()
	if err != nil {
		return err
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
	pj := (&judges{log: slog.New(slog.DiscardHandler)}).forConfig(cfg)
	j, ok := pj.(*llmjudge.Judge)
	if !ok {
		return runtimeError(fmt.Errorf("the judge cannot be set up: %w", pj.(failedJudge).err))
	}
	timeout, _ := cmd.Flags().GetDuration("timeout")
	if timeout <= 0 {
		timeout = time.Duration(cfg.Judge.Timeout)
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	errw := cmd.ErrOrStderr()
	rep, err := llmjudge.Evaluate(cmd.Context(), j, cases, timeout, func(done int, r llmjudge.CaseResult) {
		if !asJSON {
			fmt.Fprintf(errw, "\r%d/%d cases", done, len(cases))
		}
	})
	if !asJSON {
		fmt.Fprintln(errw)
	}
	if err != nil {
		return runtimeError(fmt.Errorf("evaluation interrupted: %w", err))
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	printEval(cmd.OutOrStdout(), rep)
	return nil
}

func printEval(w io.Writer, rep llmjudge.Report) {
	fmt.Fprintf(w, "model %s, prompt %s: %d cases, %d verdicts\n", rep.Model, rep.PromptVersion, rep.Cases, rep.Verdicts)
	fmt.Fprintf(w, "accuracy %.1f%% (%d/%d)  false allows %d  false blocks %d  failures %d  latency p50 %.0f ms  p95 %.0f ms\n\n",
		100*rep.Accuracy, rep.Correct, rep.Verdicts, rep.FalseAllows, rep.FalseBlocks, rep.Failures, rep.LatencyMS.P50, rep.LatencyMS.P95)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tVERDICTS\tACCURACY\tFALSE ALLOWS\tFALSE BLOCKS\tFAILURES\tP50 MS\tP95 MS")
	for _, p := range rep.Policies {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%d\t%d\t%d\t%.0f\t%.0f\n", p.Policy, p.Verdicts, 100*p.Accuracy, p.FalseAllows, p.FalseBlocks, p.Failures, p.LatencyMS.P50, p.LatencyMS.P95)
	}
	_ = tw.Flush()
	var wrong []string
	for _, r := range rep.Results {
		for _, v := range r.Verdicts {
			switch {
			case r.Error != "":
				wrong = append(wrong, fmt.Sprintf("  %s  %s: expected %s, FAILED: %s", r.ID, v.Policy, v.Expected, r.Error))
			case !v.Correct:
				wrong = append(wrong, fmt.Sprintf("  %s  %s: expected %s, judged %s: %s", r.ID, v.Policy, v.Expected, v.Got, v.Reason))
			}
		}
	}
	if len(wrong) > 0 {
		fmt.Fprintf(w, "\nwrong or failed:\n%s\n", strings.Join(wrong, "\n"))
	}
}
