package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Backoff between connection attempts: it starts at minBackoff, doubles on
// each failure up to maxBackoff, and starts over once a connection has been
// healthy for stableAfter.
const (
	minBackoff  = 200 * time.Millisecond
	maxBackoff  = 30 * time.Second
	stableAfter = 30 * time.Second
)

// httpPoolSize is how many idle connections an HTTP upstream's pool keeps.
const httpPoolSize = 256

// ErrClosed is returned by calls on a Conn that has been closed.
var ErrClosed = errors.New("upstream connection closed")

// UnavailableError is returned when the upstream cannot take a request
// because it is not connected (it is starting, or restarting after a
// failure).
type UnavailableError struct {
	Upstream string
	Err      error // why the last connection attempt or connection failed
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("upstream %q is not connected", e.Upstream)
	}
	return fmt.Sprintf("upstream %q is not connected: %v", e.Upstream, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Options are the hooks and identity of a Conn. Every field may be zero.
type Options struct {
	// Logger receives the connection's log; nil means slog.Default().
	Logger *slog.Logger
	// ClientInfo is how Gatehouse introduces itself to the upstream.
	ClientInfo mcp.Implementation
	// OnChange, if not nil, is called after the Conn's catalog or state
	// changed: connected, lost, or refreshed after a list_changed
	// notification. It runs on the Conn's own goroutine.
	OnChange func()
	// MaxMessageBytes bounds one message from the upstream (a line of a
	// stdio child, a response body or an SSE line over HTTP); zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int
	// OnNotification, if not nil, receives the upstream's notifications
	// other than progress and list_changed (which the Conn handles). It runs
	// on the transport's reader goroutine and must not call into the Conn.
	OnNotification func(mcp.JSONRPCNotification)
}

// Conn is a supervised connection to one upstream MCP server. It connects in
// the background, reconnects with backoff when the connection or the child
// process is lost, and keeps the upstream's catalog.
type Conn struct {
	spec Spec
	opts Options
	log  *slog.Logger

	mu      sync.RWMutex
	sess    *session // nil while not connected
	catalog *Catalog // nil until the first successful connection
	status  Status

	refresh   chan struct{} // a list_changed arrived
	ready     chan struct{} // closed after the first connection attempt
	readyOnce sync.Once

	active atomic.Int64 // tool calls in flight, for Retire

	progressSeq atomic.Uint64
	progress    sync.Map // upstream progress token (string) → func(mcp.ProgressNotificationParams)
	inflight    inflight

	lifetime context.Context // from Start until Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// State is where a Conn is in its life.
type State int

// The states of a Conn.
const (
	StateConnecting State = iota // before the first attempt finished
	StateReady                   // connected and listed
	StateDown                    // the last attempt failed or the connection was lost; retrying
	StateClosed                  // Close was called
)

func (s State) String() string {
	return [...]string{"connecting", "ready", "down", "closed"}[s]
}

// Status is a snapshot of a Conn's health.
type Status struct {
	State    State
	Err      error     // the last failure, when down
	Since    time.Time // when State was entered
	Restarts int       // successful reconnections after the first connection
}

// New returns a Conn for spec. It does no I/O: Start does.
func New(spec Spec, opts Options) *Conn {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.ClientInfo.Name == "" {
		opts.ClientInfo = mcp.Implementation{Name: "gatehouse", Version: "dev"}
	}
	return &Conn{
		spec:    spec,
		opts:    opts,
		log:     logger.With("upstream", spec.Name),
		refresh: make(chan struct{}, 1),
		ready:   make(chan struct{}),
		status:  Status{State: StateConnecting, Since: time.Now()},
	}
}

// Spec returns the Spec the Conn was made from.
func (c *Conn) Spec() Spec { return c.spec }

// Name returns the upstream's name.
func (c *Conn) Name() string { return c.spec.Name }

// Start begins connecting in the background and returns at once. The Conn
// keeps reconnecting until Close.
func (c *Conn) Start(ctx context.Context) {
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.lifetime = ctx
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.supervise(ctx)
	}()
}

// WaitReady blocks until the first connection attempt has finished (either
// way) or ctx ends.
func (c *Conn) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the connection and its child process, and waits for the
// Conn's goroutines. It is safe to call more than once and without Start.
func (c *Conn) Close() error {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	c.mu.Lock()
	c.status = Status{State: StateClosed, Since: time.Now(), Restarts: c.status.Restarts}
	c.mu.Unlock()
	c.readyOnce.Do(func() { close(c.ready) })
	return nil
}

// Retire closes the Conn once its tool calls in flight have finished, or
// after grace: how a reload replaces an upstream without cutting off the
// calls it is running.
func (c *Conn) Retire(grace time.Duration) error {
	deadline := time.Now().Add(grace)
	for c.active.Load() > 0 {
		if time.Now().After(deadline) {
			c.log.Warn("closing a retired upstream with calls still running", "grace", grace)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c.Close()
}

// Status returns a snapshot of the Conn's health.
func (c *Conn) Status() Status {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.status
}

// Catalog returns what the upstream offered when last listed, or nil if it
// was never reached. The result is shared: do not modify it.
func (c *Conn) Catalog() *Catalog {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.catalog
}

// supervise connects, waits for the connection to be lost or the Conn to be
// closed, and reconnects with backoff.
func (c *Conn) supervise(ctx context.Context) {
	backoff := minBackoff
	first := true
	for {
		sess, cat, err := c.connect(ctx)
		if ctx.Err() != nil {
			if sess != nil {
				sess.close()
			}
			return
		}
		if err != nil {
			c.setDown(err)
			c.log.Warn("upstream unavailable", "err", err, "retry_in", backoff)
		} else {
			c.setReady(sess, cat, first)
			first = false
			started := time.Now()
			err = c.serve(ctx, sess)
			if ctx.Err() != nil {
				c.detach(sess)
				sess.close()
				return
			}
			c.detach(sess)
			sess.close()
			c.setDown(err)
			if time.Since(started) > stableAfter {
				backoff = minBackoff
			}
			c.log.Warn("upstream connection lost", "err", err, "retry_in", backoff)
		}
		c.changed()
		c.readyOnce.Do(func() { close(c.ready) })
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// serve runs while a session is healthy: it refreshes the catalog when the
// upstream says its lists changed, and returns why the session ended.
func (c *Conn) serve(ctx context.Context, sess *session) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sess.lost:
			return sess.lostErr()
		case <-c.refresh:
			cat, err := c.list(ctx, sess)
			if err != nil {
				if sess.isLost() {
					return sess.lostErr()
				}
				c.log.Warn("refresh catalog", "err", err)
				continue
			}
			c.mu.Lock()
			c.catalog = cat
			c.mu.Unlock()
			c.changed()
		}
	}
}

func (c *Conn) setReady(sess *session, cat *Catalog, first bool) {
	c.mu.Lock()
	c.sess = sess
	c.catalog = cat
	restarts := c.status.Restarts
	if !first {
		restarts++
	}
	c.status = Status{State: StateReady, Since: time.Now(), Restarts: restarts}
	c.mu.Unlock()
	c.log.Info("upstream connected", "tools", len(cat.Tools), "protocol", sess.client.ProtocolVersion())
	c.changed()
	c.readyOnce.Do(func() { close(c.ready) }) // after changed: the catalog is in place
}

func (c *Conn) setDown(err error) {
	c.mu.Lock()
	c.status = Status{State: StateDown, Err: err, Since: time.Now(), Restarts: c.status.Restarts}
	c.mu.Unlock()
}

func (c *Conn) detach(sess *session) {
	c.mu.Lock()
	if c.sess == sess {
		c.sess = nil
	}
	c.mu.Unlock()
}

func (c *Conn) changed() {
	if c.opts.OnChange != nil {
		c.opts.OnChange()
	}
}

// current returns the live session, or an UnavailableError.
func (c *Conn) current() (*session, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.status.State == StateClosed {
		return nil, ErrClosed
	}
	if c.sess == nil || c.sess.isLost() {
		return nil, &UnavailableError{Upstream: c.spec.Name, Err: c.status.Err}
	}
	return c.sess, nil
}

// session is one live connection: an initialized mcp-go client, and for a
// stdio upstream the child process behind it.
type session struct {
	client *client.Client
	child  *child // nil for HTTP and SSE

	serverInfo   mcp.Implementation
	instructions string

	listenMu   sync.Mutex
	stopListen func()        // closes the subscriptions/listen stream (2026-07-28)
	ackMu      sync.Mutex    // guards ack
	ack        chan struct{} // closed when the server acknowledges the stream
	idle       func()        // closes the HTTP pool's idle connections; nil for stdio

	lost     chan struct{}
	lostOnce sync.Once
	lostMu   sync.Mutex
	lostWhy  error
	stopOnce sync.Once
}

func newSession() *session { return &session{lost: make(chan struct{})} }

// markLost records that the session is broken; the supervisor reconnects.
func (s *session) markLost(err error) {
	s.lostOnce.Do(func() {
		s.lostMu.Lock()
		s.lostWhy = err
		s.lostMu.Unlock()
		close(s.lost)
	})
}

func (s *session) isLost() bool {
	select {
	case <-s.lost:
		return true
	default:
		return false
	}
}

func (s *session) lostErr() error {
	s.lostMu.Lock()
	defer s.lostMu.Unlock()
	return s.lostWhy
}

// close ends the session and, for stdio, stops and reaps the child.
func (s *session) close() {
	s.stopOnce.Do(func() {
		s.listenMu.Lock()
		if s.stopListen != nil {
			go s.stopListen() // it waits for the stream, which the close below ends
		}
		s.listenMu.Unlock()
		if s.child != nil {
			ctx, cancel := context.WithTimeout(context.Background(), childGraceStdin+2*childGraceTerm+time.Second)
			defer cancel()
			s.child.stop(ctx)
			return
		}
		if s.client != nil {
			_ = s.client.Close()
		}
		if s.idle != nil {
			s.idle()
		}
	})
}

// connect opens a transport, initializes the protocol and lists the
// catalog, all within the Spec's timeout.
func (c *Conn) connect(ctx context.Context) (*session, *Catalog, error) {
	timeout := c.spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	sess := newSession()
	tr, err := c.openTransport(sess)
	if err != nil {
		return nil, nil, err
	}
	opts := []client.ClientOption{
		client.WithSamplingHandler(relaySampling{c}),
		client.WithElicitationHandler(relayElicitation{c}),
	}
	if c.legacy() {
		opts = append(opts, client.WithLegacyProtocolOnly())
	}
	sess.client = client.NewClient(tr, opts...)
	sess.client.OnNotification(func(n mcp.JSONRPCNotification) { c.onNotification(sess, n) })
	sess.client.OnConnectionLost(func(err error) { sess.markLost(fmt.Errorf("connection lost: %w", err)) })

	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := sess.client.Start(ctx); err != nil {
		sess.close()
		return nil, nil, fmt.Errorf("start transport: %w", c.explain(sess, err))
	}
	if sess.child != nil {
		go func() {
			select {
			case <-sess.child.exited:
				sess.markLost(sess.child.exitError())
			case <-sess.lost:
			}
		}()
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = c.opts.ClientInfo
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	if c.legacy() {
		init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	}
	res, err := sess.client.Initialize(actx, init)
	if err != nil {
		sess.close()
		return nil, nil, fmt.Errorf("initialize: %w", c.explain(sess, err))
	}
	sess.serverInfo, sess.instructions = res.ServerInfo, res.Instructions
	// The notification stream opens before the catalog is listed, so that
	// a change made after the listing is never missed.
	c.listen(ctx, actx, sess)
	cat, err := c.list(actx, sess)
	if err != nil {
		sess.close()
		return nil, nil, fmt.Errorf("list: %w", c.explain(sess, err))
	}
	return sess, cat, nil
}

// maxMessage is the bound of one message from the upstream: its Spec's,
// else the Options'.
func (c *Conn) maxMessage() int {
	if c.spec.MaxMessageBytes > 0 {
		return c.spec.MaxMessageBytes
	}
	return c.opts.MaxMessageBytes
}

// explain prefers the child's exit over the transport error it caused,
// and adds the last lines of the child's stderr (see StderrError).
func (c *Conn) explain(sess *session, err error) error {
	if sess.child == nil {
		return err
	}
	select {
	case <-sess.child.exited:
		err = sess.child.exitError()
	case <-time.After(100 * time.Millisecond):
	}
	if lines := sess.child.stderr.get(); len(lines) > 0 {
		return &StderrError{Err: err, Lines: lines}
	}
	return err
}

func (c *Conn) openTransport(sess *session) (transport.Interface, error) {
	switch c.spec.Transport {
	case TransportStdio:
		ch, err := startChild(c.spec, c.maxMessage(), c.log)
		if err != nil {
			return nil, err
		}
		sess.child = ch
		return tappedStdio{ch.transport}, nil
	case TransportHTTP:
		// Keep enough idle connections for concurrent calls: mcp-go's
		// default client keeps 2 per host and dials for the rest
		// (measured: 799 dials in one benchmark run, 17 with the pool).
		pool := http.DefaultTransport.(*http.Transport).Clone()
		pool.MaxIdleConns, pool.MaxIdleConnsPerHost = httpPoolSize, httpPoolSize
		sess.idle = pool.CloseIdleConnections
		limited := &http.Client{Transport: limitBodies{pool, c.maxMessage()}}
		opts := []transport.StreamableHTTPCOption{
			transport.WithHTTPBasicClient(limited),
			transport.WithHTTPHeaders(headerMap(c.spec.Headers)),
			transport.WithHTTPLogger(c.log),
		}
		if c.legacy() {
			// A 2025-11-25 server sends its notifications and its own
			// requests on the standalone GET stream.
			opts = append(opts, transport.WithContinuousListening())
		}
		tr, err := transport.NewStreamableHTTP(c.spec.URL, opts...)
		if err != nil {
			return nil, err
		}
		return tappedHTTP{tr}, nil
	case TransportSSE:
		tr, err := transport.NewSSE(c.spec.URL,
			transport.WithHTTPClient(&http.Client{Transport: limitBodies{http.DefaultTransport, c.maxMessage()}}),
			transport.WithHeaders(headerMap(c.spec.Headers)),
			transport.WithSSELogger(c.log),
		)
		if err != nil {
			return nil, err
		}
		return tappedSSE{tr}, nil
	default:
		return nil, fmt.Errorf("unknown transport %q", c.spec.Transport)
	}
}

// legacy reports whether the upstream is spoken to in 2025-11-25.
func (c *Conn) legacy() bool { return c.spec.Protocol != ProtocolModern }

// headerMap turns Name=Value entries into a map, keeping the names' case.
func headerMap(entries []string) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		name, value, _ := strings.Cut(e, "=")
		m[name] = value
	}
	return m
}

// onNotification routes the upstream's notifications. It runs on the
// transport's reader goroutine, so it only hands work off.
func (c *Conn) onNotification(sess *session, n mcp.JSONRPCNotification) {
	switch mcp.MCPMethod(n.Method) {
	case mcp.MethodNotificationToolsListChanged,
		mcp.MethodNotificationPromptsListChanged,
		mcp.MethodNotificationResourcesListChanged:
		select {
		case c.refresh <- struct{}{}:
		default: // a refresh is already pending
		}
		return
	case mcp.MethodNotificationSubscriptionsAcknowledged:
		sess.acknowledged()
		return
	case mcp.MethodNotificationProgress:
		if c.routeProgress(n) {
			return
		}
	}
	if c.opts.OnNotification != nil {
		c.opts.OnNotification(n)
	}
}

// failed inspects the error of a request on sess: a transport error means
// the session is broken, so the supervisor is told to reconnect.
func (c *Conn) failed(sess *session, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		sess.markLost(err)
		return &UnavailableError{Upstream: c.spec.Name, Err: c.explain(sess, err)}
	}
	return err
}

