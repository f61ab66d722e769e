package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
	"airlock/internal/cli"
	"airlock/internal/oidc"
	"airlock/internal/testenv"
	"airlock/internal/testenv/mockidp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/oauth2"
)

// clock is the server's time, movable by tests.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

type env struct {
	a   *testenv.Airlock
	idp *mockidp.IdP
	db  *testenv.DB
	clk *clock
}

// start runs an identity provider and an airlock signing in through it.
// Policies: eng reads app, writers write it (see testenv.DefaultPolicies).
func start(t *testing.T) *env {
	t.Helper()
	idp := mockidp.Start(t)
	secretEnv := "AIRLOCK_TEST_OIDC_SECRET_" + testenv.RandHex(4)
	t.Setenv(secretEnv, idp.ClientSecret())
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)`)
	clk := &clock{}
	a := testenv.Start(t, db, testenv.Options{Extra: idp.Config(secretEnv, "    name: Mock IdP\n"), LogLevel: "info", Now: clk.now})
	return &env{a: a, idp: idp, db: db, clk: clk}
}

// noRedirect is a browser that stops at the first redirect.
var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postJSON(t *testing.T, u string, body, out any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

// authorize runs the CLI's half of a browser sign-in by hand: it starts
// the sign-in, lets the provider authorize it and returns state, code and
// the PKCE verifier.
func (e *env) authorize(t *testing.T) (state, code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	var sr oidc.StartResponse
	st, body := postJSON(t, e.a.HTTPURL()+oidc.APIPrefix+"/start", oidc.StartRequest{RedirectURI: "http://127.0.0.1:9/callback", CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier)}, &sr)
	if st != http.StatusOK {
		t.Fatalf("start: %d %s", st, body)
	}
	resp, err := noRedirect.Get(sr.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "127.0.0.1:9" {
		t.Fatalf("authorize: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != sr.State {
		t.Fatalf("state came back as %q, want %q", loc.Query().Get("state"), sr.State)
	}
	return sr.State, loc.Query().Get("code"), verifier
}

// exchange finishes a sign-in and returns the status, body and token.
func (e *env) exchange(t *testing.T, state, code, verifier string) (int, string, *oidc.TokenResponse) {
	t.Helper()
	var tr oidc.TokenResponse
	st, body := postJSON(t, e.a.HTTPURL()+oidc.APIPrefix+"/token", oidc.TokenRequest{State: state, Code: code, CodeVerifier: verifier}, &tr)
	return st, body, &tr
}

// signIn signs u in through the API and returns the minted token.
func (e *env) signIn(t *testing.T, u mockidp.User) *oidc.TokenResponse {
	t.Helper()
	e.idp.Next(u)
	state, code, verifier := e.authorize(t)
	st, body, tr := e.exchange(t, state, code, verifier)
	if st != http.StatusOK {
		t.Fatalf("sign in %s: %d %s", u.Username, st, body)
	}
	return tr
}

// failures returns the reasons of the sign_in_failed events so far.
func (e *env) failures(t *testing.T) []string {
	t.Helper()
	evs, err := e.a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventUser})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Action == "sign_in_failed" {
			out = append(out, ev.Reason)
		}
	}
	slices.Reverse(out) // oldest first
	return out
}

func (e *env) userExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := e.a.Store.GetUser(context.Background(), name)
	if err != nil && airlock.ErrorCode(err) != airlock.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

func TestSignInAPI(t *testing.T) {
	e := start(t)
	tr := e.signIn(t, mockidp.User{Subject: "s-dora", Username: "dora", Groups: []string{"eng", "sre"}})
	if tr.User != "dora" || !slices.Equal(tr.Groups, []string{"eng", "sre"}) || !slices.Equal(tr.Roles, []string{"approver"}) {
		t.Fatalf("signed in as %+v", tr)
	}
	if tr.ExpiresAt == nil || tr.ExpiresAt.Sub(e.clk.now()) > 2*time.Hour || tr.ExpiresAt.Sub(e.clk.now()) < 110*time.Minute {
		t.Fatalf("token expires at %v, want token_ttl 2h from now", tr.ExpiresAt)
	}
	// An ordinary token: the API and the database accept it.
	act := e.a.Actor(tr.Token)
	if act.User.Name != "dora" || act.User.FromConfig {
		t.Fatalf("actor = %+v", act.User)
	}
	conn, err := pgx.Connect(context.Background(), e.a.URL("dora", tr.Token, "app"))
	if err != nil {
		t.Fatalf("database login with the minted token: %v", err)
	}
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())

	// Email names the user when the username claim is absent.
	tr = e.signIn(t, mockidp.User{Subject: "s-ed", Email: "ed@example.com", Groups: []string{"eng"}})
	if tr.User != "ed@example.com" {
		t.Fatalf("user from email = %q", tr.User)
	}

	evs, err := e.a.Store.ListEvents(context.Background(), airlock.EventFilter{User: "dora"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Type+"."+ev.Action)
	}
	for _, want := range []string{"user.created", "token.issued", "user.signed_in"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit of dora's sign-in lacks %s: %v", want, actions)
		}
	}
}

// TestSignInRefused: each bad input is a clear error, audited, and leaves
// no user behind.
func TestSignInRefused(t *testing.T) {
	e := start(t)

	// The provider is down before airlock ever reached it (discovery).
	e.idp.SetDown(true)
	st, body := postJSON(t, e.a.HTTPURL()+oidc.APIPrefix+"/start", oidc.StartRequest{RedirectURI: "http://127.0.0.1:9/callback", CodeChallenge: strings.Repeat("a", 43)}, nil)
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "identity provider cannot be reached") {
		t.Fatalf("provider down at start: %d %s", st, body)
	}
	e.idp.SetDown(false)

	cases := []struct {
		name   string
		user   mockidp.User
		tamper func(map[string]any)
		// between runs after the provider's redirect and before the exchange.
		between    func()
		status     int
		msg, audit string
	}{
		{name: "wrong issuer", tamper: func(c map[string]any) { c["iss"] = "https://evil.example.com" },
			status: 401, msg: "issued by another issuer", audit: "another issuer"},
		{name: "wrong audience", tamper: func(c map[string]any) { c["aud"] = []string{"someone-else"} },
			status: 401, msg: "for another client", audit: "another client"},
		{name: "expired id token", tamper: func(c map[string]any) {
			c["iat"], c["nbf"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}, status: 401, msg: "has expired", audit: "has expired"},
		{name: "foreign nonce", tamper: func(c map[string]any) { c["nonce"] = "not-this-sign-in" },
			status: 401, msg: "nonce mismatch", audit: "nonce does not match"},
		{name: "no groups claim", user: mockidp.User{Subject: "s-nog", Username: "nogroups"},
			status: 401, msg: `no \"groups\" claim`, audit: `no "groups" claim`},
		{name: "config user", user: mockidp.User{Subject: "s-alice", Username: "alice", Groups: []string{"platform"}},
			status: 409, msg: "managed by the airlock config file", audit: "managed by the airlock config file"},
		{name: "expired state", between: func() { e.clk.advance(11 * time.Minute) },
			status: 401, msg: "has expired (it lives 10 minutes)", audit: "expired state"},
		{name: "provider down at exchange", between: func() { e.idp.SetDown(true) },
			status: 503, msg: "identity provider cannot be reached", audit: "code exchange"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer e.idp.SetDown(false)
			defer e.clk.off.Store(0)
			u := tc.user
			if u.Username == "" {
				u = mockidp.User{Subject: fmt.Sprintf("s-%d", i), Username: fmt.Sprintf("victim%d", i), Groups: []string{"eng", "platform"}}
			}
			e.idp.Next(u)
			e.idp.Tamper(tc.tamper)
			before := len(e.failures(t))
			existed := e.userExists(t, u.Username)
			state, code, verifier := e.authorize(t)
			if tc.between != nil {
				tc.between()
			}
			st, body, _ := e.exchange(t, state, code, verifier)
			if st != tc.status || !strings.Contains(body, tc.msg) {
				t.Fatalf("got %d %s\nwant %d with %q", st, body, tc.status, tc.msg)
			}
			f := e.failures(t)
			if len(f) != before+1 || !strings.Contains(f[len(f)-1], tc.audit) {
				t.Fatalf("audited failures %q, want one more with %q", f[before:], tc.audit)
			}
			if !existed && e.userExists(t, u.Username) {
				t.Fatalf("user %s was created by a refused sign-in", u.Username)
			}
		})
	}

	t.Run("replayed state", func(t *testing.T) {
		e.idp.Next(mockidp.User{Subject: "s-rep", Username: "replay", Groups: []string{"eng"}})
		state, code, verifier := e.authorize(t)
		if st, body, _ := e.exchange(t, state, code, verifier); st != 200 {
			t.Fatalf("first use: %d %s", st, body)
		}
		before := len(e.failures(t))
		st, body, _ := e.exchange(t, state, code, verifier)
		if st != 401 || !strings.Contains(body, "already used") {
			t.Fatalf("replay: %d %s", st, body)
		}
		if f := e.failures(t); len(f) != before+1 || !strings.Contains(f[len(f)-1], "already used state") {
			t.Fatalf("replay not audited: %q", f[before:])
		}
	})

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		e.idp.Next(mockidp.User{Subject: "s-pk", Username: "pkce", Groups: []string{"eng"}})
		state, code, _ := e.authorize(t)
		st, body, _ := e.exchange(t, state, code, oauth2.GenerateVerifier())
		if st != 401 || !strings.Contains(body, "refused the sign-in") || e.userExists(t, "pkce") {
			t.Fatalf("wrong verifier: %d %s", st, body)
		}
	})

	t.Run("redirect not loopback", func(t *testing.T) {
		st, body := postJSON(t, e.a.HTTPURL()+oidc.APIPrefix+"/start", oidc.StartRequest{RedirectURI: "https://attacker.example/cb", CodeChallenge: strings.Repeat("a", 43)}, nil)
		if st != 400 || !strings.Contains(body, "loopback") {
			t.Fatalf("got %d %s", st, body)
		}
	})
}

