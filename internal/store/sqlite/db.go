// Package sqlite is the embedded airlock store: an airlock.Store kept in one
// SQLite file through modernc.org/sqlite (pure Go, no cgo).
//
// The file is in WAL mode with synchronous=FULL, so a write method that
// returned nil — AppendEvents above all — has been fsynced and survives a
// crash or a power loss. Writes go through a single connection and are
// therefore serialized inside the process; reads use a separate pool and run
// concurrently with the writer (WAL readers never block it). Goroutines do
// not see SQLITE_BUSY; another process holding the file waits up to the busy
// timeout.
//
// The schema lives in numbered migrations embedded in the binary
// (migrations/NNNN_name.sql). Open applies the missing ones, each in its own
// transaction, records them in schema_migrations, and refuses a file whose
// schema is newer than this build (ErrSchemaTooNew).
//
// Times of users, tokens and sessions are stored as UTC Unix nanoseconds and
// come back in UTC with full precision; the zero time.Time is stored as NULL
// and comes back as the zero time; other times outside the years 1678–2262
// are refused with EINVALID. Events are stored as their JSON encoding and
// decode back to exactly the event that was appended (see AppendEvents).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"airlock"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout bounds how long a connection waits for a lock held by another
// process (inside this process, writes are serialized and never wait on
// SQLite's lock).
const busyTimeout = 10 * time.Second

// DB is the SQLite store. It implements airlock.Store and is safe for
// concurrent use.
type DB struct {
	path  string
	write *sql.DB // exactly one connection: every write goes through it
	read  *sql.DB // read-only pool

	// AppendEvents' statements, prepared on the write connection.
	insertBatch, insertData, insertKeys, lastBatch *sql.Stmt

	// SaveUndo's group commit: records waiting, and whether a caller is
	// writing them.
	undoMu      sync.Mutex
	undoQueue   []*undoReq
	undoLeading bool
}

var _ airlock.Store = (*DB)(nil)

// Open opens the database at path, creating the file if needed, applies the
// embedded migrations and returns the store. It fails with an error wrapping
// ErrSchemaTooNew when the file was migrated by a newer airlock.
func Open(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Create the file readable by its owner only: it holds token hashes and
	// statement text. SQLite gives the -wal and -shm files the same mode.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	db := &DB{path: abs}
	timeout := fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds())
	writeDSN := dsn(abs, url.Values{
		// temp_store(MEMORY): a multi-row INSERT keeps its statement
		// journal in memory instead of spilling it to a temporary file
		// (AppendEvents inserts rows by the dozen).
		"_pragma": {timeout, "foreign_keys(1)", "journal_mode(WAL)", "synchronous(FULL)", "temp_store(MEMORY)"},
		// BEGIN IMMEDIATE: a write transaction takes the write lock at
		// once instead of upgrading a read lock later, which could fail
		// with SQLITE_BUSY when another process writes too.
		"_txlock": {"immediate"},
	})
	readDSN := dsn(abs, url.Values{"_pragma": {timeout, "query_only(1)"}})

	if db.write, err = sql.Open("sqlite", writeDSN); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	// The write connection switches the file to WAL (a persistent setting)
	// and migrates it before any reader opens it.
	if err := db.write.PingContext(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	ms, err := migrations()
	if err == nil {
		err = db.migrate(ctx, ms)
	}
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	if db.insertBatch, err = db.write.PrepareContext(ctx, insertBatch); err == nil {
		if db.insertData, err = db.write.PrepareContext(ctx, insertData); err == nil {
			if db.insertKeys, err = db.write.PrepareContext(ctx, insertKeys); err == nil {
				db.lastBatch, err = db.write.PrepareContext(ctx, lastBatch)
			}
		}
	}
	if err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	if db.read, err = sql.Open("sqlite", readDSN); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// No cap on read connections: a ScanEvents callback may read again
	// while its scan holds a connection. Keep a few idle ones warm.
	db.read.SetMaxIdleConns(4)
	return db, nil
}

// dsn builds a file: URI for path; escaping the path keeps '?' and '#' in a
// file name from being read as the start of the query or fragment.
func dsn(path string, query url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: filepath.ToSlash(path), RawQuery: query.Encode()}
	return u.String()
}

// Close closes both connection pools. The store must not be used afterwards.
func (db *DB) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{db.insertBatch, db.insertData, db.insertKeys, db.lastBatch} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// isConstraint reports whether err is an SQLite constraint violation with
// the given extended code (sqlite3.SQLITE_CONSTRAINT_*).
func isConstraint(err error, code int) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code() == code
}

// isUniqueViolation reports whether err breaks a PRIMARY KEY or UNIQUE constraint.
func isUniqueViolation(err error) bool {
	return isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) ||
		isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE)
}

// Earliest and latest times that fit in int64 Unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeArg converts t for storage: nil for the zero time, UTC Unix
// nanoseconds otherwise. Times that do not fit are refused with EINVALID.
func timeArg(t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, airlock.Errorf(airlock.EINVALID, "time %s is out of the storable range (years 1678 to 2262)", t.UTC().Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// timePtrArg is timeArg for optional times: nil stays NULL.
func timePtrArg(t *time.Time) (any, error) {
	if t == nil {
		return nil, nil
	}
	if t.IsZero() {
		// The zero time is a value here, not "unset"; keep it apart from NULL.
		return nil, airlock.Errorf(airlock.EINVALID, "time %s is out of the storable range (years 1678 to 2262)", t.UTC().Format(time.RFC3339))
	}
	return timeArg(*t)
}

// timeOf converts a stored time back: NULL is the zero time.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// timePtrOf converts an optional stored time back: NULL is nil.
func timePtrOf(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64).UTC()
	return &t
}

// nullString stores "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface {
	Scan(dest ...any) error
}
