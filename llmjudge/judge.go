// Package llmjudge decides Gatehouse's plain-English policies with a
// language model: it implements policy.Judge. One request per call puts
// every plain-English policy in scope to the model, with the call's data
// fenced off as untrusted; the answer is read strictly, answers are cached,
// concurrent identical calls share one request, and a circuit breaker
// keeps an outage from costing a timeout per call — an outage only, never
// a failure one call's content caused (see failure.go).
package llmjudge

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

var _ policy.Judge = (*Judge)(nil)

// ErrUnavailable is the failure of a judgment not attempted because the
// model failed repeatedly: the circuit breaker is open.
var ErrUnavailable = errors.New("the policy judge is unavailable: it failed repeatedly, and is asked again after a cool-down")

// The defaults of Options.
const (
	DefaultBreakerFailures = 3
	DefaultBreakerCooldown = 30 * time.Second
	// DefaultCacheSize bounds the number of cached answers.
	DefaultCacheSize = 10000
	// minRetryTime is the least time left in which a retry is tried.
	minRetryTime = 50 * time.Millisecond
	// maxJudgment bounds a judgment whose caller set no deadline.
	maxJudgment = time.Minute
)

// Options configure a Judge. The zero value judges with no cache, the
// default argument limit and the default breaker.
type Options struct {
	// CacheTTL is how long an answer is reused for an identical call;
	// zero means answers are not cached.
	CacheTTL time.Duration
	// CacheSize bounds the cache; zero means DefaultCacheSize.
	CacheSize int
	// MaxArgumentBytes is the budget of the argument values shown to the
	// model (see DefaultMaxArgumentBytes); zero means
	// DefaultMaxArgumentBytes.
	MaxArgumentBytes int
	// InternalDomains are the organisation's own domains ("example.com",
	// or "*.example.com" for any name under it): the prompt says of each
	// destination in the arguments whether it is one. Nil means none are
	// configured, and the prompt says so.
	InternalDomains []string
	// MaxContextTokens bounds a request's estimated tokens, prompt and
	// answer (see estimateTokens): a longer one is refused unsent, and
	// Ollama is asked for a window that holds the request. Zero means
	// DefaultMaxContextTokens.
	MaxContextTokens int
	// Confirm, when set, is the model asked for a second opinion on the
	// calls that act and are in scope of a strict policy (see confirm.go):
	// another model, or the judge's own again. Nil means none is asked.
	Confirm Model
	// BreakerFailures is how many judgments in a row that fail to reach
	// the model open the breaker; zero means DefaultBreakerFailures.
	BreakerFailures int
	// BreakerCooldown is how long an open breaker fails judgments at once
	// before one is let through to try the model again; zero means
	// DefaultBreakerCooldown.
	BreakerCooldown time.Duration
	// Logger receives breaker transitions; nil means slog.Default().
	Logger *slog.Logger
	// Now is the breaker's clock; nil means time.Now.
	Now func() time.Time
}

// Judge decides plain-English policies with one Model. It is safe for
// concurrent use.
type Judge struct {
	model   Model
	opts    Options
	log     *slog.Logger
	cache   *expirable.LRU[string, []policy.JudgeResult] // nil without a TTL
	flights singleflight.Group
	breaker breaker

	// canaries shares one canary among the judgments that want it;
	// canaryUp and canaryAt are its last outcome and when.
	canaries singleflight.Group
	canaryMu sync.Mutex
	canaryUp bool
	canaryAt time.Time
}

// New returns a Judge asking m. It does no I/O.
func New(m Model, opts Options) *Judge {
	if opts.MaxArgumentBytes <= 0 {
		opts.MaxArgumentBytes = DefaultMaxArgumentBytes
	}
	if opts.MaxContextTokens <= 0 {
		opts.MaxContextTokens = DefaultMaxContextTokens
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	j := &Judge{model: m, opts: opts, log: log}
	j.breaker = breaker{
		failures: orInt(opts.BreakerFailures, DefaultBreakerFailures),
		cooldown: orDuration(opts.BreakerCooldown, DefaultBreakerCooldown),
		now:      opts.Now,
	}
	if opts.CacheTTL > 0 {
		j.cache = expirable.NewLRU[string, []policy.JudgeResult](opts.CacheSize, nil, opts.CacheTTL)
	}
	return j
}

// Model is the model the judge asks.
func (j *Judge) Model() Model { return j.model }

// Judge implements policy.Judge. The answer is served from the cache when
// an identical call was judged within the TTL; otherwise one request is
// made, shared with identical calls that arrive meanwhile, and retried
// once when it failed and time remains. ctx bounds the whole judgment.
func (j *Judge) Judge(ctx context.Context, req policy.JudgeRequest) (policy.JudgeAnswer, error) {
	ans := policy.JudgeAnswer{Model: j.model.Name(), PromptVersion: PromptVersion}
	key, err := j.key(req)
	if err != nil {
		return ans, err
	}
	if cached, ok := j.lookup(key); ok {
		return cached, nil
	}
	// The shared request runs on its own context, bounded by this
	// caller's deadline: one caller going away must not fail the others.
	flight := j.flights.DoChan(key, func() (any, error) {
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(maxJudgment)
		}
		fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		out, err := j.ask(fctx, req)
		if err == nil && j.cache != nil {
			j.cache.Add(key, out.Results)
		}
		return out, err
	})
	select {
	case <-ctx.Done():
		return ans, ctx.Err()
	case res := <-flight:
		out, _ := res.Val.(policy.JudgeAnswer)
		out.Model, out.PromptVersion = ans.Model, ans.PromptVersion
		return out, res.Err
	}
}