// TestGroupRemovedLowersLiveSession: a sign-in that drops a group lowers
// the user's open session at once, as a grant ending does.
func TestGroupRemovedLowersLiveSession(t *testing.T) {
	e := start(t)
	tr := e.signIn(t, mockidp.User{Subject: "s-erin", Username: "erin", Groups: []string{"writers"}})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.a.URL("erin", tr.Token, "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO items VALUES (1, 'one')"); err != nil {
		t.Fatalf("write at standing write: %v", err)
	}
	// erin leaves the writers group at the provider and signs in again
	// (from another terminal); the open session must follow.
	e.signIn(t, mockidp.User{Subject: "s-erin", Username: "erin", Groups: []string{"eng"}})
	_, err = conn.Exec(ctx, "INSERT INTO items VALUES (2, 'two')")
	var pe *pgconn.PgError
	if err == nil || !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("write after the group was removed: %v, want 42501", err)
	}
	if n := e.db.QueryInt("SELECT count(*) FROM items"); n != 1 {
		t.Fatalf("items = %d, want 1", n)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 1 {
		t.Fatalf("read after the downgrade: %d %v", n, err)
	}
	evs, err := e.a.Store.ListEvents(ctx, airlock.EventFilter{User: "erin", Type: airlock.EventSession})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || (ev.Action == "level" && ev.Detail["from"] == "write" && ev.Detail["to"] == "read")
	}
	if !found {
		t.Fatal("no session level event write -> read")
	}
}

