package e2e

import (
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestMySQLUseInformationSchema: information_schema, the read-only
// metadata schema, may be the current schema at every level, with USE in
// a query and with COM_INIT_DB (the mariadb client's use); unqualified
// names then resolve there, and the session can go back to its own
// schema. Any other schema stays refused.
func TestMySQLUseInformationSchema(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name varchar(20)) ENGINE=InnoDB; INSERT INTO items VALUES (1, 'a')`)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	host, port := a.MyHostPort()
	for _, user := range []string{"alice", "wanda"} { // read, write
		tok := a.Token(user, time.Hour)
		// COM_INIT_DB (the client's use command) and USE in a query.
		out := mariadbCLI(t, host, port, user, tok, "app", `use information_schema
SELECT DATABASE();
SELECT COUNT(*) > 0 FROM TABLES WHERE TABLE_NAME = 'items';
USE `+db.Name+`
SELECT name FROM items;
USE INFORMATION_SCHEMA;
SELECT COUNT(*) > 0 FROM COLUMNS WHERE COLUMN_NAME = 'name';
USE mysql;
SELECT DATABASE();
`)
		want := []string{"DATABASE()\ninformation_schema", "COUNT(*) > 0\n1", "name\na", "COUNT(*) > 0\n1", "DATABASE()\ninformation_schema"}
		if !strings.Contains(out, "airlock: denied: schema") {
			t.Errorf("%s: USE mysql not denied:\n%s", user, out)
		}
		rest := out
		for _, w := range want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Fatalf("%s: want %q in order in:\n%s", user, w, out)
			}
			rest = rest[i+len(w):]
		}
	}
	// A write in information_schema reaches nothing: the server refuses it.
	wanda := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", time.Hour), "app", "multiStatements=true"))
	wanda.SetMaxOpenConns(1)
	if _, err := wanda.Exec("USE information_schema"); err != nil {
		t.Fatal(err)
	}
	if _, err := wanda.Exec("UPDATE items SET name = 'b' WHERE id = 1"); err == nil {
		t.Fatalf("an UPDATE of items in information_schema succeeded")
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM items WHERE name = 'a'"); n != 1 {
		t.Fatalf("items changed")
	}
}
