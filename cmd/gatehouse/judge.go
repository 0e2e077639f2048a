package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/llmjudge"
	"github.com/gatehouse-mcp/gatehouse/policy"
)

// judgeSetting is what a judge is built from: the judge section and the
// key it names. Equal settings keep one judge, with its cache and breaker,
// across reloads.
type judgeSetting struct {
	config.Judge
	key, confirmKey string
}

// equal reports whether two settings build the same judge.
func (s judgeSetting) equal(o judgeSetting) bool {
	return s.key == o.key && s.confirmKey == o.confirmKey && reflect.DeepEqual(s.Judge, o.Judge)
}

// judges builds the judge of each config, keeping the previous one when
// its setting did not change.
type judges struct {
	log *slog.Logger
	// client sends the judge's requests; nil means the judge's own.
	client  *http.Client
	setting judgeSetting
	judge   policy.Judge
	built   bool
}

// forConfig returns the judge of cfg: nil when none is configured.
func (j *judges) forConfig(cfg *config.Config) policy.Judge {
	s := judgeSetting{Judge: cfg.Judge}
	if cfg.Judge.APIKeyEnv != "" {
		s.key = os.Getenv(cfg.Judge.APIKeyEnv)
	}
	if c := cfg.Judge.Confirm; c.Enabled && c.APIKeyEnv != "" {
		s.confirmKey = os.Getenv(c.APIKeyEnv)
	}
	if j.built && s.equal(j.setting) {
		return j.judge
	}
	j.setting, j.built = s, true
	j.judge = buildJudge(cfg, s.key, s.confirmKey, j.log, j.client)
	return j.judge
}

// buildJudge returns the judge of cfg: nil when none is configured, and a
// judge that fails every judgment with the reason when it cannot be set up
// (the gateway still starts; strict policies block, and say why). hc
// sends its requests; nil means the judge's own client.
func buildJudge(cfg *config.Config, key, confirmKey string, log *slog.Logger, hc *http.Client) policy.Judge {
	jc := cfg.Judge
	if jc.Provider == "" {
		return nil
	}
	if jc.APIKeyEnv != "" && key == "" {
		return failedJudge{fmt.Errorf("judge.api_key_env names %s, which is not set in the gateway's environment", jc.APIKeyEnv)}
	}
	m, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: jc.Provider, Model: jc.Model, BaseURL: jc.BaseURL, APIKey: key, HTTPClient: hc})
	if err != nil {
		return failedJudge{err}
	}
	opts := llmjudge.Options{CacheTTL: time.Duration(jc.CacheTTL), MaxContextTokens: jc.MaxContextTokens, InternalDomains: jc.InternalDomains, Logger: log}
	if c := jc.Confirm; c.Enabled {
		if c.APIKeyEnv != "" && confirmKey == "" {
			return failedJudge{fmt.Errorf("judge.confirm.api_key_env names %s, which is not set in the gateway's environment", c.APIKeyEnv)}
		}
		cm, err := llmjudge.NewModel(llmjudge.ModelConfig{Provider: c.Provider, Model: c.Model, BaseURL: c.BaseURL, APIKey: confirmKey, HTTPClient: hc})
		if err != nil {
			return failedJudge{fmt.Errorf("judge.confirm: %w", err)}
		}
		opts.Confirm = cm
	}
	return llmjudge.New(m, opts)
}

// failedJudge is a judge that could not be set up: for the calls it
// judges, no judge is configured (policy.ErrNoJudge), for the reason err.
type failedJudge struct{ err error }

func (f failedJudge) Judge(context.Context, policy.JudgeRequest) (policy.JudgeAnswer, error) {
	return policy.JudgeAnswer{}, fmt.Errorf("%w: %w", policy.ErrNoJudge, f.err)
}

// judgedPolicies names the enabled plain-English policies of cfg, strict
// and not.
func judgedPolicies(cfg *config.Config) (strict, lax []string) {
	set, err := cfg.PolicySet()
	if err != nil {
		return nil, nil
	}
	add := func(ps []policy.Policy) {
		for _, p := range ps {
			switch {
			case p.Deterministic() || !p.Enabled:
			case p.Strict:
				strict = append(strict, p.Name)
			default:
				lax = append(lax, p.Name)
			}
		}
	}
	add(set.Global)
	for _, ps := range set.Workspaces {
		add(ps)
	}
	return strict, lax
}

