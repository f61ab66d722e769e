// Package pgadmin does what airlock asks of a PostgreSQL database outside
// client sessions: it checks the configured credentials (the read
// credential must not be able to write; the write credential must not reach
// protected tables), installs the undo capture (`airlock databases
// prepare`), and runs undo plans.
package pgadmin

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5"
)

// Admin implements gateway.DBAdmin for PostgreSQL.
type Admin struct{}

// Connect opens a connection to db with the credential of level.
func Connect(ctx context.Context, db *config.Database, level airlock.Level) (*pgx.Conn, error) {
	cred, ok := db.Credentials[level]
	if !ok {
		return nil, fmt.Errorf("database %s has no %s credential", db.Name, level)
	}
	connStr, err := db.PGConnString(cred.User)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(connStr + " application_name=airlock")
	if err != nil {
		return nil, err
	}
	cfg.Password = cred.Password
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

// Finding is a problem a check found.
type Finding = airlock.Finding

// Check connects with each credential of db and reports what would let a
// level do more than it should: a read credential that is a superuser or
// may write to any table, a write credential that is a superuser or has
// privileges on a protected table.
func (Admin) Check(ctx context.Context, db *config.Database) ([]Finding, error) {
	var out []Finding
	for _, l := range db.Levels() {
		c, err := Connect(ctx, db, l)
		if err != nil {
			out = append(out, Finding{Level: l.String(), Severity: "error", Message: fmt.Sprintf("cannot connect with the %s credential: %v", l, err)})
			continue
		}
		var super bool
		if err := c.QueryRow(ctx, "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
			c.Close(ctx)
			return nil, err
		}
		switch l {
		case airlock.LevelRead:
			if super {
				out = append(out, Finding{Level: "read", Severity: "error", Message: "the read credential is a superuser: it can write anything"})
			}
			var writable []string
			rows, err := c.Query(ctx, `SELECT c.oid::regclass::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'airlock') AND n.nspname NOT LIKE 'pg_toast%'
				AND (pg_catalog.has_table_privilege(c.oid, 'INSERT') OR pg_catalog.has_table_privilege(c.oid, 'UPDATE')
				  OR pg_catalog.has_table_privilege(c.oid, 'DELETE') OR pg_catalog.has_table_privilege(c.oid, 'TRUNCATE'))
				ORDER BY 1 LIMIT 20`)
			if err == nil {
				writable, err = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			if err != nil {
				c.Close(ctx)
				return nil, err
			}
			if len(writable) > 0 && !super {
				out = append(out, Finding{Level: "read", Severity: "error", Message: "the read credential may write to " + strings.Join(writable, ", ")})
			}
		default:
			if super && l <= airlock.LevelDDL {
				out = append(out, Finding{Level: l.String(), Severity: "warning", Message: fmt.Sprintf("the %s credential is a superuser: protected tables and server access rely on airlock alone", l)})
			}
			if l == airlock.LevelWrite {
				for _, t := range db.ProtectedTables {
					var reg *string
					if err := c.QueryRow(ctx, "SELECT pg_catalog.to_regclass($1)::text", t).Scan(&reg); err != nil {
						c.Close(ctx)
						return nil, err
					}
					if reg == nil {
						out = append(out, Finding{Level: "write", Severity: "warning", Message: fmt.Sprintf("protected table %s does not exist", t)})
						continue
					}
					var priv bool
					if err := c.QueryRow(ctx, `SELECT pg_catalog.has_table_privilege($1, 'INSERT') OR pg_catalog.has_table_privilege($1, 'UPDATE')
						OR pg_catalog.has_table_privilege($1, 'DELETE') OR pg_catalog.has_table_privilege($1, 'TRUNCATE')`, t).Scan(&priv); err != nil {
						c.Close(ctx)
						return nil, err
					}
					if priv || super {
						out = append(out, Finding{Level: "write", Severity: "error", Message: fmt.Sprintf("the write credential can change protected table %s (a view, function, trigger or cascade could reach it)", t)})
					}
				}
			}
		}
		c.Close(ctx)
	}
	return out, nil
}

// adminLevel is the credential prepare uses: the highest configured.
func adminLevel(db *config.Database) (airlock.Level, error) {
	for _, l := range []airlock.Level{airlock.LevelAdmin, airlock.LevelDDL} {
		if _, ok := db.Credentials[l]; ok {
			return l, nil
		}
	}
	return 0, fmt.Errorf("preparing %s needs its ddl or admin credential, which can create triggers on its tables", db.Name)
}

// Prepare installs the undo capture on every table of the database's
// schemas and returns how many tables have the trigger.
func (Admin) Prepare(ctx context.Context, db *config.Database) (int, error) {
	lvl, err := adminLevel(db)
	if err != nil {
		return 0, err
	}
	c, err := Connect(ctx, db, lvl)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT nspname FROM pg_catalog.pg_namespace
		WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'airlock') AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'`)
	if err != nil {
		return 0, err
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	var roles []string
	for l, cred := range db.Credentials {
		if l >= airlock.LevelWrite && cred.User != "" {
			roles = append(roles, cred.User)
		}
	}
	sort.Strings(roles)
	if _, err := c.Exec(ctx, undo.Prepare(schemas, roles)); err != nil {
		return 0, fmt.Errorf("install undo capture: %w", err)
	}
	var n int
	err = c.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgname = 'airlock_capture'").Scan(&n)
	return n, err
}

// ShowUndo renders the SQL that reverses recs.
func (Admin) ShowUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord) (string, error) {
	c, err := Connect(ctx, db, airlock.LevelWrite)
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx)
	steps, err := undoPlan(ctx, tx, recs)
	if err != nil {
		return "", err
	}
	return undo.Show(steps), nil
}

