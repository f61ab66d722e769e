package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/store/codec"
)

const requestColumns = `id, username, dbname, level, tables_json, duration_ns, reason, state, policy,
	approver_groups_json, approvals_needed, approvals_json, decided_by, decision_reason, grant_id,
	created_at, expires_at, decided_at, script_json, version`

var (
	_ airlock.RequestStore = (*DB)(nil)
	_ airlock.GrantStore   = (*DB)(nil)
)

func requestArgs(r *airlock.Request) ([]any, error) {
	tables, err := json.Marshal(nonNilStrings(r.Tables))
	if err != nil {
		return nil, err
	}
	groups, err := json.Marshal(nonNilStrings(r.ApproverGroups))
	if err != nil {
		return nil, err
	}
	approvals := r.Approvals
	if approvals == nil {
		approvals = []airlock.Approval{}
	}
	apps, err := json.Marshal(approvals)
	if err != nil {
		return nil, err
	}
	created, err := timeArg(r.CreatedAt)
	if err != nil {
		return nil, err
	}
	expires, err := timeArg(r.ExpiresAt)
	if err != nil {
		return nil, err
	}
	decided, err := timePtrArg(r.DecidedAt)
	if err != nil {
		return nil, err
	}
	script, err := codec.RequestScript(r)
	if err != nil {
		return nil, err
	}
	return []any{r.ID, r.User, r.Database, int(r.Level), string(tables), int64(r.Duration), r.Reason, r.State, r.Policy,
		string(groups), r.ApprovalsNeeded, string(apps), r.DecidedBy, r.DecisionReason, r.GrantID,
		created, expires, decided, script}, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateRequest stores r with version 0 (ECONFLICT if its ID exists).
func (db *DB) CreateRequest(ctx context.Context, r *airlock.Request) error {
	args, err := requestArgs(r)
	if err != nil {
		return err
	}
	r.Version = 0
	args = append(args, r.Version)
	_, err = db.write.ExecContext(ctx, `INSERT INTO requests (`+requestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isUniqueViolation(err) {
		return airlock.Errorf(airlock.ECONFLICT, "request %q already exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("create request: %w", err)
	}
	return nil
}

// UpdateRequest stores r when the stored version is r.Version, then
// increments r.Version; ECONFLICT when it was updated meanwhile, ENOTFOUND
// when it does not exist.
func (db *DB) UpdateRequest(ctx context.Context, r *airlock.Request) error {
	args, err := requestArgs(r)
	if err != nil {
		return err
	}
	// Every column but id, then the id and the expected version.
	set := args[1:]
	set = append(set, r.Version+1, r.ID, r.Version)
	res, err := db.write.ExecContext(ctx, `UPDATE requests SET username = ?, dbname = ?, level = ?, tables_json = ?,
		duration_ns = ?, reason = ?, state = ?, policy = ?, approver_groups_json = ?, approvals_needed = ?,
		approvals_json = ?, decided_by = ?, decision_reason = ?, grant_id = ?, created_at = ?, expires_at = ?,
		decided_at = ?, script_json = ?, version = ? WHERE id = ? AND version = ?`, set...)
	if err != nil {
		return fmt.Errorf("update request: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update request: %w", err)
	}
	if n == 0 {
		if _, err := db.GetRequest(ctx, r.ID); err != nil {
			return err
		}
		return airlock.Errorf(airlock.ECONFLICT, "request %q was changed meanwhile", r.ID)
	}
	r.Version++
	return nil
}

// GetRequest returns the request with id, or ENOTFOUND.
func (db *DB) GetRequest(ctx context.Context, id string) (*airlock.Request, error) {
	r, err := scanRequest(db.read.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "request %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	return r, nil
}

// ListRequests returns the matching requests, newest first.
func (db *DB) ListRequests(ctx context.Context, f airlock.RequestFilter) ([]*airlock.Request, error) {
	var where []string
	var args []any
	if f.User != "" {
		where, args = append(where, `username = ?`), append(args, f.User)
	}
	if f.Database != "" {
		where, args = append(where, `dbname = ?`), append(args, f.Database)
	}
	if f.State != "" {
		where, args = append(where, `state = ?`), append(args, f.State)
	}
	q := `SELECT ` + requestColumns + ` FROM requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC, rowid DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []*airlock.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

func scanRequest(row rowScanner) (*airlock.Request, error) {
	var (
		r                           airlock.Request
		level                       int
		dur                         int64
		tables, groups, apps        string
		created, expires, decidedAt sql.NullInt64
		script                      string
	)
	if err := row.Scan(&r.ID, &r.User, &r.Database, &level, &tables, &dur, &r.Reason, &r.State, &r.Policy,
		&groups, &r.ApprovalsNeeded, &apps, &r.DecidedBy, &r.DecisionReason, &r.GrantID,
		&created, &expires, &decidedAt, &script, &r.Version); err != nil {
		return nil, err
	}
	r.Level, r.Duration = airlock.Level(level), time.Duration(dur)
	if err := json.Unmarshal([]byte(tables), &r.Tables); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &r.ApproverGroups); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(apps), &r.Approvals); err != nil {
		return nil, err
	}
	for i := range r.Approvals {
		r.Approvals[i].At = r.Approvals[i].At.UTC()
	}
	r.CreatedAt, r.ExpiresAt, r.DecidedAt = timeOf(created), timeOf(expires), timePtrOf(decidedAt)
	if err := codec.ScanRequestScript(&r, script); err != nil {
		return nil, err
	}
	return &r, nil
}

const grantColumns = `id, request_id, username, dbname, level, tables_json, created_at, expires_at, revoked_at, revoked_by`

// CreateGrant stores g (ECONFLICT if its ID exists).
func (db *DB) CreateGrant(ctx context.Context, g *airlock.Grant) error {
	tables, err := json.Marshal(nonNilStrings(g.Tables))
	if err != nil {
		return err
	}
	created, err := timeArg(g.CreatedAt)
	if err != nil {
		return err
	}
	expires, err := timeArg(g.ExpiresAt)
	if err != nil {
		return err
	}
	revoked, err := timePtrArg(g.RevokedAt)
	if err != nil {
		return err
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.RequestID, g.User, g.Database, int(g.Level), string(tables), created, expires, revoked, g.RevokedBy)
	if isUniqueViolation(err) {
		return airlock.Errorf(airlock.ECONFLICT, "grant %q already exists", g.ID)
	}
	if err != nil {
		return fmt.Errorf("create grant: %w", err)
	}
	return nil
}

// GetGrant returns the grant with id, or ENOTFOUND.
func (db *DB) GetGrant(ctx context.Context, id string) (*airlock.Grant, error) {
	g, err := scanGrant(db.read.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "grant %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get grant: %w", err)
	}
	return g, nil
}

// ListGrants returns the matching grants, newest first.
func (db *DB) ListGrants(ctx context.Context, f airlock.GrantFilter) ([]*airlock.Grant, error) {
	var where []string
	var args []any
	if f.User != "" {
		where, args = append(where, `username = ?`), append(args, f.User)
	}
	if f.Database != "" {
		where, args = append(where, `dbname = ?`), append(args, f.Database)
	}
	if !f.ActiveAt.IsZero() {
		// Grant.Active: not revoked, started, not yet expired.
		at := codec.FilterTime(f.ActiveAt)
		where, args = append(where, `revoked_at IS NULL AND created_at <= ? AND expires_at > ?`), append(args, at, at)
	}
	q := `SELECT ` + grantColumns + ` FROM grants`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC, rowid DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	var out []*airlock.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return out, nil
}

// RevokeGrant marks the grant revoked; a second revocation keeps the first.
func (db *DB) RevokeGrant(ctx context.Context, id string, at time.Time, by string) error {
	when, err := timeArg(at)
	if err != nil {
		return err
	}
	if when == nil {
		return airlock.Errorf(airlock.EINVALID, "revocation time is not set")
	}
	res, err := db.write.ExecContext(ctx, `UPDATE grants SET
		revoked_by = CASE WHEN revoked_at IS NULL THEN ? ELSE revoked_by END,
		revoked_at = COALESCE(revoked_at, ?)
		WHERE id = ?`, by, when, id)
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return mustAffect(res, "grant", id)
}

func scanGrant(row rowScanner) (*airlock.Grant, error) {
	var (
		g                         airlock.Grant
		level                     int
		tables                    string
		created, expires, revoked sql.NullInt64
	)
	if err := row.Scan(&g.ID, &g.RequestID, &g.User, &g.Database, &level, &tables, &created, &expires, &revoked, &g.RevokedBy); err != nil {
		return nil, err
	}
	g.Level = airlock.Level(level)
	if err := json.Unmarshal([]byte(tables), &g.Tables); err != nil {
		return nil, err
	}
	g.CreatedAt, g.ExpiresAt, g.RevokedAt = timeOf(created), timeOf(expires), timePtrOf(revoked)
	return &g, nil
}
