package e2e

import (
	"context"
	"strings"
	"testing"

	"airlock/internal/testenv"
)

// TestViewHidingWrite: a read session selecting from a view whose
// definition calls a function that may write (directly, or through
// another view) is denied by airlock's own rule view-write, before
// anything is forwarded; a plain view reads as before. A view replaced
// through airlock is checked as it is now at once.
func TestViewHidingWrite(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE victim (id int PRIMARY KEY, v text);
		INSERT INTO victim VALUES (1, 'a'), (2, 'b');
		CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql AS 'DELETE FROM victim RETURNING 1';
		CREATE VIEW v_evil AS SELECT public.evil() AS x;
		CREATE VIEW v_over AS SELECT * FROM v_evil;
		CREATE VIEW v_ok AS SELECT id, upper(v) AS v FROM victim;
		GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_test_ro;
		GRANT ALL ON ALL TABLES IN SCHEMA public TO airlock_test_rw;`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info",
		Users:    testenv.DefaultUsers + "  - {name: dora, groups: [ddl]}\n",
		Policies: testenv.DefaultPolicies + "  - {name: ddl, groups: [ddl], databases: [app], standing: ddl}\n"})
	ctx := context.Background()
	r := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	defer r.Close(ctx)
	for _, sql := range []string{"SELECT * FROM v_evil", "SELECT * FROM public.v_over", "SELECT count(*) FROM victim JOIN v_over ON true"} {
		_, err := r.Exec(ctx, sql)
		if pgCode(err) != "42501" || !strings.Contains(err.Error(), "airlock: denied: view-write:") {
			t.Errorf("%q: %v, want denied by rule view-write", sql, err)
		}
	}
	var n int
	if err := r.QueryRow(ctx, "SELECT count(*) FROM v_ok").Scan(&n); err != nil || n != 2 {
		t.Fatalf("a plain view: %d, %v", n, err)
	}
	// Replaced through airlock: checked as it is now.
	d := testenv.Connect(t, a.URL("dora", a.Token("dora", 0), "app"))
	defer d.Close(ctx)
	if _, err := d.Exec(ctx, "CREATE OR REPLACE VIEW v_ok AS SELECT id, upper(v) AS v, public.evil() AS x FROM victim"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec(ctx, "SELECT * FROM v_ok"); !strings.Contains(errString(err), "airlock: denied: view-write:") {
		t.Fatalf("the replaced view: %v, want denied by rule view-write", err)
	}
	if n := db.QueryInt("SELECT count(*) FROM victim"); n != 2 {
		t.Fatalf("%d rows in victim", n)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestMySQLViewHidingWrite: the same on MariaDB, for a view over a stored
// function that modifies data.
func TestMySQLViewHidingWrite(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec("CREATE TABLE victim (id int PRIMARY KEY, v varchar(10)) ENGINE=InnoDB")
	db.Exec("INSERT INTO victim VALUES (1, 'a'), (2, 'b')")
	db.Exec("CREATE FUNCTION evil() RETURNS int MODIFIES SQL DATA BEGIN DELETE FROM victim; RETURN 1; END")
	db.Exec("CREATE VIEW v_evil AS SELECT evil() AS x")
	db.Exec("CREATE VIEW v_over AS SELECT * FROM v_evil")
	db.Exec("CREATE VIEW v_ok AS SELECT id, UPPER(v) AS v FROM victim")
	a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "info"})
	r := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", ""))
	for _, sql := range []string{"SELECT * FROM v_evil", "SELECT * FROM v_over", "SELECT COUNT(*) FROM victim JOIN v_over"} {
		_, err := r.Exec(sql)
		if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "airlock: denied: view-write:") {
			t.Errorf("%q: %v, want denied by rule view-write", sql, err)
		}
	}
	var n int
	if err := r.QueryRow("SELECT COUNT(*) FROM v_ok").Scan(&n); err != nil || n != 2 {
		t.Fatalf("a plain view: %d, %v", n, err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM victim"); n != 2 {
		t.Fatalf("%d rows in victim", n)
	}
}
