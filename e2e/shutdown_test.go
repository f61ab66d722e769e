package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/store/sqlite"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestGracefulShutdown: on shutdown airlock stops accepting, lets open
// sessions work for the grace period, then ends them with 57P01 and flushes
// the audit log.
func TestGracefulShutdown(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{DatabaseExtra: testenv.SleepInRead})
	ctx := context.Background()
	tok := a.Token("alice", 0)
	c := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer c.Close(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Shutdown(ctx, 1500*time.Millisecond) }()
	time.Sleep(300 * time.Millisecond)
	if _, err := pgx.Connect(ctx, a.URL("alice", tok, "app")); err == nil {
		t.Fatal("a new connection was accepted during shutdown")
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
		t.Fatalf("the open session stopped working during the grace period: %v", err)
	}
	_, err := c.Exec(ctx, "SELECT pg_sleep(5)")
	if pgCode(err) != "57P01" || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("after the grace period: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(a.Dir, "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, _ := st.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventSession})
	closed := false
	for _, e := range evs {
		closed = closed || (e.Action == "closed" && e.Detail["reason"] == "airlock is shutting down")
	}
	stmts, _ := st.ListEvents(ctx, airlock.EventFilter{Contains: "SELECT 42"})
	if !closed || len(stmts) == 0 {
		t.Fatalf("audit not flushed at shutdown: closed=%v, statements=%d", closed, len(stmts))
	}
}
