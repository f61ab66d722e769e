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
