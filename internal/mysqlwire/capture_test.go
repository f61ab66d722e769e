package mysqlwire_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/myadmin"
	"airlock/internal/testenv/mydb"
)

// TestUndoCaptureMySQL: on a prepared database, a guarded write's rows
// are captured in its transaction, and its undo record follows that
// transaction: committed with airlock's own COMMIT, the client's COMMIT,
// BEGIN and LOCK TABLES (implicit commits); void with ROLLBACK, ROLLBACK
// TO SAVEPOINT and a deadlock that rolls the transaction back. What
// ROW_COUNT() reports after a guarded write does not change with capture,
// and nothing is left in the capture table.
func TestUndoCaptureMySQL(t *testing.T) {
	db := mydb.New(t)
	db.Exec(`CREATE TABLE t (id int PRIMARY KEY, x int NOT NULL) ENGINE=InnoDB; INSERT INTO t SELECT seq, 1 FROM seq_1_to_100`)
	e := startEnv(t, db, envOptions{})
	ctx := context.Background()
	pool := mydb.Open(t, e.dsn("wanda", e.token("wanda"), "interpolateParams=false"))
	c, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rowCount := func() int64 {
		t.Helper()
		var n int64
		if err := c.QueryRowContext(ctx, "SELECT ROW_COUNT()").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	exec("UPDATE t SET x = 2 WHERE id = 100")
	unprepared := rowCount()
	dbc := &config.Database{Spec: config.Spec{Name: "app", Engine: airlock.EngineMySQL, Address: mydb.Addr, Database: db.Name, TLSMode: "disable"},
		Credentials: map[airlock.Level]config.Credential{airlock.LevelDDL: {User: "root"}, airlock.LevelWrite: {User: mydb.RoleRW, Password: mydb.Password}}}
	for range 2 { // preparing again replaces the triggers
		n, err := myadmin.Admin{}.Prepare(ctx, dbc)
		if err != nil || n != 1 {
			t.Fatalf("prepare: %d tables, %v", n, err)
		}
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME LIKE 'airlock\\_capture\\_%'", db.Name); n != 4 {
		t.Fatalf("%d capture triggers, want 4", n)
	}
	exec("UPDATE t SET x = 3 WHERE id = 100")
	if got := rowCount(); got != unprepared {
		t.Errorf("ROW_COUNT() after a captured write: %d, without capture: %d", got, unprepared)
	}

	exec("UPDATE t SET x = 5 WHERE id = 1")
	exec("BEGIN")
	exec("UPDATE t SET x = 5 WHERE id = 2")
	exec("COMMIT")
	exec("BEGIN")
	exec("UPDATE t SET x = 5 WHERE id = 3")
	exec("ROLLBACK")
	exec("BEGIN")
	exec("UPDATE t SET x = 5 WHERE id = 4")
	exec("SAVEPOINT s1")
	exec("UPDATE t SET x = 5 WHERE id = 5")
	exec("ROLLBACK TO SAVEPOINT S1") // names are not case-sensitive
	exec("UPDATE t SET x = 5 WHERE id = 6")
	exec("COMMIT")
	exec("BEGIN")
	exec("UPDATE t SET x = 5 WHERE id = 7")
	exec("BEGIN") // commits
	exec("UPDATE t SET x = 5 WHERE id = 8")
	exec("LOCK TABLES t WRITE") // commits
	exec("UNLOCK TABLES")

	// A deadlock: InnoDB rolls back the smaller transaction, airlock's.
	exec("BEGIN")
	exec("UPDATE t SET x = 5 WHERE id = 9")
	other := mydb.Root(t, db.Name)
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE t SET x = x + 1 WHERE id BETWEEN 20 AND 90 OR id = 10"); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := tx.Exec("UPDATE t SET x = x + 1 WHERE id = 9")
		blocked <- err
	}()
	time.Sleep(200 * time.Millisecond)
	_, err = c.ExecContext(ctx, "UPDATE t SET x = 5 WHERE id = 10")
	if code, _ := mydb.Err(err); code != 1213 {
		t.Fatalf("deadlock: %v", err)
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	tx.Commit()
	exec("COMMIT")

	e.audit.Sync(ctx)
	evs := e.events("wanda")
	sid := evs[0].SessionID
	recs, err := e.store.ListUndo(ctx, airlock.UndoFilter{SessionID: sid})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range recs {
		states[r.Statement] = r.State
	}
	for id, want := range map[string]string{"100": "committed", "1": "committed", "2": "committed", "3": "void", "4": "committed", "5": "void",
		"6": "committed", "7": "committed", "8": "committed", "9": "void"} {
		if got := states["UPDATE t SET x = "+map[bool]string{true: "3", false: "5"}[id == "100"]+" WHERE id = "+id]; got != want {
			t.Errorf("update of row %s: %q, want %q (%v)", id, got, want, states)
		}
	}
	if len(recs) != 10 {
		t.Errorf("%d undo records, want 10: %v", len(recs), states)
	}
	r, err := e.store.GetUndo(ctx, recs[len(recs)-1].ID)
	if err != nil || len(r.Images) != 1 || *r.Images[0].Old != "`id`=100, `x`=2" || *r.Images[0].New != "`id`=100, `x`=3" || r.Images[0].Table != db.Name+".t" {
		t.Errorf("first record: %+v %v", r, err)
	}
	var ev *airlock.Event
	for _, x := range evs {
		if x.Text == "UPDATE t SET x = 5 WHERE id = 1" {
			ev = x
		}
	}
	if ev == nil || !strings.HasPrefix(ev.Detail["undo"], "u_") || ev.Detail["undo_rows"] != "1" || ev.Detail["rows_changed"] != "1" {
		t.Errorf("audit of a captured write: %+v", ev)
	}
	if left := db.QueryInt("SELECT COUNT(*) FROM airlock_capture"); left != 0 {
		t.Errorf("%d rows left in the capture table", left)
	}

	// Clients cannot touch the capture.
	for _, q := range []string{"SET @airlock_tries = 5", "SELECT @`AIRLOCK_stmt`", "SET @x = 1, @'airlock_stmt' = NULL", "DELETE FROM airlock_capture WHERE id = 1",
		"INSERT INTO " + db.Name + ".airlock_capture (stmt, rel, op) VALUES ('x', 'y', 'I')"} {
		_, err := c.ExecContext(ctx, q)
		// The policy refuses writes to the capture table (protected-table);
		// the adapter refuses the capture's variables (undo).
		if code, _ := mydb.Err(err); code != 1227 || !(strings.Contains(err.Error(), "airlock: denied: undo:") || strings.Contains(err.Error(), "airlock: denied: protected-table:")) {
			t.Errorf("%s: %v", q, err)
		}
	}
}
