package airlock

import (
	"context"
	"time"
)

// TokenPrefix starts every token secret.
const TokenPrefix = "alk_"

// Token is a bearer secret bound to one user. Only hashes of the secret are
// kept: Hash (SHA-256 of the secret, for API bearer lookups) and the
// SCRAM-SHA-256 verifier (StoredKey, ServerKey) computed with the user's salt
// at issue time, for database logins. The secret itself is never stored.
type Token struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"` // nil: no expiry (bootstrap token only)
	RevokedAt *time.Time `json:"revoked_at"`
	RevokedBy string     `json:"revoked_by,omitempty"`
	// Note is free text for the admin ("bootstrap", "ci pipeline").
	Note string `json:"note,omitempty"`

	Hash       []byte `json:"-"`
	StoredKey  []byte `json:"-"`
	ServerKey  []byte `json:"-"`
	Iterations int    `json:"-"`
	// MySQLNative is SHA1(SHA1(secret)), what mysql_native_password
	// checks a scramble against; MySQLSHA2 is SHA256(SHA256(secret)), for
	// caching_sha2_password's fast path. Neither reveals the secret, which
	// carries 190 random bits.
	MySQLNative []byte `json:"-"`
	MySQLSHA2   []byte `json:"-"`
}

// Live reports whether the token can be used at time now.
func (t *Token) Live(now time.Time) bool {
	if t.RevokedAt != nil {
		return false
	}
	return t.ExpiresAt == nil || now.Before(*t.ExpiresAt)
}

// State names the token's state at time now: "active", "expired" or "revoked".
func (t *Token) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	}
	return "active"
}

// TokenFilter selects tokens. Zero fields match everything.
type TokenFilter struct {
	User string
	// LiveAt, when set, keeps only tokens live at that time.
	LiveAt time.Time
}

// TokenStore keeps tokens.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	GetToken(ctx context.Context, id string) (*Token, error)                   // ENOTFOUND
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)              // ENOTFOUND
	ListTokens(ctx context.Context, f TokenFilter) ([]*Token, error)           // newest first
	RevokeToken(ctx context.Context, id string, at time.Time, by string) error // ENOTFOUND; revoking twice keeps the first time
}
