package gateway

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Over streamable HTTP, mcp-go queues the notifications the gateway sends
// a client and a forwarder goroutine writes them to the client's stream;
// when a call's handler returns, mcp-go writes the result, and a
// notification the forwarder had taken off the queue but not yet written
// is dropped (measured: half the progress an upstream sent just before its
// result). So a call's result waits, at the end of toolHandler, until
// every notification the gateway queued for its client so far is on the
// wire: each HTTP request's writer counts the notifications written, and
// the gateway counts those it queues, per session (2025-11-25) or per
// request (2026-07-28, and requests before a session exists).

// deliveryWait bounds how long a result waits for its notifications (a
// healthy stream writes one in microseconds): a client that does not read
// its streams must not hold results for long.
const deliveryWait = 250 * time.Millisecond

// delivery counts one client's notifications: queued with mcp-go by the
// gateway, and written to one of the client's streams.
type delivery struct {
	mu      sync.Mutex
	queued  int64
	written int64
	change  chan struct{} // closed and replaced when written grows

	q       noteQueue    // what waits for the session's streams (queue.go)
	lastUse atomic.Int64 // unix nanoseconds: the session's last request or write
}

func newDelivery() *delivery {
	d := &delivery{change: make(chan struct{})}
	d.lastUse.Store(time.Now().UnixNano())
	return d
}

// sent notes a notification queued with mcp-go.
func (d *delivery) sent() {
	d.mu.Lock()
	d.queued++
	d.mu.Unlock()
}

func (d *delivery) wrote() {
	d.mu.Lock()
	d.written++
	close(d.change)
	d.change = make(chan struct{})
	d.mu.Unlock()
}

// flush waits until every notification queued so far has been written, at
// most deliveryWait, or until ctx ends; it reports whether they were. When
// they were not (mcp-go lost one at the end of another request, or the
// client does not read), the count is settled as if they had been, so that
// one loss does not hold every later result.
func (d *delivery) flush(ctx context.Context) bool {
	d.mu.Lock()
	target := d.queued
	d.mu.Unlock()
	var timeout <-chan time.Time
	for {
		d.mu.Lock()
		done, change := d.written >= target, d.change
		d.mu.Unlock()
		if done {
			return true
		}
		if timeout == nil {
			t := time.NewTimer(deliveryWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-change:
		case <-timeout:
			d.settle(target)
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// settle counts the notifications queued up to target as written.
func (d *delivery) settle(target int64) {
	d.mu.Lock()
	d.written = max(d.written, target)
	d.mu.Unlock()
}

type deliveryKey struct{}

// deliveryOf is the delivery of the client whose request ctx is, or nil
// (stdio has none: one writer, in order).
func deliveryOf(ctx context.Context) *delivery {
	d, _ := ctx.Value(deliveryKey{}).(*delivery)
	return d
}

// counted are the notifications the gateway queues itself, as mcp-go
// writes them to a stream: only these count as written (mcp-go's own, such
// as list_changed, are not queued by the gateway).
var counted = [][]byte{
	[]byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"` + string(mcp.MethodNotificationProgress) + `"`),
	[]byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"` + string(mcp.MethodNotificationMessage) + `"`),
	[]byte(`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"` + string(mcp.MethodNotificationResourceUpdated) + `"`),
}

// deliveryWriter counts the gateway's notifications mcp-go writes to one
// HTTP response (mcp-go writes each SSE event with one Write).
type deliveryWriter struct {
	http.ResponseWriter
	d *delivery
}

func (w deliveryWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if err == nil && bytes.HasPrefix(p, []byte("event: message\n")) {
		w.d.lastUse.Store(time.Now().UnixNano())
		for _, c := range counted {
			if bytes.HasPrefix(p, c) {
				w.d.wrote()
				break
			}
		}
		w.d.pump() // the stream took one: the next may go
	}
	return n, err
}

// Flush passes a flush on: mcp-go streams only to a writer that can.
func (w deliveryWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w deliveryWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// releaseOnWrite calls release when the response is first written to.
type releaseOnWrite struct {
	http.ResponseWriter
	release func()
}

func (w releaseOnWrite) WriteHeader(code int) {
	w.release()
	w.ResponseWriter.WriteHeader(code)
}

func (w releaseOnWrite) Write(p []byte) (int, error) {
	w.release()
	return w.ResponseWriter.Write(p)
}

func (w releaseOnWrite) Flush() {
	w.release()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w releaseOnWrite) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveHTTP serves one HTTP request of the workspace's streamable face,
// with the delivery of its client — its session's, when it names one of
// this workspace's sessions, else its own — in its context and its writer.
//
// A request that would open a session beyond http.max_sessions is refused
// (admitSession); one of a known session carries the notifications that
// wait for it while it is open (queue.go).
func (s *wsServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	admitted, untilEnd, ok := s.admitSession(w, r)
	if !ok {
		return
	}
	if admitted != nil {
		defer admitted()
		if !untilEnd {
			// mcp-go has registered the session it opens before it
			// writes the response's first byte: from then on the session
			// counts, and the reservation must not count it twice — a GET
			// stream lasts.
			w = releaseOnWrite{w, admitted}
		}
	}
	var d *delivery
	if id := r.Header.Get(server.HeaderKeySessionID); id != "" {
		d = s.sessions.delivery(id)
	}
	if d == nil {
		d = newDelivery()
	} else {
		d.lastUse.Store(time.Now().UnixNano())
		defer d.open()()
	}
	s.http.ServeHTTP(deliveryWriter{w, d}, r.WithContext(context.WithValue(r.Context(), deliveryKey{}, d)))
}
