// Package myadmin does what airlock asks of a MySQL or MariaDB database
// outside client sessions: it checks what each credential may do
// (`airlock databases check`), installs the undo capture (`airlock
// databases prepare`: the capture table and, on every base table of the
// database's schema, the triggers internal/undo generates from its
// columns) and runs undo plans, with the database's own credentials,
// through go-sql-driver/mysql.
package myadmin

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/undo"

	"github.com/go-sql-driver/mysql"
)

// Admin implements gateway.DBAdmin for MySQL and MariaDB.
type Admin struct{}

// Connect opens a pool of at most one connection to db with the credential
// of level, in the database's schema, with the sql_mode and time zone the
// capture expressions are written for (undo.MySQLMode, undo.MyTimeZone).
func Connect(ctx context.Context, db *config.Database, level airlock.Level) (*sql.DB, error) {
	cred, ok := db.Credentials[level]
	if !ok {
		return nil, fmt.Errorf("database %s has no %s credential", db.Name, level)
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = cred.User, cred.Password
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", db.Address, db.Database
	cfg.Timeout = 10 * time.Second
	switch db.TLSMode {
	case "prefer", "":
		cfg.TLSConfig = "preferred"
	case "require":
		cfg.TLSConfig = "skip-verify"
	case "verify-full":
		cfg.TLSConfig = "true"
	default:
		cfg.TLSConfig = "false"
	}
	cfg.Params = map[string]string{
		"sql_mode":  undo.MyQuoteLiteral(undo.MySQLMode),
		"time_zone": undo.MyQuoteLiteral(undo.MyTimeZone),
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	d := sql.OpenDB(conn)
	d.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.PingContext(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
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

// Prepare creates the capture table in the database's schema, lets the
// write credentials read and delete its rows, and (re)installs the
// capture triggers on every base table of the schema. It returns how many
// tables have them. A table with a column airlock cannot capture exactly
// is left without triggers (its writes are then seen as uncaptured), and
// the error names it, after every other table was prepared.
func (Admin) Prepare(ctx context.Context, db *config.Database) (int, error) {
	lvl, err := adminLevel(db)
	if err != nil {
		return 0, err
	}
	c, err := Connect(ctx, db, lvl)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	schema := db.Database
	if _, err := c.ExecContext(ctx, undo.MyCaptureTableSQL(schema)); err != nil {
		return 0, fmt.Errorf("create the capture table: %w", err)
	}
	if err := grantCapture(ctx, c, db); err != nil {
		return 0, err
	}
	tables, err := baseTables(ctx, c, schema)
	if err != nil {
		return 0, err
	}
	n := 0
	var skipped []string
	for _, t := range tables {
		cols, err := Columns(ctx, c, schema, t)
		if err != nil {
			return n, fmt.Errorf("columns of %s: %w", t, err)
		}
		pk, err := primaryKey(ctx, c, schema, t)
		if err != nil {
			return n, fmt.Errorf("primary key of %s: %w", t, err)
		}
		stmts, terr := undo.MyTriggers(schema, t, cols, pk)
		if terr != nil {
			skipped = append(skipped, fmt.Sprintf("%s (%v)", t, terr))
			stmts = undo.MyDropTriggers(schema, t)
		}
		for _, s := range stmts {
			if _, err := c.ExecContext(ctx, s); err != nil {
				return n, fmt.Errorf("install the capture triggers on %s: %w", t, err)
			}
		}
		if terr == nil {
			n++
		}
	}
	if len(skipped) > 0 {
		return n, fmt.Errorf("installed on %d tables, but not on %s: writes to them cannot be undone", n, strings.Join(skipped, ", "))
	}
	return n, nil
}

// baseTables lists the schema's base tables but the capture table.
func baseTables(ctx context.Context, c *sql.DB, schema string) ([]string, error) {
	rows, err := c.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_NAME <> ? ORDER BY TABLE_NAME`,
		schema, undo.MyCaptureTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func primaryKey(ctx context.Context, c *sql.DB, schema, table string) ([]string, error) {
	rows, err := c.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// grantCapture lets every account of the write (and higher) credentials
// read and delete captured rows: the gateway reads them back after each
// write and removes them before the transaction commits. The triggers
// write them with their definer's rights.
func grantCapture(ctx context.Context, c *sql.DB, db *config.Database) error {
	users := map[string]bool{}
	for l, cred := range db.Credentials {
		if l >= airlock.LevelWrite && cred.User != "" {
			users[cred.User] = true
		}
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	table := undo.MyQuoteIdent(db.Database) + "." + undo.MyQuoteIdent(undo.MyCaptureTable)
	for _, u := range names {
		rows, err := c.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ?", u)
		if err != nil {
			return fmt.Errorf("find the accounts of %s to grant them SELECT, DELETE on %s (grant it yourself if this credential cannot read mysql.user): %w", u, table, err)
		}
		var hosts []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return err
			}
			hosts = append(hosts, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, h := range hosts {
			if _, err := c.ExecContext(ctx, "GRANT SELECT, DELETE ON "+table+" TO "+undo.MyQuoteLiteral(u)+"@"+undo.MyQuoteLiteral(h)); err != nil {
				return fmt.Errorf("grant SELECT, DELETE on %s to %s@%s: %w", table, u, h, err)
			}
		}
	}
	return nil
}

// ShowUndo renders the SQL that reverses recs. MySQL images name their
// columns, so no connection is needed.
func (Admin) ShowUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord) (string, error) {
	steps, err := undoPlan(db.Database, recs)
	if err != nil {
		return "", err
	}
	return undoShow(steps), nil
}

// ApplyUndo reverses recs in one transaction with the write credential,
// capturing the reversal itself as undo record newID (so it can be undone
// in turn). beforeCommit receives that capture and the SQL run; an error
// from it rolls everything back. Conflicts stop the apply unless force.
func (Admin) ApplyUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord, force bool, newID string,
	beforeCommit func(images []airlock.UndoImage, sql string) error) ([]undo.Conflict, bool, error) {
	steps, err := undoPlan(db.Database, recs)
	if err != nil {
		return nil, false, err
	}
	c, err := Connect(ctx, db, airlock.LevelWrite)
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	var prepared int
	if err := tx.QueryRowContext(ctx, undo.MyPrepared(db.Database)).Scan(&prepared); err != nil {
		return nil, false, err
	}
	if prepared > 0 {
		if _, err := tx.ExecContext(ctx, undo.MyStartCapture(newID)); err != nil {
			return nil, false, err
		}
	}
	conflicts, err := undoApply(ctx, tx, db.Database, steps, force)
	if err != nil {
		return conflicts, false, err
	}
	if len(conflicts) > 0 && !force {
		return conflicts, false, nil
	}
	var images []airlock.UndoImage
	if prepared > 0 {
		capt, err := readCaptured(ctx, tx, db.Database, newID)
		if err != nil {
			return conflicts, false, err
		}
		images = capt.Images
		for _, s := range append(undo.MyClearCaptured(db.Database, capt.IDs), undo.MyStopCapture) {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return conflicts, false, err
			}
		}
	}
	if err := beforeCommit(images, undoShow(steps)); err != nil {
		return conflicts, false, err
	}
	return conflicts, true, tx.Commit()
}

// readCaptured reads what statement id captured in tx.
func readCaptured(ctx context.Context, tx *sql.Tx, schema, id string) (*undo.MyCapture, error) {
	rows, err := tx.QueryContext(ctx, undo.MyReadCaptured(schema, id))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var raw [][]string
	for rows.Next() {
		vals := make([]sql.NullString, 7)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := make([]string, len(vals))
		for i, v := range vals {
			r[i] = v.String
		}
		raw = append(raw, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	capt, err := undo.MyCaptured(raw)
	if err != nil {
		return nil, fmt.Errorf("read the capture of the apply: %w", err)
	}
	return capt, nil
}
