package airlock

import (
	"context"
	"time"
)

// Request states.
const (
	RequestPending   = "pending"
	RequestApproved  = "approved"
	RequestDenied    = "denied"
	RequestCancelled = "cancelled"
	RequestExpired   = "expired"
)

// Request asks for a level on a database for a while, with a reason.
// The policy terms that govern it (approver groups, approvals needed,
// longest duration) are fixed when it is created.
type Request struct {
	ID       string        `json:"id"`
	User     string        `json:"user"`
	Database string        `json:"database"`
	Level    Level         `json:"level"`
	Tables   []string      `json:"tables"` // schema-qualified; empty: every table
	Duration time.Duration `json:"-"`
	Reason   string        `json:"reason"`
	State    string        `json:"state"`

	Policy          string   `json:"policy"`
	ApproverGroups  []string `json:"approver_groups"`
	ApprovalsNeeded int      `json:"approvals_needed"`

	Approvals []Approval `json:"approvals"`
	// DecidedBy and DecisionReason are set when denied or cancelled.
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecisionReason string     `json:"decision_reason,omitempty"`
	GrantID        string     `json:"grant_id,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      time.Time  `json:"expires_at"` // a pending request expires then
	DecidedAt      *time.Time `json:"decided_at"`
	// Script is a reviewed change script: airlock runs it itself on
	// approval, instead of granting a level; ScriptSHA256 is its hash,
	// checked before it runs.
	Script       string `json:"script,omitempty"`
	ScriptSHA256 string `json:"script_sha256,omitempty"`
	// Tolerance is how many rows each statement of the approved run may
	// change beyond or below its dry-run (0: exactly as many).
	Tolerance int64 `json:"tolerance,omitempty"`
	// DryRun is the script's run for review; Run the last run on
	// approval (a mismatch sends the request back to review with both).
	DryRun *ScriptRun `json:"dry_run,omitempty"`
	Run    *ScriptRun `json:"run,omitempty"`
	// Version counts updates; UpdateRequest refuses a stale one.
	Version int `json:"-"`
}

// Approval is one approver's yes.
type Approval struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
}

// ApprovedBy reports whether user approved r.
func (r *Request) ApprovedBy(user string) bool {
	for _, a := range r.Approvals {
		if a.User == user {
			return true
		}
	}
	return false
}

// RequestFilter selects requests. Zero fields match everything.
type RequestFilter struct {
	User     string
	Database string
	State    string
	Limit    int
}

// RequestStore keeps requests.
type RequestStore interface {
	CreateRequest(ctx context.Context, r *Request) error
	GetRequest(ctx context.Context, id string) (*Request, error)           // ENOTFOUND
	ListRequests(ctx context.Context, f RequestFilter) ([]*Request, error) // newest first
	// UpdateRequest stores r if the stored version is r.Version, and
	// increments r.Version; ECONFLICT when someone updated it meanwhile.
	UpdateRequest(ctx context.Context, r *Request) error
}

// Grant is the time-bound result of an approved request.
type Grant struct {
	ID        string     `json:"id"`
	RequestID string     `json:"request_id"`
	User      string     `json:"user"`
	Database  string     `json:"database"`
	Level     Level      `json:"level"`
	Tables    []string   `json:"tables"`
	CreatedAt time.Time  `json:"created_at"` // when it started
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// Active reports whether g gives access at time now.
func (g *Grant) Active(now time.Time) bool {
	return g.RevokedAt == nil && now.Before(g.ExpiresAt) && !now.Before(g.CreatedAt)
}

// State is "active", "expired" or "revoked" at time now.
func (g *Grant) State(now time.Time) string {
	switch {
	case g.RevokedAt != nil:
		return "revoked"
	case !now.Before(g.ExpiresAt):
		return "expired"
	}
	return "active"
}

// GrantFilter selects grants. Zero fields match everything.
type GrantFilter struct {
	User     string
	Database string
	// ActiveAt, when set, keeps grants active at that time.
	ActiveAt time.Time
	Limit    int
}

// GrantStore keeps grants.
type GrantStore interface {
	CreateGrant(ctx context.Context, g *Grant) error
	GetGrant(ctx context.Context, id string) (*Grant, error)                   // ENOTFOUND
	ListGrants(ctx context.Context, f GrantFilter) ([]*Grant, error)           // newest first
	RevokeGrant(ctx context.Context, id string, at time.Time, by string) error // ENOTFOUND; keeps the first revocation
}
