package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/store/codec"
)

var _ airlock.UndoStore = (*DB)(nil)

// SaveUndo stores a record (ECONFLICT if its ID exists), durably, before
// it returns. Records saved at the same time by several sessions share one
// transaction and one fsync (a group commit): the first caller writes what
// is queued, the others wait for their record's outcome.
func (db *DB) SaveUndo(ctx context.Context, r *airlock.UndoRecord) error {
	imgs, err := json.Marshal(r.Images)
	if err != nil {
		return err
	}
	created, err := timeArg(r.CreatedAt)
	if err != nil {
		return err
	}
	req := &undoReq{r: r, images: string(imgs), created: created, done: make(chan struct{})}
	db.undoMu.Lock()
	db.undoQueue = append(db.undoQueue, req)
	lead := !db.undoLeading
	db.undoLeading = true
	db.undoMu.Unlock()
	if lead {
		db.saveUndoBatches(context.WithoutCancel(ctx), req)
	}
	<-req.done
	return req.err
}

// undoReq is one SaveUndo waiting for its group commit.
type undoReq struct {
	r       *airlock.UndoRecord
	images  string
	created any
	err     error
	done    chan struct{}
}

// maxUndoBatch bounds the records of one group commit.
const maxUndoBatch = 256

// saveUndoBatches writes the queued records in transactions until own's is
// written; whoever is still queued then gets a new leader of its own, so
// that no caller writes for others indefinitely.
func (db *DB) saveUndoBatches(ctx context.Context, own *undoReq) {
	for {
		db.undoMu.Lock()
		batch := db.undoQueue
		if len(batch) > maxUndoBatch {
			batch = batch[:maxUndoBatch]
		}
		db.undoQueue = db.undoQueue[len(batch):]
		if len(batch) == 0 {
			db.undoLeading = false
			db.undoMu.Unlock()
			return
		}
		db.undoMu.Unlock()
		db.writeUndoBatch(ctx, batch)
		mine := false
		for _, q := range batch {
			mine = mine || q == own
			close(q.done)
		}
		if mine {
			db.undoMu.Lock()
			more := len(db.undoQueue) > 0
			if !more {
				db.undoLeading = false
			}
			db.undoMu.Unlock()
			if more {
				go db.saveUndoBatches(ctx, nil)
			}
			return
		}
	}
}

