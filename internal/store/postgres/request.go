package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/store/codec"

	"github.com/jackc/pgx/v5"
)

const requestColumns = `id, username, dbname, level, tables_json, duration_ns, reason, state, policy,
	approver_groups_json, approvals_needed, approvals_json, decided_by, decision_reason, grant_id,
	created_at, expires_at, decided_at, script_json, version`

var (
	_ airlock.RequestStore = (*DB)(nil)
	_ airlock.GrantStore   = (*DB)(nil)
)

// requestArgs returns the column values of r in requestColumns' order,
// without version.
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

// CreateRequest stores r with version 0; ECONFLICT if its ID exists.
func (db *DB) CreateRequest(ctx context.Context, r *airlock.Request) error {
	args, err := requestArgs(r)
	if err != nil {
		return err
	}
	r.Version = 0
	args = append(args, r.Version)
	_, err = db.pool.Exec(ctx, `INSERT INTO requests (`+requestColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`, args...)
	if pgCode(err) == codeUniqueViolation {
		return airlock.Errorf(airlock.ECONFLICT, "request %q already exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("create request: %w", err)
	}
	db.notify(ctx, topicRequest, r.ID)
	return nil
}

// UpdateRequest stores r if the stored version is r.Version and increments
// r.Version; ECONFLICT when someone updated it meanwhile, ENOTFOUND when
// it does not exist.
func (db *DB) UpdateRequest(ctx context.Context, r *airlock.Request) error {
	args, err := requestArgs(r)
	if err != nil {
		return err
	}
	set := args[1:]
	set = append(set, r.Version+1, r.ID, r.Version)
	tag, err := db.pool.Exec(ctx, `UPDATE requests SET username = $1, dbname = $2, level = $3, tables_json = $4,
		duration_ns = $5, reason = $6, state = $7, policy = $8, approver_groups_json = $9, approvals_needed = $10,
		approvals_json = $11, decided_by = $12, decision_reason = $13, grant_id = $14, created_at = $15, expires_at = $16,
		decided_at = $17, script_json = $18, version = $19 WHERE id = $20 AND version = $21`, set...)
	if err != nil {
		return fmt.Errorf("update request: %w", err)
	}
	if tag.RowsAffected() == 0 {
		if _, err := db.GetRequest(ctx, r.ID); err != nil {
			return err
		}
		return airlock.Errorf(airlock.ECONFLICT, "request %q was changed meanwhile", r.ID)
	}
	r.Version++
	db.notify(ctx, topicRequest, r.ID)
	return nil
}

// GetRequest returns the request with the ID; ENOTFOUND if there is none.
func (db *DB) GetRequest(ctx context.Context, id string) (*airlock.Request, error) {
	r, err := scanRequest(db.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = $1`, id))
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "request %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get request: %w", err)
	}
	return r, nil
}

// ListRequests returns the requests that match f, newest first.
func (db *DB) ListRequests(ctx context.Context, f airlock.RequestFilter) ([]*airlock.Request, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.User != "" {
		add(`username = $%d`, f.User)
	}
	if f.Database != "" {
		add(`dbname = $%d`, f.Database)
	}
	if f.State != "" {
		add(`state = $%d`, f.State)
	}
	q := `SELECT ` + requestColumns + ` FROM requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC NULLS LAST, seq DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	out, err := collect(rows, scanRequest)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	return out, nil
}

func scanRequest(row pgx.Row) (*airlock.Request, error) {
	var (
		r                           airlock.Request
		level                       int
		dur                         int64
		tables, groups, apps        string
		created, expires, decidedAt *int64
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

// CreateGrant stores g; ECONFLICT if its ID exists. Every gateway hears of it.
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
	_, err = db.pool.Exec(ctx, `INSERT INTO grants (`+grantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		g.ID, g.RequestID, g.User, g.Database, int(g.Level), string(tables), created, expires, revoked, g.RevokedBy)
	if pgCode(err) == codeUniqueViolation {
		return airlock.Errorf(airlock.ECONFLICT, "grant %q already exists", g.ID)
	}
	if err != nil {
		return fmt.Errorf("create grant: %w", err)
	}
	db.notify(ctx, topicGrant, g.ID)
	return nil
}

// GetGrant returns the grant with the ID; ENOTFOUND if there is none.
func (db *DB) GetGrant(ctx context.Context, id string) (*airlock.Grant, error) {
	g, err := scanGrant(db.pool.QueryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, id))
	if notFound(err) {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "grant %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get grant: %w", err)
	}
	return g, nil
}

// ListGrants returns the grants that match f, newest first.
func (db *DB) ListGrants(ctx context.Context, f airlock.GrantFilter) ([]*airlock.Grant, error) {
	var where []string
	var args []any
	if f.User != "" {
		args = append(args, f.User)
		where = append(where, fmt.Sprintf(`username = $%d`, len(args)))
	}
	if f.Database != "" {
		args = append(args, f.Database)
		where = append(where, fmt.Sprintf(`dbname = $%d`, len(args)))
	}
	if !f.ActiveAt.IsZero() {
		args = append(args, codec.FilterTime(f.ActiveAt))
		where = append(where, fmt.Sprintf(`revoked_at IS NULL AND created_at <= $%[1]d AND expires_at > $%[1]d`, len(args)))
	}
	q := `SELECT ` + grantColumns + ` FROM grants`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY created_at DESC NULLS LAST, seq DESC`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	out, err := collect(rows, scanGrant)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return out, nil
}

// RevokeGrant marks the grant revoked, keeping the first revocation;
// ENOTFOUND if there is none. Every gateway hears of it.
func (db *DB) RevokeGrant(ctx context.Context, id string, at time.Time, by string) error {
	when, err := timeArg(at)
	if err != nil {
		return err
	}
	if when == nil {
		return airlock.Errorf(airlock.EINVALID, "revocation time is not set")
	}
	tag, err := db.pool.Exec(ctx, `UPDATE grants SET
		revoked_by = CASE WHEN revoked_at IS NULL THEN $1 ELSE revoked_by END,
		revoked_at = COALESCE(revoked_at, $2)
		WHERE id = $3`, by, when, id)
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	if err := mustAffect(tag, "grant", id); err != nil {
		return err
	}
	db.notify(ctx, topicGrant, id)
	return nil
}

func scanGrant(row pgx.Row) (*airlock.Grant, error) {
	var (
		g                         airlock.Grant
		level                     int
		tables                    string
		created, expires, revoked *int64
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
