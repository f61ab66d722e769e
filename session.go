package airlock

import (
	"context"
	"time"
)

// Session is one client connection through the gateway.
type Session struct {
	ID          string     `json:"id"`
	User        string     `json:"user"`
	Database    string     `json:"database"`
	Engine      string     `json:"engine"`
	ClientAddr  string     `json:"client_addr"`
	Application string     `json:"application,omitempty"`
	Level       Level      `json:"level"` // level when opened
	StartedAt   time.Time  `json:"created_at"`
	EndedAt     *time.Time `json:"ended_at"`
	EndReason   string     `json:"end_reason,omitempty"`
}

// State is "active" or "ended".
func (s *Session) State() string {
	if s.EndedAt == nil {
		return "active"
	}
	return "ended"
}

// SessionFilter selects sessions. Zero fields match everything.
type SessionFilter struct {
	User     string
	Database string
	Active   bool // only sessions not ended
	Limit    int
}

// SessionStore keeps session records.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	EndSession(ctx context.Context, id string, at time.Time, reason string) error // ENOTFOUND
	GetSession(ctx context.Context, id string) (*Session, error)                  // ENOTFOUND
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, error)        // newest first
	// EndOpenSessions marks every session still open as ended (after a
	// crash or restart, no session of a previous run is alive).
	EndOpenSessions(ctx context.Context, at time.Time, reason string) (int, error)
}
