package postgres

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
)

// TestListenNotifiesAndResyncs: changes made through one store reach the
// listener of another; when the listening connection is cut, the
// listener polls (resync) and, reconnected, receives notifications again.
func TestListenNotifiesAndResyncs(t *testing.T) {
	a, url := open(t, Options{Gateway: "gw_a"})
	b, err := Open(t.Context(), url, Options{Gateway: "gw_b"})
	must(t, err)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	got := make(chan string, 100)
	var resyncs atomic.Int32
	go func() {
		defer close(done)
		b.Listen(ctx, nil, func(topic, id string) { got <- topic + ":" + id }, func(context.Context) { resyncs.Add(1) })
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "first resync", func() bool { return resyncs.Load() >= 1 })

	now := time.Now().UTC()
	must(t, a.CreateUser(t.Context(), &airlock.User{Name: "alice", CreatedAt: now}))
	expectNote(t, got, "user:alice")

	// Cut the listening connection: the listener resyncs and comes back.
	before := resyncs.Load()
	if _, err := a.pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "resync after the cut", func() bool { return resyncs.Load() > before })
	must(t, a.CreateGrant(t.Context(), &airlock.Grant{ID: "gr_1", User: "alice", Database: "shop", Level: airlock.LevelWrite,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	expectNote(t, got, "grant:gr_1")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 10s", what)
}

func expectNote(t *testing.T, got chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-got:
			if n == want {
				return
			}
		case <-timeout:
			t.Fatalf("no notification %q within 10s", want)
		}
	}
}
