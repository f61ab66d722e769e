package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"
)

const myGuardSchema = `
CREATE TABLE t (id int PRIMARY KEY, x int NOT NULL DEFAULT 1, grp int NOT NULL) ENGINE=InnoDB;
INSERT INTO t SELECT seq, 1, seq % 10 FROM seq_1_to_5000;
CREATE TABLE ledger (id int PRIMARY KEY, amount decimal(10,2)) ENGINE=InnoDB;
INSERT INTO ledger VALUES (1, 10), (2, 20);
CREATE TABLE src (id int PRIMARY KEY, v int) ENGINE=InnoDB;
INSERT INTO src SELECT seq, seq FROM seq_1_to_3000;
CREATE TABLE logt (id int AUTO_INCREMENT PRIMARY KEY, note varchar(20)) ENGINE=InnoDB;
CREATE TABLE watched (id int PRIMARY KEY, v int) ENGINE=InnoDB;
INSERT INTO watched SELECT seq, 0 FROM seq_1_to_600;
CREATE TRIGGER watched_log AFTER UPDATE ON watched FOR EACH ROW INSERT INTO logt (note) VALUES (NEW.id);
CREATE TABLE cache (id int PRIMARY KEY, v int) ENGINE=MyISAM;
INSERT INTO cache VALUES (1, 1);
CREATE TABLE parent (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE child (id int PRIMARY KEY, p int, FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO parent SELECT seq FROM seq_1_to_10;
INSERT INTO child SELECT seq, 1 + seq % 10 FROM seq_1_to_2000;
`

func myGuardDatabases(db *testenv.MyDB) string {
	return testenv.MyDatabases(db.Name, "    protected_tables: ["+db.Name+".ledger]\n    max_rows_changed: 1000\n") +
		`guardrails:
  - {name: no-grp-7, databases: [app], when: 'stmt.kind == "delete" && stmt.text.contains("grp = 7")', message: "group 7 is kept for the audit"}
`
}

