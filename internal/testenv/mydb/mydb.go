// Package mydb gives tests a fresh schema on the MariaDB server of SPEC §12
// (127.0.0.1:3306, root with no password) and the upstream accounts airlock
// uses there. It imports nothing of airlock, so that both the end-to-end
// harness (internal/testenv, which starts the whole server) and the MySQL
// adapter's own tests (which the server imports) can use it.
package mydb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Addr is the MariaDB server the tests use.
const Addr = "127.0.0.1:3306"

// Upstream accounts on MariaDB, created once per server: a read-only one
// and one that may change rows, both limited to each test's schema.
const (
	RoleRO   = "airlock_my_ro"
	RoleRW   = "airlock_my_rw"
	Password = "airlock-test-pw"
)

var rolesOnce sync.Once

// DB is a fresh schema on the MariaDB server.
type DB struct {
	Name string
	t    testing.TB
}

// DSN is a go-sql-driver DSN for addr; params are appended as given
// ("multiStatements=true&...").
func DSN(user, password, addr, db, params string) string {
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s?timeout=10s", user, password, addr, db)
	if params != "" {
		dsn += "&" + params
	}
	return dsn
}

// Open opens a go-sql-driver pool or fails the test; it is closed when the
// test ends.
func Open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", redact(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func redact(dsn string) string {
	if c, err := mysql.ParseDSN(dsn); err == nil {
		c.Passwd = "…"
		return c.FormatDSN()
	}
	return "(dsn)"
}

// Root opens a one-connection pool as root in schema ("" for none), closed
// when the test ends.
func Root(t testing.TB, schema string) *sql.DB {
	t.Helper()
	c := Open(t, DSN("root", "", Addr, schema, "multiStatements=true&maxAllowedPacket=0"))
	c.SetMaxOpenConns(1)
	if err := c.Ping(); err != nil {
		t.Fatalf("connect to MariaDB on %s as root: %v", Addr, err)
	}
	return c
}

// New creates a schema the upstream accounts may use (read: SELECT, SHOW
// VIEW; write: SELECT, INSERT, UPDATE, DELETE, EXECUTE, temporary tables,
// LOCK TABLES, SHOW VIEW); it is dropped when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	root := Root(t, "")
	rolesOnce.Do(func() {
		for _, r := range []string{RoleRO, RoleRW} {
			for _, s := range []string{
				fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", r, Password),
				fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s'", r, Password),
			} {
				if _, err := root.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
		}
	})
	b := make([]byte, 6)
	rand.Read(b)
	name := "airlock_t_" + hex.EncodeToString(b)
	for _, s := range []string{
		"CREATE DATABASE " + name + " CHARACTER SET utf8mb4",
		fmt.Sprintf("GRANT SELECT, SHOW VIEW ON %s.* TO '%s'@'%%'", name, RoleRO),
		fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES, SHOW VIEW ON %s.* TO '%s'@'%%'", name, RoleRW),
	} {
		if _, err := root.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		if c, err := sql.Open("mysql", DSN("root", "", Addr, "", "")); err == nil {
			c.Exec("DROP DATABASE IF EXISTS " + name)
			c.Close()
		}
	})
	return &DB{Name: name, t: t}
}

// With returns d reporting failures to t.
func (d *DB) With(t testing.TB) *DB { return &DB{Name: d.Name, t: t} }

// root opens a connection as root in the schema, for one call.
func (d *DB) root() *sql.DB {
	d.t.Helper()
	c, err := sql.Open("mysql", DSN("root", "", Addr, d.Name, "multiStatements=true&maxAllowedPacket=0"))
	if err != nil {
		d.t.Fatal(err)
	}
	c.SetMaxOpenConns(1)
	return c
}

// Exec runs SQL (several statements allowed) directly as root in the
// schema.
func (d *DB) Exec(sql string, args ...any) {
	d.t.Helper()
	c := d.root()
	defer c.Close()
	if _, err := c.Exec(sql, args...); err != nil {
		d.t.Fatalf("exec %q: %v", sql, err)
	}
}

// QueryInt runs a query returning one integer, directly as root.
func (d *DB) QueryInt(sql string, args ...any) int64 {
	d.t.Helper()
	c := d.root()
	defer c.Close()
	var n int64
	if err := c.QueryRow(sql, args...).Scan(&n); err != nil {
		d.t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// QueryString runs a query returning one string, directly as root.
func (d *DB) QueryString(query string, args ...any) string {
	d.t.Helper()
	c := d.root()
	defer c.Close()
	var s sql.NullString
	if err := c.QueryRow(query, args...).Scan(&s); err != nil {
		d.t.Fatalf("query %q: %v", query, err)
	}
	return s.String
}

// Databases is the databases YAML of a MySQL database "app" on schema
// (read, write and ddl credentials); extra is appended to its entry
// (indented keys such as "    max_rows_changed: 10\n").
func Databases(schema, extra string) string {
	return fmt.Sprintf(`databases:
  - name: app
    engine: mysql
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: %s}
      write: {user: %s, password: %s}
      ddl: {user: root, password: ""}
%s`, Addr, schema, RoleRO, Password, RoleRW, Password, extra)
}

// Err returns the MySQL error number and SQLSTATE of err, or 0 and "".
func Err(err error) (uint16, string) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, string(me.SQLState[:])
	}
	return 0, ""
}
