package airlock

import "time"

// Trash item kinds.
const (
	TrashDrop     = "drop"     // DROP TABLE moved the table to the trash
	TrashTruncate = "truncate" // TRUNCATE copied the rows to the trash first
)

// TrashItem is what soft DROP or TRUNCATE kept of one table, in the
// database's trash (a quarantine schema), until it is restored, purged,
// or its retention ends.
type TrashItem struct {
	ID       string `json:"id"`
	Database string `json:"database"`
	Kind     string `json:"kind"`
	// Table is the table's schema-qualified name when it was dropped or
	// truncated; TrashTable where its rows are kept now.
	Table      string    `json:"table"`
	TrashTable string    `json:"trash_table"`
	User       string    `json:"user"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// Kept lists what was kept with a dropped table besides its indexes,
	// constraints, triggers and grants (which move with it): dependent
	// views and other tables' foreign keys to it.
	Kept []string `json:"kept"`
}
