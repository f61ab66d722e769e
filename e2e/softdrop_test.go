package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

const softDropSchema = `
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, price numeric(10,2) CHECK (price >= 0), note text DEFAULT 'n/a');
CREATE INDEX items_price ON items (price) WHERE price > 1;
CREATE TABLE orders (id int PRIMARY KEY, item_id int CONSTRAINT orders_item_fk REFERENCES items (id) ON DELETE CASCADE);
CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5;
CREATE VIEW cheap_names AS SELECT name FROM cheap;
CREATE TABLE scratch (id int PRIMARY KEY);
CREATE TABLE scratch2 (id int PRIMARY KEY);
INSERT INTO items (name, price) SELECT 'item ' || g, g * 1.25 FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, 1 + g % 50 FROM generate_series(1, 30) g;
COMMENT ON TABLE items IS 'the catalogue';
GRANT SELECT ON cheap, cheap_names TO airlock_test_ro;
`

// softDropEnv is a database with soft_drop, dana (standing ddl) and a
// clock the test moves.
func softDropEnv(t *testing.T) (*testenv.DB, *testenv.Airlock, *atomic.Int64, *pgx.Conn) {
	return softDropEnvB(t)
}

func softDropEnvB(t testing.TB) (*testenv.DB, *testenv.Airlock, *atomic.Int64, *pgx.Conn) {
	db := testenv.NewDB(t)
	db.Exec(softDropSchema)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	a := testenv.Start(t, db, testenv.Options{
		Now: now,
		Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    soft_drop: {retention: 72h}
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
      ddl: {user: postgres, password: x}
`, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW),
		Users:    testenv.DefaultUsers + "  - {name: dana, groups: [dbas]}\n",
		Policies: testenv.DefaultPolicies + "  - {name: dbas, groups: [dbas], databases: [app], standing: ddl}\n",
	})
	c := testenv.Connect(t, a.URL("dana", a.Token("dana", 0), "app"))
	t.Cleanup(func() { c.Close(context.Background()) })
	return db, a, &offset, c
}

// schemaDump is pg_dump of the tables and views, schema and data, with
// the items' rows in key order.
func schemaDump(t *testing.T, db *testenv.DB) string {
	t.Helper()
	out := run(t, 60*time.Second, "", nil, "pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--schema-only",
		"-t", "public.items", "-t", "public.orders", "-t", "public.cheap", "-t", "public.cheap_names", db.Name)
	if !strings.Contains(out, "CREATE TABLE public.items") {
		t.Fatalf("pg_dump: %s", out)
	}
	// pg_dump's \restrict key is random for each dump.
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, `\restrict `) && !strings.HasPrefix(l, `\unrestrict `) {
			keep = append(keep, l)
		}
	}
	out = strings.Join(keep, "\n")
	c := testenv.Connect(t, testenv.AdminURL(db.Name))
	defer c.Close(context.Background())
	var rows, seq string
	if err := c.QueryRow(context.Background(), `SELECT (SELECT string_agg(i::text, E'\n' ORDER BY id) FROM items i) || E'\n' ||
		(SELECT string_agg(o::text, E'\n' ORDER BY id) FROM orders o), (SELECT last_value::text FROM items_id_seq)`).Scan(&rows, &seq); err != nil {
		t.Fatal(err)
	}
	return out + rows + "\nseq " + seq
}

func simple(t *testing.T, c *pgx.Conn, sql string) (string, error) {
	t.Helper()
	tag, err := c.Exec(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
	return tag.String(), err
}

func trashItems(t *testing.T, a *testenv.Airlock) []airlock.TrashItem {
	t.Helper()
	out, err := runCLI(t, a, a.AdminToken, "--json", "trash", "list")
	return decodeTrash(t, out, err)
}

func trashItemsB(t testing.TB, a *testenv.Airlock) []airlock.TrashItem {
	t.Helper()
	items, err := a.Gateway.TrashList(context.Background(), a.Actor(a.AdminToken), "")
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func decodeTrash(t *testing.T, out string, err error) []airlock.TrashItem {
	t.Helper()
	if err != nil {
		t.Fatalf("trash list: %v %s", err, out)
	}
	var items []airlock.TrashItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("trash list --json: %v\n%s", err, out)
	}
	return items
}

// TestSoftDropRestore: under soft_drop, DROP TABLE fails as PostgreSQL's
// would while views and foreign keys depend on the table, and with
// CASCADE answers "DROP TABLE" while the table, its sequence, indexes,
// constraints, grants and dependent views wait in the trash; restore gives
// back a dump-equal schema and data. A restore over a reused name is
// refused and done under another name; a rolled back DROP keeps nothing.
func TestSoftDropRestore(t *testing.T) {
	db, a, _, c := softDropEnv(t)
	before := schemaDump(t, db)

	if _, err := simple(t, c, "DROP TABLE items"); pgCode(err) != "2BP01" {
		t.Fatalf("DROP TABLE with dependents: %v, want 2BP01", err)
	}
	if _, err := c.PgConn().ExecParams(context.Background(), "DROP TABLE items CASCADE", nil, nil, nil, nil).Close(); pgCode(err) != "42501" || !strings.Contains(err.Error(), "soft-drop") {
		t.Fatalf("DROP TABLE in the extended protocol: %v, want the soft-drop denial", err)
	}
	tag, err := simple(t, c, "DROP TABLE items CASCADE")
	if err != nil || tag != "DROP TABLE" {
		t.Fatalf("DROP TABLE items CASCADE: %q %v", tag, err)
	}
	if n := db.QueryInt("SELECT count(*) FROM pg_class WHERE relname IN ('items', 'cheap', 'cheap_names') AND relnamespace = 'public'::regnamespace"); n != 0 {
		t.Fatalf("%d of the dropped relations are still in public", n)
	}
	if n := db.QueryInt("SELECT count(*) FROM pg_constraint WHERE conname = 'orders_item_fk'"); n != 0 {
		t.Fatal("the foreign key to the dropped table is still there")
	}
	items := trashItems(t, a)
	if len(items) != 1 || items[0].Kind != airlock.TrashDrop || items[0].Table != "public.items" || items[0].User != "dana" ||
		!strings.Contains(strings.Join(items[0].Kept, ";"), "view public.cheap_names") || !strings.Contains(strings.Join(items[0].Kept, ";"), "foreign key orders_item_fk") ||
		items[0].ExpiresAt.Sub(items[0].CreatedAt) != 72*time.Hour {
		t.Fatalf("trash: %+v", items)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", items[0].ID); err != nil || !strings.Contains(out, "restored: public.items") {
		t.Fatalf("trash restore: %v %s", err, out)
	}
	if after := schemaDump(t, db); after != before {
		t.Fatalf("the restored table differs:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if len(trashItems(t, a)) != 0 {
		t.Fatal("a restored item stays in the trash")
	}

	// A restore over a name used again asks for another name.
	if tag, err := simple(t, c, "DROP TABLE items CASCADE"); err != nil || tag != "DROP TABLE" {
		t.Fatalf("second drop: %q %v", tag, err)
	}
	db.Exec("CREATE TABLE items (x int)")
	id := trashItems(t, a)[0].ID
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", id); err == nil || !strings.Contains(out, "--as") {
		t.Fatalf("restore over a reused name: %v %s", err, out)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", id, "--as", "items_old"); err != nil || !strings.Contains(out, "public.items_old") {
		t.Fatalf("restore --as: %v %s", err, out)
	}
	if n := db.QueryInt("SELECT count(*) FROM items_old"); n != 50 {
		t.Fatalf("items_old has %d rows", n)
	}
	if n := db.QueryInt("SELECT count(*) FROM cheap_names"); n != 3 {
		t.Fatalf("the restored view reads %d rows, want 3", n)
	}

	// A DROP rolled back by the client keeps nothing in the trash.
	for _, q := range []string{"BEGIN", "DROP TABLE scratch", "ROLLBACK"} {
		if _, err := simple(t, c, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if db.QueryInt("SELECT count(*) FROM pg_class WHERE relname = 'scratch'") != 1 || len(trashItems(t, a)) != 0 {
		t.Fatal("a rolled back DROP left the table moved or an item in the trash")
	}
	// The DROP is audited with its trash item.
	a.Audit.Sync(context.Background())
	evs, _ := a.Store.ListEvents(context.Background(), airlock.EventFilter{User: "dana", Type: airlock.EventStatement})
	var trashed int
	for _, ev := range evs {
		if strings.HasPrefix(ev.Detail["trash"], "tr_") {
			trashed++
		}
	}
	if trashed == 0 {
		t.Fatal("no statement event names its trash item")
	}
	// The trash changes only through airlock trash restore and purge.
	if _, err := simple(t, c, "DELETE FROM airlock_trash.items"); pgCode(err) != "42501" {
		t.Fatalf("a session's write to the trash: %v, want a denial", err)
	}
	// A change script cannot go around the trash.
	f := filepath.Join(t.TempDir(), "drop.sql")
	os.WriteFile(f, []byte("DROP TABLE scratch"), 0o600)
	if out, err := runCLI(t, a, a.Token("alice", 0), "requests", "create", "app", "--sql-file", f, "--reason", "cleanup"); err == nil || !strings.Contains(out, "a change script cannot keep it") {
		t.Fatalf("a script with DROP TABLE on a soft_drop database: %v %s", err, out)
	}
}

// TestSoftTruncateRestore: TRUNCATE answers "TRUNCATE TABLE" and empties
// the table; restore puts every row back.
func TestSoftTruncateRestore(t *testing.T) {
	db, a, _, c := softDropEnv(t)
	db.Exec("ALTER TABLE orders DROP CONSTRAINT orders_item_fk")
	before := schemaDump(t, db)
	if _, err := simple(t, c, "TRUNCATE items CASCADE"); pgCode(err) != "42501" {
		t.Fatalf("TRUNCATE CASCADE: %v, want a denial", err)
	}
	tag, err := simple(t, c, "TRUNCATE items")
	if err != nil || tag != "TRUNCATE TABLE" {
		t.Fatalf("TRUNCATE: %q %v", tag, err)
	}
	if n := db.QueryInt("SELECT count(*) FROM items"); n != 0 {
		t.Fatalf("%d rows left after TRUNCATE", n)
	}
	items := trashItems(t, a)
	if len(items) != 1 || items[0].Kind != airlock.TrashTruncate || items[0].Table != "public.items" {
		t.Fatalf("trash: %+v", items)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "restore", items[0].ID); err != nil {
		t.Fatalf("trash restore: %v %s", err, out)
	}
	if after := schemaDump(t, db); after != before {
		t.Fatalf("the restored rows differ:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// TestSoftDropRetention: items are purged once their retention has passed
// (by the gateway's clock), not before, and each purge is audited.
func TestSoftDropRetention(t *testing.T) {
	db, a, offset, c := softDropEnv(t)
	ctx := context.Background()
	if _, err := simple(t, c, "DROP TABLE scratch"); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(48 * time.Hour))
	if _, err := simple(t, c, "DROP TABLE scratch2"); err != nil {
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
	if len(items) != 1 || items[0].Table != "public.scratch2" {
		t.Fatalf("left in the trash: %+v", items)
	}
	if n := db.QueryInt("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'airlock_trash' AND c.relkind = 'r' AND c.relname <> 'items'"); n != 1 {
		t.Fatalf("%d tables in the trash schema, want 1", n)
	}
	a.Audit.Sync(ctx)
	evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventSystem})
	var purged []string
	for _, ev := range evs {
		if ev.Action == "trash-purged" {
			purged = append(purged, ev.Detail["table"]+" "+ev.Detail["why"])
		}
	}
	if len(purged) != 1 || !strings.HasPrefix(purged[0], "public.scratch retention") {
		t.Fatalf("purge events: %q", purged)
	}
	if out, err := runCLI(t, a, a.AdminToken, "trash", "purge", items[0].ID); err != nil || !strings.Contains(out, "purged") {
		t.Fatalf("trash purge: %v %s", err, out)
	}
	if len(trashItems(t, a)) != 0 {
		t.Fatal("the trash is not empty")
	}
}
