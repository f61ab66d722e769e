package airlock

import (
	"context"
	"time"
)

// Undo record states.
const (
	UndoPending   = "pending"   // captured; its transaction has not been seen to commit
	UndoCommitted = "committed" // its transaction committed: applicable
	UndoVoid      = "void"      // its transaction (or savepoint) rolled back: nothing to undo
	UndoApplied   = "applied"   // reversed by `airlock undo apply`
)

// UndoImage is one row a statement changed, as it was before and after,
// in the database's text form (exact for every type).
type UndoImage struct {
	Seq   int      `json:"seq"`
	Table string   `json:"table"` // schema-qualified
	Op    string   `json:"op"`    // I, U or D
	Old   *string  `json:"old,omitempty"`
	New   *string  `json:"new,omitempty"`
	PK    []string `json:"pk,omitempty"` // primary key columns; empty: the table has none
}

// UndoRecord is what one statement changed, captured in its transaction.
type UndoRecord struct {
	ID        string      `json:"id"`
	SessionID string      `json:"session_id"`
	User      string      `json:"user"`
	Database  string      `json:"database"`
	Statement string      `json:"statement"`
	State     string      `json:"state"`
	CreatedAt time.Time   `json:"created_at"`
	Images    []UndoImage `json:"images,omitempty"`
	// Size is the bytes of the images, accounted per session.
	Size int64 `json:"size"`
	// Hash is sha256 of the canonical images, also carried by the audit
	// event of the statement, so that the chain covers the images.
	Hash string `json:"hash"`
	// AppliedBy names the undo record of the apply that reversed it.
	AppliedBy string `json:"applied_by,omitempty"`
}

// UndoFilter selects undo records.
type UndoFilter struct {
	SessionID string
	States    []string
}

// UndoChange is one change to stored undo records: a record saved (Save),
// or the records IDs moved to State (only those in one of From; none:
// any). A store that logs changes ahead of applying them (the audit
// segment log in front of SQLite) applies them in order, each at most
// once in effect: saving a record that exists and moving one out of a
// state it left are no-ops, so that a replay after a crash is harmless.
type UndoChange struct {
	Save  *UndoRecord `json:"save,omitempty"`
	IDs   []string    `json:"ids,omitempty"`
	State string      `json:"state,omitempty"`
	From  []string    `json:"from,omitempty"`
}

// UndoStore keeps undo records.
type UndoStore interface {
	SaveUndo(ctx context.Context, r *UndoRecord) error
	// SetUndoState moves records to state; only records in one of from
	// move (none given: any).
	SetUndoState(ctx context.Context, ids []string, state string, from ...string) error
	GetUndo(ctx context.Context, id string) (*UndoRecord, error) // ENOTFOUND
	// ListUndo returns matching records, newest first, without images.
	ListUndo(ctx context.Context, f UndoFilter) ([]*UndoRecord, error)
	// MarkApplied records that record id was reversed by record by.
	MarkApplied(ctx context.Context, id, by string) error
	// DeleteUndoBefore deletes records created before t (retention).
	DeleteUndoBefore(ctx context.Context, t time.Time) (int64, error)
	// UndoBytes is the size of the undo data kept for a session.
	UndoBytes(ctx context.Context, sessionID string) (int64, error)
}

// Finding is one problem a database check found.
type Finding struct {
	Level    string `json:"level"`
	Severity string `json:"severity"` // error: the guarantee does not hold; warning
	Message  string `json:"message"`
}
