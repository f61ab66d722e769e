package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/config"
	"airlock/internal/server"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const guardSchema = `
CREATE TABLE t (id int PRIMARY KEY, x int NOT NULL DEFAULT 1, grp int NOT NULL);
INSERT INTO t SELECT g, 1, g % 10 FROM generate_series(1, 5000) g;
CREATE TABLE ledger (id int PRIMARY KEY, amount numeric);
INSERT INTO ledger VALUES (1, 10), (2, 20);
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent ON DELETE CASCADE);
INSERT INTO parent SELECT g FROM generate_series(1, 10) g;
INSERT INTO child SELECT g, 1 + g % 10 FROM generate_series(1, 2000) g;
CREATE TABLE src (id int PRIMARY KEY, v int);
INSERT INTO src SELECT g, g FROM generate_series(1, 3000) g;
CREATE TABLE log (id serial PRIMARY KEY, note text);
CREATE FUNCTION log_each() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO log (note) VALUES ('t ' || NEW.id); RETURN NEW; END $$;
CREATE TABLE watched (id int PRIMARY KEY, v int);
INSERT INTO watched SELECT g, 0 FROM generate_series(1, 600) g;
CREATE TRIGGER watched_log AFTER UPDATE ON watched FOR EACH ROW EXECUTE FUNCTION log_each();
GRANT USAGE ON SEQUENCE log_id_seq TO airlock_test_rw;
`

const guardDatabases = `databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: airlock_test_ro, password: x}
      write: {user: airlock_test_rw, password: x}
      ddl: {user: postgres, password: x}
    protected_tables: [public.ledger]
    max_rows_changed: 1000
guardrails:
  - {name: no-grp-7, databases: [app], when: 'stmt.kind == "delete" && "public.t" in stmt.tables && stmt.text.contains("grp = 7")', message: "group 7 is kept for the audit"}
  - {name: select-star, when: 'stmt.kind == "select" && stmt.text.contains("*") && "public.src" in stmt.tables', action: warn, message: "name the columns"}
`

func sum(t *testing.T, db *testenv.DB, table string) int64 {
	t.Helper()
	return db.QueryInt("SELECT coalesce(sum(x), 0) + count(*) * 1000000 FROM " + table)
}

