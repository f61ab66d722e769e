package airlock

import (
	"context"
	"slices"
	"time"
)

// Roles a user can hold. Neither gives database access by itself.
const (
	RoleAdmin    = "admin"    // manages users, tokens, grants and sessions
	RoleApprover = "approver" // may approve requests of policies naming one of their groups
)

// KindAgent is the kind of a user that is an AI agent or another program
// acting through the MCP server; "" is a person.
const KindAgent = "agent"

// User is a person, script or agent known to airlock.
type User struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
	Roles  []string `json:"roles"`
	// Kind is KindAgent for agents, "" for people.
	Kind string `json:"kind,omitempty"`
	// FromConfig marks users declared in the config file: the config is
	// their source of truth and the API refuses to change them.
	FromConfig bool `json:"from_config"`
	// ScramSalt is the user's SCRAM-SHA-256 salt; every token of the user
	// has a verifier computed with it, so that one SCRAM exchange can be
	// checked against all of the user's live tokens.
	ScramSalt []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// HasRole reports whether u holds role.
func (u *User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

// IsAgent reports whether u is an agent.
func (u *User) IsAgent() bool { return u.Kind == KindAgent }

// InGroup reports whether u belongs to group.
func (u *User) InGroup(group string) bool { return slices.Contains(u.Groups, group) }

// UserStore keeps users. Names are unique. Methods return an *Error with
// ENOTFOUND or ECONFLICT where the names say so.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error           // ECONFLICT if the name exists
	UpdateUser(ctx context.Context, u *User) error           // ENOTFOUND if it does not
	GetUser(ctx context.Context, name string) (*User, error) // ENOTFOUND
	ListUsers(ctx context.Context) ([]*User, error)          // ordered by name
	DeleteUser(ctx context.Context, name string) error       // ENOTFOUND
}
