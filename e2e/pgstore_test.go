package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
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

// liveSession returns the ID of user's one live session on gateway a.
func liveSession(t *testing.T, a *testenv.Airlock, user string) string {
	t.Helper()
	var ids []string
	for _, s := range a.Gateway.Sessions() {
		if s.User().Name == user && s.EndReason() == "" {
			ids = append(ids, s.ID())
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s has %d live sessions on the gateway, want 1", user, len(ids))
	}
	return ids[0]
}

// waitEnded waits (boundedly) until the connection c is closed by the
// gateway, probing it with a statement, and returns how long it took.
func waitEnded(t *testing.T, c *pgx.Conn, start time.Time, within time.Duration) time.Duration {
	t.Helper()
	for time.Since(start) < within {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Exec(ctx, "SELECT 1")
		cancel()
		if err != nil {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the session was not ended within %s", within)
	return 0
}

// TestSharedStorePropagation: a revocation, a kill and a grant decided on
// one gateway reach the sessions another gateway serves, through the
// store's notifications (SPEC §10: within 1 s; asserted with a generous
// bound, the time is logged).
func TestSharedStorePropagation(t *testing.T) {
	_, gws := sharedGateways(t, 2, testenv.Options{})
	ctx := context.Background()
	g0, g1 := gws[0], gws[1]
	admin := g0.Actor(g0.AdminToken)

	t.Run("token_revoked", func(t *testing.T) {
		secret, id := g0.TokenID("alice", 0)
		c := testenv.Connect(t, g1.URL("alice", secret, "app"))
		defer c.Close(ctx)
		start := time.Now()
		if err := g0.Access.RevokeToken(ctx, admin, id); err != nil {
			t.Fatal(err)
		}
		t.Logf("revocation reached the other gateway in %s", waitEnded(t, c, start, 10*time.Second))
	})

	t.Run("kill", func(t *testing.T) {
		c := testenv.Connect(t, g1.URL("alice", g0.Token("alice", 0), "app"))
		defer c.Close(ctx)
		sid := liveSession(t, g1, "alice")
		if sid == "" || g0.Gateway.Session(sid) != nil {
			t.Fatalf("session %q should live on the second gateway only", sid)
		}
		start := time.Now()
		if err := g0.Gateway.KillSession(ctx, admin, sid); err != nil {
			t.Fatal(err)
		}
		t.Logf("kill reached the owning gateway in %s", waitEnded(t, c, start, 10*time.Second))
		st, err := g0.Store.GetSession(ctx, sid)
		for i := 0; err == nil && st.EndedAt == nil && i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
			st, err = g0.Store.GetSession(ctx, sid)
		}
		if err != nil || st.EndedAt == nil || !strings.Contains(st.EndReason, "killed by admin") {
			t.Fatalf("killed session recorded as %+v (%v)", st, err)
		}
		// Killing it again: it has ended.
		if err := g0.Gateway.KillSession(ctx, admin, sid); airlock.ErrorCode(err) != airlock.ECONFLICT {
			t.Fatalf("kill an ended session: %v", err)
		}
	})

	t.Run("cli_list_and_kill", func(t *testing.T) {
		c := testenv.Connect(t, g1.URL("carol", g0.Token("carol", 0), "app"))
		defer c.Close(ctx)
		env := []string{"AIRLOCK_SERVER=" + g0.HTTPURL(), "AIRLOCK_TOKEN=" + g0.AdminToken, "HOME=" + t.TempDir()}
		out := run(t, 30*time.Second, "", env, airlockBin, "sessions", "list", "--active", "--json")
		var list []struct {
			ID   string `json:"id"`
			User string `json:"user"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("sessions list: %v\n%s", err, out)
		}
		sid := ""
		for _, s := range list {
			if s.User == "carol" {
				sid = s.ID
			}
		}
		if sid == "" || g1.Gateway.Session(sid) == nil {
			t.Fatalf("the first gateway does not list carol's session on the second:\n%s", out)
		}
		start := time.Now()
		if out := run(t, 30*time.Second, "", env, airlockBin, "sessions", "kill", sid); strings.Contains(out, "airlock:") {
			t.Fatalf("sessions kill: %s", out)
		}
		t.Logf("a kill through the CLI on the first gateway ended the session in %s", waitEnded(t, c, start, 10*time.Second))
	})

	t.Run("grant", func(t *testing.T) {
		aliceTok := g0.Token("alice", 0)
		c := testenv.Connect(t, g1.URL("alice", aliceTok, "app"))
		defer c.Close(ctx)
		sid := liveSession(t, g1, "alice")
		s := g1.Gateway.Session(sid)
		if s.Level() != airlock.LevelRead {
			t.Fatalf("level before the grant: %s", s.Level())
		}
		alice, bob := g0.Actor(aliceTok), g0.Actor(g0.Token("bob", 0))
		r, err := g0.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: 10 * time.Minute, Reason: "fix"})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if r, err = g0.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
			t.Fatal(err)
		}
		for s.Level() != airlock.LevelWrite && time.Since(start) < 10*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
		if s.Level() != airlock.LevelWrite {
			t.Fatal("the grant did not reach the session on the other gateway")
		}
		t.Logf("grant start reached the other gateway in %s", time.Since(start))
		start = time.Now()
		if _, err := g0.Access.RevokeGrant(ctx, admin, r.GrantID); err != nil {
			t.Fatal(err)
		}
		for s.Level() != airlock.LevelRead && time.Since(start) < 10*time.Second {
			time.Sleep(10 * time.Millisecond)
		}
		if s.Level() != airlock.LevelRead {
			t.Fatal("the grant's revocation did not reach the session on the other gateway")
		}
		t.Logf("grant revocation reached the other gateway in %s", time.Since(start))
	})
}

// TestSharedStoreGrantEndsOnce: every gateway lowers its sessions when a
// grant ends, and the end is audited once, however many gateways
// scheduled it (a gateway started after the grant schedules it too).
func TestSharedStoreGrantEndsOnce(t *testing.T) {
	db, gws := sharedGateways(t, 2, testenv.Options{})
	ctx := context.Background()
	g0 := gws[0]
	aliceTok := g0.Token("alice", 0)
	alice, bob := g0.Actor(aliceTok), g0.Actor(g0.Token("bob", 0))
	r, err := g0.Access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: 4 * time.Second, Reason: "fix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = g0.Access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}
	gws = append(gws, testenv.Start(t, db, testenv.Options{Extra: fmt.Sprintf("store: %q\n", g0.Config.Store)}))
	var sessions []interface{ Level() airlock.Level }
	for _, g := range gws {
		c := testenv.Connect(t, g.URL("alice", aliceTok, "app"))
		defer c.Close(ctx)
		s := g.Gateway.Session(liveSession(t, g, "alice"))
		if s.Level() != airlock.LevelWrite {
			t.Fatalf("level during the grant: %s", s.Level())
		}
		sessions = append(sessions, s)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i, s := range sessions {
		for s.Level() != airlock.LevelRead && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if s.Level() != airlock.LevelRead {
			t.Fatalf("gateway %d: the session kept the ended grant's level", i)
		}
	}
	time.Sleep(500 * time.Millisecond) // let every gateway's timer fire
	for _, g := range gws {
		if err := g.Audit.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := g0.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventGrant})
	if err != nil {
		t.Fatal(err)
	}
	ended := 0
	for _, e := range evs {
		if e.Action == "ended" {
			ended++
		}
	}
	if ended != 1 {
		t.Fatalf("the grant's end was audited %d times, want once", ended)
	}
}
