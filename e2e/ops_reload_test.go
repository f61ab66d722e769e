package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// editConfig rewrites the config file at path with each old→new
// replacement, failing the test when one does not apply.
func editConfig(t *testing.T, path string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("config has no %q:\n%s", pairs[i], s)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReloadRedecidesLiveSessions: Reload applies a new config to live
// sessions without dropping them. A bad file, or one that changes what
// only a restart can change, is refused with file:line and the old
// configuration stays; a good one lowers wanda's standing level (her
// write session keeps running, but at read), adds a guardrail that
// applies at once, and gives a new user access.
func TestReloadRedecidesLiveSessions(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b')`)
	db.Exec(`CREATE TABLE secrets (id int)`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	path := filepath.Join(a.Dir, "airlock.yaml")
	ctx := context.Background()

	wanda := testenv.Connect(t, a.URL("wanda", a.Token("wanda", time.Hour), "app"))
	alice := testenv.Connect(t, a.URL("alice", a.Token("alice", time.Hour), "app"))
	if _, err := wanda.Exec(ctx, "INSERT INTO items VALUES (3, 'c')"); err != nil {
		t.Fatalf("insert at standing write: %v", err)
	}
	if _, err := alice.Exec(ctx, "SELECT * FROM secrets"); err != nil {
		t.Fatalf("select before the guardrail: %v", err)
	}

	// An invalid file: refused, naming the file and line; nothing changes.
	orig, _ := os.ReadFile(path)
	editConfig(t, path, "standing: write}", "standing: write, colour: blue}")
	err := a.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "airlock.yaml:") || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("reload of an invalid file: %v", err)
	}
	if !strings.Contains(a.Logs(), "config reload refused") {
		t.Error("the refused reload is not logged")
	}
	// A change only a restart can make: refused too.
	os.WriteFile(path, orig, 0o600)
	editConfig(t, path, `http: "127.0.0.1:0"`, `http: "127.0.0.1:1"`)
	if err := a.Reload(ctx); err == nil || !strings.Contains(err.Error(), "listen cannot change") {
		t.Fatalf("reload changing listen: %v", err)
	}
	if _, err := wanda.Exec(ctx, "INSERT INTO items VALUES (4, 'd')"); err != nil {
		t.Fatalf("insert after refused reloads: %v", err)
	}

	// A good file: writers lose standing write, a guardrail appears, and
	// dave (a new user in eng) may read.
	os.WriteFile(path, orig, 0o600)
	editConfig(t, path,
		"{name: writers, groups: [writers], databases: [app], standing: write}", "{name: writers, groups: [writers], databases: [app], standing: read}",
		"  - {name: wanda, groups: [writers]}\n", "  - {name: wanda, groups: [writers]}\n  - {name: dave, groups: [eng]}\n")
	os.WriteFile(path, append(mustRead(t, path), []byte(`guardrails:
  - {name: no-secrets, databases: [app], when: '"public.secrets" in stmt.tables', action: deny, message: "secrets are off limits"}
`)...), 0o600)
	if err := a.Reload(ctx); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := a.Gateway.Sessions(); len(got) != 2 {
		t.Fatalf("%d live sessions after reload, want 2", len(got))
	}
	if _, err := wanda.Exec(ctx, "INSERT INTO items VALUES (5, 'e')"); pgCode(err) != "42501" || !strings.Contains(err.Error(), "has read") {
		t.Fatalf("insert after losing standing write: %v, want a level denial", err)
	}
	var n int
	if err := wanda.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 4 {
		t.Fatalf("wanda's session after reload: %d %v", n, err)
	}
	if _, err := alice.Exec(ctx, "SELECT * FROM secrets"); pgCode(err) != "42501" || !strings.Contains(err.Error(), "secrets are off limits") {
		t.Fatalf("new guardrail on a live session: %v", err)
	}
	dave := testenv.Connect(t, a.URL("dave", a.Token("dave", time.Hour), "app"))
	if err := dave.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		t.Fatalf("new user after reload: %v", err)
	}
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventSystem})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, ev := range evs {
		actions[ev.Action]++
	}
	if actions["config_reloaded"] != 1 || actions["config_refused"] != 2 {
		t.Errorf("audited reloads: %v", actions)
	}
}

