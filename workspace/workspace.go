package workspace

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse-mcp/gatehouse/upstream"
	"github.com/mark3labs/mcp-go/mcp"
)

// Options are the hooks of a Workspace. Every field may be zero.
type Options struct {
	// Logger receives the workspace's log; nil means slog.Default().
	Logger *slog.Logger
	// ClientInfo is how Gatehouse introduces itself to upstreams.
	ClientInfo mcp.Implementation
	// OnChange, if not nil, is called after the catalog may have changed.
	// It may run on any upstream's goroutine, concurrently.
	OnChange func()
	// OnNotification, if not nil, receives upstream notifications other
	// than progress and list_changed. It runs on the upstream's reader
	// goroutine and must not call into the upstream.
	OnNotification func(upstream string, n mcp.JSONRPCNotification)
}

// Workspace is one workspace at run time: its upstream connections and the
// catalog they make together.
type Workspace struct {
	opts Options
	log  *slog.Logger

	mu       sync.RWMutex
	spec     Spec
	conns    []*upstream.Conn // in spec order
	catalog  *Catalog
	reported map[Conflict]bool // conflicts already logged
	ctx      context.Context   // from Start, for upstreams added on reload
	retiring sync.WaitGroup    // upstreams removed by Reconfigure, closing
}

// New returns a Workspace for spec. It does no I/O: Start does.
func New(spec Spec, opts Options) *Workspace {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	w := &Workspace{opts: opts, log: logger.With("workspace", spec.Name), spec: spec, reported: map[Conflict]bool{}}
	for _, us := range spec.Upstreams {
		w.conns = append(w.conns, w.newConn(us))
	}
	w.catalog = buildCatalog(nil)
	return w
}

func (w *Workspace) newConn(spec upstream.Spec) *upstream.Conn {
	return upstream.New(spec, upstream.Options{
		Logger:     w.log,
		ClientInfo: w.opts.ClientInfo,
		OnChange:   w.rebuild,
		OnNotification: func(n mcp.JSONRPCNotification) {
			if w.opts.OnNotification != nil {
				w.opts.OnNotification(spec.Name, n)
			}
		},
	})
}

// Name returns the workspace's name.
func (w *Workspace) Name() string { return w.Spec().Name }

// Spec returns the workspace's current spec.
func (w *Workspace) Spec() Spec {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.spec
}

// Start connects every upstream in parallel, in the background.
func (w *Workspace) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	conns := w.conns
	w.mu.Unlock()
	for _, c := range conns {
		c.Start(ctx)
	}
}

// WaitReady blocks until every upstream has finished its first connection
// attempt, successful or not, or ctx ends.
func (w *Workspace) WaitReady(ctx context.Context) error {
	for _, c := range w.Upstreams() {
		if err := c.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close stops every upstream, including those a reload removed.
func (w *Workspace) Close() error {
	var wg sync.WaitGroup
	for _, c := range w.Upstreams() {
		wg.Go(func() { _ = c.Close() })
	}
	wg.Wait()
	w.retiring.Wait()
	return nil
}

// Upstreams returns the upstream connections in config order.
func (w *Workspace) Upstreams() []*upstream.Conn {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return append([]*upstream.Conn(nil), w.conns...)
}

// Upstream returns the connection of the named upstream.
func (w *Workspace) Upstream(name string) (*upstream.Conn, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, c := range w.conns {
		if c.Name() == name {
			return c, true
		}
	}
	return nil, false
}

// Catalog returns the current catalog. It is immutable.
func (w *Workspace) Catalog() *Catalog {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.catalog
}

// retireGrace is how long a reload lets a replaced upstream finish the
// calls it is running.
const retireGrace = 30 * time.Second

// Reconfigure moves the workspace to spec: upstreams whose Spec is
// unchanged stay connected, new ones are started, removed or changed ones
// are retired in the background: closed once their calls in flight have
// finished (at most retireGrace), while the new set serves.
func (w *Workspace) Reconfigure(spec Spec) {
	w.mu.Lock()
	old := map[string]*upstream.Conn{}
	for _, c := range w.conns {
		old[c.Name()] = c
	}
	var conns, started []*upstream.Conn
	for _, us := range spec.Upstreams {
		if c, ok := old[us.Name]; ok && c.Spec().Equal(us) {
			conns = append(conns, c)
			delete(old, us.Name)
			continue
		}
		c := w.newConn(us)
		conns = append(conns, c)
		started = append(started, c)
	}
	w.spec, w.conns = spec, conns
	ctx := w.ctx
	w.mu.Unlock()

	if ctx != nil {
		for _, c := range started {
			c.Start(ctx)
		}
	}
	for _, c := range old {
		w.log.Info("upstream removed", "upstream", c.Name())
		w.retiring.Go(func() { _ = c.Retire(retireGrace) })
	}
	w.rebuild()
}

// rebuild recomputes the catalog from the upstreams' latest catalogs and
// reports new conflicts.
func (w *Workspace) rebuild() {
	w.mu.Lock()
	sources := make([]source, len(w.conns))
	for i, c := range w.conns {
		sources[i] = source{spec: c.Spec(), catalog: c.Catalog()}
	}
	cat := buildCatalog(sources)
	w.catalog = cat
	var fresh []Conflict
	for _, cf := range cat.Conflicts {
		if !w.reported[cf] {
			w.reported[cf] = true
			fresh = append(fresh, cf)
		}
	}
	w.mu.Unlock()
	for _, cf := range fresh {
		w.log.Error("name collision", "conflict", cf.String())
	}
	if w.opts.OnChange != nil {
		w.opts.OnChange()
	}
}
