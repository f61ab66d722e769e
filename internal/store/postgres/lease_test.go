package postgres

import (
	"testing"
	"time"

	"airlock"
)

// TestLeasesAndLostSessions: sessions belong to the gateway that created
// them; another gateway ends them only once that gateway's lease expired,
// and a gateway starting ends only sessions no live gateway owns.
func TestLeasesAndLostSessions(t *testing.T) {
	ctx := t.Context()
	_, url := open(t, Options{})
	now := time.Now().UTC().Truncate(time.Microsecond)
	stores := map[string]*DB{}
	for _, id := range []string{"gw_live", "gw_dead", "gw_other", ""} {
		st, err := Open(ctx, url, Options{Gateway: id})
		must(t, err)
		defer st.Close()
		stores[id] = st
	}
	must(t, stores["gw_live"].Heartbeat(ctx, now, time.Hour))
	must(t, stores["gw_dead"].Heartbeat(ctx, now.Add(-time.Hour), time.Second))
	must(t, stores["gw_other"].Heartbeat(ctx, now, time.Hour))
	for id, st := range stores {
		must(t, st.CreateSession(ctx, &airlock.Session{ID: "s_" + id, User: "alice", Database: "shop", Engine: "postgres",
			Level: airlock.LevelRead, StartedAt: now}))
	}

	lost, err := stores["gw_other"].EndLostSessions(ctx, now, "gateway lost")
	must(t, err)
	if len(lost) != 1 || lost[0].ID != "s_gw_dead" {
		t.Fatalf("lost sessions: %+v, want the dead gateway's only", lost)
	}
	again, err := stores["gw_live"].EndLostSessions(ctx, now, "gateway lost")
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("ended twice: %+v", again)
	}
	s, err := stores[""].GetSession(ctx, "s_gw_dead")
	must(t, err)
	if s.EndReason != "gateway lost" || s.EndedAt == nil {
		t.Fatalf("dead gateway's session: %+v", s)
	}

	// A gateway starting ends its own and unowned sessions, not those of
	// live gateways.
	n, err := stores["gw_other"].EndOpenSessions(ctx, now, "airlock restarted")
	must(t, err)
	if n != 2 {
		t.Fatalf("ended %d sessions at start, want 2 (its own and the unowned one)", n)
	}
	live, err := stores[""].GetSession(ctx, "s_gw_live")
	must(t, err)
	if live.EndedAt != nil {
		t.Fatalf("a live gateway's session was ended: %+v", live)
	}

	// A kill asked elsewhere is found by the owner.
	must(t, stores["gw_other"].RequestKill(ctx, "s_gw_live", "admin"))
	kills, err := stores["gw_live"].KillRequests(ctx)
	must(t, err)
	if kills["s_gw_live"] != "admin" || len(kills) != 1 {
		t.Fatalf("kill requests: %v", kills)
	}
	if err := stores["gw_other"].RequestKill(ctx, "s_gw_dead", "admin"); airlock.ErrorCode(err) != airlock.ENOTFOUND {
		t.Fatalf("kill an ended session: %v", err)
	}
	must(t, stores["gw_live"].Release(ctx))
	lost, err = stores["gw_other"].EndLostSessions(ctx, now, "gateway lost")
	must(t, err)
	if len(lost) != 1 || lost[0].ID != "s_gw_live" {
		t.Fatalf("after the lease was released: %+v", lost)
	}
}