// TestReloadRemovesAccess: a reload that takes a database away from a
// user's group ends that user's live session with the reason, as a
// revocation does, and leaves the others running; one that moves the
// database ends the sessions connected to the old address.
func TestReloadRemovesAccess(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	path := filepath.Join(a.Dir, "airlock.yaml")
	ctx := context.Background()
	alice := testenv.Connect(t, a.URL("alice", a.Token("alice", time.Hour), "app"))
	wanda := testenv.Connect(t, a.URL("wanda", a.Token("wanda", time.Hour), "app"))
	editConfig(t, path, "{name: eng, groups: [eng], databases: [app], standing: read,", "{name: eng, groups: [eng], databases: [app], standing: none,")
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Exec(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "no longer gives access") {
		t.Fatalf("alice after losing access: %v", err)
	}
	if _, err := wanda.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("wanda after the reload: %v", err)
	}
	// The database moves (the same server by another name): the live
	// session, connected to the old address, ends; a new one works.
	editConfig(t, path, `address: "127.0.0.1:5432"`, `address: "localhost:5432"`)
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := wanda.Exec(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "address changed") {
		t.Fatalf("wanda after the database moved: %v", err)
	}
	again := testenv.Connect(t, a.URL("wanda", a.Token("wanda", time.Hour), "app"))
	if _, err := again.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("a new session after the move: %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSIGHUPReloadsServe sends a real SIGHUP to a real `airlock serve`:
// wanda's open session loses standing write at once, stays connected, and
// `airlock config check` agrees with what serve accepted and refused.
func TestSIGHUPReloadsServe(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY)`)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "airlock.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
%s%s
databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
`, testenv.DefaultUsers, testenv.DefaultPolicies, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW)), 0o600)
	admin := "alk_" + testenv.RandHex(24)
	cmd := exec.Command(airlockBin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
	logs := make(chan string, 10000) // never full at the rate serve logs here
	addrs, _ := runServe(t, cmd, func(line string) {
		select {
		case logs <- line:
		default:
		}
	}, "PostgreSQL clients", "HTTP")
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	pgAddr, httpAddr := addrs["PostgreSQL clients"], addrs["HTTP"]
	waitLog := func(what string) string {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case l := <-logs:
				if strings.Contains(l, what) {
					return l
				}
			case <-timeout:
				t.Fatalf("no %q in the log", what)
			}
		}
	}
	tok := strings.TrimSpace(run(t, 30*time.Second, "", []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin}, airlockBin, "tokens", "issue", "--user", "wanda"))
	ctx := context.Background()
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://wanda:%s@%s/app?sslmode=disable", tok, pgAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "INSERT INTO items VALUES (1)"); err != nil {
		t.Fatalf("insert before reload: %v", err)
	}

	// A bad edit: config check exits 1 naming file:line; SIGHUP refuses it.
	orig := mustRead(t, cfgPath)
	editConfig(t, cfgPath, "standing: write}", "standing: sometimes}")
	out := run(t, 30*time.Second, "", nil, "sh", "-c", airlockBin+" config check --config "+cfgPath+"; echo exit=$?")
	if !regexp.MustCompile(`airlock\.yaml:\d+: policies\[1\]\.standing`).MatchString(out) || !strings.Contains(out, "exit=1") {
		t.Fatalf("config check of a bad file:\n%s", out)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog("config reload refused")
	if _, err := c.Exec(ctx, "INSERT INTO items VALUES (2)"); err != nil {
		t.Fatalf("insert after a refused reload: %v", err)
	}

	// A good edit: config check says ok; SIGHUP applies it to the live session.
	os.WriteFile(cfgPath, orig, 0o600)
	editConfig(t, cfgPath, "databases: [app], standing: write}", "databases: [app], standing: read}")
	if out := run(t, 30*time.Second, "", nil, airlockBin, "config", "check", "--config", cfgPath); strings.TrimSpace(out) != "ok" {
		t.Fatalf("config check of a good file: %s", out)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(`msg="config reloaded"`)
	if _, err := c.Exec(ctx, "INSERT INTO items VALUES (3)"); pgCode(err) != "42501" {
		t.Fatalf("insert after the reload: %v, want 42501", err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 2 {
		t.Fatalf("the session after the reload: %d %v", n, err)
	}
}

// TestReloadDropInOpenTransaction: a reload that lowers a session's level
// while it holds a transaction at the higher level ends it as a revoked
// grant would (the transaction is rolled back upstream); nothing it wrote
// in that transaction stays.
func TestReloadDropInOpenTransaction(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY)`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	path := filepath.Join(a.Dir, "airlock.yaml")
	ctx := context.Background()
	wanda := testenv.Connect(t, a.URL("wanda", a.Token("wanda", time.Hour), "app"))
	if _, err := wanda.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := wanda.Exec(ctx, "INSERT INTO items VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	editConfig(t, path, "databases: [app], standing: write}", "databases: [app], standing: read}")
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := wanda.Exec(ctx, "COMMIT"); err == nil || !strings.Contains(err.Error(), "access dropped from write to read") {
		t.Fatalf("commit after the level dropped: %v", err)
	}
	if n := db.QueryInt("SELECT count(*) FROM items"); n != 0 {
		t.Fatalf("%d rows kept from the ended transaction", n)
	}
}