// TestMySQLGuardrails: with write access and max_rows_changed 1000 on a
// table of 5,000 rows, unbounded writes, over-limit writes (counted for
// real: joins, triggers, multi-statement queries, INSERT ... SELECT),
// protected tables and non-transactional tables are denied and change
// nothing, as text and as prepared statements; DROP needs ddl; a CEL rule
// blocks what it targets; writes under the limit commit.
func TestMySQLGuardrails(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myGuardSchema)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: myGuardDatabases(db)})
	wanda := a.Token("wanda", 0) // standing write
	text := testenv.OpenMy(t, a.MyDSN("wanda", wanda, "app", "multiStatements=true&interpolateParams=true"))
	prep := testenv.OpenMy(t, a.MyDSN("wanda", wanda, "app", "interpolateParams=false"))
	sum := func() int64 { return db.QueryInt("SELECT SUM(x) FROM t") }
	before := sum()

	denied := []struct{ sql, rule string }{
		{"DELETE FROM t", "unbounded-write"},
		{"UPDATE t SET x = 0", "unbounded-write"},
		{"UPDATE t SET x = 0 WHERE 1 = 1", "blast-radius: 5000 rows > limit 1000"},
		{"UPDATE t SET x = 0 WHERE id <= 1001", "blast-radius: 1001 rows > limit 1000"},
		{"DELETE FROM t WHERE grp < 3", "blast-radius: 1500 rows > limit 1000"},
		{"INSERT INTO t (id, grp) SELECT id + 10000, 0 FROM src", "blast-radius: 3000 rows > limit 1000"},
		{"UPDATE t JOIN src ON src.id = t.id SET t.x = src.v WHERE src.v > 0", "blast-radius: 3000 rows > limit 1000"},
		{"DELETE t FROM t JOIN src ON src.id = t.id WHERE src.v > 100", "blast-radius: 2900 rows > limit 1000"},
		{"UPDATE watched SET v = 1 WHERE id <= 600", "blast-radius: 1200 rows > limit 1000"}, // 600 rows + 600 trigger inserts
		{"UPDATE ledger SET amount = 0 WHERE id = 1", "protected-table"},
		{"DELETE FROM " + db.Name + ".ledger WHERE id = 1", "protected-table"},
		{"UPDATE cache SET v = 2 WHERE id = 1", "non-transactional: " + db.Name + ".cache uses the MYISAM storage engine"},
		{"DELETE FROM parent WHERE id <= 6", "blast-radius: foreign keys with cascading actions reference"},
		{"DROP TABLE src", "level"},
		{"DELETE FROM t WHERE grp = 7 AND id < 100", "no-grp-7"},
	}
	multi := []struct{ sql, rule string }{
		{"DELETE FROM t WHERE id = 1; DELETE FROM t WHERE id > 3000", "blast-radius: 2001 rows > limit 1000"},
		{"BEGIN; UPDATE t SET x = 3 WHERE id = 1; COMMIT", "blast-radius: a write sent in one query with transaction control"},
	}
	for _, d := range append(denied, multi...) {
		_, err := text.Exec(d.sql)
		if code, state := testenv.MyErr(err); code != 1227 || state != "42000" || !strings.Contains(err.Error(), "airlock: denied: "+d.rule) {
			t.Errorf("text %s: %v, want denied by %s", d.sql, err, d.rule)
		}
	}
	for _, d := range denied {
		st, err := prep.Prepare(d.sql)
		if err == nil {
			_, err = st.Exec()
			st.Close()
		}
		if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "airlock: denied: "+d.rule) {
			t.Errorf("prepared %s: %v, want denied by %s", d.sql, err, d.rule)
		}
	}
	if got := sum(); got != before {
		t.Fatalf("t changed: %d -> %d", before, got)
	}
	for table, want := range map[string]int64{"t": 5000, "child": 2000, "parent": 10, "logt": 0, "ledger": 2, "watched WHERE v <> 0": 0, "cache WHERE v = 1": 1} {
		if n := db.QueryInt("SELECT COUNT(*) FROM " + table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}

	// Under the limit, writes commit, counted.
	for _, s := range []string{
		"DELETE FROM t WHERE id < 10",
		"UPDATE t SET x = 5 WHERE id BETWEEN 100 AND 1099",
		"UPDATE watched SET v = 1 WHERE id <= 10",
	} {
		if _, err := text.Exec(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := prep.Exec("UPDATE t SET x = ? WHERE id BETWEEN ? AND ?", 6, 2000, 2999); err != nil {
		t.Errorf("prepared UPDATE of 1000 rows: %v", err)
	}
	for q, want := range map[string]int64{
		"SELECT COUNT(*) FROM t WHERE id < 10":   0,
		"SELECT COUNT(*) FROM t WHERE x = 5":     1000,
		"SELECT COUNT(*) FROM t WHERE x = 6":     1000,
		"SELECT COUNT(*) FROM logt":              10,
		"SELECT COUNT(*) FROM watched WHERE v=1": 10,
	} {
		if n := db.QueryInt(q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	// The audit records the rows each write changed.
	ctx := context.Background()
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "wanda", Type: airlock.EventStatement, Decision: airlock.DecisionAllowed, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]string{}
	for _, ev := range evs {
		if ev.Detail["rows_changed"] != "" {
			counted[ev.Text] = ev.Detail["rows_changed"]
		}
	}
	if counted["UPDATE watched SET v = 1 WHERE id <= 10"] != "20" || counted["UPDATE t SET x = 5 WHERE id BETWEEN 100 AND 1099"] != "1000" {
		t.Errorf("rows changed in the audit: %v", counted)
	}
}

// TestMySQLGrantFlow: an open read session is denied a write; once a
// write grant is approved, the same connection writes (on the write
// credential); over the limit it is still denied and rolled back; when the
// grant is revoked the connection is read-only again.
func TestMySQLGrantFlow(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myGuardSchema)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: myGuardDatabases(db)})
	ctx := context.Background()
	tok := a.Token("alice", 0)
	alice, bob := a.Actor(tok), a.Actor(a.Token("bob", 0))
	c := testenv.OpenMy(t, a.MyDSN("alice", tok, "app", "interpolateParams=false"))
	c.SetMaxOpenConns(1)
	user := func() string {
		var u string
		if err := c.QueryRow("SELECT CURRENT_USER()").Scan(&u); err != nil {
			t.Fatal(err)
		}
		return u[:strings.IndexByte(u, '@')]
	}
	if _, err := c.Exec("UPDATE t SET x = 9 WHERE id = 1"); err == nil || !strings.Contains(err.Error(), "airlock: denied: level:") {
		t.Fatalf("write before the grant: %v", err)
	}
	if u := user(); u != testenv.MyRoleRO {
		t.Fatalf("read session runs as %s", u)
	}

	r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix x"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = a.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec("UPDATE t SET x = 9 WHERE id = ?", 1); err != nil {
		t.Fatalf("write under the grant: %v", err)
	}
	if u := user(); u != testenv.MyRoleRW {
		t.Fatalf("write session runs as %s", u)
	}
	if _, err := c.Exec("UPDATE t SET x = 9 WHERE id <= 2000"); err == nil || !strings.Contains(err.Error(), "blast-radius: 2000 rows > limit 1000") {
		t.Fatalf("over-limit write under the grant: %v", err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t WHERE x = 9"); n != 1 {
		t.Fatalf("%d rows with x = 9, want 1", n)
	}

	// Two more sessions under the grant: one holds a named lock (which
	// cannot move to a new connection), one has a transaction open.
	locker := testenv.OpenMy(t, a.MyDSN("alice", tok, "app", ""))
	locker.SetMaxOpenConns(1)
	var got int
	if err := locker.QueryRow("SELECT GET_LOCK('airlock-e2e', 0)").Scan(&got); err != nil || got != 1 {
		t.Fatalf("GET_LOCK under the grant: %d %v", got, err)
	}
	txn, err := testenv.OpenMy(t, a.MyDSN("alice", tok, "app", "")).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	for _, s := range []string{"BEGIN", "UPDATE t SET x = 8 WHERE id = 3"} {
		if _, err := txn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}

	if _, err := a.Access.RevokeGrant(ctx, a.Actor(a.AdminToken), r.GrantID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec("UPDATE t SET x = 9 WHERE id = 2"); err == nil || !strings.Contains(err.Error(), "airlock: denied: level:") {
		t.Fatalf("write after the grant ended: %v", err)
	}
	if u := user(); u != testenv.MyRoleRO {
		t.Fatalf("after the grant the session runs as %s", u)
	}
	// The session with the lock cannot be lowered: it is ended, saying why.
	err = locker.QueryRow("SELECT 1").Scan(&got)
	if code, _ := testenv.MyErr(err); code != 1927 || !strings.Contains(err.Error(), "named locks") || !strings.Contains(err.Error(), "reconnect") {
		t.Fatalf("session holding a named lock: %v", err)
	}
	// The one in a transaction was ended when the grant ended, and its
	// transaction rolled back.
	_, err = txn.ExecContext(ctx, "COMMIT")
	if code, _ := testenv.MyErr(err); code != 1927 || !strings.Contains(err.Error(), "access dropped from write to read") {
		t.Fatalf("session in a transaction: %v", err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t WHERE x = 8"); n != 0 {
		t.Fatal("the transaction of the ended session was committed")
	}
}

// TestMySQLBlastRadiusInTransaction: inside a client transaction, a write
// over the limit is rolled back alone (to airlock's savepoint) and denied;
// the transaction goes on and what it did before is committed — sent as
// text and as prepared statements.
func TestMySQLBlastRadiusInTransaction(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myGuardSchema)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: myGuardDatabases(db)})
	ctx := context.Background()
	wanda := a.Token("wanda", 0)
	for i, params := range []string{"interpolateParams=true", "interpolateParams=false"} {
		c, err := testenv.OpenMy(t, a.MyDSN("wanda", wanda, "app", params)).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mark := 20 + i
		lo, hi := 1+i*10, 10+i*10 // ten rows per run
		if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, "UPDATE t SET x = ? WHERE id BETWEEN ? AND ?", mark, lo, hi); err != nil {
			t.Fatalf("%s: first update: %v", params, err)
		}
		_, err = c.ExecContext(ctx, "UPDATE t SET x = ? WHERE id > ?", mark, 100)
		if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "blast-radius: 4900 rows > limit 1000") {
			t.Fatalf("%s: second update: %v, want denied by blast-radius", params, err)
		}
		var inTx int
		if err := c.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&inTx); err != nil || inTx != 1 {
			t.Fatalf("%s: after the denial: in transaction %d %v", params, inTx, err)
		}
		if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
			t.Fatalf("%s: commit: %v", params, err)
		}
		c.Close()
		if n := db.QueryInt("SELECT COUNT(*) FROM t WHERE x = ?", mark); n != 10 {
			t.Fatalf("%s: %d rows with x = %d upstream, want the first update's 10", params, n, mark)
		}
	}
}

