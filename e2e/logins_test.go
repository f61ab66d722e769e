package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// loginFailures returns the login_failed events.
func loginFailures(t *testing.T, a *testenv.Airlock) []*airlock.Event {
	t.Helper()
	a.Audit.Sync(context.Background())
	evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventSession, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []*airlock.Event
	for _, e := range evs {
		if e.Action == access.ActionLoginFailed {
			out = append(out, e)
		}
	}
	return out
}

// TestLoginFailures: wrong tokens on the PostgreSQL and MySQL listeners,
// the API and the web sign-in are each audited as login_failed with the
// user tried, the client address, the entry point and a reason; repeats
// from one address and user are folded (one event now, the count when the
// window ends); the pair that keeps failing earns a delay that no other
// user shares; the failures are counted.
func TestLoginFailures(t *testing.T) {
	my := testenv.NewMyDB(t)
	a := testenv.Start(t, testenv.NewDB(t), testenv.Options{})
	m := testenv.StartMySQL(t, my, testenv.Options{})
	bad := "alk_" + testenv.RandHex(24)
	ctx := context.Background()

	for range 5 {
		_, err := pgx.Connect(ctx, a.URL("alice", bad, "app"))
		if pgCode(err) != "28P01" {
			t.Fatalf("wrong token: %v, want 28P01", err)
		}
	}
	_, err := pgx.Connect(ctx, a.URL("nobody", bad, "app"))
	if pgCode(err) != "28P01" {
		t.Fatalf("unknown user: %v, want 28P01", err)
	}
	// The API and the web sign-in.
	req, _ := http.NewRequest("GET", a.HTTPURL()+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+bad)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("API with a wrong token: %v %v", err, resp)
	}
	resp.Body.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err = hc.Get(a.HTTPURL() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF value on the sign-in page:\n%s", page)
	}
	resp, err = hc.PostForm(a.HTTPURL()+"/login", url.Values{"csrf": {string(csrf[1])}, "token": {bad}})
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("web sign-in with a wrong token: %v %v", err, resp)
	}
	resp.Body.Close()

	got := map[string]string{}
	for _, e := range loginFailures(t, a) {
		got[e.Detail["via"]+" "+e.User] = fmt.Sprintf("%s %s count=%s", e.ClientAddr, e.Reason, e.Detail["count"])
	}
	want := map[string]string{
		"postgres alice":  "127.0.0.1 no live token of the user matches count=1",
		"postgres nobody": "127.0.0.1 unknown user count=1",
		"api ":            "127.0.0.1 invalid, expired or revoked token count=1",
		"web ":            "127.0.0.1 invalid, expired or revoked token count=1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("login_failed events (the repeats folded until the window ends):\n got %v\nwant %v", got, want)
	}
	l := a.Access.Logins()
	if d := l.Delay("127.0.0.1", "alice", "postgres"); d <= 0 {
		t.Errorf("alice from 127.0.0.1 after 5 failures: next delay %s, want more than 0", d)
	}
	if d := l.Delay("127.0.0.1", "bob", "postgres"); d != 0 {
		t.Errorf("bob, who never failed, would wait %s", d)
	}
	// Another user gets in despite alice's failures.
	c := testenv.Connect(t, a.URL("carol", a.Token("carol", 0), "app"))
	c.Close(ctx)
	if f := l.Failures(); f["postgres"] != 6 || f["api"] != 1 || f["web"] != 1 {
		t.Errorf("failure counts %v", f)
	}

	// MySQL.
	d := testenv.OpenMy(t, m.MyDSN("alice", bad, "app", ""))
	err = d.Ping()
	if code, _ := testenv.MyErr(err); code != 1045 {
		t.Fatalf("MySQL wrong token: %v, want 1045", err)
	}
	var mev *airlock.Event
	for _, e := range loginFailures(t, m) {
		if e.Detail["via"] == "mysql" && e.User == "alice" {
			mev = e
		}
	}
	if mev == nil || mev.ClientAddr != "127.0.0.1" {
		t.Fatalf("no login_failed event of the MySQL login: %+v", mev)
	}
}
