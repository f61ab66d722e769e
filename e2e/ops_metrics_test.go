package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestMetricsMoveWithTraffic drives psql, pgx and a MySQL client through
// one airlock and reads /metrics after each step: sessions by engine and
// level, statements by kind and decision, denials by rule, the latency
// histograms, the audit pipeline, upstream connect errors, grants and
// requests all follow what happened.
func TestMetricsMoveWithTraffic(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b')`)
	my := testenv.NewMyDB(t)
	my.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text) ENGINE=InnoDB`)
	my.Exec(`INSERT INTO items VALUES (1, 'a')`)
	dbs, pols := bothEngines(db, my)
	// A third database nobody can reach: logins to it fail upstream.
	dbs += `  - name: broken
    engine: postgres
    address: "127.0.0.1:1"
    database: nothing
    tls: disable
    credentials: {read: {user: nobody, password: x}}
`
	pols += `  - {name: broken, groups: [eng], databases: [broken], standing: read}
`
	a := testenv.Start(t, db, testenv.Options{
		Listen:    `{postgres: "127.0.0.1:0", mysql: "127.0.0.1:0", http: "127.0.0.1:0"}`,
		Databases: dbs, Policies: pols, LogLevel: "info",
	})
	url := a.HTTPURL() + "/metrics"
	m0 := scrape(t, url)
	for _, name := range []string{"airlock_audit_queue_depth", "airlock_audit_queue_capacity", "airlock_grants_active", "airlock_requests_pending"} {
		if _, ok := m0[name]; !ok {
			t.Errorf("%s missing from /metrics", name)
		}
	}
	if m0["airlock_audit_available"] != 1 {
		t.Errorf("airlock_audit_available = %v, want 1", m0["airlock_audit_available"])
	}

	tok := a.Token("alice", time.Hour)
	ctx := context.Background()

	// PostgreSQL: pgx reads and is denied a write; psql reads.
	pg := testenv.Connect(t, a.URL("alice", tok, "app"))
	var n int
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 2 {
		t.Fatalf("select: %d %v", n, err)
	}
	if _, err := pg.Exec(ctx, "DELETE FROM items WHERE id = 1"); pgCode(err) != "42501" {
		t.Fatalf("delete in a read session: %v, want 42501", err)
	}
	out := run(t, 30*time.Second, "", []string{"PGPASSWORD=" + tok}, "psql", "-X", "-At", "-h", a.Host(), "-p", a.Port(), "-U", "alice", "-d", "app", "-c", "SELECT name FROM items ORDER BY id")
	if !strings.Contains(out, "a\nb") {
		t.Fatalf("psql: %s", out)
	}

	// MySQL: a read and a denied write, with the session kept open.
	myc := testenv.OpenMy(t, a.MyDSN("alice", tok, "myapp", ""))
	myc.SetMaxOpenConns(1)
	if err := myc.QueryRow("SELECT count(*) FROM items").Scan(&n); err != nil || n != 1 {
		t.Fatalf("mysql select: %d %v", n, err)
	}
	if _, err := myc.Exec("UPDATE items SET name = 'z' WHERE id = 1"); err == nil {
		t.Fatal("mysql update in a read session was allowed")
	}

	// An unreachable upstream.
	if c, err := pgx.Connect(ctx, a.URL("alice", tok, "broken")); err == nil {
		c.Close(ctx)
		t.Fatal("login to an unreachable database succeeded")
	}

	// One pending request (carol) and one approved into an active grant (alice).
	alice, carol, bob := a.Actor(tok), a.Actor(a.Token("carol", time.Hour)), a.Actor(a.Token("bob", time.Hour))
	if _, err := a.Access.CreateRequest(ctx, carol, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix"}); err != nil {
		t.Fatal(err)
	}
	r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "myapp", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}
	// The grant lifts alice's live MySQL session to write: this UPDATE runs.
	if _, err := myc.Exec("UPDATE items SET name = 'z' WHERE id = 1"); err != nil {
		t.Fatalf("mysql update with a grant: %v", err)
	}
	a.Gateway.LoginFailed("postgres", "bad_credentials")
	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	m := scrape(t, url)
	delta := func(series string) float64 { return m[series] - m0[series] }
	for _, c := range []struct {
		series string
		want   float64 // at least
	}{
		{`airlock_statements_total{decision="allowed",kind="select"}`, 3}, // pgx, psql, mysql
		{`airlock_statements_total{decision="denied",kind="delete"}`, 1},
		{`airlock_statements_total{decision="denied",kind="update"}`, 1},
		{`airlock_statements_total{decision="allowed",kind="update"}`, 1},
		{`airlock_denials_total{rule="level"}`, 2},
		{`airlock_sessions_opened_total{engine="postgres",level="read"}`, 2},
		{`airlock_sessions_opened_total{engine="mysql",level="read"}`, 1},
		{`airlock_decision_seconds_count{engine="postgres"}`, 3},
		{`airlock_decision_seconds_count{engine="mysql"}`, 3},
		{`airlock_added_latency_seconds_count{engine="mysql"}`, 3},
		{`airlock_audit_commit_seconds_count`, 1},
		{`airlock_audit_events_total`, 10},
		{`airlock_upstream_connect_errors_total{database="broken",engine="postgres"}`, 1},
		{`airlock_login_failures_total{protocol="postgres",reason="bad_credentials"}`, 1},
	} {
		if got := delta(c.series); got < c.want {
			t.Errorf("%s moved by %v, want at least %v", c.series, got, c.want)
		}
	}
	// Gauges: the pgx and MySQL sessions are live (MySQL now at write).
	for series, want := range map[string]float64{
		`airlock_sessions{engine="postgres",level="read"}`: 1,
		`airlock_sessions{engine="mysql",level="write"}`:   1,
		`airlock_grants_active`:                            1,
		`airlock_requests_pending`:                         1,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	// Nothing else was denied: a denial by another rule would show here.
	for series, v := range m {
		if strings.HasPrefix(series, "airlock_denials_total{") && series != `airlock_denials_total{rule="level"}` && v > 0 {
			t.Errorf("unexpected denials: %s = %v", series, v)
		}
	}

	// Closing the sessions takes them off the gauge.
	pg.Close(ctx)
	myc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m = scrape(t, url)
		if m[`airlock_sessions{engine="postgres",level="read"}`] == 0 && m[`airlock_sessions{engine="mysql",level="write"}`] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions still live after closing: %v %v", m[`airlock_sessions{engine="postgres",level="read"}`], m[`airlock_sessions{engine="mysql",level="write"}`])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsBearerToken: with metrics.bearer_token_file, /metrics wants
// that secret as a bearer token; /healthz and /readyz stay open; with
// metrics.disable there is no /metrics.
func TestMetricsBearerToken(t *testing.T) {
	db := testenv.NewDB(t)
	file := filepath.Join(t.TempDir(), "metrics-token")
	secret := "scrape-" + testenv.RandHex(16)
	os.WriteFile(file, []byte(secret+"\n"), 0o600)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info", Extra: fmt.Sprintf("metrics: {bearer_token_file: %q}\n", file)})
	get := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", a.HTTPURL()+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/metrics", "", 401},
		{"/metrics", "wrong-" + testenv.RandHex(16), 401},
		{"/metrics", a.AdminToken, 401}, // an airlock token is not the scrape secret
		{"/metrics", secret, 200},
		{"/healthz", "", 200},
		{"/readyz", "", 200},
	} {
		if got := get(c.path, c.token); got != c.want {
			t.Errorf("GET %s with %q: %d, want %d", c.path, c.token, got, c.want)
		}
	}
	b := testenv.Start(t, db, testenv.Options{LogLevel: "info", Extra: "metrics: {disable: true}\n"})
	resp, err := http.Get(b.HTTPURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "# HELP airlock_") {
		t.Errorf("/metrics with metrics.disable serves metrics: %d", resp.StatusCode)
	}
}
