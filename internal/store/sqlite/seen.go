package sqlite

import (
	"context"
	"fmt"
	"time"
)

// MarkSeen records key and reports whether this is the first time it was
// marked.
func (db *DB) MarkSeen(ctx context.Context, key string, at time.Time) (bool, error) {
	if err := db.injected(); err != nil {
		return false, err
	}
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

// DeleteEventsBefore deletes the events whose id is below id (retention),
// in batches, and returns how many it deleted.
func (db *DB) DeleteEventsBefore(ctx context.Context, id int64) (int64, error) {
	if err := db.injected(); err != nil {
		return 0, err
	}
	var total int64
	for {
		res, err := db.write.ExecContext(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? ORDER BY id LIMIT 10000)`, id)
		if err != nil {
			return total, fmt.Errorf("delete events: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete events: %w", err)
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}
