package audit

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehouse-mcp/gatehouse/policy"
)

// The journal of calls in flight.
//
// A call's record is queued when the call ends and written with others in
// a batch, so a gateway that is killed loses what is queued. For a call
// the gateway forwarded that is not good enough: the log must say that it
// ran. So before a call is forwarded, Start appends its record — whole but
// for how the call ended — to a journal beside the database with one
// write. Once the write returns the kernel holds the bytes, and they
// outlive the process (a SIGKILL, an OOM kill, a crash), as SQLite's own
// WAL writes do at synchronous=NORMAL; like them, not a power cut. This
// costs a call one JSON encoding and one write system call (≈ 10–17 µs of
// CPU, BENCHMARKS.md), not the transaction of its own (≈ 0.3 ms) that
// committing its start to the database would.
//
// Each gateway process has its own journal, <pid>-<random> in the folder
// <database>-inflight beside the database (JournalDir, which the
// self-protection guard protects with the database), and holds it locked
// while it runs. An entry lapses once the call's whole record is
// committed; the writer empties the journal when no entry is live, and
// starts a fresh one with the live entries when the lapsed ones have grown
// large or old (see journalRotate). A journal nobody holds is a gateway's
// that stopped: a Log opened on the database (and every recoverEvery while
// it runs), and `gatehouse logs` and `stats` (Recover), write a record
// with the outcome unknown for each of its calls that has none, then
// remove it.

// The writer starts a fresh journal, with the entries still live, when
// the journal holds lapsed entries and has grown past journalRotate and
// twice the live entries' size — so that live entries with large arguments
// are not rewritten at every batch — or holds lapsed entries older than
// journalMaxAge, which would otherwise outlive their records' retention.
const (
	journalRotate = 4 << 20
	journalMaxAge = time.Hour
)

// recoverEvery is how often a running gateway looks for the journals of
// gateways that stopped beside it (on the same database).
const recoverEvery = time.Minute

// stoppedError is the upstream error of a call whose end was never
// recorded.
const stoppedError = "outcome unknown: the gateway stopped (killed or crashed) after it forwarded the call and before it ended"

// flying is the start of a call in flight, as the journal holds it.
type flying struct {
	row   row
	size  int64 // of its line in the journal
	ended bool  // the call's whole record is queued
}

// JournalDir is the folder of the journals of calls in flight of the
// database at file.
func JournalDir(file string) string { return file + "-inflight" }

// Start writes the start of rec's call to the journal and returns once
// the write has: the log holds the call from then on, through a crash.
func (l *Log) Start(rec policy.Record) error {
	rec.Upstream, rec.UpstreamError, rec.UpstreamLatency = policy.UpstreamUnknown, stoppedError, 0
	r := newRow(&rec, l.opts.Load().Arguments)
	line, err := json.Marshal(&r)
	if err != nil {
		return fmt.Errorf("verdict log %s: %w", l.file, err) // strings and numbers: cannot happen
	}
	line = append(line, '\n')

	l.jmu.Lock()
	defer l.jmu.Unlock()
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return policy.ErrRecorderClosed
	}
	if err := l.appendJournal(line); err != nil {
		return err
	}
	l.mu.Lock()
	l.inflight[r.ID] = &flying{row: r, size: int64(len(line))}
	l.liveBytes += int64(len(line))
	l.mu.Unlock()
	return nil
}

// appendJournal appends line to the journal, creating it first if there
// is none. A write that fails is undone, so that the next line starts a
// line of its own. l.jmu is held.
//
// The line is written at the journal's end as l.journalSize knows it, not
// through O_APPEND: on Windows a file opened with O_APPEND lacks
// FILE_WRITE_DATA, without which it cannot be truncated, and the journal
// would never be emptied. The journal is this process's alone, written
// under l.jmu, so its size is known.
func (l *Log) appendJournal(line []byte) error {
	if l.journal == nil {
		f, err := createJournal(l.file)
		if err != nil {
			return err
		}
		l.journal, l.journalSize, l.journalSince = f, 0, time.Now()
	}
	if _, err := l.journal.WriteAt(line, l.journalSize); err != nil {
		if l.journal.Truncate(l.journalSize) != nil {
			// It may hold half a line: start another.
			l.dropJournal(false)
		}
		return fmt.Errorf("verdict log %s: the start of a call cannot be written to %s: %w", l.file, filepath.Base(l.journalName()), err)
	}
	l.journalSize += int64(len(line))
	return nil
}

func (l *Log) journalName() string {
	if l.journal == nil {
		return filepath.Join(JournalDir(l.file), "*")
	}
	return l.journal.Name()
}

// createJournal creates a new journal for the database at file and locks
// it: a journal that is locked belongs to a gateway that runs.
func createJournal(file string) (*os.File, error) {
	dir := JournalDir(file)
	// Not MkdirAll: a database's folder that is missing is the log's to
	// report, not the journal's to create.
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("verdict log %s: cannot create the folder of the journals of calls in flight: %w", file, err)
	}
	var lockErr error
	// A reader recovering journals may lock a new one before this process
	// does, taking it for a dead gateway's (it is empty): try another name.
	for range 3 {
		var b [4]byte
		rand.Read(b[:])
		name := filepath.Join(dir, strconv.Itoa(pid)+"-"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600) // not O_APPEND: see appendJournal
		if err != nil {
			return nil, fmt.Errorf("verdict log %s: cannot create the journal of calls in flight: %w", file, err)
		}
		ok, err := tryLock(f)
		if ok {
			return f, nil
		}
		f.Close()
		os.Remove(name)
		if err == nil {
			err = errors.New("locked by another process")
		}
		lockErr = fmt.Errorf("verdict log %s: cannot lock the journal of calls in flight %s: %w", file, name, err)
	}
	return nil, lockErr
}

