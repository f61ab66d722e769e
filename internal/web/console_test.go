package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
)

// psql runs a script through airlock with psql, as a person would.
func psql(t *testing.T, a *testenv.Airlock, user, token, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-h", a.Host(), "-p", a.Port(), "-U", user, "-d", "app", "-v", "ON_ERROR_STOP=0", "-f", "-")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+token, "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=10", "LC_ALL=C.UTF-8")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if ctx.Err() != nil || (err != nil && !errors.As(err, &ee)) {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	return string(out)
}

// sessionID is the airlock session id of a connection.
func sessionID(t *testing.T, c *pgx.Conn) string {
	t.Helper()
	var sid string
	if err := c.QueryRow(context.Background(), "SELECT split_part(current_setting('application_name'), ':', 3)").Scan(&sid); err != nil {
		t.Fatal(err)
	}
	return sid
}

// TestConsoleApproveWatchInvestigate walks the console's main jobs with a
// real browser against a real database: a statement made through psql
// shows on Activity within 2 s (a denial marked as such); alice files a
// request in the console and bob approves it, and alice's open connection
// can DELETE at once; bob denies another with a reason; an admin kills
// alice's session and her client gets 57P01; the audit search by user
// finds her statements only, and its export has the same events.
func TestConsoleApproveWatchInvestigate(t *testing.T) {
	a, db := env(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), browserLife)
	defer cancel()
	base := a.HTTPURL()
	b := browser(t)

	admin := tab(t, b)
	login(t, admin, base, "admin", a.AdminToken)
	do(t, admin, chromedp.WaitVisible(chromedp.CSS(`#live[data-state="on"]`)))

	// 1. Live activity.
	aliceTok := a.Token("alice", 0)
	marker := "web_marker_" + testenv.RandHex(4)
	out := psql(t, a, "alice", aliceTok, fmt.Sprintf("SELECT '%s' AS marker;\nDELETE FROM items WHERE id = 4;\n", marker))
	if !strings.Contains(out, marker) || !strings.Contains(out, "airlock: denied: level") {
		t.Fatalf("psql:\n%s", out)
	}
	sent := time.Now()
	c, cancel := context.WithTimeout(admin, 2*time.Second)
	_, err := chromedp.Run(c, chromedp.Poll[bool](fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll("#events tr")];
		return rows.some(r => r.textContent.includes(%q)) && rows.some(r => r.textContent.includes("DELETE FROM items WHERE id = 4"));
	})()`, marker), chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(2*time.Second)))
	cancel()
	if err != nil {
		t.Fatalf("the statements did not appear on Activity within 2 s (%v): %v\n%s", time.Since(sent), err, pageText(admin))
	}
	t.Logf("statements appeared on Activity %v after psql returned", time.Since(sent).Round(time.Millisecond))
	// The denial stands out, with words as well as colour.
	denied := run(t, admin, chromedp.Evaluate[[]string](`(() => {
		const r = [...document.querySelectorAll("#events tr")].find(r => r.textContent.includes("DELETE FROM items WHERE id = 4"));
		return r ? [r.className, r.cells[4].innerText, r.cells[3].innerText] : [];
	})()`))
	if len(denied) != 3 || !strings.Contains(denied[0], "v-denied") || !strings.Contains(denied[1], "Denied") || !strings.Contains(denied[2], "level:") {
		t.Fatalf("the denied DELETE is not marked as denied: %q", denied)
	}
	allowed := run(t, admin, chromedp.Evaluate[string](fmt.Sprintf(`[...document.querySelectorAll("#events tr")].find(r => r.textContent.includes(%q)).cells[4].innerText`, marker)))
	if !strings.Contains(allowed, "Allowed") {
		t.Fatalf("the SELECT's decision reads %q", allowed)
	}

	// 2. Approve: alice's open connection gains write.
	conn := testenv.Connect(t, a.URL("alice", aliceTok, "app"))
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DELETE FROM items WHERE id = 1"); pgCode(err) != "42501" {
		t.Fatalf("DELETE before the grant: %v, want 42501", err)
	}
	alice := tab(t, b)
	login(t, alice, base, "alice", aliceTok)
	open(t, alice, base, "/requests")
	do(t, alice,
		chromedp.SetValue(chromedp.CSS("#r-level"), "write"),
		chromedp.SetValue(chromedp.CSS("#r-duration"), "30m"),
		chromedp.SendKeys(chromedp.CSS("#r-reason"), "fix order 1 (INC-42)"),
	)
	if st := submit(t, alice, "#r-submit"); st != 200 {
		t.Fatalf("file a request: %d\n%s", st, pageText(alice))
	}
	loc := run(t, alice, chromedp.Location())
	r1 := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(r1, "req_") || !strings.Contains(text(t, alice, "#flash"), "filed") {
		t.Fatalf("after filing: %s\n%s", loc, pageText(alice))
	}
	r2, err := a.Access.CreateRequest(ctx, a.Actor(aliceTok), access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "bulk cleanup"})
	if err != nil {
		t.Fatal(err)
	}

	bob := tab(t, b)
	login(t, bob, base, "bob", a.Token("bob", 0))
	open(t, bob, base, "/requests")
	for _, sel := range []string{"#approve-" + r1, "#deny-" + r1, "#approve-" + r2.ID, "#deny-" + r2.ID} {
		if !exists(t, bob, sel) {
			t.Fatalf("bob, an approver, has no %s button\n%s", sel, pageText(bob))
		}
	}
	card := text(t, bob, "#req-"+r1)
	for _, want := range []string{"alice", "write", "30m", "fix order 1 (INC-42)", "every table"} {
		if !strings.Contains(card, want) {
			t.Fatalf("the pending request does not show %q:\n%s", want, card)
		}
	}
	shot(t, bob, "requests")
	if st := submit(t, bob, "#approve-"+r1); st != 200 {
		t.Fatalf("approve: %d\n%s", st, pageText(bob))
	}
	if f := text(t, bob, "#flash"); !strings.Contains(f, "Approved request "+r1) {
		t.Fatalf("after approving: %q", f)
	}
	if tag, err := conn.Exec(ctx, "DELETE FROM items WHERE id = 1"); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("DELETE in alice's open session after bob approved: %v %v", tag, err)
	}
	if n := db.QueryInt("SELECT count(*) FROM items WHERE id = 1"); n != 0 {
		t.Fatal("item 1 was not deleted")
	}

	// 3. Deny, with a reason.
	do(t, bob, chromedp.SendKeys(chromedp.CSS("#deny-reason-"+r2.ID), "not during the freeze"))
	if st := submit(t, bob, "#deny-"+r2.ID); st != 200 {
		t.Fatalf("deny: %d\n%s", st, pageText(bob))
	}
	got, err := a.Store.GetRequest(ctx, r2.ID)
	if err != nil || got.State != airlock.RequestDenied || got.DecisionReason != "not during the freeze" || got.DecidedBy != "bob" {
		t.Fatalf("after deny: %+v %v", got, err)
	}
	// The page a Slack notification links to shows the outcome.
	if st := open(t, bob, base, "/requests/"+r1); st != 200 {
		t.Fatalf("request page: %d", st)
	}
	if s := text(t, bob, ".headline"); !strings.Contains(s, "approved") {
		t.Fatalf("request page headline: %q", s)
	}
	shot(t, bob, "request")

	// 4. Kill alice's session: her client gets an error.
	sid := sessionID(t, conn)
	if st := open(t, admin, base, "/sessions"); st != 200 {
		t.Fatalf("sessions: %d", st)
	}
	if lvl := text(t, admin, "#sess-"+sid+" td[data-label='Level now']"); lvl != "write" {
		t.Fatalf("alice's session shows level %q, want write", lvl)
	}
	shot(t, admin, "sessions")
	if st := submit(t, admin, "#kill-"+sid); st != 200 {
		t.Fatalf("kill: %d\n%s", st, pageText(admin))
	}
	_, err = conn.Exec(ctx, "SELECT 1")
	if pgCode(err) != "57P01" || !strings.Contains(err.Error(), "killed by admin") {
		t.Fatalf("alice's client after the kill: %v, want 57P01 killed by admin", err)
	}
	var ended string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		open(t, admin, base, "/sessions/"+sid)
		if ended = text(t, admin, "#ended"); strings.Contains(ended, "killed by admin") {
			break
		}
	}
	if !strings.Contains(ended, "killed by admin") {
		t.Fatalf("the session page says %q", ended)
	}
	shot(t, admin, "session")

	// 5. Search the audit by user.
	open(t, admin, base, "/audit")
	do(t, admin, chromedp.SendKeys(chromedp.CSS("#f-user"), "alice"))
	if st := submit(t, admin, "#search"); st != 200 {
		t.Fatalf("search: %d", st)
	}
	users := run(t, admin, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#results tbody tr")].map(r => r.dataset.user)`))
	if len(users) < 5 {
		t.Fatalf("the search by user found %d events\n%s", len(users), pageText(admin))
	}
	for _, u := range users {
		if u != "alice" {
			t.Fatalf("the search by user alice shows an event of %q", u)
		}
	}
	results := text(t, admin, "#results")
	for _, want := range []string{"DELETE FROM items WHERE id = 1", marker, "session killed by admin", "request approved"} {
		if !strings.Contains(results, want) {
			t.Fatalf("the audit search for alice lacks %q", want)
		}
	}
	shot(t, admin, "audit")
	// The export link downloads the same search as JSON lines.
	href := run(t, admin, chromedp.Evaluate[string](`document.querySelector("#export").getAttribute("href")`))
	if !strings.Contains(href, "user=alice") {
		t.Fatalf("export link %q", href)
	}
	body := run(t, admin, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%q).then(async r => r.status + " " + r.headers.get("content-type") + "\n" + await r.text())`, href), chromedp.EvalAwaitPromise))
	head, rest, _ := strings.Cut(body, "\n")
	if !strings.HasPrefix(head, "200 application/x-ndjson") {
		t.Fatalf("export: %s", head)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(rest))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev airlock.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if ev.User != "alice" {
			t.Fatalf("export has an event of %q", ev.User)
		}
		n++
	}
	a.Audit.Sync(ctx)
	all, _ := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice"})
	if n != len(all) || n < len(users) {
		t.Fatalf("export has %d events; alice has %d, the page showed %d", n, len(all), len(users))
	}
}
