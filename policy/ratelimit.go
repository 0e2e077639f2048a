package policy

import (
	"sync"
	"time"
)

// Limiter counts the calls of rate_limit policies over sliding windows. It
// is safe for concurrent use. An engine built for a reloaded config keeps
// its predecessor's Limiter, so a reload does not reset a count: a limit
// is known by what it counts (its scope, conditions and key), not by its
// name or numbers, and a changed limit keeps the calls counted so far.
type Limiter struct {
	mu      sync.Mutex
	windows map[string]*window
	sweeps  int
}

// NewLimiter returns an empty Limiter.
func NewLimiter() *Limiter { return &Limiter{windows: map[string]*window{}} }

// window is the times of the last calls counted against one key, oldest
// first, in a ring of at most limit entries.
type window struct {
	times []time.Time
	head  int // index of the oldest entry when full
	per   time.Duration
}

// take counts a call at now against key if fewer than limit calls were
// counted within per before it. Otherwise it counts nothing and says how
// long until a call would be allowed. With dryRun it only looks.
func (l *Limiter) take(key string, limit int, per time.Duration, now time.Time, dryRun bool) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[key]
	switch {
	case w == nil:
		w = &window{times: make([]time.Time, 0, limit), per: per}
		if !dryRun {
			l.windows[key] = w
			l.sweep(now)
		}
	case cap(w.times) != limit || w.per != per:
		// The limit changed on reload: the calls counted so far still
		// count, against the new numbers.
		w = w.resized(limit, per, now)
		if !dryRun {
			l.windows[key] = w
		}
	}
	if len(w.times) < limit {
		if !dryRun {
			w.times = append(w.times, now)
		}
		return true, 0
	}
	oldest := w.times[w.head]
	if wait := oldest.Add(per).Sub(now); wait > 0 {
		return false, wait
	}
	if !dryRun {
		w.times[w.head] = now
		w.head = (w.head + 1) % limit
	}
	return true, 0
}

// resized is w for a limit of limit calls per per: the calls of w within
// per before now, the newest limit of them, oldest first.
func (w *window) resized(limit int, per time.Duration, now time.Time) *window {
	var recent []time.Time
	for i := range w.times {
		if t := w.times[(w.head+i)%len(w.times)]; now.Sub(t) < per {
			recent = append(recent, t)
		}
	}
	if extra := len(recent) - limit; extra > 0 {
		recent = recent[extra:]
	}
	n := &window{times: make([]time.Time, 0, limit), per: per} // its capacity is the limit
	n.times = append(n.times, recent...)
	return n
}

// sweep drops, every 1024 new keys, the windows whose last call is older
// than their period, so keys of users long gone do not pile up.
func (l *Limiter) sweep(now time.Time) {
	l.sweeps++
	if l.sweeps%1024 != 0 {
		return
	}
	for k, w := range l.windows {
		if len(w.times) == 0 {
			delete(l.windows, k)
			continue
		}
		newest := w.times[(w.head+len(w.times)-1)%len(w.times)]
		if now.Sub(newest) >= w.per {
			delete(l.windows, k)
		}
	}
}
