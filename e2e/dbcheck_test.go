package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"airlock/internal/config"
	"airlock/internal/server"
	"airlock/internal/testenv"
)

// TestDatabasesCheck: `airlock databases check` passes a database whose
// read credential can only read and whose write credential cannot reach
// the protected tables, and reports, on both engines, a read credential
// that may write and a write credential that may change a protected
// table (exit status 1); a strict database with such credentials keeps
// serve from starting.
func TestDatabasesCheck(t *testing.T) {
	type setup struct {
		engine, addr, schema string
		read, write          string // upstream users
		password             string
		protected            string
	}
	yaml := func(s setup, strict bool) string {
		return fmt.Sprintf(`databases:
  - name: app
    engine: %s
    address: %q
    database: %s
    tls: disable
    strict: %v
    protected_tables: [%s]
    credentials:
      read: {user: %s, password: %q}
      write: {user: %s, password: %q}
`, s.engine, s.addr, s.schema, strict, s.protected, s.read, s.password, s.write, s.password)
	}
	check := func(t *testing.T, s setup, mysql bool) (string, error) {
		o := testenv.Options{Databases: yaml(s, false)}
		var a *testenv.Airlock
		if mysql {
			o.Listen = `{postgres: "", mysql: "127.0.0.1:0", http: "127.0.0.1:0"}`
			a = testenv.Start(t, nil, o)
		} else {
			a = testenv.Start(t, nil, o)
		}
		return runCLI(t, a, a.AdminToken, "databases", "check", "app")
	}
	strictRefuses := func(t *testing.T, s setup) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "airlock.yaml")
		os.WriteFile(cfg, []byte(`listen: {postgres: "127.0.0.1:0", mysql: "127.0.0.1:0", http: "127.0.0.1:0"}
`+yaml(s, true)), 0o600)
		c, err := config.Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.Start(context.Background(), c, server.Options{})
		if err == nil {
			srv.Shutdown(context.Background(), 0)
			t.Fatal("a strict database with a read credential that can write started")
		}
		if !strings.Contains(err.Error(), "strict") {
			t.Fatalf("start: %v", err)
		}
	}
	expectBad := func(t *testing.T, out string, err error, protected string) {
		t.Helper()
		if err == nil {
			t.Fatalf("check passed bad credentials:\n%s", out)
		}
		for _, want := range []string{"error: read credential: the read credential may", "error: write credential: the write credential can change protected table " + protected} {
			if !strings.Contains(out, want) {
				t.Errorf("check output lacks %q:\n%s", want, out)
			}
		}
	}

	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		db.Exec("CREATE TABLE ledger (id int PRIMARY KEY); CREATE TABLE items (id int PRIMARY KEY)")
		db.Exec("REVOKE ALL ON ledger FROM " + testenv.RoleRW)
		good := setup{engine: "postgres", addr: testenv.PGAddr, schema: db.Name, read: testenv.RoleRO, write: testenv.RoleRW, password: "x", protected: "public.ledger"}
		if out, err := check(t, good, false); err != nil || !strings.Contains(out, "app: ok") {
			t.Fatalf("check of good credentials: %v\n%s", err, out)
		}
		db.Exec("GRANT UPDATE ON ledger TO " + testenv.RoleRW)
		bad := good
		bad.read = testenv.RoleRW // may write to items
		out, err := check(t, bad, false)
		expectBad(t, out, err, "public.ledger")
		strictRefuses(t, bad)
	})

	t.Run("mariadb", func(t *testing.T) {
		db := testenv.NewMyDB(t)
		db.Exec("CREATE TABLE ledger (id int PRIMARY KEY) ENGINE=InnoDB")
		db.Exec("CREATE TABLE items (id int PRIMARY KEY) ENGINE=InnoDB")
		// An account that may write to items only (table grants), and
		// the shared ones: airlock_my_ro (SELECT on the schema) and
		// airlock_my_rw (INSERT, UPDATE, DELETE on the schema).
		rw := "airlock_chk_" + testenv.RandHex(4)
		db.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", rw, testenv.MyPassword))
		t.Cleanup(func() { db.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", rw)) })
		db.Exec(fmt.Sprintf("GRANT SELECT ON %s.* TO '%s'@'%%'", db.Name, rw))
		db.Exec(fmt.Sprintf("GRANT INSERT, UPDATE, DELETE ON %s.items TO '%s'@'%%'", db.Name, rw))
		good := setup{engine: "mysql", addr: testenv.MyAddr, schema: db.Name, read: testenv.MyRoleRO, write: rw, password: testenv.MyPassword, protected: db.Name + ".ledger"}
		if out, err := check(t, good, true); err != nil || !strings.Contains(out, "app: ok") {
			t.Fatalf("check of good credentials: %v\n%s", err, out)
		}
		bad := good
		bad.read = rw                // may write to items
		bad.write = testenv.MyRoleRW // schema-wide writes reach ledger
		out, err := check(t, bad, true)
		expectBad(t, out, err, db.Name+".ledger")
		if !strings.Contains(out, db.Name+".items") {
			t.Errorf("the read credential's writable table is not named:\n%s", out)
		}
		strictRefuses(t, bad)
	})
}