var _ policy.CachingJudge = (*Judge)(nil)

// Cached returns the cached answer to req, if there is one.
func (j *Judge) Cached(req policy.JudgeRequest) (policy.JudgeAnswer, bool) {
	if j.cache == nil {
		return policy.JudgeAnswer{}, false
	}
	key, err := j.key(req)
	if err != nil {
		return policy.JudgeAnswer{}, false // Judge reports the error
	}
	return j.lookup(key)
}

// lookup returns the cached answer under key, if there is one.
func (j *Judge) lookup(key string) (policy.JudgeAnswer, bool) {
	if j.cache == nil {
		return policy.JudgeAnswer{}, false
	}
	results, ok := j.cache.Get(key)
	if !ok {
		return policy.JudgeAnswer{}, false
	}
	return policy.JudgeAnswer{Model: j.model.Name(), PromptVersion: PromptVersion, Results: results, Cached: true}, true
}

// Healthy reports whether no outage of the provider is known (the
// breaker is closed and the last judgment met none): a judgment that runs
// out of time now is taken as slowed by what its call holds — a prompt
// made to take long — rather than by an outage (policy.HealthReporter).
func (j *Judge) Healthy() bool { return j.breaker.healthy() }

// ask asks the model, through the breaker, retrying once. A failure is
// classified (see classify): one the provider answered with, or one that
// the canary shows was not an outage, is this call's (a *CallError) and
// leaves the breaker be; only an outage counts against it.
func (j *Judge) ask(ctx context.Context, req policy.JudgeRequest) (policy.JudgeAnswer, error) {
	var ans policy.JudgeAnswer
	probe, err := j.breaker.allow()
	if err != nil {
		return ans, err
	}
	start := time.Now()
	var second chan secondOpinion
	if j.opts.Confirm != nil && wantsConfirm(req) {
		// Asked at the same time as the first: it costs the slower of
		// the two, not their sum.
		second = make(chan secondOpinion, 1)
		go func() {
			a, err := j.attemptWith(ctx, j.opts.Confirm, req)
			second <- secondOpinion{a.Results, err}
		}()
	}
	ans, err = j.attempt(ctx, req)
	if err != nil && !refused(err) && retry(ctx, time.Since(start)) {
		ans, err = j.attempt(ctx, req)
	}
	if second != nil && err == nil && !allViolated(req, ans.Results) {
		o := <-second
		ans.Results, err = merge(req, ans.Results, o.results, j.opts.Confirm.Name(), o.err)
	}
	outage := classify(err) == doubtful && !j.providerUp(ctx, start)
	if err != nil && !outage {
		err = &CallError{Err: err}
	}
	if opened := j.breaker.done(probe, outage, err); opened {
		j.log.Warn("the policy judge failed repeatedly: judgments fail at once until the cool-down ends",
			"model", j.model.Name(), "cooldown", j.breaker.cooldown, "err", err)
	}
	return ans, err
}

// secondOpinion is the outcome of asking Options.Confirm.
type secondOpinion struct {
	results []policy.JudgeResult
	err     error
}

// refused reports whether err is an HTTP error about the request itself,
// or a request refused unsent, which asking again would only repeat.
func refused(err error) bool {
	var se *StatusError
	var oe *OversizeError
	return errors.As(err, &se) && se.class() == answered || errors.As(err, &oe)
}

// canaryFresh is how long the canary's outcome stands for the judgments
// that fail without an answer: one canary serves a burst of them.
const canaryFresh = 2 * time.Second

// minCanaryTime is the least time the canary is given.
const minCanaryTime = time.Second

