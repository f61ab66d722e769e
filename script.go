package airlock

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Script run outcomes.
const (
	// ScriptDryRun: the script ran and was rolled back, for review.
	ScriptDryRun = "dry_run"
	// ScriptCommitted: the approved script ran, matched its dry-run and
	// was committed.
	ScriptCommitted = "committed"
	// ScriptMismatch: the approved script changed other row counts than
	// its dry-run; it was rolled back and the request went back to review.
	ScriptMismatch = "mismatch"
	// ScriptFailed: a statement failed or was denied; everything was
	// rolled back.
	ScriptFailed = "failed"
)

// ScriptRun is what one run of a reviewed change script did: per
// statement, the rows it changed (with a bounded sample of them before and
// after), the error it raised, and the side effects a rollback cannot take
// back.
type ScriptRun struct {
	Outcome    string            `json:"outcome"`
	At         time.Time         `json:"at"`
	Statements []ScriptStatement `json:"statements"`
	// SideEffects are what a rollback does not undo (sequence values,
	// notifications, non-transactional tables, implicit commits).
	SideEffects []string `json:"side_effects"`
	// Refused says why the script was not run at all ("" when it ran).
	Refused string `json:"refused,omitempty"`
	// Error is the first error, if any.
	Error string `json:"error,omitempty"`
	// Differences say, for a mismatch, which statement changed how many
	// rows against the dry-run.
	Differences []string `json:"differences,omitempty"`
	// UndoID names the undo record of a committed run (`airlock undo
	// show|apply`), EventID its audit event.
	UndoID  string `json:"undo_id,omitempty"`
	EventID int64  `json:"event_id,omitempty"`
}

// ScriptStatement is one statement of a script run.
type ScriptStatement struct {
	SQL   string `json:"sql"`
	Kind  Kind   `json:"kind"`
	Level Level  `json:"level"`
	// RowsChanged is the count the database reported for it (rows
	// inserted, updated or deleted); -1 when it did not run.
	RowsChanged int64 `json:"rows_changed"`
	// Captured is how many rows the undo capture saw it change, its
	// triggers' and cascades' changes included.
	Captured int         `json:"captured"`
	Sample   []RowChange `json:"sample"`
	Error    string      `json:"error,omitempty"`
}

// RowChange is one changed row: the values of its columns before and
// after, as text (nil: SQL NULL; Before nil for an insert, After nil for
// a delete).
type RowChange struct {
	Table   string    `json:"table"`
	Op      string    `json:"op"` // I, U or D
	Columns []string  `json:"columns"`
	Before  []*string `json:"before"`
	After   []*string `json:"after"`
}

// Changed reports whether column i differs between before and after.
func (c RowChange) Changed(i int) bool {
	var b, a *string
	if c.Before != nil && i < len(c.Before) {
		b = c.Before[i]
	}
	if c.After != nil && i < len(c.After) {
		a = c.After[i]
	}
	if (b == nil) != (a == nil) {
		return true
	}
	return b != nil && *b != *a
}

// ScriptHash is the sha256 (hex) of a script's text: what was reviewed
// is what runs.
func ScriptHash(script string) string {
	h := sha256.Sum256([]byte(script))
	return hex.EncodeToString(h[:])
}

// ScriptSampleRows is how many changed rows a script run keeps per
// statement to show reviewers.
const ScriptSampleRows = 10
