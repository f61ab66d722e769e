package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/store/codec"

	"github.com/jackc/pgx/v5"
)

const tokenColumns = `id, username, created_by, created_at, expires_at, revoked_at, revoked_by, note, hash, stored_key, server_key, iterations, mysql_native, mysql_sha2`

// CreateToken stores t. ENOTFOUND when its user does not exist, ECONFLICT
// when its ID or hash is taken, EINVALID without a hash.
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
	_, err = db.pool.Exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		t.ID, t.User, t.CreatedBy, created, expires, revoked, t.RevokedBy, t.Note, t.Hash, t.StoredKey, t.ServerKey, t.Iterations,
		t.MySQLNative, t.MySQLSHA2)
	switch {
	case pgCode(err) == codeForeignKeyViolation:
		return airlock.Errorf(airlock.ENOTFOUND, "user %q not found", t.User)
	case pgCode(err) == codeUniqueViolation && constraintOf(err) == "tokens_pkey":
		return airlock.Errorf(airlock.ECONFLICT, "token %q already exists", t.ID)
	case pgCode(err) == codeUniqueViolation:
		return airlock.Errorf(airlock.ECONFLICT, "a token with the same secret already exists")
	case err != nil:
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// GetToken returns the token with the ID; ENOTFOUND if there is none.
func (db *DB) GetToken(ctx context.Context, id string) (*airlock.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "token %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	return t, nil
}

// TokenByHash returns the token whose secret hashes to hash; ENOTFOUND if
// there is none.
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*airlock.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "token not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get token by hash: %w", err)
	}
	return t, nil
}

// ListTokens returns the tokens that match f, newest first.
func (db *DB) ListTokens(ctx context.Context, f airlock.TokenFilter) ([]*airlock.Token, error) {
	var (
		where []string
		args  []any
	)
	if f.User != "" {
		args = append(args, f.User)
		where = append(where, fmt.Sprintf(`username = $%d`, len(args)))
	}
	if !f.LiveAt.IsZero() {
		args = append(args, codec.FilterTime(f.LiveAt))
		where = append(where, fmt.Sprintf(`revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $%d)`, len(args)))
	}
	q := `SELECT ` + tokenColumns + ` FROM tokens`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC NULLS LAST, seq DESC`
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	ts, err := collect(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken marks the token revoked at at by by, keeping the first
// revocation; ENOTFOUND if there is none. Every gateway hears of it.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time, by string) error {
	when, err := timeArg(at)
	if err != nil {
		return err
	}
	if when == nil {
		return airlock.Errorf(airlock.EINVALID, "revocation time is not set")
	}
	tag, err := db.pool.Exec(ctx, `UPDATE tokens SET
		revoked_by = CASE WHEN revoked_at IS NULL THEN $1 ELSE revoked_by END,
		revoked_at = COALESCE(revoked_at, $2)
		WHERE id = $3`, by, when, id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if err := mustAffect(tag, "token", id); err != nil {
		return err
	}
	db.notify(ctx, topicToken, id)
	return nil
}

func scanToken(row pgx.Row) (*airlock.Token, error) {
	var (
		t                         airlock.Token
		created, expires, revoked *int64
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