// syncBuf is a buffer written by the CLI and read by the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI runs the airlock CLI in the background with a fresh config
// directory and returns its stderr and exit code channel.
func runCLI(t *testing.T, dir string, args ...string) (*syncBuf, <-chan int) {
	t.Helper()
	var out syncBuf
	errb := &syncBuf{}
	envs := map[string]string{"XDG_CONFIG_HOME": dir, "AIRLOCK_NO_BROWSER": "1"}
	app := &cli.App{Stdout: &out, Stderr: errb, Getenv: func(k string) string { return envs[k] }}
	done := make(chan int, 1)
	go func() { done <- cli.Execute(app, args) }()
	return errb, done
}

// waitFor waits until re matches the CLI's stderr and returns the match.
func waitFor(t *testing.T, errb *syncBuf, done <-chan int, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			return m
		}
		select {
		case code := <-done:
			t.Fatalf("airlock login ended with %d before printing %s:\n%s", code, re, errb)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("airlock login never printed %s:\n%s", re, errb)
	return nil
}

func exitCode(t *testing.T, errb *syncBuf, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("airlock login did not finish:\n%s", errb)
	}
	return -1
}

// savedToken reads what airlock login saved.
func savedToken(t *testing.T, dir string) (server, token string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "airlock", "login.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Server, Token string }
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s.Server, s.Token
}

