// Package postgres is the shared airlock store: an airlock.Store kept in a
// PostgreSQL database (13 or newer) through pgx, so that any number of
// gateways share users, tokens, grants, requests, sessions and one audit
// chain (SPEC §10).
//
// Every connection runs with synchronous_commit=on: a write method that
// returned nil has been committed durably on the server (and on its
// synchronous standbys, where the cluster has any). The schema lives in
// numbered migrations embedded in the binary (migrations/NNNN_name.sql);
// Open applies the missing ones, each in its own transaction under an
// advisory lock (two gateways starting at once do not both apply one),
// and refuses a database whose schema is newer than this build
// (ErrSchemaTooNew).
//
// Times are kept as the SQLite store keeps them: UTC Unix nanoseconds, the
// zero time as NULL, other times outside the years 1678–2262 refused with
// EINVALID. Events are stored as their JSON encoding, one row each, and
// AppendEvents appends only after the stored chain head (see AppendEvents).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"airlock"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is the PostgreSQL store. It implements airlock.Store and is safe for
// concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	gateway string // Options.Gateway
}

var _ airlock.Store = (*DB)(nil)

// Options tune Open.
type Options struct {
	// MaxConns bounds the connections the store holds; default 16.
	MaxConns int32
	// Gateway identifies the gateway process using the store: the
	// sessions it creates belong to it. Empty for commands that only
	// read or manage records.
	Gateway string
}

// Open connects to the database named by url (a postgres:// URL or a
// libpq connection string), applies the embedded migrations and returns
// the store. It fails with an error wrapping ErrSchemaTooNew when the
// database was migrated by a newer airlock.
func Open(ctx context.Context, url string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: do not repeat it.
		return nil, errors.New("open store: the postgres store URL cannot be parsed")
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	cfg.MaxConns = o.MaxConns
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	cfg.ConnConfig.RuntimeParams["application_name"] = "airlock"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db := &DB{pool: pool, gateway: o.Gateway}
	ms, err := migrations()
	if err == nil {
		err = db.migrate(ctx, ms)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

// Close closes the connection pool. The store must not be used afterwards.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool returns the store's connection pool (for LISTEN and tests).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Ping checks that the store answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// CheckWritable reports whether the store accepts writes now: it answers
// and it is not a read-only standby.
func (db *DB) CheckWritable(ctx context.Context) error {
	var standby bool
	if err := db.pool.QueryRow(ctx, "SELECT pg_catalog.pg_is_in_recovery()").Scan(&standby); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	if standby {
		return fmt.Errorf("store not writable: the PostgreSQL server is a read-only standby")
	}
	return nil
}

// PostgreSQL error codes the store maps to airlock codes.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// constraintOf returns the constraint name of a PostgreSQL error, or "".
func constraintOf(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.ConstraintName
	}
	return ""
}

// Earliest and latest times that fit in int64 Unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeArg converts t for storage: nil for the zero time, UTC Unix
// nanoseconds otherwise. Times that do not fit are refused with EINVALID.
func timeArg(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, airlock.Errorf(airlock.EINVALID, "time %s is out of the storable range (years 1678 to 2262)", t.UTC().Format(time.RFC3339))
	}
	n := t.UnixNano()
	return &n, nil
}

// timePtrArg is timeArg for optional times: nil stays NULL.
func timePtrArg(t *time.Time) (*int64, error) {
	if t == nil {
		return nil, nil
	}
	if t.IsZero() {
		return nil, airlock.Errorf(airlock.EINVALID, "time %s is out of the storable range (years 1678 to 2262)", t.UTC().Format(time.RFC3339))
	}
	return timeArg(*t)
}

// timeOf converts a stored time back: NULL is the zero time.
func timeOf(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// timePtrOf converts an optional stored time back: NULL is nil.
func timePtrOf(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := time.Unix(0, *n).UTC()
	return &t
}

// mustAffect turns an update of no row into ENOTFOUND.
func mustAffect(tag pgconn.CommandTag, kind, id string) error {
	if tag.RowsAffected() == 0 {
		return airlock.Errorf(airlock.ENOTFOUND, "%s %q not found", kind, id)
	}
	return nil
}

// notFound reports whether err is pgx's "no rows".
func notFound(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// MaxBatch is the audit batch size (audit.Options.MaxBatch) a gateway
// uses with this store: a commit here waits for the server's WAL flush
// across the network, so larger batches keep the audit writer ahead of a
// heavy read load (docs/benchmarks.md).
const MaxBatch = 4096
