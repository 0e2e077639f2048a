package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/gatehouse-mcp/gatehouse/audit"
	"github.com/gatehouse-mcp/gatehouse/config"
	"github.com/gatehouse-mcp/gatehouse/enforce"
	"github.com/gatehouse-mcp/gatehouse/gateway"
	"github.com/gatehouse-mcp/gatehouse/policy"
	"github.com/gatehouse-mcp/gatehouse/workspace"
)

// reloadDebounce gathers the several events an editor's save makes into one
// reload.
const reloadDebounce = 250 * time.Millisecond

// reloader reloads the config when its file (or a workspaces_dir file)
// changes, and on SIGHUP: it loads a fresh Config, validates it, and only
// then applies it to the gateway. An invalid config is rejected with a log
// line and the running one keeps serving.
type reloader struct {
	path    string
	log     *slog.Logger
	gateway *gateway.Gateway
	only    string // over stdio: the one workspace served
	// enforcer is the policy enforcement applied last.
	enforcer *enforce.Enforcer
	// verdicts is the verdict log, kept across reloads.
	verdicts *audit.Log
	// judges keeps the judge across reloads that do not change it.
	judges *judges
	// approvals keeps the out-of-band approvals; nil when unavailable.
	approvals policy.Approvals

	cancel context.CancelFunc
	wg     sync.WaitGroup
	last   [32]byte // digest of the config last applied
	// applied is the config last applied: its reload mode says whether
	// file events reload, its policies are what a reload's changes are
	// told against. Only the reloader's goroutine uses it after start.
	applied *config.Config
	// atStart are the settings the gateway read when it started, which a
	// reload does not change (startOnly).
	atStart map[string]string
	// listenFromConfig says the HTTP address is the config's listen (a
	// bare --http), not one given on the command line.
	listenFromConfig bool
}

func (r *reloader) start(ctx context.Context, cfg *config.Config) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.last, _ = digest(cfg)
	r.atStart = startOnly(cfg)
	r.applied = cfg
	sigs := reloadSignals()
	if cfg.Reload == config.ReloadSignal {
		if len(sigs) == 0 {
			r.log.Warn("reload: signal: this platform has no SIGHUP, so the config is never reloaded: restart the gateway to apply a change, or set reload: watch", "file", cfg.File)
		} else {
			r.log.Info("config reloads on SIGHUP only (reload: signal): changes to its files are not watched", "file", cfg.File)
		}
	}
	hup := make(chan os.Signal, 1)
	if len(sigs) > 0 { // Notify with no signal would relay them all
		signal.Notify(hup, sigs...)
	}
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		r.log.Warn("config file watching unavailable; reload with SIGHUP, or restart the gateway where there is none", "err", err)
	} else {
		r.watch(watcher, cfg)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer signal.Stop(hup)
		if watcher != nil {
			defer watcher.Close()
		}
		var events chan fsnotify.Event
		var errs chan error
		if watcher != nil {
			events, errs = watcher.Events, watcher.Errors
		}
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload(watcher, true)
			case ev := <-events:
				if r.relevant(ev) {
					timer = time.After(reloadDebounce)
				}
			case err := <-errs:
				r.log.Warn("config file watching", "err", err)
			case <-timer:
				timer = nil
				r.reload(watcher, false)
			}
		}
	}()
}

func (r *reloader) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// watch watches the directories of the config file and of workspaces_dir:
// editors replace files by renaming, which a watch on the file would miss.
// With reload: signal it watches nothing.
func (r *reloader) watch(w *fsnotify.Watcher, cfg *config.Config) {
	if cfg.Reload == config.ReloadSignal {
		for _, dir := range w.WatchList() {
			_ = w.Remove(dir)
		}
		return
	}
	for _, dir := range []string{filepath.Dir(cfg.File), cfg.WorkspacesDir} {
		if dir == "" {
			continue
		}
		if err := w.Add(dir); err != nil {
			r.log.Warn("watch config directory", "dir", dir, "err", err)
		}
	}
}

func (r *reloader) relevant(ev fsnotify.Event) bool {
	if r.applied != nil && r.applied.Reload == config.ReloadSignal {
		return false
	}
	if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) == 0 {
		return false
	}
	if filepath.Clean(ev.Name) == filepath.Clean(r.path) {
		return true
	}
	ext := filepath.Ext(ev.Name)
	return ext == ".yaml" || ext == ".yml"
}

// reload loads the config afresh and applies it if it is valid and
// different from what runs.
func (r *reloader) reload(w *fsnotify.Watcher, forced bool) {
	cfg, err := config.Load(r.path)
	if err != nil {
		r.log.Error("config reload rejected; the previous config keeps serving", "file", r.path, "err", err)
		return
	}
	d, ok := digest(cfg)
	if ok && d == r.last && !forced {
		return
	}
	enforcer, err := newEnforcer(cfg, r.log, r.enforcer, r.verdicts, r.judges, r.approvals)
	if err != nil {
		r.log.Error("config reload rejected; the previous config keeps serving", "file", r.path, "err", err)
		return
	}
	specs := cfg.WorkspaceSpecs()
	if r.only != "" {
		specs = keepOnly(specs, r.only)
		if len(specs) == 0 {
			r.log.Error("config reload: the workspace served over stdio is gone from the config; it now serves nothing", "workspace", r.only)
			specs = []workspace.Spec{{Name: r.only}}
		}
	}
	// The new policies first: a tool the new config adds must never be
	// served under the old ones.
	previous := r.enforcer
	r.gateway.SetEnforcer(enforcer)
	r.enforcer = enforcer
	r.warnPolicyChange(previous, enforcer, cfg)
	r.applied = cfg
	r.warnStartOnly(cfg)
	r.gateway.Apply(specs)
	r.applyAudit(cfg)
	r.last = d
	if w != nil {
		r.watch(w, cfg) // workspaces_dir may have moved
	}
	r.log.Info("config reloaded", "file", r.path, "workspaces", len(specs), "policy_version", enforcer.Engine.Version())
	warnJudge(r.log, cfg, r.judges.judge)
}

