package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"airlock/internal/testenv"
)

// TestIrreversibleWriteIsAnnounced: under undo: best_effort, a write that
// cannot be undone (no primary key, or a database not prepared) runs and
// the client is told so as it runs: a NOTICE on PostgreSQL, a warning on
// MariaDB. A write that can be undone gets no such word.
func TestIrreversibleWriteIsAnnounced(t *testing.T) {
	const want = "airlock: this write cannot be undone: "
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		env := startPGUndo(t, "", "best_effort")
		cfg, err := pgx.ParseConfig(env.a.URL("wanda", env.a.Token("wanda", 0), "app"))
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var notices []string
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			mu.Lock()
			notices = append(notices, n.Severity+" "+n.Message)
			mu.Unlock()
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		said := func(sql string) string {
			t.Helper()
			mu.Lock()
			notices = nil
			mu.Unlock()
			if _, err := c.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			mu.Lock()
			defer mu.Unlock()
			return strings.Join(notices, "\n")
		}
		if got := said("UPDATE a SET t = 'x' WHERE id = 1"); !strings.Contains(got, "NOTICE "+want+"database app is not prepared for undo") {
			t.Errorf("unprepared database: notices %q", got)
		}
		prepare(t, env)
		if got := said("UPDATE nopk SET y = 'z' WHERE x = 1"); !strings.Contains(got, "NOTICE "+want+"table public.nopk has no primary key") {
			t.Errorf("table without a key: notices %q", got)
		}
		if got := said("UPDATE a SET t = 'y' WHERE id = 1"); strings.Contains(got, want) {
			t.Errorf("an undoable write was announced as irreversible: %q", got)
		}
	})
	t.Run("mariadb", func(t *testing.T) {
		env := startMyUndo(t, "", "best_effort")
		pool := testenv.OpenMy(t, env.a.MyDSN("wanda", env.a.Token("wanda", 0), "app", ""))
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		said := func(sql string) string {
			t.Helper()
			if _, err := c.ExecContext(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			return strings.Join(myWarnings(t, c), "\n")
		}
		if got := said("UPDATE a SET t = 'x' WHERE id = 1"); !strings.Contains(got, "Warning 1642 "+want+"database app is not prepared for undo") {
			t.Errorf("unprepared database: warnings %q", got)
		}
		prepare(t, env)
		if got := said("UPDATE nopk SET y = 'z' WHERE x = 1"); !strings.Contains(got, "Warning 1642 "+want+"table "+env.table("nopk")+" has no primary key") {
			t.Errorf("table without a key: warnings %q", got)
		}
		if got := said("UPDATE a SET t = 'y' WHERE id = 1"); strings.Contains(got, want) {
			t.Errorf("an undoable write was announced as irreversible: %q", got)
		}
	})
}

// TestCaptureLostMidSession: once a session's connection has found its
// database prepared, airlock reads a captured write's rows in the same
// flush as the write. When the capture goes away in between (the airlock
// schema dropped by someone else), that read fails and takes the write's
// transaction with it: the write is denied, rolled back whole, and the
// session goes on; its next write finds the database unprepared and runs,
// announced as irreversible. Both protocols.
func TestCaptureLostMidSession(t *testing.T) {
	ctx := context.Background()
	env := startPGUndo(t, "", "best_effort")
	prepare(t, env)
	c := testenv.Connect(t, env.a.URL("wanda", env.a.Token("wanda", 0), "app"))
	defer c.Close(ctx)
	pc := c.PgConn()
	simple := func(sql string) error {
		_, err := pc.Exec(ctx, sql).ReadAll()
		return err
	}
	extended := func(sql string) error {
		_, err := c.Exec(ctx, sql, 1)
		return err
	}
	for _, run := range []struct {
		name string
		exec func(string) error
	}{{"simple", simple}, {"extended", extended}} {
		t.Run(run.name, func(t *testing.T) {
			if run.name == "extended" {
				prepare(t, env)
			}
			q := "UPDATE a SET t = 'before' WHERE id = 1"
			if run.name == "extended" {
				q = "UPDATE a SET t = 'before' WHERE id = $1"
			}
			if err := run.exec(q); err != nil {
				t.Fatal(err)
			}
			env.exec("DROP SCHEMA airlock CASCADE")
			err := run.exec(strings.Replace(q, "'before'", "'lost'", 1))
			if err == nil || !strings.Contains(err.Error(), "undo capture went away") {
				t.Fatalf("a write whose capture went away: %v", err)
			}
			if got := env.queryInt("SELECT count(*) FROM a WHERE id = 1 AND t = 'before'"); got != 1 {
				t.Fatalf("the denied write changed the row (%d rows still 'before')", got)
			}
			if s := pc.TxStatus(); s != 'I' {
				t.Fatalf("status %c after the denial, want I", s)
			}
			if err := run.exec(strings.Replace(q, "'before'", "'after'", 1)); err != nil {
				t.Fatalf("the next write: %v", err)
			}
			if got := env.queryInt("SELECT count(*) FROM a WHERE id = 1 AND t = 'after'"); got != 1 {
				t.Fatal("the next write did not run")
			}
		})
	}
}
