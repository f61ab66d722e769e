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

// MarkSeen records key and reports whether this is the first time it was
// marked.
func (db *DB) MarkSeen(ctx context.Context, key string, at time.Time) (bool, error) {
	when, err := timeArg(at)
	if err != nil {
		return false, err
	}
	res, err := db.write.ExecContext(ctx, `INSERT INTO seen (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, when)
	if err != nil {
		return false, fmt.Errorf("mark seen: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark seen: %w", err)
	}
	return n == 1, nil
}

// DeleteEventsBefore deletes the events whose id is below id (retention)
// and returns how many it deleted. Whole batches go a hundred per
// transaction; the batch that holds id is rewritten without the events
// before it.
func (db *DB) DeleteEventsBefore(ctx context.Context, id int64) (int64, error) {
	var total int64
	for {
		n, err := db.deleteBatches(ctx, id)
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			break
		}
	}
	n, err := db.trimBatch(ctx, id)
	total += n
	if err != nil {
		return total, err
	}
	if _, err := db.write.ExecContext(ctx, `DELETE FROM event_keys WHERE first_id < ?`, id); err != nil {
		return total, fmt.Errorf("delete events: %w", err)
	}
	return total, nil
}

// deleteBatches deletes up to a hundred batches whose events are all below
// id, in one transaction, and returns how many events they held.
func (db *DB) deleteBatches(ctx context.Context, id int64) (int64, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	defer tx.Rollback()
	// Batches do not overlap: those up to the hundredth below id hold
	// only events below id.
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(first_id) FROM (
		SELECT first_id FROM event_batches WHERE first_id < ?1 AND last_id < ?1 ORDER BY first_id LIMIT 100)`, id).Scan(&last); err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	if !last.Valid {
		return 0, nil
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(events), 0) FROM event_batches WHERE first_id <= ?`, last.Int64).Scan(&n); err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	for _, q := range []string{`DELETE FROM event_data WHERE first_id <= ?`, `DELETE FROM event_batches WHERE first_id <= ?`} {
		if _, err := tx.ExecContext(ctx, q, last.Int64); err != nil {
			return 0, fmt.Errorf("delete events: %w", err)
		}
	}
	return n, tx.Commit()
}

// trimBatch rewrites the batch that holds events on both sides of id
// without those below id, and returns how many it dropped.
func (db *DB) trimBatch(ctx context.Context, id int64) (int64, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	defer tx.Rollback()
	var (
		first int64
		enc   int
		data  []byte
	)
	err = tx.QueryRowContext(ctx, `SELECT first_id, enc, data FROM event_batches JOIN event_data USING (first_id)
		WHERE first_id < ?1 AND last_id >= ?1`, id).Scan(&first, &enc, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	var (
		kept    []*airlock.Event
		lines   []string
		ends    []int
		at      = -1
		dropped int64
	)
	text, err := batchText(enc, data)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(text, "\n") {
		e, err := decodeEvent(line)
		if err != nil {
			return 0, err
		}
		if e.ID < id {
			dropped++
			continue
		}
		// The kept lines stay as stored, byte for byte.
		kept, lines = append(kept, e), append(lines, line)
		at += 1 + len(line)
		ends = append(ends, at)
	}
	for _, q := range []string{`DELETE FROM event_data WHERE first_id = ?`, `DELETE FROM event_batches WHERE first_id = ?`} {
		if _, err := tx.ExecContext(ctx, q, first); err != nil {
			return 0, fmt.Errorf("delete events: %w", err)
		}
	}
	if err := db.insertRows(ctx, tx, batchRows(kept, []byte(strings.Join(lines, "\n")), ends, nil)); err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete events: %w", err)
	}
	return dropped, nil
}
