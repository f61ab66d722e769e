package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestAuditParameters: a prepared statement's bind parameters are in its
// audit event (PostgreSQL extended protocol, MySQL COM_STMT_EXECUTE); with
// `audit_parameters: false` they are stored redacted; the log (at debug
// level) never holds them either way.
func TestAuditParameters(t *testing.T) {
	const secret = "hunter2-parameter"
	type run struct {
		a   *testenv.Airlock
		sid string
	}
	check := func(t *testing.T, r run, audited bool) {
		t.Helper()
		ctx := context.Background()
		if err := r.a.Audit.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		evs, err := r.a.Store.ListEvents(ctx, airlock.EventFilter{SessionID: r.sid, Type: airlock.EventStatement, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var params []string
		for _, ev := range evs {
			if strings.Contains(ev.Text, "WHERE v =") {
				params = ev.Params
			}
		}
		want := []string{secret}
		if !audited {
			want = []string{"<redacted>"}
		}
		if !slices.Equal(params, want) {
			t.Errorf("audited parameters %q, want %q", params, want)
		}
		if strings.Contains(r.a.Logs(), secret) {
			t.Error("a bind parameter is in the log")
		}
	}

	for _, audited := range []bool{true, false} {
		extra := ""
		if !audited {
			extra = "    audit_parameters: false\n"
		}
		t.Run(fmt.Sprintf("postgres/audited=%v", audited), func(t *testing.T) {
			db := testenv.NewDB(t)
			db.Exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'x')")
			a := testenv.Start(t, db, testenv.Options{LogLevel: "debug", Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
%s    credentials:
      read: {user: %s, password: x}
`, testenv.PGAddr, db.Name, extra, testenv.RoleRO)})
			ctx := context.Background()
			c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
			defer c.Close(ctx)
			var n int
			if err := c.QueryRow(ctx, "SELECT count(*) FROM t WHERE v = $1", pgx.QueryExecModeExec, secret).Scan(&n); err != nil {
				t.Fatal(err)
			}
			var sid string
			for _, s := range a.Gateway.Sessions() {
				sid = s.ID()
			}
			check(t, run{a, sid}, audited)
		})
		t.Run(fmt.Sprintf("mariadb/audited=%v", audited), func(t *testing.T) {
			db := testenv.NewMyDB(t)
			db.Exec("CREATE TABLE t (id int PRIMARY KEY, v text) ENGINE=InnoDB")
			a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "debug", Databases: testenv.MyDatabases(db.Name, extra)})
			ctx := context.Background()
			c, err := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", "interpolateParams=false")).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var n int
			if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE v = ?", secret).Scan(&n); err != nil {
				t.Fatal(err)
			}
			var sid string
			for _, s := range a.Gateway.Sessions() {
				sid = s.ID()
			}
			check(t, run{a, sid}, audited)
		})
	}
}
