package gateway

import (
	"context"
	"sync"
)

// callTracker counts the tool calls in flight, so that shutdown can stop
// taking new calls and wait for the running ones.
type callTracker struct {
	mu       sync.Mutex
	draining bool
	wg       sync.WaitGroup
}

func (t *callTracker) begin() (done func(), ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return nil, false
	}
	t.wg.Add(1)
	return t.wg.Done, true
}

// drain refuses new calls and waits for running ones, or for ctx.
func (t *callTracker) drain(ctx context.Context) error {
	t.mu.Lock()
	t.draining = true
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
