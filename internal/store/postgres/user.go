package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"airlock"

	"github.com/jackc/pgx/v5"
)

const userColumns = `name, groups_json, roles_json, from_config, scram_salt, created_at, kind`

// CreateUser stores u; ECONFLICT if the name exists.
func (db *DB) CreateUser(ctx context.Context, u *airlock.User) error {
	groups, roles, err := userLists(u)
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	created, err := timeArg(u.CreatedAt)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.Name, groups, roles, u.FromConfig, u.ScramSalt, created, u.Kind)
	if pgCode(err) == codeUniqueViolation {
		return airlock.Errorf(airlock.ECONFLICT, "user %q already exists", u.Name)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	db.notify(ctx, topicUser, u.Name)
	return nil
}

// UpdateUser stores u's groups, roles, origin and salt; ENOTFOUND if the
// user does not exist.
func (db *DB) UpdateUser(ctx context.Context, u *airlock.User) error {
	groups, roles, err := userLists(u)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	tag, err := db.pool.Exec(ctx, `UPDATE users SET groups_json = $1, roles_json = $2, from_config = $3, scram_salt = $4, kind = $5 WHERE name = $6`,
		groups, roles, u.FromConfig, u.ScramSalt, u.Kind, u.Name)
	if err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	if err := mustAffect(tag, "user", u.Name); err != nil {
		return err
	}
	db.notify(ctx, topicUser, u.Name)
	return nil
}

// GetUser returns the user called name; ENOTFOUND if there is none.
func (db *DB) GetUser(ctx context.Context, name string) (*airlock.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE name = $1`, name))
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "user %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ListUsers returns every user, ordered by name.
func (db *DB) ListUsers(ctx context.Context) ([]*airlock.User, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	us, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// DeleteUser deletes the user and its tokens; ENOTFOUND if there is none.
func (db *DB) DeleteUser(ctx context.Context, name string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if err := mustAffect(tag, "user", name); err != nil {
		return err
	}
	db.notify(ctx, topicUser, name)
	return nil
}

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

func scanUser(row pgx.Row) (*airlock.User, error) {
	var (
		u             airlock.User
		groups, roles string
		created       *int64
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

// collect scans every row of rows with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
