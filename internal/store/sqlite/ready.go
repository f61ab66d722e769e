package sqlite

import (
	"context"
	"fmt"
)

// CheckWritable reports whether the store accepts writes now: it takes the
// write lock (BEGIN IMMEDIATE) and rolls back, changing nothing. It fails
// when the file cannot be locked for writing within ctx or busy_timeout, or
// when the store is closed.
func (db *DB) CheckWritable(ctx context.Context) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	if err := tx.Rollback(); err != nil {
		return fmt.Errorf("store not writable: %w", err)
	}
	return nil
}
