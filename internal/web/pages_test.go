package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"

	"github.com/chromedp/chromedp"
)

// TestConsolePages visits every page as an admin and uses what each one
// is for: an alert stands out on Activity; a session's statements show in
// order and its undo, refused over a conflicting change and then applied
// with force from the console, restores the row; the
// audit pages older events with before_id; a grant is revoked; the
// databases page checks each credential of the real database; a user is
// added, a token issued (shown once, and it works) and revoked. With
// AIRLOCK_SCREENSHOTS=1 it writes the screenshots under docs/screenshots.
func TestConsolePages(t *testing.T) {
	a, db := env(t, `alerts:
  - {name: too-many-denials, type: denials, count: 2, window: 1m}
`)
	ctx, cancel := context.WithTimeout(context.Background(), browserLife)
	defer cancel()
	base := a.HTTPURL()
	adminActor := a.Actor(a.AdminToken)
	if _, err := a.Gateway.PrepareDatabase(ctx, adminActor, "app"); err != nil {
		t.Fatalf("prepare undo capture: %v", err)
	}

	// Some history: wanda (standing write) reads a lot and changes a row,
	// carol holds a grant, two requests of alice wait, and alice is denied
	// three times (an alert).
	aliceTok := a.Token("alice", 0)
	wanda := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	defer wanda.Close(ctx)
	wsid := sessionID(t, wanda)
	for i := range 55 {
		if _, err := wanda.Exec(ctx, fmt.Sprintf("SELECT %d AS n, count(*) FROM items", i)); err != nil {
			t.Fatal(err)
		}
	}
	if tag, err := wanda.Exec(ctx, "UPDATE items SET price = 3.50 WHERE id = 2"); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("wanda's update: %v %v", tag, err)
	}
	carol := a.Actor(a.Token("carol", 0))
	bobActor := a.Actor(a.Token("bob", 0))
	cr, err := a.Access.CreateRequest(ctx, carol, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: 2 * time.Hour, Reason: "backfill prices (OPS-7)", Tables: []string{"items"}})
	if err != nil {
		t.Fatal(err)
	}
	if cr, err = a.Access.ApproveRequest(ctx, bobActor, cr.ID); err != nil {
		t.Fatal(err)
	}
	for _, in := range []access.RequestInput{
		{Database: "app", Level: airlock.LevelWrite, Duration: 30 * time.Minute, Reason: "fix the price of order 4711 (INC-1234)", Tables: []string{"public.items"}},
		{Database: "app", Level: airlock.LevelDDL, Duration: time.Hour, Reason: "add an index for the slow report"},
	} {
		if _, err := a.Access.CreateRequest(ctx, a.Actor(aliceTok), in); err != nil {
			t.Fatal(err)
		}
	}

	alice := testenv.Connect(t, a.URL("alice", aliceTok, "app"))
	defer alice.Close(ctx)
	alice.Exec(ctx, "SELECT name, price FROM items ORDER BY id")
	for _, q := range []string{"DELETE FROM items WHERE id = 3", "UPDATE items SET price = 0", "DROP TABLE items"} {
		if _, err := alice.Exec(ctx, q); pgCode(err) != "42501" {
			t.Fatalf("%s as alice: %v, want a denial", q, err)
		}
	}

	b := browser(t)
	admin := tab(t, b)
	if st := open(t, admin, base, "/login"); st != 200 {
		t.Fatalf("login page: %d", st)
	}
	shot(t, admin, "login")
	login(t, admin, base, "admin", a.AdminToken)

	// Activity: the alert stands out, with words.
	do(t, admin, chromedp.WaitVisible(chromedp.CSS(`#live[data-state="on"]`)))
	alert := run(t, admin, chromedp.Evaluate[[]string](`(() => {
		const r = document.querySelector("#events tr.v-alert");
		return r ? [r.cells[3].innerText, r.cells[4].innerText] : [];
	})()`))
	if len(alert) != 2 || !strings.Contains(alert[0], "too-many-denials") || !strings.Contains(alert[1], "Alert") {
		t.Fatalf("no alert row marked as such on Activity: %q\n%s", alert, pageText(admin))
	}
	if n := run(t, admin, chromedp.Evaluate[int](`document.querySelectorAll("#events tr.v-denied").length`)); n != 3 {
		t.Fatalf("%d denied rows on Activity, want 3", n)
	}
	// A new event arrives live while the page is open.
	alice.Exec(ctx, "SELECT 'while you watch' AS live")
	run(t, admin, chromedp.Poll[bool](`document.querySelector("#events").textContent.includes("while you watch")`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
	shot(t, admin, "activity")

	// Sessions and a session's statements, in order.
	open(t, admin, base, "/sessions")
	if !exists(t, admin, "#sess-"+wsid) || !exists(t, admin, "#kill-"+wsid) {
		t.Fatalf("wanda's session is not listed with a kill button:\n%s", pageText(admin))
	}
	open(t, admin, base, "/sessions/"+wsid)
	order := run(t, admin, chromedp.Evaluate[[]int64](`[...document.querySelectorAll("#statements tbody tr")].map(r => Number(r.cells[0].innerText))`))
	if len(order) < 58 {
		t.Fatalf("wanda's session shows %d events, want her 57 statements and the opening", len(order))
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("statements out of order: %v", order)
		}
	}
	stmts := text(t, admin, "#statements")
	if !strings.Contains(stmts, "UPDATE items SET price = 3.50 WHERE id = 2") || strings.Index(stmts, "SELECT 54 AS n") > strings.Index(stmts, "UPDATE items") {
		t.Fatal("wanda's UPDATE is missing or out of order")
	}

	// Undo the session from the console.
	if st := submit(t, admin, "#undo-session"); st != 200 {
		t.Fatalf("undo page: %d\n%s", st, pageText(admin))
	}
	if sql := text(t, admin, "#undo-sql"); !strings.Contains(sql, "UPDATE") || !strings.Contains(sql, "2.25") {
		t.Fatalf("the undo SQL does not restore the price: %s", sql)
	}
	shot(t, admin, "undo")
	undoPage := run(t, admin, chromedp.Location())
	// Someone changed the row since: nothing is applied without force.
	db.Exec("UPDATE items SET name = 'bread (renamed)' WHERE id = 2")
	if st := submit(t, admin, "#apply"); st != 409 || !exists(t, admin, "#undo-refused") || !strings.Contains(text(t, admin, "#conflicts"), "public.items") {
		t.Fatalf("apply undo over a conflict: %d\n%s", st, pageText(admin))
	}
	if n := db.QueryInt("SELECT (price * 100)::int FROM items WHERE id = 2"); n != 350 {
		t.Fatalf("a refused undo changed item 2: %d cents", n)
	}
	do(t, admin, chromedp.Navigate(undoPage), chromedp.Click(chromedp.CSS("#force"), chromedp.NodeVisible))
	if st := submit(t, admin, "#apply"); st != 200 || !exists(t, admin, "#undo-applied") {
		t.Fatalf("apply undo with force: %d\n%s", st, pageText(admin))
	}
	if n := db.QueryInt("SELECT count(*) FROM items WHERE id = 2 AND name = 'bread' AND price = 2.25"); n != 1 {
		t.Fatal("after the forced undo, item 2 is not as before wanda's update")
	}

	// The audit pages back with before_id.
	open(t, admin, base, "/audit?user=wanda&kind=statement")
	first := run(t, admin, chromedp.Evaluate[[]int64](`[...document.querySelectorAll("#results tbody tr")].map(r => Number(r.cells[0].innerText))`))
	if len(first) != 50 || !exists(t, admin, "#older") {
		t.Fatalf("first audit page: %d rows, older link %v", len(first), exists(t, admin, "#older"))
	}
	older := run(t, admin, chromedp.Evaluate[string](`document.querySelector("#older").getAttribute("href")`))
	if !strings.Contains(older, "before_id="+strconv.FormatInt(first[len(first)-1], 10)) || !strings.Contains(older, "user=wanda") {
		t.Fatalf("older link %q", older)
	}
	if st := submit(t, admin, "#older"); st != 200 {
		t.Fatalf("older page: %d", st)
	}
	second := run(t, admin, chromedp.Evaluate[[]int64](`[...document.querySelectorAll("#results tbody tr")].map(r => Number(r.cells[0].innerText))`))
	if len(second) == 0 || second[0] >= first[len(first)-1] || !exists(t, admin, "#newest") {
		t.Fatalf("second audit page: %v after %v", second, first[len(first)-1])
	}
	if got := len(first) + len(second); got != 58 { // sessionID's, 55 SELECTs, the UPDATE started and executed
		t.Fatalf("the two pages hold %d statements of wanda, want 58", got)
	}

	// Other filters: decision, rule, statement text, since.
	open(t, admin, base, "/audit?decision=denied&since=1h")
	if got := run(t, admin, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#results tbody tr")].map(r => r.cells[6].innerText.split("\n")[0])`)); len(got) != 3 {
		t.Fatalf("denied events: %q, want alice's 3", got)
	} else if !strings.Contains(got[0], "Denied") {
		t.Fatalf("a denied event reads %q", got[0])
	}
	open(t, admin, base, "/audit?rule=unbounded-write&contains=price")
	if n := run(t, admin, chromedp.Evaluate[int](`document.querySelectorAll("#results tbody tr").length`)); n != 1 || !strings.Contains(text(t, admin, "#results"), "UPDATE items SET price = 0") {
		t.Fatalf("rule and contains: %d rows\n%s", n, pageText(admin))
	}
	if v := run(t, admin, chromedp.Value(chromedp.CSS("#f-rule"))); v != "unbounded-write" {
		t.Fatalf("the search form forgot the rule: %q", v)
	}

	// Grants: revoke carol's.
	open(t, admin, base, "/grants")
	if !exists(t, admin, "#revoke-"+cr.GrantID) {
		t.Fatalf("carol's grant has no revoke button:\n%s", pageText(admin))
	}
	shot(t, admin, "grants")
	if st := submit(t, admin, "#revoke-"+cr.GrantID); st != 200 {
		t.Fatalf("revoke grant: %d", st)
	}
	if g, err := a.Store.GetGrant(ctx, cr.GrantID); err != nil || g.RevokedAt == nil || g.RevokedBy != "admin" {
		t.Fatalf("carol's grant after revoke: %+v %v", g, err)
	}
	if exists(t, admin, "#revoke-"+cr.GrantID) {
		t.Fatal("the revoked grant still has a revoke button")
	}

	// Databases: each credential checked against the real database. The
	// test's ddl credential is the superuser, which the check reports.
	open(t, admin, base, "/databases")
	if r := text(t, admin, "#reach-app"); !strings.Contains(r, "Yes") {
		t.Fatalf("app reachable: %q", r)
	}
	for level, want := range map[string]string{"read": "Valid", "write": "Valid", "ddl": "Warning"} {
		got := text(t, admin, `#checks-app tr[data-level="`+level+`"]`)
		if !strings.Contains(got, want) {
			t.Fatalf("the %s credential shows %q, want %q", level, got, want)
		}
	}
	shot(t, admin, "databases")

	// Users and tokens: add dave, issue him a token (shown once), revoke it.
	open(t, admin, base, "/users")
	do(t, admin,
		chromedp.Click(chromedp.CSS("#users-h ~ details summary")),
		chromedp.SendKeys(chromedp.CSS("#u-name"), "dave", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#u-groups"), "eng, oncall"),
		chromedp.Click(chromedp.CSS("#u-approver")),
	)
	if st := submit(t, admin, "#u-submit"); st != 200 || !strings.Contains(text(t, admin, "#flash"), "Added user dave") {
		t.Fatalf("add user: %d\n%s", st, pageText(admin))
	}
	if u, err := a.Store.GetUser(ctx, "dave"); err != nil || !u.HasRole(airlock.RoleApprover) || !u.InGroup("oncall") {
		t.Fatalf("dave: %+v %v", u, err)
	}
	do(t, admin,
		chromedp.Click(chromedp.CSS("#tokens-h ~ details summary")),
		chromedp.SetValue(chromedp.CSS("#t-user"), "dave", chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS("#t-ttl"), "30m"),
		chromedp.SendKeys(chromedp.CSS("#t-note"), "laptop"),
	)
	if st := submit(t, admin, "#t-submit"); st != 200 {
		t.Fatalf("issue token: %d\n%s", st, pageText(admin))
	}
	secret := text(t, admin, "#new-token")
	dave, err := a.Access.Authenticate(ctx, secret)
	if err != nil || dave.User.Name != "dave" || dave.Token.Note != "laptop" {
		t.Fatalf("the issued token %q: %v", secret, err)
	}
	if exp := dave.Token.ExpiresAt; exp == nil || time.Until(*exp) > 31*time.Minute {
		t.Fatalf("dave's token expires %v, want in 30m", exp)
	}
	shot(t, admin, "users")
	open(t, admin, base, "/users")
	if strings.Contains(pageText(admin), secret) {
		t.Fatal("the token is shown again")
	}
	if st := submit(t, admin, "#revoke-"+dave.Token.ID); st != 200 {
		t.Fatalf("revoke token: %d", st)
	}
	if _, err := a.Access.Authenticate(ctx, secret); airlock.ErrorCode(err) != airlock.EUNAUTHORIZED {
		t.Fatalf("dave's token after revoke: %v", err)
	}

	// The pages on a phone; bob's view of the pending requests.
	bob := tab(t, b)
	login(t, bob, base, "bob", a.Token("bob", 0))
	open(t, bob, base, "/requests")
	if n := run(t, bob, chromedp.Evaluate[int](`document.querySelectorAll("form[action$='/approve'] button").length`)); n != 2 {
		t.Fatalf("bob sees %d approve buttons, want 2", n)
	}
	if screenshots() {
		phone(t, bob)
		open(t, bob, base, "/requests")
		shot(t, bob, "requests-phone")
		phone(t, admin)
		open(t, admin, base, "/")
		shot(t, admin, "activity-phone")
	}
	// Nothing overflows sideways on a phone.
	phone(t, admin)
	for _, p := range []string{"/", "/requests", "/sessions", "/audit", "/grants", "/databases", "/users", "/sessions/" + wsid} {
		open(t, admin, base, p)
		if w := run(t, admin, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); w > 0 {
			t.Errorf("%s is %dpx wider than a phone's screen", p, w)
		}
	}
	desktop(t, admin)
}