// startOnly are the settings of cfg that the gateway reads once, when it
// starts (its listening address and the bounds of its faces), by key.
func startOnly(cfg *config.Config) map[string]string {
	return map[string]string{
		"listen":                     cfg.Listen,
		"http.allowed_origins":       fmt.Sprint(cfg.HTTP.AllowedOrigins),
		"http.max_request_bytes":     fmt.Sprint(cfg.HTTP.MaxRequestBytes),
		"http.body_timeout":          time.Duration(cfg.HTTP.BodyTimeout).String(),
		"http.max_sessions":          fmt.Sprint(cfg.HTTP.MaxSessions),
		"http.session_idle_timeout":  time.Duration(cfg.HTTP.SessionIdleTimeout).String(),
		"http.session_queue":         fmt.Sprint(cfg.HTTP.SessionQueue),
		"stdio.max_request_bytes":    fmt.Sprint(cfg.Stdio.MaxRequestBytes),
		"limits.max_calls_in_flight": fmt.Sprint(cfg.Limits.MaxCallsInFlight),
	}
}

// warnStartOnly says which settings a reloaded config changes that only a
// restart applies, rather than let them look applied.
func (r *reloader) warnStartOnly(cfg *config.Config) {
	now := startOnly(cfg)
	for _, k := range slices.Sorted(maps.Keys(now)) {
		if !r.reads(k) {
			continue
		}
		if was := r.atStart[k]; now[k] != was {
			r.log.Warn("config reload: "+k+" changed; the gateway keeps the value it started with until it is restarted",
				"in_force", was, "configured", now[k])
		}
	}
}

// reads says whether this gateway read the start-only setting k: over
// stdio none of HTTP's, over HTTP none of stdio's, and listen only when
// the address was not given on the command line.
func (r *reloader) reads(k string) bool {
	switch {
	case r.only != "": // stdio
		return k != "listen" && !strings.HasPrefix(k, "http.")
	case k == "listen":
		return r.listenFromConfig
	}
	return !strings.HasPrefix(k, "stdio.")
}

// reloadFlushTimeout bounds how long a reload waits for the verdict log to
// write its queue: a log that cannot be written must not hold reloads up.
const reloadFlushTimeout = 5 * time.Second

// applyAudit applies the audit settings of a reloaded config, and writes
// the records queued under the old one.
func (r *reloader) applyAudit(cfg *config.Config) {
	if cfg.Audit.Database != r.verdicts.File() {
		r.log.Warn("config reload: audit.database changed; the gateway keeps writing to the log it opened until it is restarted",
			"open", r.verdicts.File(), "configured", cfg.Audit.Database)
	}
	r.verdicts.SetOptions(auditOptions(cfg))
	ctx, cancel := context.WithTimeout(context.Background(), reloadFlushTimeout)
	defer cancel()
	if err := r.verdicts.Flush(ctx); err != nil {
		r.log.Error("config reload: the verdict log could not write the records queued", "err", err)
	}
}

func keepOnly(specs []workspace.Spec, name string) []workspace.Spec {
	for _, s := range specs {
		if s.Name == name {
			return []workspace.Spec{s}
		}
	}
	return nil
}

// digest identifies a config's content, so that the several events of one
// save apply it once. ok is false when the config cannot be encoded: it is
// then applied as changed rather than skipped.
func digest(cfg *config.Config) (sum [32]byte, ok bool) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return sum, false
	}
	return sha256.Sum256(b), true
}

// warnPolicyChange logs, at WARN, a reload that changed the policies in
// force, and which: a change an operator did not make is an attack.
func (r *reloader) warnPolicyChange(previous, next *enforce.Enforcer, cfg *config.Config) {
	if previous == nil || previous.Engine.Version() == next.Engine.Version() {
		return
	}
	added, removed, changed := policyChanges(r.applied, cfg)
	r.log.Warn("policy version changed: the policies in force are not those of before",
		"file", r.path, "from", previous.Engine.Version(), "to", next.Engine.Version(),
		"added", added, "removed", removed, "changed", changed)
}

// policyChanges compares the policies of two configs, named
// "global:NAME" and "workspace WS:NAME".
func policyChanges(old, cfg *config.Config) (added, removed, changed []string) {
	before, after := policiesOf(old), policiesOf(cfg)
	for name, p := range after {
		q, ok := before[name]
		switch {
		case !ok:
			added = append(added, name)
		case q != p:
			changed = append(changed, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			removed = append(removed, name)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(changed)
	return added, removed, changed
}

// policiesOf maps each policy of cfg, by layer and name, to its content
// (where it is defined left out: a policy that only moved is the same).
func policiesOf(cfg *config.Config) map[string]string {
	out := map[string]string{}
	if cfg == nil {
		return out
	}
	add := func(layer string, ps []config.Policy) {
		for _, p := range ps {
			p.File, p.Line = "", 0
			b, err := json.Marshal(p)
			if err != nil {
				b = []byte(err.Error())
			}
			out[layer+":"+p.Name] = string(b)
		}
	}
	add("global", cfg.Policies)
	for _, ws := range cfg.Workspaces {
		add("workspace "+ws.Name, ws.Policies)
	}
	return out
}
