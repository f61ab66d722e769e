package myadmin

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/undo"

	"github.com/go-sql-driver/mysql"
)

// The MariaDB of SPEC §12.
const myAddr = "127.0.0.1:3306"

// myConn opens one connection as root to schema (none: "") with the given
// session settings.
func myConn(t *testing.T, schema, mode, zone string) *sql.Conn {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.DBName = "root", "tcp", myAddr, schema
	cfg.Params = map[string]string{"sql_mode": undo.MyQuoteLiteral(mode), "time_zone": undo.MyQuoteLiteral(zone)}
	cfg.MultiStatements = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatalf("connect to MariaDB on %s as root: %v", myAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func exec(t *testing.T, c *sql.Conn, q string) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// mySchema creates a schema with table k and its capture triggers
// installed as myadmin installs them.
func mySchema(t *testing.T, table string) (string, *sql.Conn) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "airlock_u_" + hex.EncodeToString(b)
	root := myConn(t, "", undo.MySQLMode, undo.MyTimeZone)
	exec(t, root, "CREATE DATABASE "+schema+" CHARACTER SET utf8mb4")
	t.Cleanup(func() { root.ExecContext(context.Background(), "DROP DATABASE "+schema) })
	exec(t, root, "USE "+schema)
	exec(t, root, table)
	exec(t, root, undo.MyCaptureTableSQL(schema))
	ctx := context.Background()
	cols, err := Columns(ctx, root, schema, "k")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := root.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'k' AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION", schema)
	if err != nil {
		t.Fatal(err)
	}
	var pk []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		pk = append(pk, k)
	}
	rows.Close()
	stmts, err := undo.MyTriggers(schema, "k", cols, pk)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		exec(t, root, s)
	}
	return schema, root
}

// captureOf runs sql in a transaction named id, as the gateway does, and
// returns what was captured, the handler counters' differences and the
// rows the statement affected.
func captureOf(t *testing.T, c *sql.Conn, schema, id, stmt string) (*undo.MyCapture, [3]int64) {
	t.Helper()
	ctx := context.Background()
	counters := func() [3]int64 {
		var out [3]int64
		rows, err := c.QueryContext(ctx, "SHOW SESSION STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', 'Handler_delete')")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var v int64
			rows.Scan(&name, &v)
			out[map[string]int{"Handler_write": 0, "Handler_update": 1, "Handler_delete": 2}[name]] = v
		}
		return out
	}
	exec(t, c, "START TRANSACTION")
	exec(t, c, undo.MyStartCapture(id))
	before := counters()
	exec(t, c, stmt)
	after := counters()
	rows, err := c.QueryContext(ctx, undo.MyReadCaptured(schema, id))
	if err != nil {
		t.Fatal(err)
	}
	var raw [][]string
	for rows.Next() {
		v := make([]sql.NullString, 7)
		p := make([]any, 7)
		for i := range v {
			p[i] = &v[i]
		}
		rows.Scan(p...)
		r := make([]string, 7)
		for i := range v {
			r[i] = v[i].String
		}
		raw = append(raw, r)
	}
	rows.Close()
	capt, err := undo.MyCaptured(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(undo.MyClearCaptured(schema, capt.IDs), undo.MyStopCapture, "COMMIT") {
		exec(t, c, s)
	}
	return capt, [3]int64{after[0] - before[0], after[1] - before[1], after[2] - before[2]}
}

// dumpK renders every row of k exactly, independently of the capture
// format.
func dumpK(t *testing.T, c *sql.Conn, cols string) string {
	t.Helper()
	var s sql.NullString
	if err := c.QueryRowContext(context.Background(), "SELECT GROUP_CONCAT(CONCAT_WS('|', "+cols+") ORDER BY id SEPARATOR '\n') FROM k").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s.String
}

