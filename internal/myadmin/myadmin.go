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
		"sql_mode":  quoteLiteral(undo.MySQLMode),
		"time_zone": quoteLiteral(undo.MyTimeZone),
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

func quoteLiteral(s string) string { return undo.MyQuoteLiteral(s) }

// dataPrivileges are the privileges that change data or definitions of a
// schema's tables (or, held on *.*, of every schema's).
var dataPrivileges = []string{"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX",
	"CREATE VIEW", "TRIGGER", "CREATE ROUTINE", "ALTER ROUTINE", "EVENT", "DELETE HISTORY"}

// serverPrivileges act on the server or outside the session (SPEC §2,
// admin).
var serverPrivileges = []string{"SUPER", "FILE", "SHUTDOWN", "CREATE USER", "RELOAD", "BINLOG ADMIN",
	"CONNECTION ADMIN", "REPLICATION SLAVE ADMIN", "READ_ONLY ADMIN", "SET USER"}

// Check connects with each credential of db and reports what would let a
// level do more than it should, from the privileges the account holds as
// the server reports them to it (information_schema's USER_, SCHEMA_ and
// TABLE_PRIVILEGES, which include the current role's): a read credential
// that may change any table of the schema or act on the server, a write
// credential that may change a protected table, a write or ddl credential
// with server-wide powers.
func (Admin) Check(ctx context.Context, db *config.Database) ([]airlock.Finding, error) {
	var out []airlock.Finding
	levels := make([]airlock.Level, 0, len(db.Credentials))
	for l := range db.Credentials {
		levels = append(levels, l)
	}
	sort.Slice(levels, func(i, j int) bool { return levels[i] < levels[j] })
	for _, l := range levels {
		c, err := Connect(ctx, db, l)
		if err != nil {
			out = append(out, airlock.Finding{Level: l.String(), Severity: "error", Message: fmt.Sprintf("cannot connect with the %s credential: %v", l, err)})
			continue
		}
		fs, err := checkLevel(ctx, c, db, l)
		c.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// privs is what an account may do, by scope.
type privs struct {
	global map[string]bool            // on *.*
	schema map[string]bool            // on the database's schema (or a pattern matching it)
	table  map[string]map[string]bool // on tables of the schema, by table name
}

// held returns the privileges of list that scope holds.
func held(scope map[string]bool, list []string) []string {
	var out []string
	for _, x := range list {
		if scope[x] {
			out = append(out, x)
		}
	}
	return out
}

func readPrivs(ctx context.Context, c *sql.DB, schema string) (privs, error) {
	p := privs{global: map[string]bool{}, schema: map[string]bool{}, table: map[string]map[string]bool{}}
	// Every query returns a table name ('' but for table grants) and a
	// privilege. A schema-level grant names the schema or a LIKE pattern
	// for it.
	for _, q := range []struct {
		sql  string
		args []any
		into func(table string) map[string]bool
	}{
		{"SELECT '', PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES", nil,
			func(string) map[string]bool { return p.global }},
		{"SELECT '', PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = ? OR ? LIKE TABLE_SCHEMA", []any{schema, schema},
			func(string) map[string]bool { return p.schema }},
		{"SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = ?", []any{schema},
			func(t string) map[string]bool {
				if p.table[t] == nil {
					p.table[t] = map[string]bool{}
				}
				return p.table[t]
			}},
	} {
		if err := scanPrivs(ctx, c, q.sql, q.args, q.into); err != nil {
			return p, fmt.Errorf("read privileges: %w", err)
		}
	}
	return p, nil
}

func scanPrivs(ctx context.Context, c *sql.DB, query string, args []any, into func(table string) map[string]bool) error {
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t, v string
		if err := rows.Scan(&t, &v); err != nil {
			return err
		}
		into(t)[strings.ToUpper(v)] = true
	}
	return rows.Err()
}

func checkLevel(ctx context.Context, c *sql.DB, db *config.Database, l airlock.Level) ([]airlock.Finding, error) {
	p, err := readPrivs(ctx, c, db.Database)
	if err != nil {
		return nil, err
	}
	var out []airlock.Finding
	server := held(p.global, serverPrivileges)
	switch {
	case l == airlock.LevelRead:
		if len(server) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: "the read credential holds server privileges (" + strings.Join(server, ", ") + "): it can act beyond any session"})
		}
		if w := held(p.global, dataPrivileges); len(w) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: "the read credential may change every schema (" + strings.Join(w, ", ") + " on *.*)"})
		}
		if w := held(p.schema, dataPrivileges); len(w) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: fmt.Sprintf("the read credential may change %s (%s on the schema)", db.Database, strings.Join(w, ", "))})
		}
		var tables []string
		for t, tp := range p.table {
			if len(held(tp, dataPrivileges)) > 0 {
				tables = append(tables, db.Database+"."+t)
			}
		}
		sort.Strings(tables)
		if len(tables) > 0 {
			out = append(out, airlock.Finding{Level: "read", Severity: "error", Message: "the read credential may write to " + strings.Join(tables, ", ")})
		}
	case l <= airlock.LevelDDL:
		if len(server) > 0 {
			out = append(out, airlock.Finding{Level: l.String(), Severity: "warning", Message: fmt.Sprintf("the %s credential holds server privileges (%s): protected tables and server access rely on airlock alone", l, strings.Join(server, ", "))})
		}
		if l != airlock.LevelWrite {
			break
		}
		for _, pt := range db.ProtectedTables {
			schema, table, ok := strings.Cut(pt, ".")
			if !ok {
				schema, table = db.Database, pt
			}
			var n int
			if err := c.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", schema, table).Scan(&n); err != nil {
				return nil, err
			}
			if n == 0 {
				out = append(out, airlock.Finding{Level: "write", Severity: "warning", Message: fmt.Sprintf("protected table %s does not exist", pt)})
				continue
			}
			tp := p
			if schema != db.Database {
				if tp, err = readPrivs(ctx, c, schema); err != nil {
					return nil, err
				}
			}
			w := append(append(held(tp.global, dataPrivileges), held(tp.schema, dataPrivileges)...), held(tp.table[table], dataPrivileges)...)
			if len(w) > 0 {
				out = append(out, airlock.Finding{Level: "write", Severity: "error", Message: fmt.Sprintf("the write credential can change protected table %s (%s; a view, routine, trigger or cascade could reach it)", pt, strings.Join(dedup(w), ", "))})
			}
		}
	}
	return out, nil
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
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
		cols, err := undo.MyColumns(ctx, c, schema, t)
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
			if _, err := c.ExecContext(ctx, "GRANT SELECT, DELETE ON "+table+" TO "+quoteLiteral(u)+"@"+quoteLiteral(h)); err != nil {
				return fmt.Errorf("grant SELECT, DELETE on %s to %s@%s: %w", table, u, h, err)
			}
		}
	}
	return nil
}

// ShowUndo renders the SQL that reverses recs. MySQL images name their
// columns, so no connection is needed.
func (Admin) ShowUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord) (string, error) {
	steps, err := undo.MyPlan(db.Database, recs)
	if err != nil {
		return "", err
	}
	return undo.MyShow(steps), nil
}

// ApplyUndo reverses recs in one transaction with the write credential,
// capturing the reversal itself as undo record newID (so it can be undone
// in turn). beforeCommit receives that capture and the SQL run; an error
// from it rolls everything back. Conflicts stop the apply unless force.
func (Admin) ApplyUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord, force bool, newID string,
	beforeCommit func(images []airlock.UndoImage, sql string) error) ([]undo.Conflict, bool, error) {
	steps, err := undo.MyPlan(db.Database, recs)
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
	conflicts, err := undo.MyApply(ctx, tx, db.Database, steps, force)
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
	if err := beforeCommit(images, undo.MyShow(steps)); err != nil {
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