// TestMySQLWarnRule: a warn rule lets the statement run and tells a MySQL
// client the way the server tells it of its own warnings: the answer's
// warning count includes it and SHOW WARNINGS lists it (after the
// server's) until another statement runs — by text query, by prepared
// statement, and in the mariadb client's --show-warnings output.
func TestMySQLWarnRule(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec("CREATE TABLE src (id int PRIMARY KEY, v int) ENGINE=InnoDB")
	db.Exec("INSERT INTO src VALUES (1, 1), (2, 2), (3, 3)")
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: testenv.MyDatabases(db.Name, "") + `guardrails:
  - {name: select-star, when: 'stmt.kind == "select" && stmt.text.contains("*") && "` + db.Name + `.src" in stmt.tables', action: warn, message: "name the columns"}
`})
	ctx := context.Background()
	tok := a.Token("alice", 0)
	const want = "airlock: warning: select-star: name the columns"
	c, err := testenv.OpenMy(t, a.MyDSN("alice", tok, "app", "interpolateParams=false")).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	warnings := func() []string { return myWarnings(t, c) }
	count := func(q string, args ...any) int {
		rows, err := c.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		return n
	}

	if n := count("SELECT * FROM src WHERE id < 3"); n != 2 {
		t.Fatalf("warned SELECT returned %d rows", n)
	}
	if w := warnings(); len(w) != 1 || w[0] != "Warning 1642 "+want {
		t.Fatalf("SHOW WARNINGS after a warned SELECT: %q", w)
	}
	if w := warnings(); len(w) != 1 {
		t.Fatalf("SHOW WARNINGS again: %q", w)
	}
	// The server's own warnings come first.
	if n := count("SELECT * FROM src WHERE id = '1x'"); n != 1 {
		t.Fatalf("warned SELECT with a server warning returned %d rows", n)
	}
	if w := warnings(); len(w) != 2 || !strings.Contains(w[0], "Truncated incorrect") || w[1] != "Warning 1642 "+want {
		t.Fatalf("SHOW WARNINGS with a server warning: %q", w)
	}
	// Another statement forgets them, and so does a denied one.
	if n := count("SELECT v FROM src"); n != 3 {
		t.Fatal("SELECT v")
	}
	if w := warnings(); len(w) != 0 {
		t.Fatalf("SHOW WARNINGS after an unwarned statement: %q", w)
	}
	count("SELECT * FROM src")
	if _, err := c.ExecContext(ctx, "DELETE FROM src WHERE id = 1"); err == nil {
		t.Fatal("a read session deleted")
	}
	for _, w := range warnings() {
		if strings.Contains(w, "airlock: warning") {
			t.Fatalf("SHOW WARNINGS after a denied statement: %q", w)
		}
	}
	// A prepared statement warns the same way.
	if n := count("SELECT * FROM src WHERE id = ?", 3); n != 1 {
		t.Fatal("prepared SELECT")
	}
	if w := warnings(); len(w) != 1 || w[0] != "Warning 1642 "+want {
		t.Fatalf("SHOW WARNINGS after a warned prepared SELECT: %q", w)
	}

	host, port := a.MyHostPort()
	out := mariadbCLI(t, host, port, "alice", tok, "app", "SELECT COUNT(*) AS n FROM (SELECT * FROM src) s;\n", "--show-warnings")
	if !strings.Contains(out, "n\n3\n") || !strings.Contains(out, "Warning (Code 1642): "+want) {
		t.Fatalf("mariadb --show-warnings:\n%s", out)
	}
}

