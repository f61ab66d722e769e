package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"
)

// TestElevationCarriesSessionState: when a grant starts, the open session
// moves to the write credential at its next transaction boundary, keeping
// its settings and prepared statements; a session holding state that
// cannot move (LISTEN) is ended with a message saying why.
func TestElevationCarriesSessionState(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	tok := a.Token("alice", 0)
	alice, bob := a.Actor(tok), a.Actor(a.Token("bob", 0))

	c := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer c.Close(ctx)
	listener := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN jobs"); err != nil {
		t.Fatal(err)
	}

	for _, s := range []string{"SET statement_timeout = '7s'", "SET search_path = public, pg_catalog", "PREPARE byid(int) AS SELECT name FROM items WHERE id = $1"} {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := c.Prepare(ctx, "upd", "UPDATE items SET price = price + 1 WHERE id = $1"); err == nil {
		t.Fatal("an UPDATE prepared in a read session")
	}
	if _, err := c.Prepare(ctx, "sel", "SELECT price::text FROM items WHERE id = $1"); err != nil {
		t.Fatal(err)
	}

	r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix prices"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = a.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}

	// The next statement runs on the write credential, with the state.
	if _, err := c.Exec(ctx, "UPDATE items SET price = 100 WHERE id = 1"); err != nil {
		t.Fatalf("write after the grant: %v", err)
	}
	var user, timeout, name, price string
	if err := c.QueryRow(ctx, "SELECT current_user, current_setting('statement_timeout')").Scan(&user, &timeout); err != nil {
		t.Fatal(err)
	}
	if user != testenv.RoleRW || timeout != "7s" {
		t.Fatalf("after the switch: user %s, statement_timeout %s", user, timeout)
	}
	if err := c.QueryRow(ctx, "EXECUTE byid(2)").Scan(&name); err != nil || name != "bread" {
		t.Fatalf("SQL prepared statement after the switch: %q %v", name, err)
	}
	if err := c.QueryRow(ctx, "sel", 1).Scan(&price); err != nil || price != "100.00" {
		t.Fatalf("protocol prepared statement after the switch: %q %v", price, err)
	}
	if _, err := c.Prepare(ctx, "upd", "UPDATE items SET price = price + 1 WHERE id = $1"); err != nil {
		t.Fatalf("prepare an UPDATE under the grant: %v", err)
	}

	// The LISTEN session cannot move: it is ended, saying why.
	var one int
	err = listener.QueryRow(ctx, "SELECT 1").Scan(&one)
	if pgCode(err) != "57P01" || !strings.Contains(err.Error(), "LISTEN") || !strings.Contains(err.Error(), "reconnect") {
		t.Fatalf("listening session: %v", err)
	}

	// Revoking the grant lowers the idle session at its next statement:
	// the prepared UPDATE is denied at Execute, reads go on.
	if _, err := a.Access.RevokeGrant(ctx, a.Actor(a.AdminToken), r.GrantID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "upd", 1); pgCode(err) != "42501" {
		t.Fatalf("prepared UPDATE after the grant ended: %v", err)
	}
	if err := c.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil || user != testenv.RoleRO {
		t.Fatalf("after the grant ended: %s %v", user, err)
	}
	if db.QueryInt("SELECT price::int FROM items WHERE id = 1") != 100 {
		t.Fatal("the write under the grant is missing")
	}
}

// TestLoweringDecidesCarriedSettings: when a grant ends, the settings the
// session made are carried to the lower credential's connection only if
// the lower level allows them now; a setting only the grant allowed ends
// the session, naming it, instead of outliving the grant.
func TestLoweringDecidesCarriedSettings(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	a := testenv.Start(t, db, testenv.Options{
		Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      admin: {user: postgres, password: x}
`, testenv.PGAddr, db.Name, testenv.RoleRO),
		Policies: `policies:
  - {name: eng, groups: [eng], databases: [app], standing: read, requestable: [admin], approvers: [sre], approvals: 1, max_duration: 4h}
`,
	})
	ctx := context.Background()
	tok := a.Token("alice", 0)
	alice, bob := a.Actor(tok), a.Actor(a.Token("bob", 0))
	grant := func() string {
		r, err := a.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelAdmin, Duration: time.Hour, Reason: "tune a query"})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = a.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
			t.Fatal(err)
		}
		return r.GrantID
	}
	revoke := func(id string) {
		if _, err := a.Access.RevokeGrant(ctx, a.Actor(a.AdminToken), id); err != nil {
			t.Fatal(err)
		}
	}

	// Only allow-listed settings: carried down, the session goes on.
	c := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer c.Close(ctx)
	g := grant()
	if _, err := c.Exec(ctx, "SET statement_timeout = '9s'"); err != nil {
		t.Fatal(err)
	}
	revoke(g)
	var user, timeout string
	if err := c.QueryRow(ctx, "SELECT current_user, current_setting('statement_timeout')").Scan(&user, &timeout); err != nil {
		t.Fatal(err)
	}
	if user != testenv.RoleRO || timeout != "9s" {
		t.Fatalf("after the grant ended: user %s, statement_timeout %s", user, timeout)
	}

	// A setting only admin may make: the session ends, saying which.
	c2 := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer c2.Close(ctx)
	g = grant()
	if _, err := c2.Exec(ctx, "SET log_statement = 'none'"); err != nil {
		t.Fatalf("SET log_statement under the admin grant: %v", err)
	}
	revoke(g)
	var one int
	err := c2.QueryRow(ctx, "SELECT 1").Scan(&one)
	if pgCode(err) != "57P01" || !strings.Contains(err.Error(), "log_statement") || !strings.Contains(err.Error(), "reconnect") {
		t.Fatalf("session holding an admin-only setting after the grant ended: %v", err)
	}
}