// TestMySQLCaptureExact: rows of every supported type, captured by the
// triggers in a session with another time zone and sql_mode, render again
// to the same text, and the plan built from them puts every byte back.
func TestMySQLCaptureExact(t *testing.T) {
	schema, root := mySchema(t, `CREATE TABLE k (
	id int PRIMARY KEY, u bigint unsigned, d decimal(65,30), f float, f2 float(10,3), g double,
	dt datetime(6), ts timestamp(6) NULL DEFAULT NULL, ts0 timestamp NULL DEFAULT NULL, da date, tm time(6), y year,
	txt text, l varchar(300) CHARACTER SET latin1, gb varchar(20) CHARACTER SET gbk, c char(5),
	j json, bl blob, vb varbinary(300), bn binary(4), bt bit(10), e enum('a', 'b''c', ''), st set('p', 'q'),
	geo geometry NULL, i6 inet6, uu uuid, gen int AS (id * 2) VIRTUAL
) ENGINE=InnoDB`)
	dumpCols := "id, IFNULL(u, 'N'), IFNULL(d, 'N'), IFNULL(CAST(f AS DOUBLE), 'N'), IFNULL(CAST(f2 AS DOUBLE), 'N'), IFNULL(CAST(g AS DOUBLE), 'N'), " +
		"IFNULL(dt, 'N'), IFNULL(UNIX_TIMESTAMP(ts), 'N'), IFNULL(UNIX_TIMESTAMP(ts0), 'N'), IFNULL(da, 'N'), IFNULL(tm, 'N'), IFNULL(y, 'N'), " +
		"IFNULL(HEX(txt), 'N'), IFNULL(HEX(l), 'N'), IFNULL(HEX(gb), 'N'), IFNULL(HEX(c), 'N'), IFNULL(HEX(j), 'N'), IFNULL(HEX(bl), 'N'), IFNULL(HEX(vb), 'N'), " +
		"IFNULL(HEX(bn), 'N'), IFNULL(BIN(bt), 'N'), IFNULL(HEX(e), 'N'), IFNULL(st, 'N'), IFNULL(HEX(ST_AsBinary(geo)), 'N'), IFNULL(ST_SRID(geo), 'N'), IFNULL(i6, 'N'), IFNULL(uu, 'N'), gen"
	// Every byte value, in the binary and latin1 columns.
	var all strings.Builder
	for b := 0; b < 256; b++ {
		fmt.Fprintf(&all, "%02X", b)
	}
	exec(t, root, fmt.Sprintf(`INSERT INTO k (id, u, d, f, f2, g, dt, ts, ts0, da, tm, y, txt, l, gb, c, j, bl, vb, bn, bt, e, st, geo, i6, uu) VALUES
	(1, 18446744073709551615, -12345678901234567890123456789012345.123456789012345678901234567890, 1.0000001, 1.5, 0.1e0 + 0.2e0,
	 '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999999', '1970-01-01 00:00:01', '0000-00-00', '-838:59:59.000000', 1901,
	 'quote '' dq " back\\slash nl\n tab\t nul\0 ctrlz\Z ünïcødé 😀 ✓', X'%[1]s', _gbk X'C4E3BAC3', 'ab',
	 '{"a": [1, 2.50, "x"], "a": null}', X'%[1]s', X'%[1]s', X'00FF0000', b'1010101010', 'b''c', 'p,q',
	 ST_GeomFromText('POLYGON((0 0, 1.1 0, 1.1 1.1, 0 0))', 4326), 'fe80::1', '123e4567-e89b-12d3-a456-426614174000'),
	(2, 0, 0, -3.4028234e38, 0, 4.9406564584124654e-324, '1000-01-01 00:00:00', '0000-00-00 00:00:00', NULL, '9999-12-31', '00:00:00.000001', 0,
	 '', '', '', '', '[]', '', '', X'00000000', b'0', '', '', NULL, '::', '00000000-0000-0000-0000-000000000000'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`, all.String()))
	before := dumpK(t, root, dumpCols)

	// Capture in a session of another time zone and sql_mode.
	sess := myConn(t, schema, "PAD_CHAR_TO_FULL_LENGTH,NO_ZERO_DATE,ANSI_QUOTES", "+05:30")
	capt, _ := captureOf(t, sess, schema, "u_exact1", "UPDATE k SET id = id + 10, txt = 'changed', ts = NOW(6) WHERE id IN (1, 2, 3)")
	if len(capt.Images) != 3 {
		t.Fatalf("%d images, want 3", len(capt.Images))
	}
	capt2, _ := captureOf(t, sess, schema, "u_exact2", "DELETE FROM k WHERE id = 12")
	capt3, _ := captureOf(t, sess, schema, "u_exact3", "INSERT INTO k (id, txt) VALUES (50, 'new')")
	for _, im := range capt.Images {
		if im.Table != schema+".k" || im.Op != "U" || fmt.Sprint(im.PK) != "[id]" {
			t.Fatalf("image %+v", im)
		}
		if strings.Contains(*im.Old, "`gen`") {
			t.Errorf("a generated column was captured: %s", *im.Old)
		}
	}

	// Undo them all in one transaction of an apply session.
	apply := myConn(t, schema, undo.MySQLMode, undo.MyTimeZone)
	ctx := context.Background()
	now := time.Now()
	recs := []*airlock.UndoRecord{
		{ID: "u_exact1", CreatedAt: now, Images: capt.Images},
		{ID: "u_exact2", CreatedAt: now.Add(time.Second), Images: capt2.Images},
		{ID: "u_exact3", CreatedAt: now.Add(2 * time.Second), Images: capt3.Images},
	}
	steps, err := undoPlan(schema, recs)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := apply.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	conflicts, err := undoApply(ctx, tx, schema, steps, false)
	if err != nil || len(conflicts) > 0 {
		tx.Rollback()
		t.Fatalf("apply: %v %+v\n%s", err, conflicts, undoShow(steps))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if after := dumpK(t, root, dumpCols); after != before {
		t.Fatalf("not restored:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// TestMySQLCaptureCount: what the handler counters count, less what the
// capture explains, equals the rows captured, for the statements whose
// counters differ from their changes (UPDATE to the same values, INSERT
// IGNORE, ON DUPLICATE KEY UPDATE, REPLACE); a row changed in a table
// without the triggers shows as a difference.
func TestMySQLCaptureCount(t *testing.T) {
	schema, root := mySchema(t, `CREATE TABLE k (id int PRIMARY KEY, v int, u int, UNIQUE KEY (u)) ENGINE=InnoDB`)
	exec(t, root, "CREATE TABLE bare (id int PRIMARY KEY) ENGINE=InnoDB")
	exec(t, root, "INSERT INTO k VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3)")
	sess := myConn(t, schema, "STRICT_TRANS_TABLES", "SYSTEM")
	cases := []struct {
		stmt          string
		images, extra int64
	}{
		{"UPDATE k SET v = 3 WHERE id <= 3", 2, 0},
		{"UPDATE k SET v = v WHERE id <= 3", 0, 0},
		{"INSERT IGNORE INTO k VALUES (1, 0, 0), (4, 4, 4)", 1, 0},
		{"INSERT INTO k VALUES (1, 10, 1), (5, 5, 5), (2, 3, 2), (3, 4, 3) ON DUPLICATE KEY UPDATE v = VALUES(v)", 3, 0}, // (2, 3, 2) is as it was
		{"REPLACE INTO k VALUES (2, 20, 20), (6, 6, 6)", 3, 0},
		{"REPLACE INTO k VALUES (7, 7, 3)", 2, 0}, // replaces id 3 by its unique key
		{"DELETE FROM k WHERE id >= 6", 2, 0},
		{"INSERT INTO bare VALUES (1), (2)", 0, 2},
	}
	for i, c := range cases {
		capt, d := captureOf(t, sess, schema, fmt.Sprintf("u_count%d", i), c.stmt)
		var replaced []string
		if strings.HasPrefix(c.stmt, "REPLACE") {
			replaced = []string{schema + ".k"}
		}
		got := capt.Changed(d[0], d[1], d[2], replaced)
		if int64(len(capt.Images)) != c.images || got != c.images+c.extra {
			t.Errorf("%s: %d images, %d changed (counters %v, tries %d, capture rows %d), want %d and %d",
				c.stmt, len(capt.Images), got, d, capt.Tries, capt.Rows, c.images, c.images+c.extra)
		}
	}
	if n := 0; root.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+undo.MyCaptureTable).Scan(&n) != nil || n != 0 {
		t.Errorf("%d captured rows left", n)
	}
}

// TestMySQLTriggers: a table with a column of a type airlock cannot write
// exactly gets no triggers (prepare reports it); long table names make
// trigger names of at most 64 characters, distinct per operation.
func TestMySQLTriggers(t *testing.T) {
	if _, err := undo.MyTriggers("s", "t", []undo.MyColumn{{Name: "id", DataType: "int"}, {Name: "v", DataType: "vector"}}, []string{"id"}); err == nil || !strings.Contains(err.Error(), "`v` has type vector") {
		t.Errorf("unsupported type: %v", err)
	}
	long := strings.Repeat("é", 64)
	seen := map[string]bool{}
	for _, op := range []string{"t", "i", "u", "d"} {
		n := undo.MyTriggerName(op, long)
		if len([]rune(n)) > 64 || seen[n] || n == undo.MyTriggerName(op, long+"x") {
			t.Errorf("trigger name %q", n)
		}
		seen[n] = true
	}
}

// TestMySQLApplyTableChanged: a table whose columns changed since its
// capture is a conflict (the captured rows do not cover the new columns);
// forced, the captured columns are put back.
func TestMySQLApplyTableChanged(t *testing.T) {
	schema, root := mySchema(t, `CREATE TABLE k (id int PRIMARY KEY, v int) ENGINE=InnoDB`)
	exec(t, root, "INSERT INTO k VALUES (1, 1)")
	sess := myConn(t, schema, "", "SYSTEM")
	capt, _ := captureOf(t, sess, schema, "u_changed", "UPDATE k SET v = 2 WHERE id = 1")
	exec(t, root, "ALTER TABLE k ADD COLUMN w int")
	ctx := context.Background()
	steps, err := undoPlan(schema, []*airlock.UndoRecord{{ID: "u_changed", Images: capt.Images}})
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		tx, err := root.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		conflicts, err := undoApply(ctx, tx, schema, steps, force)
		if err != nil || len(conflicts) != 1 || !strings.Contains(conflicts[0].Reason, "`w` is new") {
			t.Fatalf("force %v: %+v %v", force, conflicts, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	var v int
	if err := root.QueryRowContext(ctx, "SELECT v FROM k WHERE id = 1").Scan(&v); err != nil || v != 1 {
		t.Errorf("forced apply: v = %d, %v", v, err)
	}
}
