package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"
)

const mySoftDropSchema = `
CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL UNIQUE, price decimal(10,2) CHECK (price >= 0)) ENGINE=InnoDB;
CREATE TABLE orders (id int PRIMARY KEY, item_id int, qty int NOT NULL DEFAULT 1, total decimal(10,2) AS (qty * 2) STORED, stamp varchar(20),
	KEY orders_qty (qty), CONSTRAINT orders_item_fk FOREIGN KEY (item_id) REFERENCES items (id)) ENGINE=InnoDB;
CREATE TRIGGER orders_stamp BEFORE INSERT ON orders FOR EACH ROW SET NEW.stamp = CONCAT('o', NEW.id);
CREATE VIEW big_orders AS SELECT id, qty FROM orders WHERE qty > 3;
CREATE TABLE scratch (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE scratch2 (id int PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO items (name, price) SELECT CONCAT('item ', seq), seq * 1.25 FROM seq_1_to_20;
INSERT INTO orders (id, item_id, qty) SELECT seq, 1 + seq % 20, seq % 7 FROM seq_1_to_30;
`

func mySoftDropEnv(t *testing.T) (*testenv.MyDB, *testenv.Airlock, *atomic.Int64, *sql.DB, *sql.DB) {
	db := testenv.NewMyDB(t)
	db.Exec(mySoftDropSchema)
	var offset atomic.Int64
	a := testenv.StartMySQL(t, db, testenv.Options{
		Now:       func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
		Databases: testenv.MyDatabases(db.Name, "    soft_drop: {retention: 72h}\n"),
		Users:     testenv.DefaultUsers + "  - {name: dana, groups: [dbas]}\n",
		Policies:  testenv.DefaultPolicies + "  - {name: dbas, groups: [dbas], databases: [app], standing: ddl}\n",
	})
	dana := testenv.OpenMy(t, a.MyDSN("dana", a.Token("dana", 0), "app", "interpolateParams=false"))
	dana.SetMaxOpenConns(1)
	root := testenv.OpenMy(t, testenv.MyDSN("root", "", testenv.MyAddr, db.Name, "multiStatements=true"))
	// The quarantine database is the server's: take this test's items out.
	t.Cleanup(func() {
		rows, err := root.Query("SELECT trash_name FROM airlock_trash.items WHERE schema_name = ?", db.Name)
		if err != nil {
			return
		}
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			root.Exec("DROP TABLE IF EXISTS airlock_trash.`" + n + "`")
		}
		root.Exec("DELETE FROM airlock_trash.items WHERE schema_name = ?", db.Name)
	})
	return db, a, &offset, dana, root
}

// myTableDump is what must come back: the definition of orders, its
// trigger and dependent view, and its rows.
func myTableDump(t *testing.T, root *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{"SHOW CREATE TABLE orders", "SHOW CREATE VIEW big_orders"} {
		rows, err := root.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			b.WriteString(vals[1].String + "\n")
		}
		rows.Close()
	}
	var trig, data string
	if err := root.QueryRow(`SELECT (SELECT GROUP_CONCAT(CONCAT(TRIGGER_NAME, ' ', ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ', ACTION_STATEMENT)) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE()),
		(SELECT GROUP_CONCAT(CONCAT_WS(',', id, item_id, qty, total, stamp) ORDER BY id SEPARATOR ';') FROM orders)`).Scan(&trig, &data); err != nil {
		t.Fatal(err)
	}
	return b.String() + trig + "\n" + data
}

// TestMySoftDropRestore: on MariaDB under soft_drop, DROP TABLE of a table
// another table's foreign key refers to fails as the server's would; a
// dropped table (its foreign key to its parent, indexes, generated column,
// trigger) comes back dump-equal, its dependent view working again; a
// restore over a reused name asks for another; TRUNCATE keeps the rows.
func TestMySoftDropRestore(t *testing.T) {
	db, a, _, dana, root := mySoftDropEnv(t)
	before := myTableDump(t, root)
	if _, err := dana.Exec("DROP TABLE items"); err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Fatalf("DROP TABLE of a referenced table: %v", err)
	}
	res, err := dana.Exec("DROP TABLE orders")
	if err != nil {
		t.Fatalf("DROP TABLE orders: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 0 {
		t.Fatalf("DROP TABLE answered %d rows", n)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders'"); n != 0 {
		t.Fatal("orders is still there")
	}
	items := trashItems(t, a)
	if len(items) != 1 || items[0].Kind != airlock.TrashDrop || items[0].Table != db.Name+".orders" || items[0].User != "dana" ||
		!strings.Contains(strings.Join(items[0].Kept, ";"), "trigger orders_stamp") {
		t.Fatalf("trash: %+v", items)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", items[0].ID); err != nil {
		t.Fatalf("trash restore: %v %s", err, out)
	}
	if after := myTableDump(t, root); after != before {
		t.Fatalf("the restored table differs:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM big_orders"); n != 12 {
		t.Fatalf("the dependent view reads %d rows, want 12", n)
	}

	// Reused name.
	if _, err := dana.Exec("DROP TABLE scratch"); err != nil {
		t.Fatal(err)
	}
	db.Exec("CREATE TABLE scratch (x int)")
	id := trashItems(t, a)[0].ID
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", id); err == nil || !strings.Contains(out, "--as") {
		t.Fatalf("restore over a reused name: %v %s", err, out)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", id, "--as", "scratch_old"); err != nil {
		t.Fatalf("restore --as: %v %s", err, out)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'scratch_old'"); n != 1 {
		t.Fatal("scratch_old is not there")
	}

	// TRUNCATE keeps the rows.
	if _, err := dana.Exec("TRUNCATE TABLE orders"); err != nil {
		t.Fatalf("TRUNCATE: %v", err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM orders"); n != 0 {
		t.Fatalf("%d rows after TRUNCATE", n)
	}
	items = trashItems(t, a)
	if len(items) != 1 || items[0].Kind != airlock.TrashTruncate {
		t.Fatalf("trash: %+v", items)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", items[0].ID); err != nil {
		t.Fatalf("restore a truncate: %v %s", err, out)
	}
	if after := myTableDump(t, root); after != before {
		t.Fatalf("the restored rows differ:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// TestMySoftDropRetention: purged after the retention by the gateway's
// clock, audited.
func TestMySoftDropRetention(t *testing.T) {
	db, a, offset, dana, _ := mySoftDropEnv(t)
	ctx := context.Background()
	if _, err := dana.Exec("DROP TABLE scratch"); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(48 * time.Hour))
	if _, err := dana.Exec("DROP TABLE scratch2"); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Gateway.PurgeExpiredTrash(ctx); err != nil || n != 0 {
		t.Fatalf("purge at 48h: %d %v", n, err)
	}
	offset.Store(int64(73 * time.Hour))
	if n, err := a.Gateway.PurgeExpiredTrash(ctx); err != nil || n != 1 {
		t.Fatalf("purge at 73h: %d %v", n, err)
	}
	items := trashItems(t, a)
	if len(items) != 1 || items[0].Table != db.Name+".scratch2" {
		t.Fatalf("left: %+v", items)
	}
	if n := db.QueryInt(fmt.Sprintf("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'airlock_trash' AND TABLE_NAME = '%s'", items[0].ID)); n != 1 {
		t.Fatal("the kept table is not in airlock_trash")
	}
	a.Audit.Sync(ctx)
	evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventSystem})
	var purged int
	for _, ev := range evs {
		if ev.Action == "trash-purged" && ev.Detail["table"] == db.Name+".scratch" {
			purged++
		}
	}
	if purged != 1 {
		t.Fatalf("%d purge events for scratch", purged)
	}
}
