package mysqlwire_test

import (
	"context"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/testenv/mydb"
)

const guardTables = `
CREATE TABLE t (id int PRIMARY KEY, x int NOT NULL DEFAULT 1) ENGINE=InnoDB;
INSERT INTO t SELECT seq, 1 FROM seq_1_to_100;
CREATE TABLE logt (id int AUTO_INCREMENT PRIMARY KEY, note varchar(20)) ENGINE=InnoDB;
CREATE TABLE watched (id int PRIMARY KEY, v int) ENGINE=InnoDB;
INSERT INTO watched SELECT seq, 0 FROM seq_1_to_20;
CREATE TRIGGER watched_log AFTER UPDATE ON watched FOR EACH ROW INSERT INTO logt (note) VALUES (NEW.id);
CREATE TABLE mt (id int PRIMARY KEY, v int) ENGINE=MyISAM;
INSERT INTO mt VALUES (1, 1);
CREATE TABLE at (id int PRIMARY KEY, v int) ENGINE=Aria;
CREATE TABLE parent (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE child (id int PRIMARY KEY, p int, FOREIGN KEY (p) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO parent SELECT seq FROM seq_1_to_5;
INSERT INTO child SELECT seq, 1 + seq % 5 FROM seq_1_to_50;
CREATE TABLE uparent (id int PRIMARY KEY, v int) ENGINE=InnoDB;
CREATE TABLE uchild (id int PRIMARY KEY, p int, FOREIGN KEY (p) REFERENCES uparent (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO uparent VALUES (1, 0), (2, 0);
INSERT INTO uchild VALUES (1, 1);
CREATE VIEW tv AS SELECT * FROM t;
`

