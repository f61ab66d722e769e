package mcp

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/undo"

	"github.com/go-sql-driver/mysql"
)

// myDialer serves MySQL and MariaDB databases with go-sql-driver.
type myDialer struct{}

type myUp struct {
	db   *sql.DB
	conn *sql.Conn
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
	setup := []string{"SET SESSION sql_mode = REPLACE(REPLACE(@@sql_mode, 'ANSI_QUOTES', ''), 'NO_BACKSLASH_ESCAPES', '')",
		fmt.Sprintf("SET SESSION max_statement_time = %.3f", timeout.Seconds())}
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
	return &myUp{db: db, conn: c}, nil
}

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
			if b != nil {
				row[i] = string(b)
			}
		}
		if !r.add(row, maxRows, maxBytes) {
			return r, nil // closing the rows drops the connection's rest
		}
	}
	return r, rows.Err()
}

func (u *myUp) write(ctx context.Context, sess *gateway.Session, ch *gateway.Check) (*WriteResult, *airlock.Decision, error) {
	d := airlock.Decision{Rule: "mcp", Need: ch.Decision.Need,
		Reason: "writes to MySQL databases through MCP are not available yet; nothing was run (use airlock connect)"}
	sess.Deny(ch.Text, d)
	return nil, &d, nil
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
		return []describeQuery{
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