// TestGuardrails: with write access and max_rows_changed 1000 on a table of
// 5,000 rows, unbounded writes, over-limit writes (counted for real:
// joins, cascades, triggers, CTEs, COPY) and protected tables are denied
// and change nothing; DROP needs ddl and never reaches a protected table;
// a CEL rule blocks what it targets and a warn rule warns.
func TestGuardrails(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(guardSchema)
	a := testenv.Start(t, db, testenv.Options{Databases: fmt.Sprintf(guardDatabases, testenv.PGAddr, db.Name)})
	ctx := context.Background()
	wanda := a.Token("wanda", 0) // standing write
	c := testenv.Connect(t, a.URL("wanda", wanda, "app"))
	defer c.Close(ctx)
	before := sum(t, db, "t")

	denied := []struct{ sql, rule string }{
		{"DELETE FROM t", "unbounded-write"},
		{"UPDATE t SET x = 0", "unbounded-write"},
		{"UPDATE t SET x = 0 WHERE true", "blast-radius"},
		{"UPDATE t SET x = 0 WHERE id <= 1001", "blast-radius"},
		{"DELETE FROM t WHERE grp < 3", "blast-radius"},
		{"INSERT INTO t (id, grp) SELECT id + 10000, 0 FROM src", "blast-radius"},
		{"UPDATE t SET x = src.v FROM src WHERE src.id = t.id", "blast-radius"},
		{"DELETE FROM t USING src WHERE src.id = t.id AND src.v > 100", "blast-radius"},
		{"MERGE INTO t USING src ON t.id = src.id WHEN MATCHED THEN UPDATE SET x = 2", "blast-radius"},
		{"WITH d AS (DELETE FROM t WHERE id <= 1200 RETURNING id) SELECT count(*) FROM d", "blast-radius"},
		{"DELETE FROM parent WHERE id <= 6", "blast-radius"},         // 6 parents + ~1200 cascaded children
		{"UPDATE watched SET v = 1 WHERE id <= 600", "blast-radius"}, // 600 rows + 600 trigger inserts
		{"DELETE FROM t WHERE id = 1 RETURNING *; DELETE FROM t WHERE id > 3000", "blast-radius"},
		{"UPDATE ledger SET amount = 0 WHERE id = 1", "protected-table"},
		{"DELETE FROM public.ledger WHERE id = 1", "protected-table"},
		{"DROP TABLE src", "level"},
		{"DELETE FROM t WHERE grp = 7 AND id < 100", "no-grp-7"},
		{"BEGIN; UPDATE t SET x = 3 WHERE id = 1; COMMIT", "blast-radius"},
	}
	for _, d := range denied {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			if mode == pgx.QueryExecModeExec && strings.Count(d.sql, ";") > 0 {
				continue // several statements only go through the simple protocol
			}
			_, err := c.Exec(ctx, d.sql, mode)
			if pgCode(err) != "42501" || !strings.Contains(err.Error(), "airlock: denied: "+d.rule+":") {
				t.Errorf("%s (%s): %v, want denied by %s", d.sql, mode, err, d.rule)
			}
		}
	}
	if got := sum(t, db, "t"); got != before {
		t.Fatalf("t changed: %d -> %d", before, got)
	}
	for table, want := range map[string]int64{"child": 2000, "parent": 10, "log": 0, "ledger": 2} {
		if n := db.QueryInt("SELECT count(*) FROM " + table); n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	if n := db.QueryInt("SELECT count(*) FROM watched WHERE v <> 0"); n != 0 {
		t.Errorf("watched changed")
	}
	// The message says how many rows.
	_, err := c.Exec(ctx, "UPDATE t SET x = 0 WHERE true")
	if err == nil || !strings.Contains(err.Error(), "blast-radius: 5000 rows > limit 1000") {
		t.Errorf("message: %v", err)
	}

	// Allowed writes go through, counted.
	for _, s := range []string{
		"DELETE FROM t WHERE id < 10",
		"UPDATE t SET x = 5 WHERE id BETWEEN 100 AND 1099",
		"DELETE FROM parent WHERE id = 1", // 1 + 200 cascaded
		"UPDATE watched SET v = 1 WHERE id <= 10",
	} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			if _, err := c.Exec(ctx, s, mode); err != nil {
				t.Errorf("%s (%s): %v", s, mode, err)
			}
		}
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE id < 10"); n != 0 {
		t.Errorf("DELETE WHERE id < 10 did not commit")
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x = 5"); n != 1000 {
		t.Errorf("%d rows updated, want 1000", n)
	}
	// COPY FROM STDIN is counted too.
	var rows strings.Builder
	for i := 0; i < 1500; i++ {
		fmt.Fprintf(&rows, "%d\t1\t0\n", 20000+i)
	}
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader(rows.String()), "COPY t FROM STDIN"); pgCode(err) != "42501" {
		t.Errorf("COPY of 1500 rows: %v", err)
	}
	if _, err := c.PgConn().CopyFrom(ctx, strings.NewReader("30000\t1\t0\n30001\t1\t0\n"), "COPY t FROM STDIN"); err != nil {
		t.Errorf("COPY of 2 rows: %v", err)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE id >= 20000"); n != 2 {
		t.Errorf("%d copied rows, want 2", n)
	}

	// A warn rule lets the statement run and sends a NOTICE.
	var notices []string
	cfg, _ := pgx.ParseConfig(a.URL("wanda", wanda, "app"))
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	wc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close(ctx)
	var cnt int
	if err := wc.QueryRow(ctx, "SELECT count(*) FROM (SELECT * FROM src) s").Scan(&cnt); err != nil || cnt != 3000 {
		t.Fatalf("warned select: %d %v", cnt, err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "select-star: name the columns") {
		t.Errorf("notices: %q", notices)
	}

	// DROP: denied at write, allowed at ddl on an unprotected table,
	// denied on a protected one.
	aliceTok := a.Token("alice", 0)
	r, err := a.Access.CreateRequest(ctx, a.Actor(aliceTok), access.RequestInput{Database: "app", Level: airlock.LevelDDL, Reason: "drop src"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.ApproveRequest(ctx, a.Actor(a.Token("bob", 0)), r.ID); err != nil {
		t.Fatal(err)
	}
	ac := testenv.Connect(t, a.URL("alice", aliceTok, "app"))
	defer ac.Close(ctx)
	if _, err := ac.Exec(ctx, "DROP TABLE ledger"); pgCode(err) != "42501" || !strings.Contains(err.Error(), "protected-table") {
		t.Errorf("DROP of a protected table at ddl: %v", err)
	}
	if _, err := ac.Exec(ctx, "DROP TABLE src"); err != nil {
		t.Errorf("DROP at ddl: %v", err)
	}
	if n := db.QueryInt("SELECT count(*) FROM pg_tables WHERE tablename IN ('src', 'ledger')"); n != 1 {
		t.Errorf("after the drops: %d of src and ledger left, want ledger only", n)
	}
}

// TestBlastRadiusInTransaction: BEGIN; UPDATE (10 rows); UPDATE (5,000
// rows); COMMIT: the second update is denied and rolled back, the first is
// committed; through psql and through pgx's extended protocol.
func TestBlastRadiusInTransaction(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(guardSchema)
	a := testenv.Start(t, db, testenv.Options{Databases: fmt.Sprintf(guardDatabases, testenv.PGAddr, db.Name)})
	ctx := context.Background()
	wanda := a.Token("wanda", 0)

	out := psql(t, a.Host(), a.Port(), "wanda", wanda, "app", `BEGIN;
UPDATE t SET x = 7 WHERE id <= 10;
UPDATE t SET x = 8 WHERE id > 0;
SELECT count(*) AS in_tx FROM t WHERE x = 7;
COMMIT;
`)
	if !strings.Contains(out, "blast-radius: 5000 rows > limit 1000") || strings.Contains(out, "current transaction is aborted") || !strings.Contains(out, "COMMIT") && !strings.Contains(out, "    10\n") {
		t.Fatalf("psql:\n%s", out)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x = 7"); n != 10 {
		t.Fatalf("psql: %d rows with x = 7 committed, want 10", n)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x = 8"); n != 0 {
		t.Fatalf("psql: the denied update left %d rows", n)
	}

	c := testenv.Connect(t, a.URL("wanda", wanda, "app"))
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE t SET x = $1 WHERE id BETWEEN $2 AND $3", 9, 11, 20); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE t SET x = $1 WHERE id > $2", 10, 0); pgCode(err) != "42501" {
		t.Fatalf("big update in tx: %v", err)
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM t WHERE x = 9").Scan(&n); err != nil || n != 10 {
		t.Fatalf("the transaction is not usable after the denial: %d %v", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x = 9"); n != 10 {
		t.Fatalf("pgx: %d rows with x = 9 committed, want 10", n)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x = 10"); n != 0 {
		t.Fatalf("pgx: the denied update left %d rows", n)
	}
	// In an implicit transaction of one batch, the denial aborts the batch.
	bcfg, _ := pgx.ParseConfig(a.URL("wanda", wanda, "app"))
	bcfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	bc, err := pgx.ConnectConfig(ctx, bcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close(ctx)
	b := &pgx.Batch{}
	b.Queue("UPDATE t SET x = 11 WHERE id <= 5")
	b.Queue("UPDATE t SET x = 12 WHERE id > 0")
	b.Queue("UPDATE t SET x = 13 WHERE id = 4000")
	br := bc.SendBatch(ctx, b)
	_, e1 := br.Exec()
	_, e2 := br.Exec()
	_, e3 := br.Exec()
	br.Close()
	if e1 != nil || pgCode(e2) != "42501" || e3 == nil {
		t.Fatalf("batch: %v / %v / %v", e1, e2, e3)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x IN (11, 12, 13)"); n != 0 {
		t.Fatalf("the aborted batch left %d rows", n)
	}
	// And a batch under the limit commits at its Sync.
	b = &pgx.Batch{}
	b.Queue("UPDATE t SET x = 14 WHERE id <= 5")
	b.Queue("UPDATE t SET x = 15 WHERE id = 4000")
	if err := bc.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt("SELECT count(*) FROM t WHERE x IN (14, 15)"); n != 6 {
		t.Fatalf("the good batch committed %d rows, want 6", n)
	}
	var status string
	if err := bc.QueryRow(ctx, "SELECT 'idle'").Scan(&status); err != nil {
		t.Fatal(err)
	}
}

// TestBrokenRuleStopsServe: a CEL rule that does not compile stops serve
// with a message naming the rule.
func TestBrokenRuleStopsServe(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfg, []byte(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
databases:
  - {name: app, engine: postgres, address: "127.0.0.1:5432", credentials: {read: {user: u, password: p}}}
guardrails:
  - {name: typo-rule, when: 'stmt.kind == "delete" && stmt.tabels.size() > 0'}
`), 0o600)
	out := run(t, 30*time.Second, "", nil, airlockBin, "serve", "--config", cfg)
	if !strings.Contains(out, `guardrail "typo-rule"`) || !strings.Contains(out, "undeclared reference") {
		t.Fatalf("serve output: %s", out)
	}
	// Loading it in process fails the same way.
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Start(context.Background(), c, server.Options{}); err == nil || !strings.Contains(err.Error(), "typo-rule") {
		t.Fatalf("start: %v", err)
	}
}

// TestPolicyTestCommand: `airlock policy test` reproduces each built-in
// rule's decision without a database.
func TestPolicyTestCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfg, []byte(testenv.DefaultUsers+fmt.Sprintf(guardDatabases, "127.0.0.1:1", "nowhere")+testenv.DefaultPolicies), 0o600)
	cases := []struct {
		level, sql, want string
		code             string
	}{
		{"write", "DELETE FROM t", "or more than 1 without WHERE", "0"},
		{"write", "UPDATE ledger SET amount = 0 WHERE id = 1", "rule: protected-table", "3"},
		{"ddl", "DROP TABLE ledger", "rule: protected-table", "3"},
		{"write", "DROP TABLE t", "rule: level", "3"},
		{"ddl", "DROP TABLE t", "decision: allowed", "0"},
		{"write", "UPDATE t SET x = 1 WHERE true", "runs guarded: denied at run time if it changes more than 1000 rows", "0"},
		{"read", "SET default_transaction_read_only = off", "rule: escape", "3"},
		{"admin", "SET ROLE postgres", "rule: escape", "3"},
		{"read", "DELETE FROM t WHERE id = 1", "rule: level", "3"},
		{"write", "DELETE FROM t WHERE grp = 7", "rule: no-grp-7", "3"},
		{"read", "SELECT * FROM src", "warning: select-star: name the columns", "0"},
	}
	for _, tc := range cases {
		out := run(t, 30*time.Second, "", nil, airlockBin, "policy", "test", "--config", cfg, "--database", "app", "--user", "wanda", "--level", tc.level, "--sql", tc.sql)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s at %s: want %q in\n%s", tc.sql, tc.level, tc.want, out)
		}
		code := run(t, 30*time.Second, "", nil, "sh", "-c", fmt.Sprintf("%s policy test --config %s --database app --user wanda --level %s --sql %q >/dev/null 2>&1; echo $?", airlockBin, cfg, tc.level, tc.sql))
		if strings.TrimSpace(code) != tc.code {
			t.Errorf("%s at %s: exit %s, want %s", tc.sql, tc.level, strings.TrimSpace(code), tc.code)
		}
	}
	out := run(t, 30*time.Second, "", nil, airlockBin, "policy", "test", "--json", "--config", cfg, "--database", "app", "--user", "wanda", "--level", "write", "--sql", "DELETE FROM t")
	if !strings.Contains(out, `"unbounded_write_max_rows": 1`) || !strings.Contains(out, `"has_where": false`) {
		t.Errorf("json: %s", out)
	}
}
