package airlock

import (
	"context"
	"time"
)

// Event types (the "type" key of an event; `airlock audit list --kind`).
const (
	EventSession   = "session"
	EventStatement = "statement"
	EventToken     = "token"
	EventUser      = "user"
	EventRequest   = "request"
	EventGrant     = "grant"
	EventAlert     = "alert"
	EventUndo      = "undo"
	EventSystem    = "system"
)

// Statement event actions.
const (
	ActionExecuted = "executed" // allowed and run; carries the outcome
	ActionDenied   = "denied"   // denied before anything was forwarded
	ActionStarted  = "started"  // a write forwarded before its outcome is known
)

// Event is one append-only audit record. Statement fields are set for
// statement events only. Hash is sha256(PrevHash || canonical event), where
// the canonical event is the RFC 8785 encoding of every field except Hash
// and PrevHash.
type Event struct {
	ID          int64     `json:"id"`
	Time        time.Time `json:"time"`
	Type        string    `json:"type"`
	Action      string    `json:"action"`
	User        string    `json:"user,omitempty"`
	Actor       string    `json:"actor,omitempty"` // who acted on User's behalf or on an object
	Database    string    `json:"database,omitempty"`
	SessionID   string    `json:"session_id,omitempty"`
	ClientAddr  string    `json:"client_addr,omitempty"`
	Application string    `json:"application,omitempty"`
	// Ref names the object the event is about (token, request, grant id)
	// or, for a statement's outcome, the event that started it.
	Ref string `json:"ref,omitempty"`

	Text          string   `json:"text,omitempty"`
	StatementKind string   `json:"statement_kind,omitempty"`
	Level         string   `json:"level,omitempty"`
	Tables        []string `json:"tables,omitempty"`
	Decision      string   `json:"decision,omitempty"`
	Rule          string   `json:"rule,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
	Rows          int64    `json:"rows,omitempty"`
	DurationMS    float64  `json:"duration_ms,omitempty"`
	Error         string   `json:"error,omitempty"`
	Params        []string `json:"params,omitempty"`
	// Detail carries type-specific facts (level and expiry of a grant,
	// reason of a request...).
	Detail map[string]string `json:"detail,omitempty"`

	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// EventFilter selects events. Zero fields match everything.
type EventFilter struct {
	User          string
	Database      string
	SessionID     string
	Type          string
	StatementKind string
	Decision      string
	Rule          string
	Contains      string // substring of the statement text
	Since, Until  time.Time
	AfterID       int64 // only events with a larger ID (pagination, resumption)
	BeforeID      int64 // only events with a smaller ID (newest-first pagination)
	Limit         int
	Ascending     bool // oldest first; the default is newest first
}

// EventStore keeps the audit chain. AppendEvents stores a batch atomically
// and durably (when it returns nil, the events survive a crash and a power
// loss); events arrive with ID, PrevHash and Hash already set, in chain
// order.
type EventStore interface {
	AppendEvents(ctx context.Context, evs []*Event) error
	// LastEvent returns the newest event, or nil when there is none.
	LastEvent(ctx context.Context) (*Event, error)
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, error)
	// ScanEvents calls fn for every matching event in the filter's order
	// without holding them all in memory; an error from fn stops the scan.
	ScanEvents(ctx context.Context, f EventFilter, fn func(*Event) error) error
}

// SeenStore remembers keys across restarts (for "first time" alerts).
type SeenStore interface {
	// MarkSeen records key and reports whether it was new.
	MarkSeen(ctx context.Context, key string, at time.Time) (first bool, err error)
}

// Store is everything airlock persists. The embedded implementation is
// SQLite; a PostgreSQL one can implement the same interfaces.
type Store interface {
	UserStore
	TokenStore
	SessionStore
	EventStore
	RequestStore
	GrantStore
	UndoStore
	SeenStore
	Close() error
}
