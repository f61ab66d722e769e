package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"

	"github.com/chromedp/chromedp"
)

// TestConsoleRolesAndCSRF: the server checks rights on every action,
// whatever the page shows. Alice (no approver role) sees her request with
// no approve or deny button, and posting those forms by hand, with a valid
// CSRF token, gets 403; so does killing a session. An admin who is not an
// approver sees carol's request without buttons and gets 403 too. Bob, an
// approver, gets 403 for a form without the CSRF token, with a wrong one,
// or with another session's; the same form with his token works. After
// sign-out the session opens nothing.
func TestConsoleRolesAndCSRF(t *testing.T) {
	a, _ := env(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), browserLife)
	defer cancel()
	base := a.HTTPURL()
	b := browser(t)
	pending := func(id string) {
		t.Helper()
		r, err := a.Store.GetRequest(ctx, id)
		if err != nil || r.State != airlock.RequestPending || len(r.Approvals) != 0 {
			t.Fatalf("request %s should be pending and unapproved: %+v %v", id, r, err)
		}
	}

	// Alice files a request and sees no way to decide it.
	aliceTok := a.Token("alice", 0)
	alice := tab(t, b)
	login(t, alice, base, "alice", aliceTok)
	open(t, alice, base, "/requests")
	do(t, alice, chromedp.SendKeys(chromedp.CSS("#r-reason"), "hotfix"))
	if st := submit(t, alice, "#r-submit"); st != 200 {
		t.Fatalf("file a request: %d\n%s", st, pageText(alice))
	}
	loc := run(t, alice, chromedp.Location())
	own := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(own, "req_") {
		t.Fatalf("after filing: %s", loc)
	}
	if exists(t, alice, "#approve-"+own) || exists(t, alice, "#deny-"+own) || !exists(t, alice, "#no-decide") {
		t.Fatalf("alice's own request page offers a decision:\n%s", pageText(alice))
	}
	open(t, alice, base, "/requests")
	if !exists(t, alice, "#req-"+own) || exists(t, alice, "form[action$='/approve']") || exists(t, alice, "form[action$='/deny']") {
		t.Fatalf("alice's requests page offers a decision:\n%s", pageText(alice))
	}
	csrf := pageCSRF(t, alice)
	if st := postForm(t, alice, "/requests/"+own+"/approve", map[string]string{"csrf": csrf}); st != 403 {
		t.Fatalf("alice approving her own request by hand: %d, want 403", st)
	}
	carolReq, err := a.Access.CreateRequest(ctx, a.Actor(a.Token("carol", 0)), access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "carol's fix"})
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"approve", "deny"} {
		if st := postForm(t, alice, "/requests/"+carolReq.ID+"/"+action, map[string]string{"csrf": csrf, "reason": "no"}); st != 403 {
			t.Fatalf("alice (no approver role) posting %s: %d, want 403", action, st)
		}
	}
	pending(own)
	pending(carolReq.ID)
	// Killing a session is for admins, even one's own.
	conn := testenv.Connect(t, a.URL("alice", aliceTok, "app"))
	defer conn.Close(ctx)
	sid := sessionID(t, conn)
	if st := postForm(t, alice, "/sessions/"+sid+"/kill", map[string]string{"csrf": csrf}); st != 403 {
		t.Fatalf("alice killing a session: %d, want 403", st)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("alice's session after the refused kill: %v", err)
	}
	// A refusal is a page that says why, in words.
	why := run(t, alice, chromedp.Evaluate[string](`fetch("/requests/`+carolReq.ID+`/approve", {method: "POST", body: new URLSearchParams({csrf: "`+csrf+`"})}).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if !strings.Contains(why, "only approvers decide requests") || !strings.Contains(why, "Not allowed") {
		t.Fatalf("the 403 page does not say why:\n%s", why)
	}
	// Alice's tokens page has no user administration.
	if st := open(t, alice, base, "/users"); st != 200 {
		t.Fatalf("alice's tokens page: %d", st)
	}
	if exists(t, alice, "#users") || exists(t, alice, "#u-name") {
		t.Fatal("alice, not an admin, sees the user list or the add-user form")
	}

	// An admin without the approver role sees carol's request, without
	// buttons, and is refused.
	admin := tab(t, b)
	login(t, admin, base, "admin", a.AdminToken)
	open(t, admin, base, "/requests")
	if !exists(t, admin, "#req-"+carolReq.ID) || exists(t, admin, "#approve-"+carolReq.ID) || exists(t, admin, "#deny-"+carolReq.ID) {
		t.Fatalf("the admin's view of carol's request:\n%s", pageText(admin))
	}
	if st := postForm(t, admin, "/requests/"+carolReq.ID+"/approve", map[string]string{"csrf": pageCSRF(t, admin)}); st != 403 {
		t.Fatalf("an admin who is no approver approving: %d, want 403", st)
	}
	pending(carolReq.ID)

	// Bob may approve, but only with his session's CSRF token.
	bob := tab(t, b)
	login(t, bob, base, "bob", a.Token("bob", 0))
	open(t, bob, base, "/requests/"+carolReq.ID)
	if !exists(t, bob, "#approve-"+carolReq.ID) {
		t.Fatalf("bob has no approve button:\n%s", pageText(bob))
	}
	for name, fields := range map[string]map[string]string{
		"no CSRF token":        {},
		"an empty CSRF token":  {"csrf": ""},
		"a wrong CSRF token":   {"csrf": strings.Repeat("A", 43)},
		"alice's CSRF token":   {"csrf": csrf},
		"the token as a query": {"x": "1"},
	} {
		path := "/requests/" + carolReq.ID + "/approve"
		if name == "the token as a query" {
			path += "?csrf=" + pageCSRF(t, bob)
		}
		if st := postForm(t, bob, path, fields); st != 403 {
			t.Fatalf("bob's approve form with %s: %d, want 403", name, st)
		}
	}
	pending(carolReq.ID)
	// Denying needs a reason.
	if st := postForm(t, bob, "/requests/"+carolReq.ID+"/deny", map[string]string{"csrf": pageCSRF(t, bob), "reason": "  "}); st != 400 {
		t.Fatalf("deny without a reason: %d, want 400", st)
	}
	pending(carolReq.ID)
	// With the token (the page's own form), the same action works.
	if st := submit(t, bob, "#approve-"+carolReq.ID); st != 200 {
		t.Fatalf("bob approving with the form: %d\n%s", st, pageText(bob))
	}
	if r, _ := a.Store.GetRequest(ctx, carolReq.ID); r.State != airlock.RequestApproved {
		t.Fatalf("carol's request is %s after bob approved", r.State)
	}

	// Sign-out: the browser's session opens nothing any more.
	if st := submit(t, bob, "#signout"); st != 200 || !strings.Contains(run(t, bob, chromedp.Location()), "/login") {
		t.Fatalf("sign out: %d %s", st, run(t, bob, chromedp.Location()))
	}
	open(t, bob, base, "/requests")
	if loc := run(t, bob, chromedp.Location()); !strings.Contains(loc, "/login") {
		t.Fatalf("after signing out, /requests is at %s", loc)
	}
	if st := postForm(t, bob, "/requests/"+own+"/approve", map[string]string{"csrf": csrf}); st != 401 {
		t.Fatalf("a form posted after signing out: %d, want 401", st)
	}
	pending(own)
}
