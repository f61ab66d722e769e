package mcp

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/myadmin"
	"airlock/internal/undo"

	"github.com/go-sql-driver/mysql"
)

// myDialer serves MySQL and MariaDB databases with go-sql-driver.
type myDialer struct{}

type myUp struct {
	db   *sql.DB
	conn *sql.Conn
	// The facts only the database can tell (storage engines, views,
	// cascades), checked before anything runs, as the wire adapter does.
	vetoer *myadmin.Veto
}

func (myDialer) dial(ctx context.Context, sess *gateway.Session, timeout time.Duration) (upstream, error) {
	lvl := sess.Level()
	cred, ok := sess.Credential(lvl)
	if !ok {
		return nil, fmt.Errorf("database %s has no %s credential", sess.Database().Name, lvl)
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", sess.Database().Address, cred.User, cred.Password
	cfg.DBName = sess.Database().Database
	cfg.Collation = "utf8mb4_general_ci"
	cfg.Timeout = 10 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	c, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	// As the wire adapter: a read session is read-only on the database
	// too; lexing settings keep their pinned values.
	setup := []string{"SET SESSION sql_mode = REPLACE(REPLACE(@@sql_mode, 'ANSI_QUOTES', ''), 'NO_BACKSLASH_ESCAPES', '')"}
	if lvl <= airlock.LevelRead {
		setup = append(setup, "SET SESSION TRANSACTION READ ONLY")
	}
	for _, q := range setup {
		if _, err := c.ExecContext(ctx, q); err != nil {
			c.Close()
			db.Close()
			return nil, err
		}
	}
	// The server stops a statement at the time bound too (MariaDB's
	// setting, else MySQL's, which bounds SELECTs); the call's context
	// bounds it either way.
	if _, err := c.ExecContext(ctx, fmt.Sprintf("SET SESSION max_statement_time = %.3f", timeout.Seconds())); err != nil {
		c.ExecContext(ctx, fmt.Sprintf("SET SESSION max_execution_time = %d", timeout.Milliseconds()))
	}
	u := &myUp{db: db, conn: c}
	u.vetoer = &myadmin.Veto{DBName: sess.Database().Name, Schema: sess.Database().Database, Tables: map[string]myadmin.TableInfo{}, Query: u.vetoQuery}
	return u, nil
}

func (u *myUp) veto(ch *gateway.Check) (*airlock.Decision, error) { return u.vetoer.Check(ch) }

func (u *myUp) close() {
	u.conn.Close()
	u.db.Close()
}

func (u *myUp) read(ctx context.Context, text string, maxRows int, maxBytes int64) (*Result, error) {
	rows, err := u.conn.QueryContext(ctx, text)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := &Result{Columns: []Column{}, Rows: [][]any{}}
	for _, t := range types {
		r.Columns = append(r.Columns, Column{Name: t.Name(), Type: strings.ToLower(t.DatabaseTypeName())})
	}
	for rows.Next() {
		raw := make([]sql.RawBytes, len(types))
		dest := make([]any, len(types))
		for i := range raw {
			dest[i] = &raw[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]any, len(types))
		for i, b := range raw {
			row[i] = myValue(r.Columns[i].Type, b)
		}
		if !r.add(row, maxRows, maxBytes) {
			return r, nil // closing the rows drops the connection's rest
		}
	}
	return r, rows.Err()
}

// rows runs an internal query and returns its rows as text (SQL NULL as
// ""), as myadmin's functions read them.
func (u *myUp) rows(ctx context.Context, q string) ([][]string, error) {
	rs, err := u.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rs.Next() {
		raw := make([]sql.RawBytes, len(cols))
		dest := make([]any, len(cols))
		for i := range raw {
			dest[i] = &raw[i]
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, b := range raw {
			row[i] = string(b)
		}
		out = append(out, row)
	}
	return out, rs.Err()
}

// vetoQuery runs a query of the MySQL veto (myadmin.Veto).
func (u *myUp) vetoQuery(q string) ([][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := u.rows(ctx, q)
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return nil, &myadmin.QueryError{Message: me.Message}
	}
	return rows, err
}

// write runs the write as the wire adapter runs a guarded one (see
// mysqlwire/guard.go): in a transaction of its own, with the handler
// counters read around it and the capture triggers naming it; it commits
// only once the gateway let it stand and its events are durable.
func (u *myUp) write(ctx context.Context, sess *gateway.Session, ch *gateway.Check) (*WriteResult, *airlock.Decision, error) {
	bg := context.WithoutCancel(ctx)
	schema := sess.Database().Database
	capturing := false
	rollback := func() {
		if capturing {
			u.conn.ExecContext(bg, undo.MyStopCapture)
		}
		u.conn.ExecContext(bg, "ROLLBACK")
		sess.TxnEnded(false)
	}
	fail := func(err error) (*WriteResult, *airlock.Decision, error) {
		rollback()
		sess.Done(ch, 0, gateway.Outcome{Err: errText(err)})
		return nil, nil, writeFailed(sess, err)
	}
	if _, err := u.conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
		return fail(err)
	}
	g := ch.Guard
	var before myadmin.Counters
	if g != nil {
		if g.Capture {
			r, err := u.rows(ctx, undo.MyPrepared(schema))
			if err != nil {
				return fail(err)
			}
			if len(r) == 1 && len(r[0]) == 1 && r[0][0] != "0" {
				if _, err := u.conn.ExecContext(ctx, undo.MyStartCapture(g.UndoID)); err != nil {
					return fail(err)
				}
				capturing = true
			}
		}
		r, err := u.rows(ctx, myadmin.ChangedRows)
		if err == nil {
			before, err = myadmin.ParseCounters(r)
		}
		if err != nil {
			return fail(err)
		}
	}
	res, err := u.conn.ExecContext(ctx, ch.Text)
	if err != nil {
		return fail(err)
	}
	affected, _ := res.RowsAffected()
	changed := affected
	if g != nil {
		r, err := u.rows(ctx, myadmin.ChangedRows)
		var after myadmin.Counters
		if err == nil {
			after, err = myadmin.ParseCounters(r)
		}
		if err != nil {
			return fail(err)
		}
		diff := after.Minus(before)
		changed = diff.Total()
		var capt *undo.MyCapture
		if capturing {
			r, err := u.rows(ctx, undo.MyReadCaptured(schema, g.UndoID))
			if err == nil {
				capt, err = undo.MyCaptured(r)
			}
			if err != nil {
				return fail(err)
			}
			for _, q := range append(undo.MyClearCaptured(schema, capt.IDs), undo.MyStopCapture) {
				if _, err := u.conn.ExecContext(ctx, q); err != nil {
					return fail(err)
				}
			}
			capturing = false
			changed -= int64(capt.Rows) // the capture table's own rows
		}
		deny := sess.RowsChanged(ch, changed)
		if deny == nil && g.Capture {
			var images []airlock.UndoImage
			wasCapturing := capt != nil
			if capt != nil {
				images = capt.Images
				changed = capt.Changed(diff.Written, diff.Updated, diff.Deleted, myadmin.ReplacedTables(schema, ch.Stmts))
			}
			deny = sess.Captured(ch, images, changed, wasCapturing)
		}
		if deny != nil {
			rollback()
			return nil, deny, nil
		}
	}
	if reason := sess.EndReason(); reason != "" {
		return fail(errors.New("the session ended (" + reason + ") before the write could commit"))
	}
	sess.Done(ch, 0, gateway.Outcome{Rows: affected})
	if err := sess.SyncAudit(); err != nil {
		rollback()
		return nil, nil, errors.New("airlock: denied: audit: the audit log cannot record this write; it was rolled back, try again shortly")
	}
	if _, err := u.conn.ExecContext(ctx, "COMMIT"); err != nil {
		u.conn.ExecContext(bg, "ROLLBACK")
		sess.TxnEnded(false)
		return nil, nil, fmt.Errorf("database error: the commit failed (%s); nothing was changed", errText(err))
	}
	sess.TxnEnded(true)
	out := &WriteResult{RowsChanged: changed, Command: fmt.Sprintf("%d rows affected", affected), Session: sess.ID()}
	out.UndoID, out.UndoNote = ch.UndoID()
	return out, nil, nil
}

func (myDialer) describe(db *config.Database, schema, table string) []describeQuery {
	sch := undo.MyQuoteLiteral(db.Database)
	if table != "" {
		if s, t, ok := strings.Cut(table, "."); ok {
			schema, table = s, t
		}
		if schema != "" {
			sch = undo.MyQuoteLiteral(schema)
		}
		tbl := undo.MyQuoteLiteral(table)
		probe := "SELECT * FROM " + undo.MyQuoteIdent(table) + " LIMIT 0"
		if schema != "" {
			probe = "SELECT * FROM " + undo.MyQuoteIdent(schema) + "." + undo.MyQuoteIdent(table) + " LIMIT 0"
		}
		return []describeQuery{
			{"", probe},
			{"table", `SELECT TABLE_SCHEMA AS ` + "`schema`" + `, TABLE_NAME AS ` + "`table`" + `, TABLE_ROWS AS row_estimate, ENGINE AS engine
				FROM information_schema.TABLES WHERE TABLE_SCHEMA = ` + sch + ` AND TABLE_NAME = ` + tbl},
			{"columns", `SELECT COLUMN_NAME AS ` + "`column`" + `, COLUMN_TYPE AS type, IS_NULLABLE = 'YES' AS nullable, COLUMN_DEFAULT AS ` + "`default`" + `
				FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ` + sch + ` AND TABLE_NAME = ` + tbl + ` ORDER BY ORDINAL_POSITION`},
			{"keys", `SELECT k.CONSTRAINT_NAME AS name, c.CONSTRAINT_TYPE AS kind,
				GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION) AS ` + "`columns`" + `,
				MAX(CONCAT_WS('.', k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME)) AS ` + "`references`" + `
				FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.TABLE_CONSTRAINTS c
				ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME
				WHERE k.TABLE_SCHEMA = ` + sch + ` AND k.TABLE_NAME = ` + tbl + ` GROUP BY k.CONSTRAINT_NAME, c.CONSTRAINT_TYPE ORDER BY 1`},
		}
	}
	return []describeQuery{{"tables", `SELECT TABLE_SCHEMA AS ` + "`schema`" + `, TABLE_NAME AS ` + "`table`" + `,
		CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' ELSE 'table' END AS kind, TABLE_ROWS AS row_estimate
		FROM information_schema.TABLES WHERE TABLE_SCHEMA = ` + sch + ` AND TABLE_NAME <> 'airlock_capture' ORDER BY 1, 2`}}
}

// myValue is a value as the server wrote it (text), as JSON: integers
// and floating-point numbers as numbers, json as JSON, anything else
// (decimal, dates, text, binary...) as its text.
func myValue(typ string, b sql.RawBytes) any {
	if b == nil {
		return nil
	}
	t := string(b)
	switch strings.TrimPrefix(strings.TrimPrefix(typ, "unsigned "), "u") {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "float", "double", "year":
		if _, err := strconv.ParseFloat(t, 64); err == nil {
			return json.Number(t)
		}
	case "json":
		if json.Valid(b) {
			return json.RawMessage(t)
		}
	}
	return t
}
