package mysqlwire_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock/internal/mysqlwire"
	"airlock/internal/testenv/mydb"
)

// TestKillQuery: KILL QUERY from a second connection of the same user,
// with the connection id airlock gave (as the mysql client and
// Connector/J send it) or the upstream thread id (CONNECTION_ID()),
// cancels the statement of the first; another user's KILL, or a KILL of
// anything else, is decided like any statement (admin).
func TestKillQuery(t *testing.T) {
	db := mydb.New(t)
	e := startEnv(t, db, envOptions{databases: mydb.Databases(db.Name, "    guardrails: {disable: [resource]}\n")})
	tok := e.token("alice")
	killer := mydb.Open(t, e.dsn("alice", tok, ""))
	wanda := mydb.Open(t, e.dsn("wanda", e.token("wanda"), ""))

	for _, how := range []string{"airlock id", "upstream id"} {
		t.Run(how, func(t *testing.T) {
			victim := raw(t, e, 0)
			up, err := victim.Query("SELECT CONNECTION_ID()")
			if err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprint(victim.ID())
			if how == "upstream id" {
				id = up[0][0]
			}
			// Someone else cannot.
			if _, err := wanda.Exec("KILL QUERY " + id); err == nil || !strings.Contains(err.Error(), "airlock: denied") {
				t.Fatalf("wanda's KILL QUERY: %v", err)
			}
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				_, err := victim.Query("SELECT SLEEP(20)")
				done <- err
			}()
			time.Sleep(300 * time.Millisecond)
			if _, err := killer.Exec("KILL QUERY " + id); err != nil {
				t.Fatalf("KILL QUERY %s: %v", id, err)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the statement was not cancelled")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("cancelled after %s", d)
			}
			if rows, err := victim.Query("SELECT 1"); err != nil || rows[0][0] != "1" {
				t.Fatalf("victim after the kill: %v %v", rows, err)
			}
		})
	}
	if _, err := killer.Exec("KILL QUERY 4242"); err == nil || !strings.Contains(err.Error(), "airlock: denied") {
		t.Fatalf("KILL QUERY of no session: %v", err)
	}
	if _, err := killer.Exec("KILL 4242"); err == nil || !strings.Contains(err.Error(), "airlock: denied") {
		t.Fatalf("KILL: %v", err)
	}
}

// TestSessionEnd: when the gateway ends a session (a revoked token), the
// statement running upstream is killed and the client gets ERR 1927
// (70100) with the reason within a second, idle or busy; the connection is
// closed.
func TestSessionEnd(t *testing.T) {
	db := mydb.New(t)
	e := startEnv(t, db, envOptions{databases: mydb.Databases(db.Name, "    guardrails: {disable: [resource]}\n")})
	ctx := context.Background()

	for _, busy := range []bool{false, true} {
		t.Run(fmt.Sprintf("busy %v", busy), func(t *testing.T) {
			secret, tok, err := e.access.IssueTokenDirect(ctx, "alice", 0, "test")
			if err != nil {
				t.Fatal(err)
			}
			r, err := mysqlwire.RawDial(e.addr, "alice", secret, "app", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			up, err := r.Query("SELECT CONNECTION_ID()")
			if err != nil {
				t.Fatal(err)
			}
			if busy {
				if err := r.Send(append([]byte{0x03}, "SELECT SLEEP(30)"...)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond)
			}
			act, err := e.access.Authenticate(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := e.access.RevokeToken(ctx, act, tok.ID); err != nil {
				t.Fatal(err)
			}
			p, err := r.Read()
			if err != nil {
				t.Fatalf("no error packet: %v", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("the client heard after %s", d)
			}
			code, state, msg := mysqlwire.ERR(p)
			if code != 1927 || state != "70100" || msg != "airlock: session ended: the token was revoked" {
				t.Fatalf("ERR %d %s %q", code, state, msg)
			}
			if _, err := r.Read(); err == nil {
				t.Fatal("the connection stayed open")
			}
			// The upstream statement is gone too.
			if err := waitFor(5*time.Second, func() bool {
				return db.QueryInt("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = "+up[0][0]) == 0
			}); err != nil {
				t.Fatal("the upstream connection is still there")
			}
		})
	}
}

func waitFor(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
