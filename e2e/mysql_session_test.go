package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestMySQLCancel: Ctrl-C in the mariadb client and Connector/J's
// Statement.cancel() send KILL QUERY with the connection id airlock gave
// them, from a second connection; airlock kills the statement upstream.
func TestMySQLCancel(t *testing.T) {
	db := testenv.NewMyDB(t)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: testenv.MyDatabases(db.Name, testenv.SleepInRead)})
	tok := a.Token("alice", 0)
	host, port := a.MyHostPort()
	running := func() int64 {
		return db.QueryInt("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(30)%'")
	}

	t.Run("mariadb SIGINT", func(t *testing.T) {
		cmd := exec.Command("mariadb", "--no-defaults", "-h", host, "-P", port, "-u", "alice", "--password="+tok, "-e", "SELECT SLEEP(30)", "app")
		out, start := interrupt(t, cmd, running)
		if !strings.Contains(out, "ERROR 1317 (70100)") && !strings.Contains(out, "query aborted") {
			t.Fatalf("mariadb output: %s", out)
		}
		if err := waitUntil(5*time.Second, func() bool { return running() == 0 }); err != nil {
			t.Fatal("SLEEP still running upstream")
		}
		t.Logf("cancelled in %s", time.Since(start))
	})

	t.Run("connector/j cancel", func(t *testing.T) {
		out := javaProbe(t, jdbcURL(a.MySQLAddr.String(), "app", ""), "alice", tok, "cancel", "SELECT SLEEP(30)")
		if !strings.Contains(out, "cancelled in time") || !strings.Contains(out, "alive 1") {
			t.Fatalf("output:\n%s", out)
		}
		if running() != 0 {
			t.Fatal("SLEEP still running upstream")
		}
	})
}

// TestMySQLAccessEndsSessions: revoking the token ends its sessions at
// once: a running statement is killed upstream and the client gets ERR
// 1927 (70100) with the reason; an idle client gets it at its next
// statement; a new connection with the token is refused.
func TestMySQLAccessEndsSessions(t *testing.T) {
	db := testenv.NewMyDB(t)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: testenv.MyDatabases(db.Name, testenv.SleepInRead)})
	ctx := context.Background()
	secret, id := a.TokenID("alice", 0)
	busy := testenv.OpenMy(t, a.MyDSN("alice", secret, "app", ""))
	idle := testenv.OpenMy(t, a.MyDSN("alice", secret, "app", ""))
	if err := idle.Ping(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := busy.Exec("SELECT SLEEP(30)")
		errc <- err
	}()
	if err := waitUntil(10*time.Second, func() bool {
		return db.QueryInt("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(30)%'") == 1
	}); err != nil {
		t.Fatal("SLEEP never started")
	}
	start := time.Now()
	if err := a.Access.RevokeToken(ctx, a.Actor(a.AdminToken), id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		code, state := testenv.MyErr(err)
		if code != 1927 || state != "70100" || !strings.Contains(err.Error(), "airlock: session ended: the token was revoked") {
			t.Fatalf("busy session: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the busy session heard after %s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the busy session was not ended")
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(30)%'"); n != 0 {
		t.Error("SLEEP still running upstream")
	}
	// The idle connection was told and closed; the driver reports the
	// error, or notices the closed connection and opens a new one, which
	// the revoked token cannot.
	var one int
	err := idle.QueryRow("SELECT 1").Scan(&one)
	if code, _ := testenv.MyErr(err); code != 1927 && code != 1045 {
		t.Fatalf("idle session after revocation: %v", err)
	}
	err = testenv.OpenMy(t, a.MyDSN("alice", secret, "app", "")).Ping()
	if code, state := testenv.MyErr(err); code != 1045 || state != "28000" {
		t.Fatalf("new connection with the revoked token: %v", err)
	}
}

func waitUntil(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
