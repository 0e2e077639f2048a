package gateway

import (
	"sync"
	"time"
)

// workerIdle is how long a worker waits for another call before it exits.
const workerIdle = 10 * time.Second

// workers runs upstream calls on goroutines that ran calls before, so that
// a call does not pay for growing a fresh goroutine's stack (measured: 13 %
// of the gateway's CPU per call over stdio; see BENCHMARKS.md). A worker
// exits after workerIdle without work, and all exit on stop.
type workers struct {
	work     chan func()
	quit     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newWorkers() *workers {
	return &workers{work: make(chan func()), quit: make(chan struct{})}
}

// run hands f to an idle worker, or starts one.
func (w *workers) run(f func()) {
	select {
	case w.work <- f:
	default:
		w.wg.Add(1)
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	defer w.wg.Done()
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		t.Reset(workerIdle)
		select {
		case f = <-w.work:
		case <-t.C:
			return
		case <-w.quit:
			return
		}
	}
}

// stop makes idle workers exit and waits for the busy ones to finish their
// call: stop the upstreams first, so that no call runs on.
func (w *workers) stop() {
	w.stopOnce.Do(func() { close(w.quit) })
	w.wg.Wait()
}
