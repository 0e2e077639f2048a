package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// Options shape a Log. They can be changed while it runs (SetOptions).
type Options struct {
	// Arguments is what the log keeps of a call's arguments:
	// policy.ArgumentsMasked (the default), ArgumentsHash or ArgumentsNone.
	Arguments string
	// Retention is how long records are kept; 0 keeps them for ever.
	Retention time.Duration
}

// Defaults of the writer.
const (
	// defaultMaxQueue is how many records may wait for the disk before
	// Record refuses more: about a gigabyte of memory at worst.
	defaultMaxQueue = 1 << 20
	// maxBatch is the most records one transaction inserts.
	maxBatch = 2048
	// linger is how long the writer lets records gather before it writes
	// them, unless a batch is full or Flush asks: one transaction per
	// call would cost each call more than everything else the gateway
	// does for it. The records wait in memory meanwhile, as they would
	// during the transaction.
	linger = 50 * time.Millisecond
	// retryMin and retryMax bound the pause between attempts to write
	// while the log cannot be written.
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
	// pruneEvery is how often old records are pruned; pruneChunk how many
	// one statement deletes, so that pruning never holds the write lock
	// for long.
	pruneEvery = time.Hour
	pruneChunk = 5000
)

// Log is the verdict log: a policy.Recorder on SQLite. Start journals a
// call about to be forwarded (inflight.go); Record queues a call's whole
// record; one writer goroutine inserts in batches. Open it with Open, and
// Close it to write what is queued.
type Log struct {
	file   string
	logger *slog.Logger
	opts   atomic.Pointer[Options]

	// The journal of calls in flight (inflight.go). jmu is taken before mu.
	jmu          sync.Mutex
	journal      *os.File // nil until the first Start
	journalSize  int64
	journalSince time.Time // when the journal's oldest line was written

	mu        sync.Mutex
	inflight  map[string]*flying // the calls Start journaled whose records are not written yet, by id
	liveBytes int64              // the size of their lines in the journal
	queue     []row
	queued    uint64        // records ever queued
	written   uint64        // records ever written
	progress  chan struct{} // closed and replaced whenever the writer finishes an attempt
	closed    bool
	maxQueue  int         // defaultMaxQueue; smaller in tests
	full      atomic.Bool // a record was refused since the writer last took the queue

	err  atomic.Pointer[error] // why the log cannot be written now
	wake chan struct{}         // a record was queued
	now  chan struct{}         // write without lingering: a batch is full, or Flush waits
	stop chan struct{}
	done chan struct{}

	// Used by the writer goroutine only.
	db          *sql.DB
	stmt        *sql.Stmt
	stat        os.FileInfo // of the file when opened: to notice its removal
	lastPrune   time.Time
	lastRecover time.Time
	failing     string // the error last reported, to report each once

	// pruneEvery can be shortened by tests, as can recoverEvery and
	// journalMaxAge (inflight.go).
	pruneEvery    time.Duration
	recoverEvery  time.Duration
	journalMaxAge time.Duration
}

var _ policy.Recorder = (*Log)(nil)

// Open opens the verdict log at file, creating the file and its schema if
// needed, and starts its writer. The Log it returns is usable even when
// Open also returns an error: records are queued, the writer keeps trying
// to open the file, and Err says why it cannot.
func Open(file string, opts Options, logger *slog.Logger) (*Log, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		file: file, logger: logger,
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		now:      make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		queue:    make([]row, 0, 256),
		inflight: make(map[string]*flying),
		maxQueue: defaultMaxQueue,

		pruneEvery:    pruneEvery,
		recoverEvery:  recoverEvery,
		journalMaxAge: journalMaxAge,
	}
	l.SetOptions(opts)
	err := l.open()
	if err != nil {
		l.setErr(err)
	}
	go l.run()
	return l, err
}

// File is the path of the database.
func (l *Log) File() string { return l.file }

// SetOptions changes the options; records queued from now on use them.
func (l *Log) SetOptions(opts Options) {
	if opts.Arguments == "" {
		opts.Arguments = policy.ArgumentsMasked
	}
	l.opts.Store(&opts)
}

// Record queues rec. It does not wait for the disk.
func (l *Log) Record(rec policy.Record) error {
	l.mu.Lock()
	started := l.inflight[rec.ID]
	l.mu.Unlock()
	var r row
	if started != nil {
		// The start is masked already: only the end is new.
		r = started.row
		r.end(&rec)
	} else {
		r = newRow(&rec, l.opts.Load().Arguments)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return policy.ErrRecorderClosed
	}
	if len(l.queue) >= l.maxQueue {
		if started != nil {
			// Not queued: should the log be closed before it can be,
			// the call is written as it ended, not as stopped.
			started.row = r
		}
		l.full.Store(true)
		err := l.Err() // before the writer can take the queue and clear full
		l.mu.Unlock()
		return err
	}
	l.queue = append(l.queue, r)
	l.queued++
	if started != nil {
		started.ended = true
	}
	full := len(l.queue) >= maxBatch
	l.mu.Unlock()
	signal(l.wake)
	if full {
		signal(l.now)
	}
	return nil
}