// listen opens (or reopens, with the current resource subscriptions) the
// subscriptions/listen stream through which a 2026-07-28 server sends its
// notifications, and waits, within wait, for the server to acknowledge it:
// a notification sent before that would be lost. The stream lives as long
// as ctx. Earlier protocol versions need no opt-in: there it does nothing.
func (c *Conn) listen(ctx, wait context.Context, sess *session) {
	if !mcp.IsModernProtocol(sess.client.ProtocolVersion()) {
		return
	}
	filter := sess.client.PendingSubscriptionFilter()
	filter.ToolsListChanged, filter.PromptsListChanged, filter.ResourcesListChanged = true, true, true
	sess.listenMu.Lock()
	defer sess.listenMu.Unlock()
	if sess.stopListen != nil {
		sess.stopListen()
	}
	ack := sess.expectAck()
	stop, err := sess.client.ListenAsync(ctx, filter, func(err error) {
		c.log.Debug("upstream notification stream ended", "err", err)
	})
	if err != nil {
		c.log.Debug("open upstream notification stream", "err", err)
		return
	}
	sess.stopListen = stop
	wait, cancel := context.WithTimeout(wait, maxListenWait)
	defer cancel()
	select {
	case <-ack:
	case <-sess.lost:
	case <-wait.Done():
		c.log.Debug("upstream did not acknowledge its notification stream in time; changes it announces meanwhile may be missed")
	}
}

// maxListenWait bounds the wait for a subscriptions/listen acknowledgement.
const maxListenWait = 2 * time.Second

// expectAck returns a fresh channel that the next acknowledgement closes.
func (s *session) expectAck() <-chan struct{} {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	s.ack = make(chan struct{})
	return s.ack
}

// acknowledged closes the channel of the pending acknowledgement, if any.
func (s *session) acknowledged() {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if s.ack != nil {
		close(s.ack)
		s.ack = nil
	}
}

// limitBodies bounds each line of every response body (a JSON response is
// one line, an SSE stream many), so that an HTTP upstream cannot make the
// gateway allocate without limit.
type limitBodies struct {
	base http.RoundTripper
	max  int
}

func (l limitBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(r)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = limitedBody{&lineLimiter{r: resp.Body, max: l.max}, resp.Body}
	return resp, nil
}

type limitedBody struct {
	*lineLimiter
	body interface{ Close() error }
}

func (b limitedBody) Close() error { return b.body.Close() }
