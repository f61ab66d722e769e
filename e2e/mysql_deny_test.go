package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"
)

// myWritesInReadSession are statements a read session must not run.
var myWritesInReadSession = []string{
	"INSERT INTO items (id, name) VALUES (100, 'new')",
	"UPDATE items SET price = 0 WHERE id = 1",
	"DELETE FROM items WHERE id = 1",
	"REPLACE INTO items (id, name) VALUES (1, 'x')",
	"INSERT INTO items (id, name) VALUES (1, 'x') ON DUPLICATE KEY UPDATE name = 'y'",
	"INSERT INTO items (id, name) SELECT id + 100, name FROM items",
	"UPDATE items a JOIN items b ON a.id = b.id SET a.price = 0 WHERE b.id = 2",
	"DELETE a FROM items a JOIN items b ON a.id = b.id WHERE b.id = 2",
	"CREATE TABLE evil (a int)",
	"DROP TABLE items",
	"TRUNCATE items",
	"ALTER TABLE items ADD COLUMN evil int",
	"RENAME TABLE items TO items2",
	"SELECT * FROM items WHERE id = 1 FOR UPDATE",
	"SELECT * FROM items WHERE id = 1 LOCK IN SHARE MODE",
	"LOCK TABLES items WRITE",
	"SET SESSION TRANSACTION READ WRITE",
	"START TRANSACTION READ WRITE",
	"SET SESSION tx_read_only = 0",
	"SET STATEMENT tx_read_only = 0 FOR DELETE FROM items WHERE id = 1",
	"SET SESSION sql_mode = 'ANSI_QUOTES'",
	"SET NAMES gbk",
	"SET GLOBAL max_connections = 1",
	"SELECT * FROM items INTO OUTFILE '/tmp/airlock-evil'",
	"LOAD DATA INFILE '/etc/passwd' INTO TABLE items",
	"CALL nosuchproc()",
	"SELECT GET_LOCK('airlock', 1)",
	"KILL 1",
	"GRANT SELECT ON *.* TO 'evil'@'%'",
	"CREATE USER 'evil'@'%'",
	"PREPARE s FROM 'DELETE FROM items WHERE id = 1'",
	"USE mysql",
}