// dropJournal closes the journal, and removes it when remove says so.
// l.jmu is held.
func (l *Log) dropJournal(remove bool) {
	if l.journal == nil {
		return
	}
	name := l.journal.Name()
	l.journal.Close()
	if remove {
		os.Remove(name)
	}
	l.journal, l.journalSize = nil, 0
}

// lapse forgets the starts of the calls whose whole records are in batch,
// now written. l.mu is held.
func (l *Log) lapse(batch []row) {
	if len(l.inflight) == 0 {
		return
	}
	for i := range batch {
		if f := l.inflight[batch[i].ID]; f != nil && f.ended {
			delete(l.inflight, batch[i].ID)
			l.liveBytes -= f.size
		}
	}
}

// compactJournal empties the journal when no call is in flight, and starts
// a fresh one with the live entries when its file was removed, or when it
// holds lapsed entries and has grown past journalRotate and twice the
// live entries, or holds them for longer than journalMaxAge. It runs on
// the writer goroutine.
func (l *Log) compactJournal() {
	l.jmu.Lock()
	defer l.jmu.Unlock()
	if l.journal == nil {
		return
	}
	removed := false
	if st, err := os.Stat(l.journal.Name()); err != nil {
		removed = true
	} else if fst, err := l.journal.Stat(); err == nil && !os.SameFile(st, fst) {
		removed = true
	}
	l.mu.Lock()
	n, liveBytes := len(l.inflight), l.liveBytes
	l.mu.Unlock()
	lapsed := l.journalSize > liveBytes
	switch {
	case removed:
		l.logger.Error("verdict log: the journal of calls in flight was removed while the gateway ran; writing a new one", "file", l.journal.Name())
	case n == 0 && l.journalSize > 0:
		if l.journal.Truncate(0) == nil {
			l.journalSize, l.journalSince = 0, time.Now()
		}
		return
	case !lapsed,
		l.journalSize < max(journalRotate, 2*liveBytes) && time.Since(l.journalSince) < l.journalMaxAge:
		return
	}
	f, err := createJournal(l.file)
	if err != nil {
		l.logger.Error("verdict log: cannot start a fresh journal of calls in flight; keeping the old one", "err", err)
		return
	}
	l.mu.Lock()
	live := make([]row, 0, len(l.inflight))
	for _, x := range l.inflight {
		live = append(live, x.row)
	}
	l.mu.Unlock()
	var buf []byte
	for i := range live {
		b, _ := json.Marshal(&live[i])
		buf = append(append(buf, b...), '\n')
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		f.Close()
		os.Remove(f.Name())
		l.logger.Error("verdict log: cannot write a fresh journal of calls in flight; keeping the old one", "err", err)
		return
	}
	l.dropJournal(!removed)
	l.journal, l.journalSize, l.journalSince = f, int64(len(buf)), time.Now()
}

// queueStopped queues the calls still in flight as stopped, for Close:
// their ends will never come. l.mu is held.
func (l *Log) queueStopped() {
	for _, f := range l.inflight {
		if !f.ended {
			f.ended = true
			l.queue = append(l.queue, f.row) // the row holds the stopped outcome already
			l.queued++
		}
	}
}

// Recover writes into the verdict log at file the calls that gateways
// which stopped without ending them had forwarded (their journals, which
// no running gateway holds), each with the outcome unknown, and removes
// those journals. It opens the database only when there is such a journal,
// and returns how many records it wrote.
func Recover(ctx context.Context, file string) (int, error) {
	dead := deadJournals(file, "")
	if len(dead) == 0 {
		return 0, nil
	}
	defer closeAll(dead)
	db, err := openWriter(ctx, file)
	if err != nil {
		return 0, describe(file, err)
	}
	defer db.Close()
	return recoverJournals(ctx, db, file, dead)
}

// deadJournals opens and locks the journals of the database at file that
// no running gateway holds, other than own.
func deadJournals(file, own string) []*os.File {
	dir := JournalDir(file)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var dead []*os.File
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if !e.Type().IsRegular() || name == own {
			continue
		}
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if ok, _ := tryLock(f); !ok {
			f.Close() // its gateway runs
			continue
		}
		dead = append(dead, f)
	}
	return dead
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// recoverJournals writes the entries of the dead journals that have no
// record into db, with the outcome unknown, and then removes the
// journals. A line that cannot be read — cut by a power failure — is
// skipped.
func recoverJournals(ctx context.Context, db *sql.DB, file string, dead []*os.File) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, describe(file, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertRow+` ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return 0, describe(file, err)
	}
	n := 0
	for _, f := range dead {
		rd := bufio.NewReader(f)
		for {
			line, err := rd.ReadBytes('\n')
			if len(line) > 0 && line[len(line)-1] == '\n' {
				var r row
				if json.Unmarshal(line, &r) == nil && r.ID != "" {
					r.UpstreamOutcome, r.UpstreamError, r.UpstreamLatencyMS = string(policy.UpstreamUnknown), stoppedError, nil
					res, err := stmt.ExecContext(ctx, r.values()...)
					if err != nil {
						return 0, describe(file, err)
					}
					k, _ := res.RowsAffected()
					n += int(k)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("verdict log %s: reading %s: %w", file, f.Name(), err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, describe(file, err)
	}
	for _, f := range dead {
		f.Close()
		os.Remove(f.Name())
	}
	return n, nil
}