// ApplyUndo reverses recs in one transaction with the write credential,
// capturing the reversal itself as undo record newID (so it can be undone
// in turn). beforeCommit receives that capture and the SQL run; an error
// from it rolls everything back. Conflicts stop the apply unless force.
func (Admin) ApplyUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord, force bool, newID string,
	beforeCommit func(images []airlock.UndoImage, sql string) error) ([]undo.Conflict, bool, error) {
	c, err := Connect(ctx, db, airlock.LevelWrite)
	if err != nil {
		return nil, false, err
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback(ctx)
	steps, err := undoPlan(ctx, tx, recs)
	if err != nil {
		return nil, false, err
	}
	var prepared bool
	if err := tx.QueryRow(ctx, undo.Prepared).Scan(&prepared); err != nil {
		return nil, false, err
	}
	if prepared {
		if _, err := tx.Exec(ctx, undo.StartCapture(newID)); err != nil {
			return nil, false, err
		}
	}
	conflicts, err := undoApply(ctx, tx, steps, force)
	if err != nil {
		return conflicts, false, err
	}
	if len(conflicts) > 0 && !force {
		return conflicts, false, nil
	}
	var images []airlock.UndoImage
	if prepared {
		if images, err = ReadCaptured(ctx, tx, newID); err != nil {
			return conflicts, false, err
		}
	}
	if err := beforeCommit(images, undo.Show(steps)); err != nil {
		return conflicts, false, err
	}
	return conflicts, true, tx.Commit(ctx)
}

// ReadCaptured reads (and clears) what the capture triggers saved for
// statement id in tx, as undo images.
func ReadCaptured(ctx context.Context, tx pgx.Tx, id string) ([]airlock.UndoImage, error) {
	q := undo.ReadCaptured(id)
	rows, err := tx.Query(ctx, q[0])
	if err != nil {
		return nil, err
	}
	var raw [][]*string
	for rows.Next() {
		var n int64
		var rel, op string
		var old, nw, pk *string
		if err := rows.Scan(&n, &rel, &op, &old, &nw, &pk); err != nil {
			rows.Close()
			return nil, err
		}
		ids := fmt.Sprint(n)
		raw = append(raw, []*string{&ids, &rel, &op, old, nw, pk})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, s := range q[1:] {
		if _, err := tx.Exec(ctx, s); err != nil {
			return nil, err
		}
	}
	return undo.Images(raw), nil
}