// writeUndoBatch inserts batch in one transaction. A record whose ID
// exists gets ECONFLICT and the others are still stored (SQLite undoes
// only the failed statement); any other failure fails the whole batch.
func (db *DB) writeUndoBatch(ctx context.Context, batch []*undoReq) {
	fail := func(err error) {
		for _, q := range batch {
			if q.err == nil {
				q.err = fmt.Errorf("save undo: %w", err)
			}
		}
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	for _, q := range batch {
		r := q.r
		_, err := tx.ExecContext(ctx, `INSERT INTO undo (id, session_id, username, dbname, statement, state, created_at, images_json, size, hash, applied_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.SessionID, r.User, r.Database, r.Statement, r.State, q.created, q.images, r.Size, r.Hash, r.AppliedBy)
		if isUniqueViolation(err) {
			q.err = airlock.Errorf(airlock.ECONFLICT, "undo record %q already exists", r.ID)
			continue
		}
		if err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
}

// SetUndoState moves records to state, only from the given states.
func (db *DB) SetUndoState(ctx context.Context, ids []string, state string, from ...string) error {
	if len(ids) == 0 {
		return nil
	}
	q, args := undoStateQuery(ids, state, from)
	if _, err := db.write.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("set undo state: %w", err)
	}
	return nil
}

func undoStateQuery(ids []string, state string, from []string) (string, []any) {
	q := `UPDATE undo SET state = ? WHERE id IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`
	args := []any{state}
	for _, id := range ids {
		args = append(args, id)
	}
	if len(from) > 0 {
		q += ` AND state IN (?` + strings.Repeat(`, ?`, len(from)-1) + `)`
		for _, f := range from {
			args = append(args, f)
		}
	}
	return q, args
}

// applyUndoChanges applies changes in tx, in order. A saved record whose
// ID exists is left as it is: the change was applied before (a replay).
func applyUndoChanges(ctx context.Context, tx *sql.Tx, changes []*airlock.UndoChange) error {
	for _, c := range changes {
		switch {
		case c.Save != nil:
			r := c.Save
			imgs, err := json.Marshal(r.Images)
			if err != nil {
				return fmt.Errorf("apply undo changes: %w", err)
			}
			created, err := timeArg(r.CreatedAt)
			if err != nil {
				return fmt.Errorf("apply undo changes: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO undo (id, session_id, username, dbname, statement, state, created_at, images_json, size, hash, applied_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, r.ID, r.SessionID, r.User, r.Database, r.Statement, r.State, created, string(imgs), r.Size, r.Hash, r.AppliedBy); err != nil {
				return fmt.Errorf("apply undo changes: save %s: %w", r.ID, err)
			}
		case len(c.IDs) > 0:
			q, args := undoStateQuery(c.IDs, c.State, c.From)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("apply undo changes: set state: %w", err)
			}
		}
	}
	return nil
}

// MarkApplied records that id was reversed by the record by.
func (db *DB) MarkApplied(ctx context.Context, id, by string) error {
	res, err := db.write.ExecContext(ctx, `UPDATE undo SET state = ?, applied_by = ? WHERE id = ?`, airlock.UndoApplied, by, id)
	if err != nil {
		return fmt.Errorf("mark undo applied: %w", err)
	}
	return mustAffect(res, "undo record", id)
}

const undoColumns = `id, session_id, username, dbname, statement, state, created_at, size, hash, applied_by`

func scanUndo(row rowScanner, images *string) (*airlock.UndoRecord, error) {
	var r airlock.UndoRecord
	var created sql.NullInt64
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

// GetUndo returns a record with its images, or ENOTFOUND.
func (db *DB) GetUndo(ctx context.Context, id string) (*airlock.UndoRecord, error) {
	var imgs string
	r, err := scanUndo(db.read.QueryRowContext(ctx, `SELECT `+undoColumns+`, images_json FROM undo WHERE id = ?`, id), &imgs)
	if errors.Is(err, sql.ErrNoRows) {
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

// ListUndo returns matching records without images, newest first.
func (db *DB) ListUndo(ctx context.Context, f airlock.UndoFilter) ([]*airlock.UndoRecord, error) {
	var where []string
	var args []any
	if f.SessionID != "" {
		where, args = append(where, `session_id = ?`), append(args, f.SessionID)
	}
	if len(f.States) > 0 {
		where = append(where, `state IN (?`+strings.Repeat(`, ?`, len(f.States)-1)+`)`)
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	q := `SELECT ` + undoColumns + ` FROM undo`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC, rowid DESC`
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list undo: %w", err)
	}
	defer rows.Close()
	var out []*airlock.UndoRecord
	for rows.Next() {
		r, err := scanUndo(rows, nil)
		if err != nil {
			return nil, fmt.Errorf("list undo: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteUndoBefore deletes undo records created before t (retention).
func (db *DB) DeleteUndoBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM undo WHERE created_at < ?`, codec.FilterTime(t))
	if err != nil {
		return 0, fmt.Errorf("delete undo: %w", err)
	}
	return res.RowsAffected()
}

// UndoBytes returns the size of the undo data kept for a session.
func (db *DB) UndoBytes(ctx context.Context, sessionID string) (int64, error) {
	var n sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT sum(size) FROM undo WHERE session_id = ? AND state <> 'void'`, sessionID).Scan(&n); err != nil {
		return 0, fmt.Errorf("undo size: %w", err)
	}
	return n.Int64, nil
}