// Err says why the log cannot be written now — it fails, or it is so far
// behind that Record refuses records — or nil when it can.
func (l *Log) Err() error {
	if p := l.err.Load(); p != nil {
		return *p
	}
	if l.full.Load() {
		return fmt.Errorf("verdict log %s: %d records wait to be written and it takes no more", l.file, l.maxQueue)
	}
	return nil
}

func (l *Log) setErr(err error) {
	if err == nil {
		l.err.Store(nil)
		return
	}
	l.err.Store(&err)
}

// Pending is how many queued records are not written yet.
func (l *Log) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.queued - l.written)
}

// Flush waits until every record queued before it was called is written,
// or ctx ends; then it says why they are not.
func (l *Log) Flush(ctx context.Context) error {
	l.mu.Lock()
	target := l.queued
	l.mu.Unlock()
	for {
		l.mu.Lock()
		written, progress := l.written, l.progress
		l.mu.Unlock()
		if written >= target {
			return nil
		}
		signal(l.now)
		select {
		case <-progress:
		case <-ctx.Done():
			if err := l.Err(); err != nil {
				return fmt.Errorf("%d records not written: %w", target-written, err)
			}
			return fmt.Errorf("%d records not written yet: %w", target-written, ctx.Err())
		}
	}
}

// Close stops taking records, writes those queued (waiting until ctx
// ends), and closes the database. Records it could not write are not
// dropped silently: each goes to the logger, masked as it would have been
// stored, and Close says how many.
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	flushErr := l.Flush(ctx)
	l.jmu.Lock() // Start looks at closed with jmu held
	l.mu.Lock()
	l.closed = true
	l.queueStopped()
	l.mu.Unlock()
	l.jmu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	left := l.queue
	l.queue = nil
	l.mu.Unlock()
	// Once every record is written the journal has nothing left to say;
	// otherwise it stays for the next gateway to recover.
	l.jmu.Lock()
	l.dropJournal(len(left) == 0)
	l.jmu.Unlock()
	for i := range left {
		b, _ := json.Marshal(left[i])
		l.logger.Error("verdict log: record not written; here it is", "record", string(b))
	}
	if l.db != nil {
		l.db.Close()
	}
	if len(left) > 0 {
		return fmt.Errorf("verdict log %s: %d records could not be written (they were logged instead): %w", l.file, len(left), flushErr)
	}
	return nil
}

// signal wakes whoever waits on c, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// open opens the database for the writer.
func (l *Log) open() error {
	if l.db != nil {
		l.db.Close()
		l.db, l.stmt = nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout+5*time.Second)
	defer cancel()
	db, err := openWriter(ctx, l.file)
	if err != nil {
		return describe(l.file, err)
	}
	stmt, err := db.Prepare(insertSQL)
	if err != nil {
		db.Close()
		return describe(l.file, err)
	}
	st, err := os.Stat(l.file)
	if err != nil {
		db.Close()
		return describe(l.file, err)
	}
	l.db, l.stmt, l.stat = db, stmt, st
	l.recover(ctx)
	return nil
}

// insertSQL inserts a record. A record already in the log is left alone
// — it was written by an attempt whose commit succeeded but reported
// failure — unless it is one recovered from a journal with the outcome
// unknown, which the call's whole record replaces.
var insertSQL = insertRow + ` ON CONFLICT (id) DO UPDATE SET ` + updateAll() + ` WHERE verdicts.upstream_outcome = '` + string(policy.UpstreamUnknown) + `'`

// insertRow inserts a row's values (row.values).
var insertRow = `INSERT INTO verdicts (` + columns + `) VALUES (?` + strings.Repeat(", ?", numColumns-1) + `)`

func updateAll() string {
	var set []string
	for _, c := range strings.Split(columns, ",") {
		if c = strings.TrimSpace(c); c != "id" {
			set = append(set, c+" = excluded."+c)
		}
	}
	return strings.Join(set, ", ")
}

