package e2e

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestBadTokens: wrong, revoked and expired tokens get FATAL 28P01, and no
// token or password reaches the log.
func TestBadTokens(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()

	good := a.Token("alice", 0)
	revoked, revokedID := a.TokenID("alice", 0)
	if err := a.Access.RevokeToken(ctx, a.Actor(a.AdminToken), revokedID); err != nil {
		t.Fatal(err)
	}
	expired := a.Token("alice", time.Second)
	bobs := a.Token("bob", 0)
	time.Sleep(1100 * time.Millisecond)

	cases := []struct{ name, user, token string }{
		{"wrong", "alice", "alk_" + testenv.RandHex(20)},
		{"not a token", "alice", "hunter2"},
		{"revoked", "alice", revoked},
		{"expired", "alice", expired},
		{"another user's", "alice", bobs},
		{"unknown user", "mallory", good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := pgx.Connect(ctx, a.URL(tc.user, tc.token, "app"))
			if err == nil {
				c.Close(ctx)
				t.Fatal("connected")
			}
			if pgCode(err) != "28P01" {
				t.Fatalf("err = %v, want 28P01", err)
			}
		})
	}
	// psql says so too.
	out := psql(t, a.Host(), a.Port(), "alice", revoked, "app", "SELECT 1;")
	if !strings.Contains(out, `password authentication failed for user "alice"`) {
		t.Fatalf("psql: %s", out)
	}
	// The good token works, for its own user only.
	c := testenv.Connect(t, a.URL("alice", good, "app"))
	c.Close(ctx)

	logs := a.Logs()
	for _, secret := range []string{good, revoked, expired, bobs, a.AdminToken, a.UpstreamPassword, "hunter2"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret %q", secret[:8])
		}
	}
}

// TestCancel: Ctrl-C in psql during pg_sleep(30) cancels the upstream
// query, as does pgx's context cancellation.
func TestCancel(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{DatabaseExtra: testenv.SleepInRead})
	tok := a.Token("alice", 0)
	ctx := context.Background()

	running := func() int64 {
		return db.QueryInt("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'")
	}

	t.Run("psql SIGINT", func(t *testing.T) {
		cmd := exec.Command("psql", "-X", "-h", a.Host(), "-p", a.Port(), "-U", "alice", "-d", "app", "-c", "SELECT pg_sleep(30)")
		cmd.Env = append(cmd.Environ(), "PGPASSWORD="+tok, "PGSSLMODE=disable")
		out, start := interrupt(t, cmd, running)
		if !strings.Contains(out, "canceling statement due to user request") {
			t.Fatalf("psql output: %s", out)
		}
		if running() != 0 {
			t.Fatal("pg_sleep still running upstream")
		}
		t.Logf("cancelled in %s", time.Since(start))
	})

	t.Run("pgx context", func(t *testing.T) {
		c := testenv.Connect(t, a.URL("alice", tok, "app"))
		defer c.Close(ctx)
		qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := c.Exec(qctx, "SELECT pg_sleep(30)")
		if err == nil {
			t.Fatal("no error")
		}
		deadline := time.Now().Add(5 * time.Second)
		for running() != 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if running() != 0 {
			t.Fatal("pg_sleep still running upstream")
		}
	})
}

// interrupt starts a client that runs a long query, waits until running
// reports the query upstream, sends the client SIGINT (Ctrl-C) and waits
// for it to exit; it returns what the client printed and when the signal
// was sent.
func interrupt(t *testing.T, cmd *exec.Cmd, running func() int64) (string, time.Time) {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for running() == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the query never started upstream")
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s did not return after SIGINT; output: %s", cmd.Path, out.String())
	}
	return out.String(), start
}