// TestMySQLReadSessionDeniesWrites: every write, sent by the mariadb
// client, go-sql-driver (text, prepared, multi-statement), Connector/J
// (text and server-side prepared) and mysql2 (query and execute), in and
// out of transactions, is denied with ERR 1227 (42000) "airlock: denied",
// changes nothing upstream, and leaves the connection usable; every
// denial is in the audit.
func TestMySQLReadSessionDeniesWrites(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myItemsSchema)
	before := myState(t, db)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	tok := a.Token("alice", 0)
	host, port := a.MyHostPort()
	n := len(myWritesInReadSession)

	t.Run("mariadb", func(t *testing.T) {
		var script strings.Builder
		for _, s := range myWritesInReadSession {
			fmt.Fprintf(&script, "%s;\nSELECT 'alive' AS still_alive;\n", s)
			fmt.Fprintf(&script, "BEGIN;\nSELECT 1 AS in_tx;\n%s;\nSELECT @@in_transaction AS still_in_tx;\nROLLBACK;\n", s)
		}
		out := mariadbCLI(t, host, port, "alice", tok, "app", script.String())
		if got := strings.Count(out, "ERROR 1227 (42000) at line "); got != 2*n {
			t.Errorf("%d denials, want %d\n%s", got, 2*n, out)
		}
		if got := strings.Count(out, ": airlock: denied: "); got != 2*n {
			t.Errorf("%d airlock denials, want %d", got, 2*n)
		}
		if got := strings.Count(out, "still_alive\nalive\n"); got != n {
			t.Errorf("alive %d times, want %d", got, n)
		}
		// A denial does not end the transaction (MySQL keeps a
		// transaction open after an error).
		if got := strings.Count(out, "still_in_tx\n1\n"); got != n {
			t.Errorf("still in the transaction %d times, want %d\n%s", got, n, out)
		}
	})

	t.Run("go-sql-driver", func(t *testing.T) {
		ctx := context.Background()
		c := testenv.OpenMy(t, a.MyDSN("alice", tok, "app", "multiStatements=true&interpolateParams=true"))
		c.SetMaxOpenConns(1)
		alive := func(after string) {
			var one int
			if err := c.QueryRow("SELECT 1").Scan(&one); err != nil {
				t.Fatalf("after %s: %v", after, err)
			}
		}
		for _, s := range myWritesInReadSession {
			check := func(how string, err error) {
				if code, state := testenv.MyErr(err); code != 1227 || state != "42000" || !strings.Contains(err.Error(), "airlock: denied: ") {
					t.Errorf("%s %q: %v", how, s, err)
				}
				alive(s)
			}
			_, err := c.ExecContext(ctx, s)
			check("text", err)
			_, err = c.Prepare(s)
			check("prepared", err)
			_, err = c.ExecContext(ctx, "SELECT 1; "+s+"; SELECT 2")
			check("multi-statement", err)
		}
	})

	t.Run("connector/j", func(t *testing.T) {
		out := javaProbe(t, jdbcURL(a.MySQLAddr.String(), "app", "useServerPrepStmts=true"), "alice", tok, "writes", myWritesInReadSession...)
		if got := strings.Count(out, "error 42000 1227 "); got != 2*n {
			t.Errorf("%d denials, want %d\n%s", got, 2*n, out)
		}
		if got := strings.Count(out, "alive 1"); got != 2*n || !strings.HasSuffix(out, "done\n") {
			t.Errorf("connection not alive after each denial:\n%s", out)
		}
	})

	t.Run("mysql2", func(t *testing.T) {
		out := nodeProbe(t, mysql2Dir(t), host, port, "alice", tok, "app", "writes", myWritesInReadSession...)
		if got := strings.Count(out, "error 42000 1227 "); got != 2*n {
			t.Errorf("%d denials, want %d\n%s", got, 2*n, out)
		}
		if got := strings.Count(out, "alive 1"); got != 2*n || !strings.HasSuffix(out, "done\n") {
			t.Errorf("connection not alive after each denial:\n%s", out)
		}
	})

	if after := myState(t, db); after != before {
		t.Fatalf("upstream changed: %s -> %s", before, after)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM mysql.user WHERE User = 'evil'"); n != 0 {
		t.Fatal("a user was created")
	}

	// Every denial is audited with its rule.
	ctx := context.Background()
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	denied := map[string]int{}
	for _, ev := range evs {
		if ev.Rule == "" || ev.Reason == "" || ev.Database != "app" {
			t.Fatalf("a denial lacks its facts: %+v", ev)
		}
		denied[strings.TrimSpace(ev.Text)]++
	}
	for _, s := range myWritesInReadSession {
		// mariadb twice, go text + prepared, Connector/J twice, mysql2 twice.
		if denied[s] < 8 {
			t.Errorf("%q denied %d times in the audit, want at least 8", s, denied[s])
		}
	}
}

// TestMySQLPinnedSettings: settings that change how the server reads text
// stay pinned even when a prepared statement's parameter sets them: the
// classifier cannot see the value, so it denies the statement (and, were a
// value to slip through, the adapter ends the session before it can run
// anything read otherwise than airlock read it). A literal harmless value
// passes.
func TestMySQLPinnedSettings(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myItemsSchema)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	tok := a.Token("alice", 0)
	for _, tc := range []struct {
		sql, value string
		ends       bool
	}{
		{"SET SESSION sql_mode = ?", "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION", true},
		{"SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'", "", false},
		{"SET SESSION sql_mode = ?", "NO_BACKSLASH_ESCAPES", true},
		{"SET SESSION sql_mode = ?", "ANSI_QUOTES", true},
		{"SET character_set_client = ?", "gbk", true},
	} {
		ctx := context.Background()
		c, err := testenv.OpenMy(t, a.MyDSN("alice", tok, "app", "interpolateParams=false")).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ended := strings.Count(a.Logs(), "changed how statements are read")
		args := []any{tc.value}
		if tc.value == "" {
			args = nil
		}
		if _, err := c.ExecContext(ctx, tc.sql, args...); err != nil {
			if !tc.ends {
				t.Fatalf("%s with %q: %v", tc.sql, tc.value, err)
			}
			continue // denied outright is fine too
		}
		var n int
		err = c.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE name = 'apple'").Scan(&n)
		c.Close()
		switch {
		case tc.ends && err == nil:
			t.Errorf("%s with %q: the session went on", tc.sql, tc.value)
		case tc.ends && waitUntil(2*time.Second, func() bool { return strings.Count(a.Logs(), "changed how statements are read") == ended+1 }) != nil:
			t.Errorf("%s with %q: the session did not end for that reason: %v", tc.sql, tc.value, err)
		case !tc.ends && (err != nil || n != 1):
			t.Errorf("%s with %q: %d %v", tc.sql, tc.value, n, err)
		}
	}
}
