package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"airlock/internal/testenv"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
)

// TestConsoleTrashRestore: a table dropped under soft_drop is listed in
// the console's trash; restoring it over a name used again is refused
// with a message asking for another name, and a restore under a new name
// from the same page brings it back with its rows; a purge empties the
// trash.
func TestConsoleTrashRestore(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'apple'), (2, 'bread');
		CREATE TABLE scratch (id int)`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info",
		Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    soft_drop: {retention: 72h}
    credentials:
      read: {user: %s, password: x}
      ddl: {user: postgres, password: x}
`, testenv.PGAddr, db.Name, testenv.RoleRO),
		Users:    testenv.DefaultUsers + "  - {name: dana, groups: [dbas]}\n",
		Policies: "policies:\n  - {name: dbas, groups: [dbas], databases: [app], standing: ddl}\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), browserLife)
	defer cancel()
	c := testenv.Connect(t, a.URL("dana", a.Token("dana", 0), "app"))
	defer c.Close(ctx)
	for _, q := range []string{"DROP TABLE items", "DROP TABLE scratch"} {
		if tag, err := c.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil || tag.String() != "DROP TABLE" {
			t.Fatalf("%s: %v %v", q, tag, err)
		}
	}
	db.Exec("CREATE TABLE items (x int)")
	items, err := a.Gateway.TrashList(ctx, a.Actor(a.AdminToken), "")
	if err != nil || len(items) != 2 {
		t.Fatalf("trash: %v %v", items, err)
	}
	var itemsID, scratchID string
	for _, it := range items {
		if it.Table == "public.items" {
			itemsID = it.ID
		} else {
			scratchID = it.ID
		}
	}

	b := browser(t)
	admin := tab(t, b)
	base := a.HTTPURL()
	login(t, admin, base, "admin", a.AdminToken)
	open(t, admin, base, "/trash")
	if !strings.Contains(text(t, admin, "#trash-"+itemsID), "public.items") {
		t.Fatalf("the trash page does not list the table\n%s", pageText(admin))
	}
	submit(t, admin, "#restore-"+itemsID)
	if page := pageText(admin); !strings.Contains(page, "another name") {
		t.Fatalf("a restore over a reused name was not refused with a way out:\n%s", page)
	}
	open(t, admin, base, "/trash")
	do(t, admin, chromedp.SendKeys(chromedp.CSS("#as-"+itemsID), "items_kept"))
	if st := submit(t, admin, "#restore-"+itemsID); st != 200 || !strings.Contains(text(t, admin, "#flash"), "public.items_kept is back") {
		t.Fatalf("restore under a new name: %d\n%s", st, pageText(admin))
	}
	if n := db.QueryInt("SELECT count(*) FROM items_kept"); n != 2 {
		t.Fatalf("items_kept has %d rows", n)
	}
	if st := submit(t, admin, "#purge-"+scratchID); st != 200 || !strings.Contains(text(t, admin, "#flash"), "gone for good") {
		t.Fatalf("purge: %d\n%s", st, pageText(admin))
	}
	if !exists(t, admin, "#trash-empty") {
		t.Fatalf("the trash is not empty\n%s", pageText(admin))
	}
}
