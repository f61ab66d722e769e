package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestOwnBackendSignals: the PID in BackendKeyData is the upstream
// backend's, and pg_terminate_backend / pg_cancel_backend of a backend of
// the user's own live session on the database run at any level, as
// PostgreSQL lets a role end its own backends; the session whose backend
// ends sees FATAL 57P01. Another user's backend, a backend that is not
// airlock's, and a PID that is not a literal stay denied. Cancel requests
// with the session's key still cancel; one with a wrong secret does not.
// Every such statement is audited.
func TestOwnBackendSignals(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{DatabaseExtra: testenv.SleepInRead})
	alice, carol := a.Token("alice", 0), a.Token("carol", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	connect := func(user, tok string) *pgx.Conn {
		c := testenv.Connect(t, a.URL(user, tok, "app"))
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	backend := func(c *pgx.Conn) uint32 {
		var pid uint32
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	isFatal := func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.SeverityUnlocalized == "FATAL" && pe.Code == "57P01"
	}
	ctl := connect("alice", alice)

	t.Run("key names the backend", func(t *testing.T) {
		c := connect("alice", alice)
		if got, want := c.PgConn().PID(), backend(c); got != want {
			t.Fatalf("BackendKeyData PID %d, backend %d", got, want)
		}
	})

	t.Run("terminate own backend by literal", func(t *testing.T) {
		c := connect("alice", alice)
		var ok bool
		if err := ctl.QueryRow(ctx, fmt.Sprintf("SELECT pg_terminate_backend(%d)", c.PgConn().PID())).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate own backend: %v, %v", ok, err)
		}
		awaitTerminated(ctx, t, c)
	})

	t.Run("terminate own backend by parameter", func(t *testing.T) {
		c := connect("alice", alice)
		var ok bool
		if err := ctl.QueryRow(ctx, "SELECT pg_terminate_backend($1)", c.PgConn().PID()).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate own backend: %v, %v", ok, err)
		}
		rr := ctl.PgConn().ExecParams(ctx, "select pg_terminate_backend($1)", [][]byte{fmt.Appendf(nil, "%d", backend(connect("alice", alice)))}, nil, nil, nil).Read()
		if rr.Err != nil || len(rr.Rows) != 1 || string(rr.Rows[0][0]) != "t" {
			t.Fatalf("terminate own backend, text parameter: %v %q", rr.Err, rr.Rows)
		}
	})

	t.Run("terminate itself", func(t *testing.T) {
		c := connect("alice", alice)
		_, err := c.Exec(ctx, "select pg_terminate_backend(pg_backend_pid())")
		if !isFatal(err) {
			t.Fatalf("terminating its own backend: %v, want FATAL 57P01", err)
		}
	})

	t.Run("cancel own backend", func(t *testing.T) {
		c := connect("alice", alice)
		pid := c.PgConn().PID()
		done := make(chan error, 1)
		go func() {
			_, err := c.Exec(ctx, "SELECT pg_sleep(30)")
			done <- err
		}()
		waitActive(t, db, pid)
		var ok bool
		if err := ctl.QueryRow(ctx, "SELECT pg_cancel_backend($1)", pid).Scan(&ok); err != nil || !ok {
			t.Fatalf("cancel own backend: %v, %v", ok, err)
		}
		if err := <-done; pgCode(err) != "57014" {
			t.Fatalf("cancelled statement: %v, want 57014", err)
		}
		if backend(c) != pid {
			t.Fatal("the session changed its backend")
		}
	})

	denied := func(t *testing.T, c *pgx.Conn, sql string, args ...any) {
		t.Helper()
		_, err := c.Exec(ctx, sql, args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, "acts on other sessions") {
			t.Fatalf("%s: %v, want airlock's denial", sql, err)
		}
	}

	t.Run("denied", func(t *testing.T) {
		other := connect("carol", carol)
		own := connect("alice", alice)
		pid := own.PgConn().PID()
		direct := testenv.Connect(t, testenv.AdminURL(db.Name))
		defer direct.Close(ctx)
		// carol's session has the same upstream role: only airlock
		// stops it.
		denied(t, ctl, fmt.Sprintf("SELECT pg_terminate_backend(%d)", other.PgConn().PID()))
		denied(t, ctl, "SELECT pg_cancel_backend($1)", other.PgConn().PID())
		denied(t, ctl, fmt.Sprintf("SELECT pg_terminate_backend(%d)", backend(direct)))
		denied(t, ctl, fmt.Sprintf("SELECT pg_terminate_backend(%d + 0)", pid))
		denied(t, ctl, fmt.Sprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %d", pid))
		denied(t, ctl, fmt.Sprintf("SELECT pg_terminate_backend(%d), pg_terminate_backend(%d)", pid, other.PgConn().PID()))
		denied(t, ctl, "SELECT pg_terminate_backend($1::int)", pid)
		for _, c := range []*pgx.Conn{other, own, direct} {
			if _, err := c.Exec(ctx, "SELECT 1"); err != nil {
				t.Fatalf("a backend was signalled: %v", err)
			}
		}
	})

	t.Run("cancel requests", func(t *testing.T) {
		c := connect("alice", alice)
		pid := c.PgConn().PID()
		done := make(chan error, 1)
		go func() {
			_, err := c.Exec(ctx, "SELECT pg_sleep(3)")
			done <- err
		}()
		waitActive(t, db, pid)
		// The right PID with a wrong secret cancels nothing.
		sendCancel(t, a, pid, 0)
		if err := <-done; err != nil {
			t.Fatalf("statement after a cancel request with a wrong secret: %v", err)
		}
		if !strings.Contains(a.Logs(), "cancel request with a wrong secret") {
			t.Fatal("a wrong cancel secret for a live backend is not logged")
		}
		// pgx cancels with the key it was given.
		qctx, qcancel := context.WithCancel(ctx)
		go func() {
			_, err := c.Exec(qctx, "SELECT pg_sleep(30)")
			done <- err
		}()
		waitActive(t, db, pid)
		qcancel()
		<-done
		if err := c.Ping(ctx); err != nil && !c.IsClosed() {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for db.QueryInt(fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND state = 'active' AND query LIKE 'SELECT pg_sleep%%'", pid)) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("pg_sleep still running upstream")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("audited", func(t *testing.T) {
		if err := a.Audit.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Contains: "_backend(", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, ev := range evs {
			n[ev.Decision]++
		}
		if n[airlock.DecisionAllowed] != 5 || n[airlock.DecisionDenied] != 7 {
			t.Fatalf("audited decisions %v, want 5 allowed and 7 denied", n)
		}
	})
}

// waitActive waits until backend pid runs a statement.
func waitActive(t *testing.T, db *testenv.DB, pid uint32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for db.QueryInt(fmt.Sprintf("SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND state = 'active'", pid)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("backend %d runs nothing", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendCancel sends airlock a CancelRequest for pid with secret, and waits
// until airlock has handled it (it closes the connection).
func sendCancel(t *testing.T, a *testenv.Airlock, pid, secret uint32) {
	t.Helper()
	nc, err := net.Dial("tcp", a.PostgresAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := make([]byte, 16)
	binary.BigEndian.PutUint32(b[0:], 16)
	binary.BigEndian.PutUint32(b[4:], 80877102)
	binary.BigEndian.PutUint32(b[8:], pid)
	binary.BigEndian.PutUint32(b[12:], secret)
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(b); n != 0 || err == nil {
		t.Fatalf("answer to a cancel request: %d bytes, %v", n, err)
	}
}

// TestOwnBackendAfterSwitch: when a grant moves a session to a new upstream
// connection, the client keeps the key it was given: its cancel requests
// reach the new backend, while its PID names the former backend, which
// pg_terminate_backend may no longer name; pg_backend_pid() gives the new
// one, which may.
func TestOwnBackendAfterSwitch(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{DatabaseExtra: testenv.SleepInRead})
	tok := a.Token("alice", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer c.Close(ctx)
	ctl := testenv.Connect(t, a.URL("alice", tok, "app"))
	defer ctl.Close(ctx)
	backend := func(c *pgx.Conn) uint32 {
		var pid uint32
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	key := c.PgConn().PID()
	if backend(c) != key {
		t.Fatal("the key does not name the backend")
	}

	r, err := a.Access.CreateRequest(ctx, a.Actor(tok), access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: 10 * time.Minute, Reason: "fix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Access.ApproveRequest(ctx, a.Actor(a.Token("bob", 0)), r.ID); err != nil {
		t.Fatal(err)
	}
	now := backend(c)
	for i := 0; now == key && i < 100; i++ { // the switch happens between statements
		time.Sleep(20 * time.Millisecond)
		now = backend(c)
	}
	if now == key {
		t.Fatal("the session kept its upstream connection after the grant")
	}
	if c.PgConn().PID() != key {
		t.Fatal("the client's key changed")
	}

	_, err = ctl.Exec(ctx, "SELECT pg_terminate_backend($1)", key)
	if pgCode(err) != "42501" {
		t.Fatalf("terminating the former backend: %v, want airlock's denial", err)
	}

	// The key cancels what the new backend runs.
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "SELECT pg_sleep(30)")
		done <- err
	}()
	waitActive(t, db, now)
	if err := c.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; pgCode(err) != "57014" {
		t.Fatalf("cancelled statement: %v, want 57014", err)
	}
	if backend(c) != now {
		t.Fatal("the session changed its backend again")
	}

	var ok bool
	if err := ctl.QueryRow(ctx, "SELECT pg_terminate_backend($1)", now).Scan(&ok); err != nil || !ok {
		t.Fatalf("terminating the session's backend now: %v, %v", ok, err)
	}
	awaitTerminated(ctx, t, c)
}

// awaitTerminated checks that c, whose backend was just told to end, gets
// FATAL 57P01 (the backend ends just after the signal is answered).
func awaitTerminated(ctx context.Context, t *testing.T, c *pgx.Conn) {
	t.Helper()
	_, err := c.Exec(ctx, "SELECT 1")
	for i := 0; err == nil && i < 250; i++ {
		time.Sleep(20 * time.Millisecond)
		_, err = c.Exec(ctx, "SELECT 1")
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.SeverityUnlocalized != "FATAL" || pe.Code != "57P01" {
		t.Fatalf("after its backend ended: %v, want FATAL 57P01", err)
	}
	if !c.IsClosed() {
		t.Fatal("the connection is still open")
	}
}
