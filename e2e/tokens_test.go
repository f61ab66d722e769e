package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/config"
	"airlock/internal/server"
	"airlock/internal/testenv"
)

// TestTokenLifetimes: the default and maximum TTL hold; a token a user
// issues for themselves never outlives the token used to issue it; users
// issue only for themselves; the CLI prints the token alone, or JSON.
func TestTokenLifetimes(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{Extra: "tokens: {default_ttl: 30m, max_ttl: 2h}\n"})
	ctx := context.Background()
	admin := a.Actor(a.AdminToken)
	_, tk, err := a.Access.IssueToken(ctx, admin, access.IssueRequest{User: "alice"})
	if err != nil || tk.ExpiresAt.Sub(tk.CreatedAt).Round(time.Minute) != 30*time.Minute {
		t.Fatalf("default ttl: %v %v", tk, err)
	}
	if _, _, err := a.Access.IssueToken(ctx, admin, access.IssueRequest{User: "alice", TTL: 3 * time.Hour}); airlock.ErrorCode(err) != airlock.EINVALID {
		t.Fatalf("over max ttl: %v", err)
	}
	short, _, _ := a.Access.IssueToken(ctx, admin, access.IssueRequest{User: "alice", TTL: 10 * time.Minute})
	alice := a.Actor(short)
	_, own, err := a.Access.IssueToken(ctx, alice, access.IssueRequest{TTL: 2 * time.Hour})
	if err != nil || own.ExpiresAt.After(*alice.Token.ExpiresAt) {
		t.Fatalf("a self-issued token outlives its issuer: %v, %v", own, err)
	}
	if _, _, err := a.Access.IssueToken(ctx, alice, access.IssueRequest{User: "bob"}); airlock.ErrorCode(err) != airlock.EFORBIDDEN {
		t.Fatalf("alice issuing for bob: %v", err)
	}
	out, err := runCLI(t, a, a.AdminToken, "tokens", "issue", "--user", "bob", "--ttl", "15m")
	if err != nil || !strings.HasPrefix(out, "alk_") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("tokens issue prints the token alone: %q %v", out, err)
	}
	out, err = runCLI(t, a, a.AdminToken, "tokens", "issue", "--user", "bob", "--json")
	for _, k := range []string{`"id"`, `"token"`, `"user": "bob"`, `"expires_at"`} {
		if err != nil || !strings.Contains(out, k) {
			t.Fatalf("tokens issue --json lacks %s: %s %v", k, out, err)
		}
	}
	out, err = runCLI(t, a, a.AdminToken, "tokens", "list", "--json", "--user", "bob")
	if err != nil || !strings.Contains(out, `"state": "active"`) || strings.Contains(out, "alk_") {
		t.Fatalf("tokens list: %s %v", out, err)
	}
}

// TestConfigUsersAreTheConfigs: users declared in the config cannot be
// changed through the API; removing one from the config revokes its
// tokens at the next start.
func TestConfigUsersAreTheConfigs(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	if err := a.Access.CreateUser(ctx, a.Actor(a.AdminToken), &airlock.User{Name: "alice"}); airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("adding a config user through the API: %v", err)
	}
	if out, err := runCLI(t, a, a.AdminToken, "users", "add", "dave", "--group", "eng"); err != nil || strings.TrimSpace(out) != "dave" {
		t.Fatalf("users add: %s %v", out, err)
	}
	carolTok := a.Token("carol", 0)
	cfgPath := filepath.Join(a.Dir, "airlock.yaml")
	a.Shutdown(ctx, time.Second)

	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.Replace(string(b), "  - {name: carol, groups: [eng]}\n", "", 1)), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Start(ctx, cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(ctx, time.Second)
	if _, err := srv.Access.Authenticate(ctx, carolTok); airlock.ErrorCode(err) != airlock.EUNAUTHORIZED {
		t.Fatalf("carol's token after she left the config: %v", err)
	}
	if _, err := srv.Store.GetUser(ctx, "dave"); err != nil {
		t.Fatalf("an API user was removed with the config sync: %v", err)
	}
}