// TestMySQLRefusedWriteNeverStarts: a write airlock refuses from what only
// the database can tell (a non-transactional table), in a session whose
// writes are not guarded (blast-radius and undo off), is denied before it is
// audited as started: the audit holds its denial and nothing else.
func TestMySQLRefusedWriteNeverStarts(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec("CREATE TABLE cache (id int PRIMARY KEY, v int) ENGINE=MyISAM")
	db.Exec("INSERT INTO cache VALUES (1, 1)")
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: testenv.MyDatabases(db.Name, "    undo: \"off\"\n    guardrails: {disable: [blast-radius]}\n")})
	c := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", 0), "app", "interpolateParams=false"))
	const q = "UPDATE cache SET v = 2 WHERE id = 1"
	for _, args := range [][]any{nil, {}} {
		var err error
		if args == nil {
			_, err = c.Exec(q) // text
		} else {
			_, err = c.Exec(q+" AND v = ?", 1) // prepared
		}
		if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "non-transactional") {
			t.Fatalf("write to a MyISAM table: %v", err)
		}
	}
	if n := db.QueryInt("SELECT v FROM cache WHERE id = 1"); n != 1 {
		t.Fatal("the write reached the table")
	}
	ctx := context.Background()
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "wanda", Type: airlock.EventStatement, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, ev := range evs {
		if !strings.HasPrefix(ev.Text, q) {
			continue
		}
		if ev.Decision != airlock.DecisionDenied {
			t.Errorf("the refused write is in the audit as %s %s", ev.Decision, ev.Action)
			continue
		}
		denied++
	}
	if denied != 2 {
		t.Errorf("%d denials of the write in the audit, want 2", denied)
	}
}
