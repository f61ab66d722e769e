package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ScanSeen calls fn for every key MarkSeen recorded, with its time, in key
// order (for `airlock store migrate`). An error from fn stops the scan.
func (db *DB) ScanSeen(ctx context.Context, fn func(key string, at time.Time) error) error {
	rows, err := db.read.QueryContext(ctx, `SELECT key, seen_at FROM seen ORDER BY key`)
	if err != nil {
		return fmt.Errorf("scan seen: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key string
			at  sql.NullInt64
		)
		if err := rows.Scan(&key, &at); err != nil {
			return fmt.Errorf("scan seen: %w", err)
		}
		if err := fn(key, timeOf(at)); err != nil {
			return err
		}
	}
	return rows.Err()
}
