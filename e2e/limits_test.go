package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// bigComment returns a statement of about n bytes: SELECT 1 with a
// comment, so that the answer stays small.
func bigComment(n int) string { return "SELECT 1 /* " + strings.Repeat("x", n) + " */" }

// deniedFor returns the denied statement events of rule.
func deniedFor(t *testing.T, a *testenv.Airlock, rule string) []*airlock.Event {
	t.Helper()
	a.Audit.Sync(context.Background())
	evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Rule: rule, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestMaxStatementBytes: a 40 MB statement is refused before it is read
// (PostgreSQL 54000 for a simple and an extended-protocol query, MySQL
// 1153), audited as denied with the rule max-statement-bytes and a short
// prefix of the text, and the session stays usable.
func TestMaxStatementBytes(t *testing.T) {
	huge := bigComment(40 << 20)
	t.Run("postgres", func(t *testing.T) {
		a := testenv.Start(t, testenv.NewDB(t), testenv.Options{})
		ctx := context.Background()
		c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			_, err := c.Exec(ctx, huge, mode)
			if pgCode(err) != "54000" || !strings.Contains(err.Error(), "max_statement_bytes") {
				t.Fatalf("%v: 40 MB statement: %v, want 54000 naming max_statement_bytes", mode, err)
			}
			var n int
			if err := c.QueryRow(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
				t.Fatalf("%v: the session after the refusal: %v", mode, err)
			}
		}
		// Inside a transaction block the refusal fails the block, as an
		// error would.
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, huge, pgx.QueryExecModeSimpleProtocol); pgCode(err) != "54000" {
			t.Fatalf("in a block: %v", err)
		}
		if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
			t.Fatalf("after a refusal in a block: %v, want 25P02", err)
		}
		tx.Rollback(ctx)
		evs := deniedFor(t, a, "max-statement-bytes")
		if len(evs) != 3 {
			t.Fatalf("%d denial events, want 3", len(evs))
		}
		for _, e := range evs {
			if len(e.Text) > 2048 || !strings.HasPrefix(e.Text, "SELECT 1 /* xxx") {
				t.Fatalf("denial event text: %d bytes %.40q", len(e.Text), e.Text)
			}
		}
	})
	t.Run("mysql", func(t *testing.T) {
		a := testenv.StartMySQL(t, testenv.NewMyDB(t), testenv.Options{})
		d := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", "maxAllowedPacket=104857600"))
		d.SetMaxOpenConns(1)
		ctx := context.Background()
		conn, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = conn.ExecContext(ctx, huge)
		if code, _ := testenv.MyErr(err); code != 1153 || !strings.Contains(err.Error(), "max_statement_bytes") {
			t.Fatalf("40 MB statement: %v, want ERROR 1153 naming max_statement_bytes", err)
		}
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
			t.Fatalf("the session after the refusal: %v", err)
		}
		if evs := deniedFor(t, a, "max-statement-bytes"); len(evs) != 1 {
			t.Fatalf("%d denial events, want 1", len(evs))
		}
	})
}

