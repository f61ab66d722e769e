package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/store/codec"

	"github.com/jackc/pgx/v5"
)

var _ airlock.UndoStore = (*DB)(nil)

// SaveUndo stores r with its images; ECONFLICT if its ID exists.
func (db *DB) SaveUndo(ctx context.Context, r *airlock.UndoRecord) error {
	imgs, err := json.Marshal(r.Images)
	if err != nil {
		return err
	}
	created, err := timeArg(r.CreatedAt)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO undo (id, session_id, username, dbname, statement, state, created_at, images_json, size, hash, applied_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, r.ID, r.SessionID, r.User, r.Database, r.Statement, r.State, created, string(imgs), r.Size, r.Hash, r.AppliedBy)
	if pgCode(err) == codeUniqueViolation {
		return airlock.Errorf(airlock.ECONFLICT, "undo record %q already exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("save undo: %w", err)
	}
	return nil
}

// SetUndoState moves the records ids to state; only those in one of from
// move (none given: any).
func (db *DB) SetUndoState(ctx context.Context, ids []string, state string, from ...string) error {
	if len(ids) == 0 {
		return nil
	}
	q := `UPDATE undo SET state = $1 WHERE id = ANY($2)`
	args := []any{state, ids}
	if len(from) > 0 {
		q += ` AND state = ANY($3)`
		args = append(args, from)
	}
	if _, err := db.pool.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("set undo state: %w", err)
	}
	return nil
}

// MarkApplied records that record id was reversed by record by;
// ENOTFOUND if there is none.
func (db *DB) MarkApplied(ctx context.Context, id, by string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE undo SET state = $1, applied_by = $2 WHERE id = $3`, airlock.UndoApplied, by, id)
	if err != nil {
		return fmt.Errorf("mark undo applied: %w", err)
	}
	return mustAffect(tag, "undo record", id)
}

const undoColumns = `id, session_id, username, dbname, statement, state, created_at, size, hash, applied_by`

func scanUndo(row pgx.Row, images *string) (*airlock.UndoRecord, error) {
	var r airlock.UndoRecord
	var created *int64
	dest := []any{&r.ID, &r.SessionID, &r.User, &r.Database, &r.Statement, &r.State, &created, &r.Size, &r.Hash, &r.AppliedBy}
	if images != nil {
		dest = append(dest, images)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.CreatedAt = timeOf(created)
	return &r, nil
}

// GetUndo returns the record with its images; ENOTFOUND if there is none.
func (db *DB) GetUndo(ctx context.Context, id string) (*airlock.UndoRecord, error) {
	var imgs string
	r, err := scanUndo(db.pool.QueryRow(ctx, `SELECT `+undoColumns+`, images_json FROM undo WHERE id = $1`, id), &imgs)
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "undo record %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get undo: %w", err)
	}
	if err := json.Unmarshal([]byte(imgs), &r.Images); err != nil {
		return nil, fmt.Errorf("get undo: %w", err)
	}
	return r, nil
}

// ListUndo returns matching records, newest first, without images.
func (db *DB) ListUndo(ctx context.Context, f airlock.UndoFilter) ([]*airlock.UndoRecord, error) {
	var where []string
	var args []any
	if f.SessionID != "" {
		args = append(args, f.SessionID)
		where = append(where, fmt.Sprintf(`session_id = $%d`, len(args)))
	}
	if len(f.States) > 0 {
		args = append(args, f.States)
		where = append(where, fmt.Sprintf(`state = ANY($%d)`, len(args)))
	}
	q := `SELECT ` + undoColumns + ` FROM undo`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC NULLS LAST, seq DESC`
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list undo: %w", err)
	}
	out, err := collect(rows, func(r pgx.Row) (*airlock.UndoRecord, error) { return scanUndo(r, nil) })
	if err != nil {
		return nil, fmt.Errorf("list undo: %w", err)
	}
	return out, nil
}

// DeleteUndoBefore deletes records created before t (retention).
func (db *DB) DeleteUndoBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM undo WHERE created_at < $1`, codec.FilterTime(t))
	if err != nil {
		return 0, fmt.Errorf("delete undo: %w", err)
	}
	return tag.RowsAffected(), nil
}

// UndoBytes is the size of the undo data kept for a session.
func (db *DB) UndoBytes(ctx context.Context, sessionID string) (int64, error) {
	var n *int64
	if err := db.pool.QueryRow(ctx, `SELECT sum(size)::bigint FROM undo WHERE session_id = $1 AND state <> 'void'`, sessionID).Scan(&n); err != nil {
		return 0, fmt.Errorf("undo size: %w", err)
	}
	if n == nil {
		return 0, nil
	}
	return *n, nil
}

// MarkSeen records key and reports whether it was new.
func (db *DB) MarkSeen(ctx context.Context, key string, at time.Time) (bool, error) {
	when, err := timeArg(at)
	if err != nil {
		return false, err
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO seen (key, seen_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, when)
	if err != nil {
		return false, fmt.Errorf("mark seen: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