// warnJudge says loudly when plain-English policies cannot be judged: with
// no judge configured, or one that could not be set up, every strict one
// blocks the calls in its scope and every other one allows them fail-open.
func warnJudge(log *slog.Logger, cfg *config.Config, j policy.Judge) {
	strict, lax := judgedPolicies(cfg)
	var why string
	switch f := j.(type) {
	case nil:
		why = "no judge is configured (set judge.provider and judge.model)"
	case failedJudge:
		why = "the judge cannot be set up: " + f.err.Error()
	case *llmjudge.Judge:
		log.Info("policy judge", "model", f.Model().Name(), "timeout", time.Duration(cfg.Judge.Timeout),
			"cache_ttl", time.Duration(cfg.Judge.CacheTTL), "policies", len(strict)+len(lax))
		return
	default:
		return
	}
	if len(strict)+len(lax) == 0 {
		return
	}
	if len(strict) > 0 {
		log.Warn("plain-English policies cannot be judged: "+why+"; these strict ones BLOCK every call in their scope", "policies", strings.Join(strict, ","))
	}
	if len(lax) > 0 {
		log.Warn("plain-English policies cannot be judged: "+why+"; these non-strict ones allow calls flagged fail-open", "policies", strings.Join(lax, ","))
	}
}

// checkJudge says whether the judge of cfg is configured and answers as it
// must. A judge that is configured but unusable is a runtime failure.
func checkJudge(ctx context.Context, out io.Writer, cfg *config.Config) error {
	strict, lax := judgedPolicies(cfg)
	n := len(strict) + len(lax)
	jc := cfg.Judge
	if jc.Provider == "" {
		if n == 0 {
			fmt.Fprintln(out, "judge: not configured (no plain-English policies need one)")
			return nil
		}
		fmt.Fprintf(out, "judge: NOT CONFIGURED: %s cannot be judged; %s every call in its scope\n", count(n, "plain-English policy", "plain-English policies"), strictBlock(len(strict)))
		return nil
	}
	name := jc.Provider + "/" + jc.Model
	if c := jc.Confirm; c.Enabled {
		name += " (confirmed by " + c.Provider + "/" + c.Model + ")"
	}
	key, confirmKey := "", ""
	if jc.APIKeyEnv != "" {
		key = os.Getenv(jc.APIKeyEnv)
	}
	if c := jc.Confirm; c.Enabled && c.APIKeyEnv != "" {
		confirmKey = os.Getenv(c.APIKeyEnv)
	}
	j := buildJudge(cfg, key, confirmKey, slog.New(slog.DiscardHandler), nil)
	if f, ok := j.(failedJudge); ok {
		fmt.Fprintf(out, "judge %s: CANNOT BE SET UP: %v\n", name, f.err)
		return runtimeError(errors.New("the judge cannot be set up"))
	}
	cctx, cancel := context.WithTimeout(ctx, time.Duration(jc.Timeout))
	defer cancel()
	start := time.Now()
	err := j.(*llmjudge.Judge).Check(cctx)
	if err == nil && cctx.Err() != nil {
		err = cctx.Err()
	}
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within judge.timeout (%s)", time.Duration(jc.Timeout))
		}
		var ae *llmjudge.AnswerError
		if errors.As(err, &ae) || errors.Is(err, llmjudge.ErrUnfit) {
			fmt.Fprintf(out, "judge %s: NOT USABLE: %v\n", name, err)
			return runtimeError(errors.New("the judge does not answer as it must"))
		}
		hint := ""
		var se *llmjudge.StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			hint = " (check judge.base_url and judge.model: an OpenAI-compatible server's URL usually ends in /v1, Ollama's does not)"
		}
		fmt.Fprintf(out, "judge %s: NOT REACHABLE: %v%s\n", name, err, hint)
		return runtimeError(errors.New("the judge is not reachable"))
	}
	fmt.Fprintf(out, "judge %s: ok (answered in %s; %s)\n", name, took, count(n, "plain-English policy", "plain-English policies"))
	return nil
}

// strictBlock says how many of the policies that cannot be judged are
// strict, and so block.
func strictBlock(n int) string {
	switch n {
	case 0:
		return "none is strict, so none blocks"
	case 1:
		return "1 strict one blocks"
	}
	return fmt.Sprintf("%d strict ones block", n)
}
