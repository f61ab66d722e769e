package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"airlock"
)

const sessionColumns = `id, username, dbname, engine, client_addr, application, level, started_at, ended_at, end_reason`

// CreateSession stores s. It fails with ECONFLICT when the ID is taken.
func (db *DB) CreateSession(ctx context.Context, s *airlock.Session) error {
	started, err := timeArg(s.StartedAt)
	if err != nil {
		return err
	}
	ended, err := timePtrArg(s.EndedAt)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.User, s.Database, s.Engine, s.ClientAddr, s.Application, int64(s.Level), started, ended, s.EndReason)
	if isUniqueViolation(err) {
		return airlock.Errorf(airlock.ECONFLICT, "session %q already exists", s.ID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// EndSession marks the session ended at `at` for reason. Ending an ended
// session succeeds and keeps the first end time and reason. It fails with
// ENOTFOUND when there is no such session.
func (db *DB) EndSession(ctx context.Context, id string, at time.Time, reason string) error {
	when, err := timeArg(at)
	if err != nil {
		return err
	}
	if when == nil {
		return airlock.Errorf(airlock.EINVALID, "session end time is not set")
	}
	res, err := db.write.ExecContext(ctx, `UPDATE sessions SET
		end_reason = CASE WHEN ended_at IS NULL THEN ? ELSE end_reason END,
		ended_at = COALESCE(ended_at, ?)
		WHERE id = ?`, reason, when, id)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return mustAffect(res, "session", id)
}

// GetSession returns the session with the given ID, or ENOTFOUND.
func (db *DB) GetSession(ctx context.Context, id string) (*airlock.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "session %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return s, nil
}

// ListSessions returns the sessions that match f, newest (StartedAt) first;
// sessions started at the same instant come in reverse order of creation.
// A Limit of 0 or less means no limit.
func (db *DB) ListSessions(ctx context.Context, f airlock.SessionFilter) ([]*airlock.Session, error) {
	var (
		where []string
		args  []any
	)
	if f.User != "" {
		where = append(where, `username = ?`)
		args = append(args, f.User)
	}
	if f.Database != "" {
		where = append(where, `dbname = ?`)
		args = append(args, f.Database)
	}
	if f.Active {
		where = append(where, `ended_at IS NULL`)
	}
	q := `SELECT ` + sessionColumns + ` FROM sessions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY started_at DESC, rowid DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var ss []*airlock.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		ss = append(ss, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return ss, nil
}

// EndOpenSessions ends every open session at `at` for reason and returns how
// many it ended.
func (db *DB) EndOpenSessions(ctx context.Context, at time.Time, reason string) (int, error) {
	when, err := timeArg(at)
	if err != nil {
		return 0, err
	}
	if when == nil {
		return 0, airlock.Errorf(airlock.EINVALID, "session end time is not set")
	}
	res, err := db.write.ExecContext(ctx, `UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL`, when, reason)
	if err != nil {
		return 0, fmt.Errorf("end open sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("end open sessions: %w", err)
	}
	return int(n), nil
}

func scanSession(row rowScanner) (*airlock.Session, error) {
	var (
		s              airlock.Session
		level          int64
		started, ended sql.NullInt64
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
