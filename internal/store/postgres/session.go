package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"airlock"

	"github.com/jackc/pgx/v5"
)

const sessionColumns = `id, username, dbname, engine, client_addr, application, level, started_at, ended_at, end_reason`

// CreateSession stores s; ECONFLICT if its ID exists. The session belongs
// to this store's gateway (Options.Gateway).
func (db *DB) CreateSession(ctx context.Context, s *airlock.Session) error {
	started, err := timeArg(s.StartedAt)
	if err != nil {
		return err
	}
	ended, err := timePtrArg(s.EndedAt)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`, gateway) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.ID, s.User, s.Database, s.Engine, s.ClientAddr, s.Application, int64(s.Level), started, ended, s.EndReason, db.gateway)
	if pgCode(err) == codeUniqueViolation {
		return airlock.Errorf(airlock.ECONFLICT, "session %q already exists", s.ID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// EndSession marks the session ended at at for reason, keeping the first
// end; ENOTFOUND if there is none.
func (db *DB) EndSession(ctx context.Context, id string, at time.Time, reason string) error {
	when, err := timeArg(at)
	if err != nil {
		return err
	}
	if when == nil {
		return airlock.Errorf(airlock.EINVALID, "session end time is not set")
	}
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET
		end_reason = CASE WHEN ended_at IS NULL THEN $1 ELSE end_reason END,
		ended_at = COALESCE(ended_at, $2)
		WHERE id = $3`, reason, when, id)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return mustAffect(tag, "session", id)
}

// GetSession returns the session with the ID; ENOTFOUND if there is none.
func (db *DB) GetSession(ctx context.Context, id string) (*airlock.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "session %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return s, nil
}

// ListSessions returns the sessions that match f, newest first.
func (db *DB) ListSessions(ctx context.Context, f airlock.SessionFilter) ([]*airlock.Session, error) {
	var (
		where []string
		args  []any
	)
	if f.User != "" {
		args = append(args, f.User)
		where = append(where, fmt.Sprintf(`username = $%d`, len(args)))
	}
	if f.Database != "" {
		args = append(args, f.Database)
		where = append(where, fmt.Sprintf(`dbname = $%d`, len(args)))
	}
	if f.Active {
		where = append(where, `ended_at IS NULL`)
	}
	q := `SELECT ` + sessionColumns + ` FROM sessions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY started_at DESC NULLS LAST, seq DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	ss, err := collect(rows, scanSession)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return ss, nil
}

// EndOpenSessions marks ended the open sessions that no live gateway
// owns: those of this store's gateway, those recorded without one and
// those of gateways whose lease expired (see Heartbeat). Sessions of
// other gateways still running stay open.
func (db *DB) EndOpenSessions(ctx context.Context, at time.Time, reason string) (int, error) {
	when, err := timeArg(at)
	if err != nil {
		return 0, err
	}
	if when == nil {
		return 0, airlock.Errorf(airlock.EINVALID, "session end time is not set")
	}
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET ended_at = $1, end_reason = $2
		WHERE ended_at IS NULL AND (gateway = $3 OR gateway NOT IN (
			SELECT id FROM gateways WHERE lease_until > $1))`, when, reason, db.gateway)
	if err != nil {
		return 0, fmt.Errorf("end open sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

func scanSession(row pgx.Row) (*airlock.Session, error) {
	var (
		s              airlock.Session
		level          int64
		started, ended *int64
	)
	if err := row.Scan(&s.ID, &s.User, &s.Database, &s.Engine, &s.ClientAddr, &s.Application, &level,
		&started, &ended, &s.EndReason); err != nil {
		return nil, err
	}
	s.Level = airlock.Level(level)
	s.StartedAt = timeOf(started)
	s.EndedAt = timePtrOf(ended)
	return &s, nil
}