func TestCLIBrowserLogin(t *testing.T) {
	e := start(t)
	e.idp.Next(mockidp.User{Subject: "s-fay", Username: "fay", Groups: []string{"eng", "platform"}})
	dir := t.TempDir()
	errb, done := runCLI(t, dir, "login", "--server", e.a.HTTPURL())
	m := waitFor(t, errb, done, regexp.MustCompile(`Sign in with Mock IdP: .*\n\n  (http://\S+)\n`))
	// The browser: the provider signs fay in at once and redirects to
	// the CLI's loopback port, whose page says how it went.
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Signed in to airlock as fay") {
		t.Fatalf("callback page: %d %s", resp.StatusCode, page)
	}
	if code := exitCode(t, errb, done); code != 0 {
		t.Fatalf("exit %d:\n%s", code, errb)
	}
	server, token := savedToken(t, dir)
	if server != e.a.HTTPURL() || !strings.HasPrefix(token, "alk_") {
		t.Fatalf("saved %q %q", server, token)
	}
	if act := e.a.Actor(token); act.User.Name != "fay" || !act.User.HasRole(airlock.RoleAdmin) {
		t.Fatalf("saved token is %+v", act.User)
	}
	if strings.Contains(errb.String(), token) {
		t.Fatal("the token was printed")
	}
}

func TestCLIDeviceLogin(t *testing.T) {
	e := start(t)
	dir := t.TempDir()
	errb, done := runCLI(t, dir, "login", "--device", "--server", e.a.HTTPURL())
	m := waitFor(t, errb, done, regexp.MustCompile(`open\n\n  (http://\S+)\n\nand enter the code (\S+)`))
	// Nothing is saved while the person has not approved.
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "airlock", "login.json")); err == nil {
		t.Fatal("saved a login before approval")
	}
	e.idp.Next(mockidp.User{Subject: "s-gus", Username: "gus", Groups: []string{"eng"}})
	resp, err := http.Get(m[1] + "?user_code=" + url.QueryEscape(m[2]))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("approve: %v %v", err, resp)
	}
	resp.Body.Close()
	if code := exitCode(t, errb, done); code != 0 {
		t.Fatalf("exit %d:\n%s", code, errb)
	}
	_, token := savedToken(t, dir)
	if act := e.a.Actor(token); act.User.Name != "gus" || !slices.Equal(act.User.Groups, []string{"eng"}) {
		t.Fatalf("saved token is %+v", act.User)
	}

	t.Run("refused at the provider", func(t *testing.T) {
		errb, done := runCLI(t, t.TempDir(), "login", "--device", "--server", e.a.HTTPURL())
		m := waitFor(t, errb, done, regexp.MustCompile(`open\n\n  (http://\S+)\n\nand enter the code (\S+)`))
		resp, err := http.Get(m[1] + "?deny=1&user_code=" + url.QueryEscape(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code := exitCode(t, errb, done); code == 0 || !strings.Contains(errb.String(), "refused at the identity provider") {
			t.Fatalf("exit %d:\n%s", code, errb)
		}
	})

	t.Run("wrong audience", func(t *testing.T) {
		errb, done := runCLI(t, t.TempDir(), "login", "--device", "--server", e.a.HTTPURL())
		m := waitFor(t, errb, done, regexp.MustCompile(`open\n\n  (http://\S+)\n\nand enter the code (\S+)`))
		e.idp.Tamper(func(c map[string]any) { c["aud"] = "someone-else" })
		e.idp.Next(mockidp.User{Subject: "s-hal", Username: "hal", Groups: []string{"eng"}})
		resp, err := http.Get(m[1] + "?user_code=" + url.QueryEscape(m[2]))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code := exitCode(t, errb, done); code == 0 || !strings.Contains(errb.String(), "for another client") {
			t.Fatalf("exit %d:\n%s", code, errb)
		}
		if e.userExists(t, "hal") {
			t.Fatal("hal was created")
		}
	})
}