// recover writes the calls of the journals of gateways that stopped,
// logging how many.
func (l *Log) recover(ctx context.Context) {
	l.lastRecover = time.Now()
	l.jmu.Lock()
	own := ""
	if l.journal != nil {
		own = l.journal.Name()
	}
	l.jmu.Unlock()
	dead := deadJournals(l.file, own)
	if len(dead) == 0 {
		return
	}
	defer closeAll(dead)
	n, err := recoverJournals(ctx, l.db, l.file, dead)
	if err != nil {
		l.logger.Error("verdict log: cannot record the calls a gateway that stopped had in flight; will try again at the next start", "file", l.file, "err", err)
		return
	}
	l.logger.Warn("verdict log: a gateway stopped with calls in flight; recorded them with the outcome unknown", "file", l.file, "records", n, "journals", len(dead))
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.done)
	retry := retryMin
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-l.wake:
			t := time.NewTimer(linger)
			select {
			case <-t.C:
			case <-l.now:
			case <-l.stop:
			}
			t.Stop()
		case <-l.now:
		case <-tick.C:
		case <-l.stop:
			// Close flushed what it could; one last attempt for the rest.
			l.writeQueued()
			return
		}
		for {
			err := l.writeQueued()
			if err == nil {
				retry = retryMin
				l.compactJournal()
				l.prune()
				if time.Since(l.lastRecover) >= l.recoverEvery {
					l.recover(context.Background())
				}
				break
			}
			select {
			case <-time.After(retry):
			case <-l.stop:
				return
			}
			retry = min(2*retry, retryMax)
		}
	}
}

// writeQueued writes every queued record, batch by batch. On failure the
// records not written go back to the head of the queue, in order.
func (l *Log) writeQueued() error {
	l.mu.Lock()
	pending := l.queue
	if len(pending) > 0 {
		l.queue = make([]row, 0, 256)
		l.full.Store(false)
	}
	l.mu.Unlock()
	for len(pending) > 0 {
		n := min(len(pending), maxBatch)
		err := l.insert(pending[:n])
		l.mu.Lock()
		if err == nil {
			l.written += uint64(n)
			l.lapse(pending[:n])
			pending = pending[n:]
			// Before a Flush waiting on progress returns: Err must not
			// report a failure its records are past.
			l.setErr(nil)
		} else {
			l.queue = append(pending, l.queue...)
		}
		close(l.progress)
		l.progress = make(chan struct{})
		l.mu.Unlock()
		l.report(err)
		if err != nil {
			return err
		}
	}
	return nil
}

// insert writes batch in one transaction, reopening the file first if it
// was removed or replaced.
func (l *Log) insert(batch []row) error {
	if err := l.ensureOpen(); err != nil {
		return err
	}
	tx, err := l.db.Begin()
	if err != nil {
		return describe(l.file, err)
	}
	stmt := tx.Stmt(l.stmt)
	for i := range batch {
		if _, err := stmt.Exec(batch[i].values()...); err != nil {
			tx.Rollback()
			return describe(l.file, err)
		}
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return describe(l.file, err)
	}
	return nil
}

// ensureOpen opens the database if it is not open, and reopens it if its
// file was removed or replaced since: a removed file would take every
// later record with it.
func (l *Log) ensureOpen() error {
	if l.db != nil {
		st, err := os.Stat(l.file)
		if err == nil && os.SameFile(st, l.stat) {
			return nil
		}
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			l.logger.Error("verdict log: the database file was removed or replaced while the gateway ran; records written to it before are gone with it — creating it again", "file", l.file)
		}
	}
	return l.open()
}

// report says, once per change, that the log cannot be written or can be
// again: loudly, since calls may be refused meanwhile.
func (l *Log) report(err error) {
	if err == nil {
		if l.failing != "" {
			l.logger.Warn("verdict log: writable again; the records kept waiting are written", "file", l.file)
			l.failing = ""
		}
		l.setErr(nil)
		return
	}
	l.setErr(err)
	if msg := err.Error(); msg != l.failing {
		l.failing = msg
		l.logger.Error("VERDICT LOG CANNOT BE WRITTEN: records wait in memory; calls of workspaces that require the log are refused until it can", "file", l.file, "pending", l.Pending(), "err", err)
	}
}

// prune deletes records older than the retention, a chunk at a time,
// when it is due.
func (l *Log) prune() {
	keep := l.opts.Load().Retention
	if keep <= 0 || l.db == nil || time.Since(l.lastPrune) < l.pruneEvery {
		return
	}
	l.lastPrune = time.Now()
	cutoff := formatTime(time.Now().Add(-keep))
	total := int64(0)
	for {
		res, err := l.db.Exec(`DELETE FROM verdicts WHERE seq IN (SELECT seq FROM verdicts WHERE time < ? ORDER BY time LIMIT ?)`, cutoff, pruneChunk)
		if err != nil {
			l.logger.Warn("verdict log: pruning old records failed; will try again", "file", l.file, "err", err)
			return
		}
		n, _ := res.RowsAffected()
		total += n
		if n < pruneChunk {
			break
		}
		l.mu.Lock()
		busy := len(l.queue) > 0
		l.mu.Unlock()
		if busy {
			l.lastPrune = time.Time{} // the rest next time round
			break
		}
	}
	if total > 0 {
		l.logger.Info("verdict log: pruned records older than the retention", "file", l.file, "records", total, "before", cutoff)
	}
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
