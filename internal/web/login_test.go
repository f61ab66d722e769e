package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// client is an HTTP client with a cookie jar that does not follow
// redirects, so that each answer can be checked.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsoleLoginCookies: the sign-in form needs its CSRF value; a bad
// token gets 401 and no session; a good one gets an HttpOnly, SameSite=Lax
// session cookie that carries a random id, never the token, and no page
// shows the token; the API and the health check keep their paths; the
// session ends at sign-out and when the token is revoked.
func TestConsoleLoginCookies(t *testing.T) {
	a, _ := env(t, "")
	base := a.HTTPURL()
	c := client(t)
	alice, aliceID := a.TokenID("alice", 0)

	// A visitor is sent to the sign-in page, which remembers where to go.
	resp, _ := get(t, c, base+"/requests")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Frequests" {
		t.Fatalf("GET /requests without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := get(t, c, base+"/login?next=%2Frequests")
	m := csrfRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("login page: %d, csrf field found: %v", resp.StatusCode, m != nil)
	}
	loginCSRF := m[1]

	// Without the form's CSRF value, even a good token is refused.
	resp, _ = post(t, c, base+"/login", url.Values{"token": {alice}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without csrf: %d, want 403", resp.StatusCode)
	}
	// A bad token: 401 and no session cookie.
	resp, body = post(t, c, base+"/login", url.Values{"token": {"alk_" + strings.Repeat("x", 40)}, "csrf": {loginCSRF}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Fatalf("bad token: %d\n%s", resp.StatusCode, body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "airlock_session" && ck.Value != "" {
			t.Fatal("a bad token got a session cookie")
		}
	}

	// A good token.
	resp, _ = post(t, c, base+"/login", url.Values{"token": {alice}, "csrf": {loginCSRF}, "next": {"/requests"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/requests" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "airlock_session" {
			sess = ck
		}
	}
	switch {
	case sess == nil:
		t.Fatal("no session cookie")
	case !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/":
		t.Fatalf("session cookie %s: want HttpOnly, SameSite=Lax, Path=/", sess.String())
	case strings.Contains(sess.Value, alice) || strings.Contains(sess.Value, strings.TrimPrefix(alice, "alk_")[:16]):
		t.Fatal("the session cookie carries the token")
	case len(sess.Value) < 40:
		t.Fatalf("session id %q is too short to be random", sess.Value)
	case sess.Expires.IsZero() || sess.Expires.After(time.Now().Add(61*time.Minute)):
		t.Fatalf("session cookie expires %v; want with the token (1h)", sess.Expires)
	}
	// Not under plain HTTP: Secure is set only when the request came over TLS.
	if sess.Secure {
		t.Fatal("Secure cookie over plain HTTP would never be sent back")
	}
	for _, p := range []string{"/", "/requests", "/sessions", "/audit", "/grants", "/databases", "/users"} {
		resp, body := get(t, c, base+p)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", p, resp.StatusCode, body)
		}
		if strings.Contains(body, alice) {
			t.Fatalf("GET %s shows the session's token", p)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("GET %s: missing CSP or no-store", p)
		}
	}
	if resp, _ := get(t, c, base+"/no/such/page"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown page: %d", resp.StatusCode)
	}

	// The embedded assets are served to anyone, without directory listings.
	if resp, body := get(t, client(t), base+"/static/style.css"); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "table.stack") {
		t.Fatalf("style.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, client(t), base+"/static/"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/static/: %d, want 404", resp.StatusCode)
	}

	// The API and the health check are still where they were.
	if resp, body := get(t, c, base+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	if r, err := c.Do(req); err != nil || r.StatusCode != 200 {
		t.Fatalf("API whoami: %v %v", r, err)
	}
	// The console's cookie is no API credential.
	if resp, _ := get(t, c, base+"/api/v1/whoami"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with the console cookie only: %d, want 401", resp.StatusCode)
	}

	// Sign-out needs the form's CSRF token too, then ends the session.
	_, body = get(t, c, base+"/requests")
	csrf := csrfRE.FindStringSubmatch(body)[1]
	if resp, _ := post(t, c, base+"/logout", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d, want 403", resp.StatusCode)
	}
	if resp, _ := post(t, c, base+"/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// The old cookie, sent again by hand, opens nothing.
	c2 := client(t)
	u, _ := url.Parse(base)
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: "airlock_session", Value: sess.Value}})
	if resp, _ := get(t, c2, base+"/requests"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old cookie after sign-out: %d, want a redirect to sign in", resp.StatusCode)
	}

	// Revoking the token ends the console session at the next request.
	c3 := client(t)
	_, body = get(t, c3, base+"/login")
	post(t, c3, base+"/login", url.Values{"token": {alice}, "csrf": {csrfRE.FindStringSubmatch(body)[1]}})
	if resp, _ := get(t, c3, base+"/requests"); resp.StatusCode != 200 {
		t.Fatalf("signed in again: %d", resp.StatusCode)
	}
	if err := a.Access.RevokeToken(t.Context(), a.Actor(a.AdminToken), aliceID); err != nil {
		t.Fatal(err)
	}
	resp, _ = get(t, c3, base+"/requests")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("after the token was revoked: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
