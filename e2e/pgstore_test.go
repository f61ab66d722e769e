package e2e

import (
	"context"
	"fmt"
	"testing"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/testenv"
)

// sharedGateways starts n in-process gateways in front of one upstream
// database, sharing one PostgreSQL store (SPEC §10); the first one's
// bootstrap token is every gateway's admin token.
func sharedGateways(t *testing.T, n int, o testenv.Options) (*testenv.DB, []*testenv.Airlock) {
	t.Helper()
	db := testenv.NewDB(t)
	store := testenv.NewDB(t)
	o.Extra = fmt.Sprintf("store: %q\n", testenv.AdminURL(store.Name)) + o.Extra
	var gws []*testenv.Airlock
	for range n {
		gws = append(gws, testenv.Start(t, db, o))
	}
	return db, gws
}

// TestSharedStoreOneChain: statements through two gateways sharing a
// PostgreSQL store land in one audit chain that verifies, and each
// gateway sees the other's sessions and events.
func TestSharedStoreOneChain(t *testing.T) {
	_, gws := sharedGateways(t, 2, testenv.Options{})
	ctx := context.Background()
	token := gws[0].Token("alice", 0)
	for i, a := range gws {
		c := testenv.Connect(t, a.URL("alice", token, "app"))
		for j := range 5 {
			if _, err := c.Exec(ctx, fmt.Sprintf("SELECT 'gateway %d statement %d'", i, j)); err != nil {
				t.Fatal(err)
			}
		}
		c.Close(ctx)
	}
	for _, a := range gws {
		if err := a.Audit.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range gws {
		evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventStatement, User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 10 {
			t.Fatalf("gateway %d sees %d statement events, want 10 (both gateways')", i, len(evs))
		}
		ss, err := a.Store.ListSessions(ctx, airlock.SessionFilter{User: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 2 {
			t.Fatalf("gateway %d sees %d sessions, want 2", i, len(ss))
		}
		rep, err := audit.Verify(ctx, a.Store)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Problem != nil {
			t.Fatalf("chain seen from gateway %d: %+v", i, rep.Problem)
		}
	}
}
