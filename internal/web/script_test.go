package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleScriptRequest: alice pastes a change script into the request
// form; the request page shows its dry-run as a diff whose changed cells
// (and only those) are marked; bob approves it from the page, the script
// runs and commits, and the page shows the run with its undo.
func TestConsoleScriptRequest(t *testing.T) {
	a, db := env(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), browserLife)
	defer cancel()
	base := a.HTTPURL()
	if _, err := a.Gateway.PrepareDatabase(ctx, a.Actor(a.AdminToken), "app"); err != nil {
		t.Fatalf("prepare undo capture: %v", err)
	}
	b := browser(t)
	alice := tab(t, b)
	login(t, alice, base, "alice", a.Token("alice", 0))
	open(t, alice, base, "/requests")
	do(t, alice,
		chromedp.SetValue(chromedp.CSS("#r-sql"), "UPDATE items SET price = price * 2 WHERE id <= 2;\nDELETE FROM items WHERE id = 4;"),
		chromedp.SendKeys(chromedp.CSS("#r-reason"), "prices doubled (OPS-9)"),
	)
	if st := submit(t, alice, "#r-submit"); st != 200 {
		t.Fatalf("file a script request: %d\n%s", st, pageText(alice))
	}
	loc := run(t, alice, chromedp.Location())
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(id, "req_") || !strings.Contains(text(t, alice, "#flash"), "dry-run done") {
		t.Fatalf("after filing: %s\n%s", loc, pageText(alice))
	}
	if n := db.QueryInt("SELECT count(*) FROM items WHERE price IN (3.00, 4.50)"); n != 0 {
		t.Fatal("the dry-run changed the database")
	}
	changed := run(t, alice, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#run-dry_run td.changed")).map(td => td.innerText)`))
	if strings.Join(changed, "|") != "1.50 3.00|2.25 4.50" {
		t.Fatalf("changed cells %q\n%s", changed, pageText(alice))
	}
	if rows := run(t, alice, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#run-dry_run .rows")).map(e => e.innerText)`)); strings.Join(rows, ",") != "2,1" {
		t.Fatalf("rows changed %q", rows)
	}
	if !strings.Contains(text(t, alice, "#run-dry_run tr.deleted"), "dates") {
		t.Fatalf("the deleted row is not shown\n%s", pageText(alice))
	}

	bob := tab(t, b)
	login(t, bob, base, "bob", a.Token("bob", 0))
	open(t, bob, base, "/requests/"+id)
	if st := submit(t, bob, "#approve-"+id); st != 200 {
		t.Fatalf("approve: %d\n%s", st, pageText(bob))
	}
	if f := text(t, bob, "#flash"); !strings.Contains(f, "committed") {
		t.Fatalf("after approval: %q\n%s", f, pageText(bob))
	}
	if !exists(t, bob, "#run-committed a[href^='/undo/u_']") {
		t.Fatalf("the run and its undo are not shown\n%s", pageText(bob))
	}
	if n := db.QueryInt("SELECT count(*) FROM items WHERE price IN (3.00, 4.50)"); n != 2 || db.QueryInt("SELECT count(*) FROM items") != 3 {
		t.Fatal("the approved script did not run")
	}
}
