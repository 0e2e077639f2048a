// Package audit is Gatehouse's verdict log (DESIGN §5): a policy.Recorder
// that keeps one record per tools/call in a SQLite database, and the
// queries behind `gatehouse logs`, `stats` and the fire counts of
// `policy list`; and, in the same database, the out-of-band approvals
// (Approvals, a policy.Approvals) that `gatehouse approvals` decides.
//
// Writes go through one writer goroutine per process that batches them in
// immediate transactions; the database is in WAL mode with a busy timeout,
// so several gateway processes share one file, and readers never block
// them.
package audit

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeout is how long a statement waits for another process's write
// lock before it fails.
const busyTimeout = 10 * time.Second

// ErrNoLog is returned when there is no verdict log at the path yet.
var ErrNoLog = errors.New("no verdict log")

// dsn is the go-sqlite3 data source name of the database at file: a URI,
// so that a path with '?', '#' or '%' names the file it says.
func dsn(file string, params ...string) string {
	u := url.URL{Scheme: "file", Path: file, OmitHost: true}
	q := append([]string{"_busy_timeout=" + strconv.Itoa(int(busyTimeout/time.Millisecond))}, params...)
	return u.String() + "?" + strings.Join(q, "&")
}

// openWriter opens the database for the writer, creating it if needed, and
// brings its schema up to date.
func openWriter(ctx context.Context, file string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", dsn(file, "_journal_mode=WAL", "_synchronous=NORMAL", "_txlock=immediate", "mode=rwc"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openReader opens an existing database for reading only.
func openReader(ctx context.Context, file string) (*sql.DB, error) {
	if _, err := os.Stat(file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: the gateway creates it with the first call it decides", ErrNoLog, file)
		}
		return nil, err
	}
	db, err := sql.Open("sqlite3", dsn(file, "mode=ro", "_query_only=true"))
	if err != nil {
		return nil, err
	}
	v, err := schemaVersion(ctx, db)
	if err != nil {
		db.Close()
		return nil, describe(file, err)
	}
	if v == 0 {
		db.Close()
		return nil, fmt.Errorf("%w at %s yet: the file has no verdicts table (a gateway that is creating it, or a file that is not a verdict log)", ErrNoLog, file)
	}
	if latest := latestVersion(); v > latest {
		db.Close()
		return nil, fmt.Errorf("verdict log %s has schema version %d, newer than this gatehouse knows (%d): use a newer gatehouse", file, v, latest)
	}
	return db, nil
}

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() []migration {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("audit: migration without a number: " + e.Name())
		}
		text, err := fs.ReadFile(migrations, path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(text)})
	}
	return out // ReadDir sorts by name; the numbers are zero-padded
}

func latestVersion() int {
	ms := loadMigrations()
	return ms[len(ms)-1].version
}

// schemaVersion is the highest migration applied to db; 0 for a new one.
func schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// migrate applies the migrations db lacks, in one immediate transaction,
// so that two processes opening a new file at once apply them once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return err
	}
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	ms := loadMigrations()
	if latest := ms[len(ms)-1].version; v > latest {
		return fmt.Errorf("schema version %d is newer than this gatehouse knows (%d): use a newer gatehouse", v, latest)
	}
	for _, m := range ms {
		if m.version <= v {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, formatTime(time.Now())); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// timeLayout is how times are stored: UTC, fixed width, so that text order
// is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeLayout, s)
	return t
}

// Status is what Check found.
type Status struct {
	// Exists is false when there is no file yet: the gateway will create
	// it, and Check found its directory writable.
	Exists bool
	// Records is how many verdicts the log holds.
	Records int64
	// Version is the schema version; below the latest, the gateway
	// upgrades it when it opens it.
	Version int
}

// Check tells whether the gateway can write the verdict log at file,
// without changing it: the file is a verdict log of a schema this build
// knows and can be written (a write is tried and rolled back), or it does
// not exist and its directory can take it.
func Check(ctx context.Context, file string) (Status, error) {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(file)
		f, err := os.CreateTemp(dir, ".gatehouse-check-*")
		if err != nil {
			return Status{}, fmt.Errorf("verdict log %s does not exist and cannot be created: %w", file, err)
		}
		f.Close()
		os.Remove(f.Name())
		return Status{}, nil
	} else if err != nil {
		return Status{}, describe(file, err)
	}
	db, err := sql.Open("sqlite3", dsn(file, "mode=rw", "_txlock=immediate"))
	if err != nil {
		return Status{}, describe(file, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	st := Status{Exists: true}
	if st.Version, err = schemaVersion(ctx, db); err != nil {
		return st, describe(file, err)
	}
	if latest := latestVersion(); st.Version > latest {
		return st, fmt.Errorf("verdict log %s has schema version %d, newer than this gatehouse knows (%d): use a newer gatehouse", file, st.Version, latest)
	}
	if st.Version > 0 {
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM verdicts`).Scan(&st.Records); err != nil {
			return st, describe(file, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return st, describe(file, err)
	}
	defer tx.Rollback()
	var uv int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&uv); err != nil {
		return st, describe(file, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, uv+1)); err != nil {
		return st, describe(file, err)
	}
	return st, nil
}
