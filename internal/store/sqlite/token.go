package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/store/codec"

	sqlite3 "modernc.org/sqlite/lib"
)

const tokenColumns = `id, username, created_by, created_at, expires_at, revoked_at, revoked_by, note, hash, stored_key, server_key, iterations, mysql_native, mysql_sha2`

// CreateToken stores t. The token's user must exist (ENOTFOUND otherwise);
// its ID and its Hash must be new (ECONFLICT otherwise).
func (db *DB) CreateToken(ctx context.Context, t *airlock.Token) error {
	created, err := timeArg(t.CreatedAt)
	if err != nil {
		return err
	}
	expires, err := timePtrArg(t.ExpiresAt)
	if err != nil {
		return err
	}
	revoked, err := timePtrArg(t.RevokedAt)
	if err != nil {
		return err
	}
	if len(t.Hash) == 0 {
		return airlock.Errorf(airlock.EINVALID, "token %q has no hash", t.ID)
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.User, t.CreatedBy, created, expires, revoked, t.RevokedBy, t.Note, t.Hash, t.StoredKey, t.ServerKey, t.Iterations,
		t.MySQLNative, t.MySQLSHA2)
	switch {
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		return airlock.Errorf(airlock.ENOTFOUND, "user %q not found", t.User)
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return airlock.Errorf(airlock.ECONFLICT, "token %q already exists", t.ID)
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE):
		return airlock.Errorf(airlock.ECONFLICT, "a token with the same secret already exists")
	case err != nil:
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// GetToken returns the token with the given ID, or ENOTFOUND.
func (db *DB) GetToken(ctx context.Context, id string) (*airlock.Token, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "token %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	return t, nil
}

// TokenByHash returns the token whose Hash is hash, live or not, or
// ENOTFOUND.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*airlock.Token, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns the tokens that match f, newest (CreatedAt) first;
// tokens created at the same instant come in reverse order of creation.
func (db *DB) ListTokens(ctx context.Context, f airlock.TokenFilter) ([]*airlock.Token, error) {
	var (
		where []string
		args  []any
	)
	if f.User != "" {
		where = append(where, `username = ?`)
		args = append(args, f.User)
	}
	if !f.LiveAt.IsZero() {
		// Token.Live: not revoked, and now is before the expiry.
		where = append(where, `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`)
		args = append(args, codec.FilterTime(f.LiveAt))
	}
	q := `SELECT ` + tokenColumns + ` FROM tokens`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC, rowid DESC`
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var ts []*airlock.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken marks the token revoked at `at` by `by`. Revoking a revoked
// token succeeds and keeps the first time and revoker. It fails with
// ENOTFOUND when there is no such token.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time, by string) error {
	when, err := timeArg(at)
	if err != nil {
		return err
	}
	if when == nil {
		return airlock.Errorf(airlock.EINVALID, "revocation time is not set")
	}
	// One statement, so that "exists" and "already revoked" are decided
	// atomically: SET expressions see the row's old values.
	res, err := db.write.ExecContext(ctx, `UPDATE tokens SET
		revoked_by = CASE WHEN revoked_at IS NULL THEN ? ELSE revoked_by END,
		revoked_at = COALESCE(revoked_at, ?)
		WHERE id = ?`, by, when, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return mustAffect(res, "token", id)
}

func scanToken(row rowScanner) (*airlock.Token, error) {
	var (
		t                         airlock.Token
		created, expires, revoked sql.NullInt64
	)
	if err := row.Scan(&t.ID, &t.User, &t.CreatedBy, &created, &expires, &revoked, &t.RevokedBy, &t.Note,
		&t.Hash, &t.StoredKey, &t.ServerKey, &t.Iterations, &t.MySQLNative, &t.MySQLSHA2); err != nil {
		return nil, err
	}
	t.CreatedAt = timeOf(created)
	t.ExpiresAt = timePtrOf(expires)
	t.RevokedAt = timePtrOf(revoked)
	return &t, nil
}