// TestGuardedWrites: with write access and max_rows_changed 10, a write
// is counted for real inside a transaction or savepoint airlock opens
// (triggers included) and rolled back and denied over the limit, inside
// and outside the client's transaction, as text, prepared statement and
// multi-statement query; writes to non-transactional tables, through
// views and to tables cascading foreign keys reference are denied before
// they run.
func TestGuardedWrites(t *testing.T) {
	db := mydb.New(t)
	db.Exec(guardTables)
	e := startEnv(t, db, envOptions{databases: mydb.Databases(db.Name, "    max_rows_changed: 10\n")})
	tok := e.token("wanda") // standing write
	c := mydb.Open(t, e.dsn("wanda", tok, "multiStatements=true&interpolateParams=false"))
	c.SetMaxOpenConns(1)
	sum := func() int64 { return db.QueryInt("SELECT SUM(x) FROM t") }
	before := sum()

	denied := []struct {
		sql  string
		args []any
		rule string
	}{
		{"UPDATE t SET x = 2 WHERE id <= 50", nil, "blast-radius: 50 rows > limit 10"},
		{"UPDATE t SET x = 2 WHERE id <= ?", []any{11}, "blast-radius: 11 rows > limit 10"},
		{"DELETE FROM t WHERE id > 80", nil, "blast-radius: 20 rows > limit 10"},
		{"INSERT INTO t (id) SELECT id + 1000 FROM t WHERE id <= 30", nil, "blast-radius: 30 rows > limit 10"},
		{"UPDATE t SET x = 3 WHERE id <= 5; UPDATE t SET x = 3 WHERE id > 5 AND id <= 12", nil, "blast-radius: 12 rows > limit 10"},
		{"UPDATE watched SET v = 1 WHERE id <= 6", nil, "blast-radius: 12 rows > limit 10"}, // 6 rows + 6 trigger inserts
		{"UPDATE mt SET v = 2 WHERE id = 1", nil, "non-transactional: " + db.Name + ".mt uses the MYISAM storage engine"},
		{"INSERT INTO at VALUES (1, 1)", nil, "non-transactional: " + db.Name + ".at uses the ARIA storage engine"},
		{"UPDATE tv SET x = 5 WHERE id = 1", nil, "non-transactional: " + db.Name + ".tv is a view"},
		{"DELETE FROM parent WHERE id = 1", nil, "blast-radius: foreign keys with cascading actions reference"},
		{"REPLACE INTO parent VALUES (1)", nil, "blast-radius: foreign keys with cascading actions reference"},
		{"UPDATE uparent SET id = 9 WHERE id = 1", nil, "blast-radius: foreign keys with cascading actions reference"},
		{"INSERT INTO uparent VALUES (1, 5) ON DUPLICATE KEY UPDATE id = 9", nil, "blast-radius: foreign keys with cascading actions reference"},
	}
	for _, d := range denied {
		_, err := c.Exec(d.sql, d.args...)
		if code, _ := mydb.Err(err); code != 1227 || !strings.Contains(err.Error(), "airlock: denied: "+d.rule) {
			t.Errorf("%s: %v, want denied by %s", d.sql, err, d.rule)
		}
	}
	if got := sum(); got != before {
		t.Fatalf("t changed: %d -> %d", before, got)
	}
	for table, want := range map[string]int64{"logt": 0, "child": 50, "parent": 5, "watched WHERE v <> 0": 0, "t": 100} {
		if n := db.QueryInt("SELECT COUNT(*) FROM " + table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	if v := db.QueryInt("SELECT v FROM mt"); v != 1 {
		t.Errorf("mt changed")
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM uchild WHERE p = 1"); n != 1 {
		t.Errorf("uchild changed")
	}

	// A cascade fires only for its own action: an UPDATE of a table that
	// foreign keys reference ON DELETE CASCADE, a DELETE of one referenced
	// ON UPDATE CASCADE are counted as any write.
	for _, s := range []string{"UPDATE parent SET id = id WHERE id = 2", "DELETE FROM uparent WHERE id = 2", "INSERT INTO uparent VALUES (3, 0)"} {
		if _, err := c.Exec(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM uparent"); n != 2 {
		t.Errorf("uparent: %d rows, want 2", n)
	}

	// Under the limit, writes go through and commit (autocommit mode: the
	// transaction was airlock's).
	res, err := c.Exec("UPDATE t SET x = 7 WHERE id <= 5")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 5 {
		t.Fatalf("rows affected %d", n)
	}
	if _, err := c.Exec("UPDATE t SET x = 7 WHERE id = ?", 6); err != nil {
		t.Fatal(err)
	}
	var inTx int
	if err := c.QueryRow("SELECT @@in_transaction").Scan(&inTx); err != nil || inTx != 0 {
		t.Fatalf("in transaction after a guarded write in autocommit mode: %d %v", inTx, err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t WHERE x = 7"); n != 6 {
		t.Fatalf("committed rows: %d", n)
	}

	// In the client's transaction, a denial rolls back to airlock's
	// savepoint: what came before stays, and the transaction goes on.
	ctx := context.Background()
	conn, err := c.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{"BEGIN", "UPDATE t SET x = 8 WHERE id = 10"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "UPDATE t SET x = 8 WHERE id > 50"); err == nil {
		t.Fatal("over-limit UPDATE allowed in a transaction")
	}
	if err := conn.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&inTx); err != nil || inTx != 1 {
		t.Fatalf("transaction after the denial: %d %v", inTx, err)
	}
	if _, err := conn.ExecContext(ctx, "UPDATE t SET x = 8 WHERE id = 11"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t WHERE x = 8"); n != 2 {
		t.Fatalf("rows of the client's transaction: %d, want 2", n)
	}

	// Under LOCK TABLES, airlock's transaction would release the locks:
	// in autocommit mode the write is denied, without it it is guarded
	// by a savepoint.
	for _, s := range []string{"LOCK TABLES t WRITE"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "UPDATE t SET x = 9 WHERE id = 20"); err == nil || !strings.Contains(err.Error(), "under LOCK TABLES in autocommit mode") {
		t.Fatalf("write under LOCK TABLES in autocommit mode: %v", err)
	}
	for _, s := range []string{"SET autocommit = 0", "UPDATE t SET x = 9 WHERE id = 20", "COMMIT", "UNLOCK TABLES", "SET autocommit = 1"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t WHERE x = 9"); n != 1 {
		t.Fatalf("write under LOCK TABLES without autocommit: %d rows", n)
	}

	// The audit says what was counted.
	var executed, blast int
	for _, ev := range e.events("wanda") {
		if ev.Action == airlock.ActionExecuted && ev.Detail["rows_changed"] != "" {
			executed++
		}
		if ev.Action == airlock.ActionDenied && ev.Rule == "blast-radius" {
			blast++
		}
	}
	if executed < 4 || blast < 6 {
		t.Errorf("audit: %d counted executions, %d blast-radius denials", executed, blast)
	}
}