// providerUp reports whether the provider answers the canary: a small
// fixed judgment whose content no client controls (Check's). It is given
// the time the failed judgment had (from start to its deadline). One
// canary is asked at a time, and its outcome stands for canaryFresh.
func (j *Judge) providerUp(ctx context.Context, start time.Time) bool {
	budget := maxJudgment
	if d, ok := ctx.Deadline(); ok {
		budget = max(d.Sub(start), minCanaryTime)
	}
	up, _, _ := j.canaries.Do("canary", func() (any, error) {
		j.canaryMu.Lock()
		last, at := j.canaryUp, j.canaryAt
		j.canaryMu.Unlock()
		if now := j.opts.Now(); !at.IsZero() && now.Sub(at) < canaryFresh && !now.Before(at) {
			return last, nil
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
		defer cancel()
		_, err := j.attempt(cctx, canary)
		up := classify(err) == answered
		j.canaryMu.Lock()
		j.canaryUp, j.canaryAt = up, j.opts.Now()
		j.canaryMu.Unlock()
		return up, nil
	})
	return up.(bool)
}

// attempt is one request to the judge's model and its strict reading.
func (j *Judge) attempt(ctx context.Context, req policy.JudgeRequest) (policy.JudgeAnswer, error) {
	return j.attemptWith(ctx, j.model, req)
}

// attemptWith is one request to m and its strict reading.
func (j *Judge) attemptWith(ctx context.Context, m Model, req policy.JudgeRequest) (policy.JudgeAnswer, error) {
	var ans policy.JudgeAnswer
	p, err := buildPrompt(req, j.promptOptions())
	if err != nil {
		return ans, err
	}
	ex := &policy.JudgeExchange{Model: m.Name(), System: p.system, User: p.user}
	ans.Exchange = ex
	q, err := j.query(p, req.Policies)
	ex.Schema = string(q.Schema)
	if err != nil {
		return ans, err
	}
	text, err := m.Complete(ctx, q)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // an answer after the deadline is not trusted
	}
	if err != nil {
		return ans, err
	}
	ex.Answer = text
	ans.Results, err = parseAnswer(text, req.Policies)
	if err == nil {
		ans.Results = holdUnseen(ans.Results, req.Policies, p.unseen)
	}
	return ans, err
}

// query is the request for prompt p, judging policies: the answer's
// schema, its bound, and the context window, or an *OversizeError when
// the request would not fit in judge.max_context_tokens.
func (j *Judge) query(p prompt, policies []policy.JudgedPolicy) (Query, error) {
	ids := make([]string, len(policies))
	for i, jp := range policies {
		ids[i] = jp.ID
	}
	q := Query{System: p.system, User: p.user, Schema: answerSchema(ids), MaxTokens: answerTokens(len(ids))}
	est, limit := estimateTokens(q), j.opts.MaxContextTokens
	if est > limit {
		return q, &OversizeError{Tokens: est, Limit: limit}
	}
	q.ContextTokens = contextWindow(est, limit)
	return q, nil
}

// retry reports whether a failed attempt that took took is worth another:
// not when the judgment's time is up, nor when what remains is less than
// the first attempt took.
func retry(ctx context.Context, took time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		return true
	}
	left := time.Until(deadline)
	return left >= minRetryTime && left >= took
}

// key identifies a judgment for the cache and for sharing one request:
// everything the model is shown except the random delimiter.
func (j *Judge) key(req policy.JudgeRequest) (string, error) {
	args, err := req.CanonicalArgs()
	if err != nil {
		return "", fmt.Errorf("read the arguments: %w", err)
	}
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(j.model.Name())
	if j.opts.Confirm != nil {
		field("confirmed by " + j.opts.Confirm.Name())
	}
	field(PromptVersion)
	field(strconv.Itoa(j.opts.MaxArgumentBytes))
	field(strconv.Itoa(j.opts.MaxContextTokens))
	field(req.Version)
	for _, p := range req.Policies {
		field(p.ID)
		field(p.Rules)
		field(strconv.FormatBool(p.Strict)) // holdUnseen reads it
	}
	c := req.Call
	for _, s := range []string{c.CallMethod(), c.Workspace, c.User, c.Client, c.Upstream, c.Tool, c.Exposed, c.Description, args} {
		field(s)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// breaker opens after a run of outages (failures to get an answer that
// the canary confirms; never a failure one call's content caused), fails
// judgments at once while open, and after the cool-down lets one through
// as a probe: unless it meets an outage it closes the breaker; if it does,
// the breaker opens again.
type breaker struct {
	failures int
	cooldown time.Duration
	now      func() time.Time

	mu       sync.Mutex
	run      int       // outages in a row
	openTill time.Time // zero when closed
	probing  bool
	lastErr  string
}

// healthy reports whether no outage is known: the breaker is closed and
// the last judgment met none. A gateway that has not heard from its
// provider for a while (or ever) does not know of an outage either: a
// timeout is then taken as the call's own, so that a call cannot make
// itself fail open by being slow when the gateway is quiet. An outage is
// known once the canary fails.
func (b *breaker) healthy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openTill.IsZero() && b.run == 0
}

// allow reports whether a judgment may ask the model, and whether it is
// the probe of a breaker that was open.
func (b *breaker) allow() (probe bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openTill.IsZero() {
		return false, nil
	}
	if b.probing || b.now().Before(b.openTill) {
		return false, fmt.Errorf("%w (last failure: %s)", ErrUnavailable, b.lastErr)
	}
	b.probing = true
	return true, nil
}

// done records the outcome of a judgment that asked the model — an
// outage, with err, or not — and reports whether it opened the breaker.
func (b *breaker) done(probe, outage bool, err error) (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	if !outage {
		b.run, b.openTill = 0, time.Time{}
		return false
	}
	b.run++
	b.lastErr = err.Error()
	if probe || (b.openTill.IsZero() && b.run >= b.failures) {
		b.openTill = b.now().Add(b.cooldown)
		return true
	}
	return false
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orDuration(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}
