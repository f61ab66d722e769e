package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/store/postgres"
	"airlock/internal/store/sqlite"
	"airlock/internal/testenv"
)

// TestStoreMigrate: `airlock store migrate` copies an installation's
// SQLite store into an empty PostgreSQL store with every record and the
// audit chain intact (verified with `airlock audit verify` against the
// target), reports progress on stderr and refuses a non-empty target.
func TestStoreMigrate(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE items (id int PRIMARY KEY)")
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	// Some of everything: sessions and statements, a revoked token, a
	// request approved into a grant.
	alice := a.Token("alice", 0)
	for _, user := range []string{"alice", "wanda"} {
		tok := alice
		if user == "wanda" {
			tok = a.Token("wanda", 0)
		}
		c := testenv.Connect(t, a.URL(user, tok, "app"))
		c.Exec(ctx, "SELECT count(*) FROM items")
		c.Exec(ctx, "INSERT INTO items VALUES (1)")
		c.Close(ctx)
	}
	_, revoked := a.TokenID("carol", 0)
	if err := a.Access.RevokeToken(ctx, a.Actor(a.AdminToken), revoked); err != nil {
		t.Fatal(err)
	}
	r, err := a.Access.CreateRequest(ctx, a.Actor(alice), access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.ApproveRequest(ctx, a.Actor(a.Token("bob", 0)), r.ID); err != nil {
		t.Fatal(err)
	}
	sqlitePath := a.Config.StorePath()
	if err := a.Shutdown(ctx, time.Second); err != nil {
		t.Fatal(err)
	}

	target := testenv.NewDB(t)
	targetURL := testenv.AdminURL(target.Name)
	migrate := func() (string, error) {
		cmd := exec.Command(airlockBin, "store", "migrate", "--from", "sqlite:"+sqlitePath, "--to", targetURL)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	out, err := migrate()
	if err != nil {
		t.Fatalf("store migrate: %v\n%s", err, out)
	}
	for _, want := range []string{"users: ", "tokens: ", "sessions: ", "requests: 1", "grants: 1", "events: "} {
		if !strings.Contains(out, want) {
			t.Fatalf("progress lacks %q:\n%s", want, out)
		}
	}
	if out, err := migrate(); err == nil || !strings.Contains(out, "not empty") {
		t.Fatalf("migrating into a non-empty store: %v\n%s", err, out)
	}

	// Every record is there.
	src, err := sqlite.Open(ctx, sqlitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, targetURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	same := func(what string, f func(airlock.Store) (any, error)) {
		t.Helper()
		a, err := f(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s differ:\nsource %+v\ntarget %+v", what, a, b)
		}
	}
	same("users", func(s airlock.Store) (any, error) { return s.ListUsers(ctx) })
	same("tokens", func(s airlock.Store) (any, error) { return s.ListTokens(ctx, airlock.TokenFilter{}) })
	same("sessions", func(s airlock.Store) (any, error) { return s.ListSessions(ctx, airlock.SessionFilter{}) })
	same("grants", func(s airlock.Store) (any, error) { return s.ListGrants(ctx, airlock.GrantFilter{}) })
	same("events", func(s airlock.Store) (any, error) { return s.ListEvents(ctx, airlock.EventFilter{}) })
	srcRep, err := audit.Verify(ctx, src)
	if err != nil || srcRep.Problem != nil || srcRep.Events < 10 {
		t.Fatalf("source chain: %+v %v", srcRep, err)
	}

	// The chain verifies against the target through the CLI, with the
	// same head.
	cfg := filepath.Join(t.TempDir(), "airlock.yaml")
	if err := os.WriteFile(cfg, []byte("store: "+targetURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = run(t, 60*time.Second, "", nil, airlockBin, "audit", "verify", "--config", cfg)
	if !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, srcRep.Head) {
		t.Fatalf("audit verify against the target (source head %s):\n%s", srcRep.Head, out)
	}
}
