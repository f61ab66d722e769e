package access

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/store/sqlite"
)

func newLogins(t *testing.T) (*Logins, *audit.Log, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, err := audit.Open(ctx, st, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close(context.Background()) })
	return &Logins{audit: log, now: time.Now, pairs: map[loginKey]*loginPair{}, fold: 300 * time.Millisecond, base: 10 * time.Millisecond, max: 40 * time.Millisecond}, log, st
}

func loginEvents(t *testing.T, log *audit.Log, st *sqlite.DB) []*airlock.Event {
	t.Helper()
	log.Sync(context.Background())
	evs, err := st.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventSession, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestLoginsFold: a flood of failures from one address and user becomes
// one event at once and one with the count of the repeats at the end of
// the window; another pair gets its own events.
func TestLoginsFold(t *testing.T) {
	l, log, st := newLogins(t)
	l.base, l.max = 0, 0 // no delay here
	ctx := context.Background()
	for range 50 {
		l.Failed(ctx, "10.0.0.1", "alice", "postgres", "bad token")
	}
	l.Failed(ctx, "10.0.0.2", "bob", "mysql", "unknown user")
	time.Sleep(3 * l.fold)
	evs := loginEvents(t, log, st)
	type row struct{ addr, user, count, via string }
	var got []row
	for _, e := range evs {
		if e.Action != ActionLoginFailed {
			t.Fatalf("event action %q", e.Action)
		}
		got = append(got, row{e.ClientAddr, e.User, e.Detail["count"], e.Detail["via"]})
	}
	want := []row{{"10.0.0.1", "alice", "1", "postgres"}, {"10.0.0.2", "bob", "1", "mysql"}, {"10.0.0.1", "alice", "49", "postgres"}}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if f := l.Failures(); f["postgres"] != 50 || f["mysql"] != 1 {
		t.Fatalf("Failures() = %v", f)
	}
}

// TestLoginsDelay: after a few failures a pair waits longer and longer, up
// to the maximum; other pairs do not wait; a success forgets.
func TestLoginsDelay(t *testing.T) {
	l, _, _ := newLogins(t)
	ctx := context.Background()
	var delays []time.Duration
	for range 7 {
		delays = append(delays, l.Delay("10.0.0.1", "alice", "postgres"))
		l.Failed(ctx, "10.0.0.1", "alice", "postgres", "bad token")
	}
	want := []time.Duration{0, 0, 0, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
	if d := l.Delay("10.0.0.1", "bob", "postgres"); d != 0 {
		t.Fatalf("another user from the same address waits %s", d)
	}
	if d := l.Delay("10.0.0.9", "alice", "postgres"); d != 0 {
		t.Fatalf("the same user from another address waits %s", d)
	}
	l.Succeeded("10.0.0.1", "alice")
	if d := l.Delay("10.0.0.1", "alice", "postgres"); d != 0 {
		t.Fatalf("after a success the pair waits %s", d)
	}
}

// TestLoginsFlushAll: repeats pending in an open window are audited when
// the service stops, not lost.
func TestLoginsFlushAll(t *testing.T) {
	l, log, st := newLogins(t)
	l.fold, l.base, l.max = time.Hour, 0, 0
	for range 5 {
		l.Failed(context.Background(), "10.0.0.1", "alice", "api", "bad token")
	}
	if n := len(loginEvents(t, log, st)); n != 1 {
		t.Fatalf("%d events before the window ends, want 1", n)
	}
	l.flushAll()
	evs := loginEvents(t, log, st)
	if len(evs) != 2 || evs[1].Detail["count"] != "4" {
		t.Fatalf("after flushAll: %d events, last %v", len(evs), evs[len(evs)-1].Detail)
	}
}
