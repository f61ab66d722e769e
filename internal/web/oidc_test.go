package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"
	"airlock/internal/testenv/mockidp"

	"github.com/chromedp/chromedp"
)

// TestConsoleOIDCSignIn drives "Sign in with <provider>" in Chromium
// against an in-process identity provider.
func TestConsoleOIDCSignIn(t *testing.T) {
	idp := mockidp.Start(t)
	secretEnv := "AIRLOCK_TEST_OIDC_SECRET_" + testenv.RandHex(4)
	t.Setenv(secretEnv, idp.ClientSecret())
	a, _ := env(t, idp.Config(secretEnv, "    name: Mock IdP\n"))
	base := a.HTTPURL()
	b := browser(t)

	t.Run("signs in and lands where it was going", func(t *testing.T) {
		ctx := tab(t, b)
		idp.Next(mockidp.User{Subject: "s-iris", Username: "iris", Groups: []string{"eng", "sre"}})
		if st := open(t, ctx, base, "/requests"); st != http.StatusOK {
			t.Fatalf("login page: %d", st)
		}
		if got := text(t, ctx, "#oidc-signin"); got != "Sign in with Mock IdP" {
			t.Fatalf("button says %q", got)
		}
		do(t, ctx, chromedp.Click(chromedp.CSS("#oidc-signin"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#me")))
		if got := text(t, ctx, "#me"); got != "iris" {
			t.Fatalf("signed in as %q\n%s", got, pageText(ctx))
		}
		if loc := run(t, ctx, chromedp.Evaluate[string](`location.pathname`)); loc != "/requests" {
			t.Fatalf("landed on %s, want /requests", loc)
		}
		u, err := a.Store.GetUser(t.Context(), "iris")
		if err != nil || !u.HasRole("approver") || u.FromConfig {
			t.Fatalf("user iris = %+v, %v", u, err)
		}
	})

	t.Run("no groups claim is refused on the sign-in page", func(t *testing.T) {
		ctx := tab(t, b)
		idp.Next(mockidp.User{Subject: "s-jo", Username: "jo"})
		open(t, ctx, base, "/login")
		do(t, ctx, chromedp.Click(chromedp.CSS("#oidc-signin"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#problem")))
		if p := text(t, ctx, "#problem"); !strings.Contains(p, `no "groups" claim`) {
			t.Fatalf("problem = %q", p)
		}
		if exists(t, ctx, "#me") {
			t.Fatal("signed in without groups")
		}
		if _, err := a.Store.GetUser(t.Context(), "jo"); err == nil {
			t.Fatal("user jo was created")
		}
	})

	t.Run("a callback from another browser is refused", func(t *testing.T) {
		// Someone starts a sign-in in their own browser and sends the
		// callback link to a victim: the victim's browser lacks the
		// state cookie, so nobody is signed in.
		idp.Next(mockidp.User{Subject: "s-mal", Username: "mallory", Groups: []string{"eng"}})
		c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(base + "/auth/oidc/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = c.Get(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		callback := resp.Header.Get("Location")
		if !strings.HasPrefix(callback, base+"/auth/oidc/callback?") {
			t.Fatalf("provider redirected to %q", callback)
		}
		ctx := tab(t, b)
		if st := open(t, ctx, callback, ""); st != http.StatusForbidden {
			t.Fatalf("callback in another browser: status %d\n%s", st, pageText(ctx))
		}
		if p := text(t, ctx, "#problem"); !strings.Contains(p, "not started in this browser") {
			t.Fatalf("problem = %q", p)
		}
		if _, err := a.Store.GetUser(t.Context(), "mallory"); err == nil {
			t.Fatal("user mallory was created")
		}
		evs, err := a.Store.ListEvents(t.Context(), airlock.EventFilter{Type: airlock.EventUser})
		if err != nil {
			t.Fatal(err)
		}
		audited := false
		for _, ev := range evs {
			audited = audited || (ev.Action == "sign_in_failed" && strings.Contains(ev.Reason, "did not start this sign-in"))
		}
		if !audited {
			t.Fatal("the refused callback was not audited")
		}
	})
}