// TestMaxStatementBytesPerDatabase: a database's own limits block
// overrides the global one.
func TestMaxStatementBytesPerDatabase(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{Extra: "limits: {max_statement_bytes: 1048576}\n",
		Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    limits: {max_statement_bytes: 4096}
    credentials:
      read: {user: %s, password: x}
`, testenv.PGAddr, db.Name, testenv.RoleRO)})
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	if _, err := c.Exec(context.Background(), bigComment(3000)); err != nil {
		t.Fatalf("3 kB statement: %v", err)
	}
	if _, err := c.Exec(context.Background(), bigComment(5000)); pgCode(err) != "54000" {
		t.Fatalf("5 kB statement over the database's 4096: %v", err)
	}
}

// TestLongDataOverLimit: a MySQL parameter sent as long data
// (COM_STMT_SEND_LONG_DATA) in a packet over max_statement_bytes is
// refused as the server refuses long data it cannot take: the packet gets
// no answer (the client waits for none) and the statement's execution
// fails with ERR 1153, audited as denied with the statement's text; the
// statement and the session stay usable. One packet below the memory
// threshold, or a parameter split into many (audited once).
func TestLongDataOverLimit(t *testing.T) {
	my := testenv.NewMyDB(t)
	my.Exec("CREATE TABLE t (id int PRIMARY KEY, v longtext)")
	a := testenv.StartMySQL(t, my, testenv.Options{Databases: testenv.MyDatabases(my.Name, "    limits: {max_statement_bytes: 4096}\n")})
	ctx := context.Background()
	// With maxAllowedPacket at 16 KiB, a parameter of 8 KiB or more goes
	// as long data, in packets of up to 16 KiB.
	d := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", "interpolateParams=false&maxAllowedPacket=16384"))
	d.SetMaxOpenConns(1)
	conn, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sel, err := conn.PrepareContext(ctx, "SELECT LENGTH(?)")
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	for i, size := range []int{10 << 10, 100 << 10} {
		var n int
		err := sel.QueryRowContext(ctx, strings.Repeat("x", size)).Scan(&n)
		if code, _ := testenv.MyErr(err); code != 1153 || !strings.Contains(err.Error(), "max_statement_bytes") {
			t.Fatalf("%d bytes of long data: %v, want ERROR 1153 naming max_statement_bytes", size, err)
		}
		if err := sel.QueryRowContext(ctx, "abc").Scan(&n); err != nil || n != 3 {
			t.Fatalf("the statement after refused long data: %d, %v", n, err)
		}
		if err := conn.QueryRowContext(ctx, "SELECT 42").Scan(&n); err != nil || n != 42 {
			t.Fatalf("the session after refused long data: %v", err)
		}
		evs := deniedFor(t, a, "max-statement-bytes")
		if len(evs) != i+1 || evs[0].Text != "SELECT LENGTH(?)" {
			t.Fatalf("%d denial events (%+v), want %d of SELECT LENGTH(?)", len(evs), evs, i+1)
		}
	}
}

// freezer is a TCP proxy to an upstream that stops passing the upstream's
// bytes on once frozen, as a hung server would (the connection stays open).
type freezer struct {
	ln     net.Listener
	to     string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, to string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, to: to}
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, u)
			f.mu.Unlock()
			go io.Copy(u, c)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := u.Read(buf)
					for f.frozen.Load() {
						time.Sleep(10 * time.Millisecond)
					}
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						c.Close()
						return
					}
				}
			}()
		}
	}()
	return f
}

func (f *freezer) addr() string { return f.ln.Addr().String() }

// TestHungUpstream: an upstream that stops answering mid-session does not
// hold the session forever: after the statement timeout and a grace, the
// client gets an error saying the outcome is unknown, on both engines.
func TestHungUpstream(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		f := newFreezer(t, testenv.PGAddr)
		a := testenv.Start(t, db, testenv.Options{Extra: "limits: {statement_timeout: 1s}\n",
			Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
`, f.addr(), db.Name, testenv.RoleRO)})
		c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
		var timeout string
		if err := c.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&timeout); err != nil || timeout != "1s" {
			t.Fatalf("upstream statement_timeout = %q (%v), want 1s from limits.statement_timeout", timeout, err)
		}
		f.frozen.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		_, err := c.Exec(ctx, "SELECT 1")
		if err == nil || pgCode(err) != "57P01" || !strings.Contains(err.Error(), "outcome is unknown") {
			t.Fatalf("statement on a hung upstream: %v, want 57P01 saying the outcome is unknown", err)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		my := testenv.NewMyDB(t)
		f := newFreezer(t, testenv.MyAddr)
		a := testenv.StartMySQL(t, my, testenv.Options{Extra: "limits: {statement_timeout: 1s}\n",
			Databases: strings.Replace(testenv.MyDatabases(my.Name, ""), testenv.MyAddr, f.addr(), 1)})
		d := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", ""))
		d.SetMaxOpenConns(1)
		var timeout float64
		if err := d.QueryRow("SELECT @@max_statement_time").Scan(&timeout); err != nil || timeout != 1 {
			t.Fatalf("upstream max_statement_time = %v (%v), want 1 from limits.statement_timeout", timeout, err)
		}
		f.frozen.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var n int
		err := d.QueryRowContext(ctx, "SELECT 1").Scan(&n)
		if code, _ := testenv.MyErr(err); code != 1927 || !strings.Contains(err.Error(), "outcome is unknown") {
			t.Fatalf("statement on a hung upstream: %v, want ERROR 1927 saying the outcome is unknown", err)
		}
	})
}

// TestUnknownWrite: a write forwarded to an upstream that then hangs never
// gets its result: the session ends after the statement timeout and the
// write is recorded unknown, ref its started event.
func TestUnknownWrite(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY)")
	f := newFreezer(t, testenv.PGAddr)
	// Unguarded writes (no blast radius, no undo) get a started event.
	a := testenv.Start(t, db, testenv.Options{Extra: "limits: {statement_timeout: 1s}\n",
		Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    undo: "off"
    guardrails: {disable: [blast-radius]}
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
`, f.addr(), db.Name, testenv.RoleRO, testenv.RoleRW)})
	c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	f.frozen.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "INSERT INTO t VALUES (1)"); pgCode(err) != "57P01" {
		t.Fatalf("write on a hung upstream: %v, want 57P01", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.Audit.Sync(context.Background())
		evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventStatement, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		var started, unknown *airlock.Event
		for _, e := range evs {
			switch {
			case e.Action == airlock.ActionStarted && e.Text == "INSERT INTO t VALUES (1)":
				started = e
			case e.Action == "unknown":
				unknown = e
			}
		}
		if started != nil && unknown != nil {
			if unknown.Ref != fmt.Sprint(started.ID) || unknown.Text != started.Text {
				t.Fatalf("unknown event %+v does not refer to the started event %d", unknown, started.ID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events: started %+v, unknown %+v", started, unknown)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStatementTimeoutPerLevel: the upstream statement timeout follows the
// session's level when limits.statement_timeout is a mapping, and a
// client's own startup setting wins.
func TestStatementTimeoutPerLevel(t *testing.T) {
	a := testenv.Start(t, testenv.NewDB(t), testenv.Options{Extra: "limits: {statement_timeout: {read: 2s, write: 3s}}\n"})
	for _, tc := range []struct{ user, params, want string }{
		{"alice", "", "2s"},
		{"wanda", "", "3s"},
		{"alice", "&statement_timeout=7000", "7s"},
	} {
		c := testenv.Connect(t, a.URL(tc.user, a.Token(tc.user, 0), "app")+tc.params)
		var got string
		if err := c.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&got); err != nil || got != tc.want {
			t.Errorf("%s%s: statement_timeout %q (%v), want %s", tc.user, tc.params, got, err, tc.want)
		}
		c.Close(context.Background())
	}
}
