package testenv

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// MySQL side of the harness: a fresh schema on the MariaDB server of
// 127.0.0.1:3306 (root, no password; SPEC §12) with airlock's upstream
// accounts, and an airlock with a MySQL listener in front of it.

// MyAddr is the MariaDB server the tests use.
const MyAddr = "127.0.0.1:3306"

// Upstream accounts on MariaDB, created once per server: a read-only one
// and one that may change rows, both limited to each test's schema.
const (
	MyRoleRO   = "airlock_my_ro"
	MyRoleRW   = "airlock_my_rw"
	MyPassword = "airlock-test-pw"
)

var myRolesOnce sync.Once

// MyDB is a fresh schema on the MariaDB server.
type MyDB struct {
	Name string
	t    testing.TB
}

// MyDSN is a go-sql-driver DSN for addr; params are appended as given
// ("multiStatements=true&...").
func MyDSN(user, password, addr, db, params string) string {
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s?timeout=10s", user, password, addr, db)
	if params != "" {
		dsn += "&" + params
	}
	return dsn
}

// OpenMy opens a go-sql-driver pool or fails the test; it is closed when
// the test ends.
func OpenMy(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", redactDSN(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func redactDSN(dsn string) string {
	if c, err := mysql.ParseDSN(dsn); err == nil {
		c.Passwd = "…"
		return c.FormatDSN()
	}
	return "(dsn)"
}

func myRoot(t testing.TB, db string) *sql.DB {
	t.Helper()
	c, err := sql.Open("mysql", MyDSN("root", "", MyAddr, db, "multiStatements=true&maxAllowedPacket=0"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetMaxOpenConns(1)
	if err := c.Ping(); err != nil {
		c.Close()
		t.Fatalf("connect to MariaDB on %s as root: %v", MyAddr, err)
	}
	return c
}

// NewMyDB creates a schema the upstream accounts may use (read: SELECT;
// write: SELECT, INSERT, UPDATE, DELETE, EXECUTE, temporary tables and
// LOCK TABLES); it is dropped when the test ends.
func NewMyDB(t testing.TB) *MyDB {
	t.Helper()
	root := myRoot(t, "")
	defer root.Close()
	myRolesOnce.Do(func() {
		for _, r := range []string{MyRoleRO, MyRoleRW} {
			for _, s := range []string{
				fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", r, MyPassword),
				fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s'", r, MyPassword),
			} {
				if _, err := root.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
		}
	})
	name := "airlock_t_" + RandHex(6)
	for _, s := range []string{
		"CREATE DATABASE " + name + " CHARACTER SET utf8mb4",
		fmt.Sprintf("GRANT SELECT, SHOW VIEW ON %s.* TO '%s'@'%%'", name, MyRoleRO),
		fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES, SHOW VIEW ON %s.* TO '%s'@'%%'", name, MyRoleRW),
	} {
		if _, err := root.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		c, err := sql.Open("mysql", MyDSN("root", "", MyAddr, "", ""))
		if err == nil {
			c.Exec("DROP DATABASE IF EXISTS " + name)
			c.Close()
		}
	})
	return &MyDB{Name: name, t: t}
}

// With returns d reporting failures to t.
func (d *MyDB) With(t testing.TB) *MyDB { return &MyDB{Name: d.Name, t: t} }

// Exec runs SQL (several statements allowed) directly as root in the
// schema.
func (d *MyDB) Exec(sql string, args ...any) {
	d.t.Helper()
	c := myRoot(d.t, d.Name)
	defer c.Close()
	if _, err := c.Exec(sql, args...); err != nil {
		d.t.Fatalf("exec %q: %v", sql, err)
	}
}

// QueryInt runs a query returning one integer, directly as root.
func (d *MyDB) QueryInt(sql string, args ...any) int64 {
	d.t.Helper()
	c := myRoot(d.t, d.Name)
	defer c.Close()
	var n int64
	if err := c.QueryRow(sql, args...).Scan(&n); err != nil {
		d.t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// QueryString runs a query returning one string, directly as root.
func (d *MyDB) QueryString(query string, args ...any) string {
	d.t.Helper()
	c := myRoot(d.t, d.Name)
	defer c.Close()
	var s sql.NullString
	if err := c.QueryRow(query, args...).Scan(&s); err != nil {
		d.t.Fatalf("query %q: %v", query, err)
	}
	return s.String
}

// MyDatabases is the databases YAML of a MySQL database "app" on schema
// (read, write and ddl credentials); extra is appended to its entry
// (indented keys such as "    max_rows_changed: 10\n").
func MyDatabases(schema, extra string) string {
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
%s`, MyAddr, schema, MyRoleRO, MyPassword, MyRoleRW, MyPassword, extra)
}

// MySQLOptions complete o for a MySQL airlock: a MySQL listener (with
// auth, "" for the default), and database "app" on db unless o names
// databases.
func MySQLOptions(db *MyDB, auth string, o Options) Options {
	listen := `"127.0.0.1:0"`
	if auth != "" {
		listen = fmt.Sprintf(`{address: "127.0.0.1:0", auth: %s}`, auth)
	}
	if o.Listen == "" {
		o.Listen = fmt.Sprintf(`{postgres: "", mysql: %s, http: "127.0.0.1:0"}`, listen)
	}
	if o.Databases == "" {
		o.Databases = MyDatabases(db.Name, "")
	}
	return o
}

// StartMySQL runs airlock with a MySQL listener in front of db.
func StartMySQL(t testing.TB, db *MyDB, o Options) *Airlock {
	t.Helper()
	return Start(t, nil, MySQLOptions(db, "", o))
}

// MyHostPort is the MySQL listener's address.
func (a *Airlock) MyHostPort() (string, string) {
	h, p, _ := net.SplitHostPort(a.MySQLAddr.String())
	return h, p
}

// MyDSN is a go-sql-driver DSN through airlock's MySQL listener.
func (a *Airlock) MyDSN(user, token, db, params string) string {
	return MyDSN(user, token, a.MySQLAddr.String(), db, params)
}

// MyErr returns the MySQL error number and SQLSTATE of err, or 0 and "".
func MyErr(err error) (uint16, string) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number, string(me.SQLState[:])
	}
	return 0, ""
}
