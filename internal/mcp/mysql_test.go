package mcp_test

import (
	"strings"
	"testing"

	"airlock/internal/testenv"
)

// myEnv is an airlock in front of a fresh MariaDB schema with table items
// (ids 1..10, qty 10 each) and a MyISAM table, prepared for undo.
func myEnv(t *testing.T) (*testenv.Airlock, *testenv.MyDB) {
	t.Helper()
	db := testenv.NewMyDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name varchar(50) NOT NULL, qty int NOT NULL) ENGINE=InnoDB;
		CREATE TABLE legacy (id int PRIMARY KEY, v int) ENGINE=MyISAM;
		INSERT INTO legacy VALUES (1, 1);
		INSERT INTO items VALUES (1,'item 1',10),(2,'item 2',10),(3,'item 3',10),(4,'item 4',10),(5,'item 5',10),
			(6,'item 6',10),(7,'item 7',10),(8,'item 8',10),(9,'item 9',10),(10,'item 10',10);
		ANALYZE TABLE items`)
	a := testenv.StartMySQL(t, db, testenv.Options{Extra: agentsYAML + mcpYAML, Databases: testenv.MyDatabases(db.Name, "    max_rows_changed: 5\n")})
	if _, err := a.Gateway.PrepareDatabase(t.Context(), a.Actor(a.AdminToken), "app"); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return a, db
}

func TestMySQLReadTools(t *testing.T) {
	a, _ := myEnv(t)
	cs := mustConnect(t, a, a.Token("bot", 0))
	var tables struct {
		Tables []struct{ Table, Kind string } `json:"tables"`
	}
	structured(t, call(t, cs, "describe", map[string]any{"database": "app"}), &tables)
	if len(tables.Tables) != 2 || tables.Tables[0].Table != "items" || tables.Tables[1].Table != "legacy" {
		t.Fatalf("describe = %+v", tables)
	}
	var desc struct {
		Columns []struct{ Column, Type string } `json:"columns"`
		Keys    []struct{ Name, Kind, Columns string }
	}
	structured(t, call(t, cs, "describe", map[string]any{"database": "app", "table": "items"}), &desc)
	if len(desc.Columns) != 3 || desc.Columns[1].Type != "varchar(50)" || len(desc.Keys) != 1 || desc.Keys[0].Kind != "PRIMARY KEY" || desc.Keys[0].Columns != "id" {
		t.Fatalf("describe items = %+v", desc)
	}
	var q queryResult
	structured(t, call(t, cs, "query", map[string]any{"database": "app", "sql": "SELECT id, name FROM items ORDER BY id", "max_rows": 3}), &q)
	if q.Count != 3 || !q.Trunc || q.Columns[0].Type != "int" || q.Columns[1].Type != "varchar" || q.Rows[0][0] != float64(1) || q.Rows[0][1] != "item 1" {
		t.Fatalf("query = %+v", q)
	}
	structured(t, call(t, cs, "explain", map[string]any{"database": "app", "sql": "SELECT * FROM items WHERE id = 1"}), &q)
	if q.Count == 0 {
		t.Fatalf("explain = %+v", q)
	}
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "UPDATE items SET qty = 1 WHERE id = 1"}), "airlock: denied: level:", "request_access")
	wantError(t, call(t, cs, "query", map[string]any{"database": "app", "sql": "SET SESSION TRANSACTION READ WRITE"}), "airlock: denied: escape:")
	if res := call(t, cs, "query", map[string]any{"database": "app", "sql": "SELECT @@session.tx_read_only AS ro"}); !strings.Contains(text(res), `"rows":[[1]]`) {
		t.Fatalf("read session is not read-only upstream: %s", text(res))
	}
}

// TestMySQLExecute: request → approval → execute → undo on MariaDB, with
// the same guard and veto as the wire adapter.
func TestMySQLExecute(t *testing.T) {
	a, db := myEnv(t)
	cs := mustConnect(t, a, a.Token("bot", 0))
	approve(t, a, cs, map[string]any{"on_behalf_of": "alice"})
	var w struct {
		RowsChanged int64  `json:"rows_changed"`
		UndoID      string `json:"undo_id"`
		UndoNote    string `json:"undo_note"`
	}
	structured(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "UPDATE items SET qty = 3 WHERE id IN (1, 2)", "on_behalf_of": "alice"}), &w)
	if w.RowsChanged != 2 || !strings.HasPrefix(w.UndoID, "u_") {
		t.Fatalf("execute = %+v", w)
	}
	if got := db.QueryInt("SELECT SUM(qty) FROM items WHERE id IN (1, 2)"); got != 6 {
		t.Fatalf("qty sum = %d after execute", got)
	}
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "UPDATE items SET qty = 0 WHERE id > 4"}), "airlock: denied: blast-radius: 6 rows > limit 5")
	if got := db.QueryInt("SELECT COUNT(*) FROM items WHERE qty = 0"); got != 0 {
		t.Fatalf("%d rows changed by a denied write", got)
	}
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "UPDATE legacy SET v = 2 WHERE id = 1"}), "airlock: denied: non-transactional:", "MYISAM")
	if got := db.QueryInt("SELECT v FROM legacy WHERE id = 1"); got != 1 {
		t.Fatalf("MyISAM row changed: v = %d", got)
	}
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "SET @airlock_stmt = NULL"}), "only reads")
	wantError(t, call(t, cs, "execute", map[string]any{"database": "app", "sql": "INSERT INTO items VALUES (1, 'dup', 1)"}), "database error", "Duplicate")

	var prev struct{ SQL string }
	structured(t, call(t, cs, "undo_preview", map[string]any{"id": w.UndoID}), &prev)
	if !strings.Contains(prev.SQL, "UPDATE") {
		t.Fatalf("undo_preview = %+v", prev)
	}
	if _, err := a.Gateway.UndoApply(t.Context(), a.Actor(a.AdminToken), w.UndoID, false); err != nil {
		t.Fatal(err)
	}
	if got := db.QueryInt("SELECT SUM(qty) FROM items WHERE id IN (1, 2)"); got != 20 {
		t.Fatalf("qty sum = %d after undo", got)
	}
}
