package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"airlock"
)

const userColumns = `name, groups_json, roles_json, from_config, scram_salt, created_at, kind`

// CreateUser stores u. It fails with ECONFLICT when the name is taken.
func (db *DB) CreateUser(ctx context.Context, u *airlock.User) error {
	groups, roles, err := userLists(u)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	created, err := timeArg(u.CreatedAt)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.Name, groups, roles, u.FromConfig, u.ScramSalt, created, u.Kind)
	if isUniqueViolation(err) {
		return airlock.Errorf(airlock.ECONFLICT, "user %q already exists", u.Name)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UpdateUser replaces the stored user named u.Name with u, except CreatedAt,
// which keeps its value from CreateUser. It fails with ENOTFOUND when there
// is no such user.
func (db *DB) UpdateUser(ctx context.Context, u *airlock.User) error {
	groups, roles, err := userLists(u)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	res, err := db.write.ExecContext(ctx, `UPDATE users SET groups_json = ?, roles_json = ?, from_config = ?, scram_salt = ?, kind = ? WHERE name = ?`,
		groups, roles, u.FromConfig, u.ScramSalt, u.Kind, u.Name)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	return mustAffect(res, "user", u.Name)
}

// GetUser returns the user with the given name, or ENOTFOUND.
func (db *DB) GetUser(ctx context.Context, name string) (*airlock.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "user %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ListUsers returns every user, ordered by name (byte order).
func (db *DB) ListUsers(ctx context.Context) ([]*airlock.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var us []*airlock.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// DeleteUser removes the user and, with it, all of the user's tokens. Session
// records and audit events that name the user stay. It fails with ENOTFOUND
// when there is no such user.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return mustAffect(res, "user", name)
}

// userLists encodes the user's groups and roles as JSON ("null" for nil, so
// that nil and empty lists both round-trip).
func userLists(u *airlock.User) (groups, roles string, err error) {
	g, err := json.Marshal(u.Groups)
	if err != nil {
		return "", "", err
	}
	r, err := json.Marshal(u.Roles)
	if err != nil {
		return "", "", err
	}
	return string(g), string(r), nil
}

func scanUser(row rowScanner) (*airlock.User, error) {
	var (
		u             airlock.User
		groups, roles string
		created       sql.NullInt64
		salt          []byte
	)
	if err := row.Scan(&u.Name, &groups, &roles, &u.FromConfig, &salt, &created, &u.Kind); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &u.Groups); err != nil {
		return nil, fmt.Errorf("user %q groups: %w", u.Name, err)
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("user %q roles: %w", u.Name, err)
	}
	u.ScramSalt = salt
	u.CreatedAt = timeOf(created)
	return &u, nil
}

// mustAffect turns an UPDATE or DELETE that matched no row into ENOTFOUND.
func mustAffect(res sql.Result, kind, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %q: %w", kind, id, err)
	}
	if n == 0 {
		return airlock.Errorf(airlock.ENOTFOUND, "%s %q not found", kind, id)
	}
	return nil
}
