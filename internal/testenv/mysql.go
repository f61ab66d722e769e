package testenv

import (
	"database/sql"
	"fmt"
	"net"
	"testing"

	"airlock/internal/testenv/mydb"
)

// MySQL side of the harness: a fresh schema on the MariaDB server of
// 127.0.0.1:3306 (root, no password; SPEC §12) with airlock's upstream
// accounts, and an airlock with a MySQL listener in front of it.

// The MariaDB schema and accounts come from package mydb (which the MySQL
// adapter's own tests use too); these names keep the harness in one place
// for the end-to-end tests.
const (
	MyAddr     = mydb.Addr
	MyRoleRO   = mydb.RoleRO
	MyRoleRW   = mydb.RoleRW
	MyPassword = mydb.Password
)

// MyDB is a fresh schema on the MariaDB server (mydb.DB).
type MyDB = mydb.DB

// NewMyDB creates a schema for the test (mydb.New).
func NewMyDB(t testing.TB) *MyDB { return mydb.New(t) }

// MyDSN is a go-sql-driver DSN (mydb.DSN).
func MyDSN(user, password, addr, db, params string) string {
	return mydb.DSN(user, password, addr, db, params)
}

// OpenMy opens a go-sql-driver pool closed when the test ends (mydb.Open).
func OpenMy(t testing.TB, dsn string) *sql.DB { return mydb.Open(t, dsn) }

// MyDatabases is the databases YAML of database "app" on schema
// (mydb.Databases).
func MyDatabases(schema, extra string) string { return mydb.Databases(schema, extra) }

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

// MyErr returns the MySQL error number and SQLSTATE of err (mydb.Err).
func MyErr(err error) (uint16, string) { return mydb.Err(err) }
