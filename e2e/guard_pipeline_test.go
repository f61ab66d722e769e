package e2e

import (
	"context"
	"strings"
	"testing"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestGuardedWritePipeline: a guarded write goes upstream in one flush
// with airlock's own statements around it. A client statement failing in
// that flush (a simple Query, a Query of several statements, an Execute
// of a batch) leaves the transaction as PostgreSQL leaves it and changes
// nothing; a read, a savepoint and a rollback to it after a guarded write
// in a block see the order the client sent them in; and DISCARD ALL does
// not break the guarded writes that follow it.
func TestGuardedWritePipeline(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY)")
	a := testenv.Start(t, db, testenv.Options{})
	ctx := context.Background()
	wanda := a.Token("wanda", 0)
	// only reports whether the table holds exactly the ids listed.
	only := func(ids string) bool {
		return db.QueryInt("SELECT count(*) FROM t") == db.QueryInt("SELECT count(*) FROM t WHERE id IN ("+ids+")") &&
			db.QueryInt("SELECT count(*) FROM t WHERE id IN ("+ids+")") == int64(len(strings.Split(ids, ",")))
	}

	t.Run("simple", func(t *testing.T) {
		c := testenv.Connect(t, a.URL("wanda", wanda, "app"))
		defer c.Close(ctx)
		pc := c.PgConn()
		exec := func(sql string) error {
			_, err := pc.Exec(ctx, sql).ReadAll()
			return err
		}
		if err := exec("INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		if err := exec("INSERT INTO t VALUES (1)"); pgCode(err) != "23505" {
			t.Fatalf("duplicate insert: %v", err)
		}
		if s := pc.TxStatus(); s != 'I' {
			t.Fatalf("after a failed write outside a block: status %c, want I", s)
		}
		if err := exec("INSERT INTO t VALUES (2); INSERT INTO t VALUES (2)"); pgCode(err) != "23505" {
			t.Fatalf("query of two inserts of one key: %v", err)
		}
		if s := pc.TxStatus(); s != 'I' {
			t.Fatalf("after a failed query of two writes: status %c, want I", s)
		}
		// In a block: the failure aborts the client's transaction.
		if err := exec("BEGIN"); err != nil {
			t.Fatal(err)
		}
		if err := exec("INSERT INTO t VALUES (3)"); err != nil {
			t.Fatal(err)
		}
		if err := exec("INSERT INTO t VALUES (3)"); pgCode(err) != "23505" {
			t.Fatalf("duplicate insert in a block: %v", err)
		}
		if s := pc.TxStatus(); s != 'E' {
			t.Fatalf("after a failed write in a block: status %c, want E", s)
		}
		if err := exec("INSERT INTO t VALUES (4)"); pgCode(err) != "25P02" {
			t.Fatalf("a write in a failed block: %v", err)
		}
		if err := exec("ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		// Reads, savepoints and rollbacks after guarded writes in a block.
		if err := exec("BEGIN"); err != nil {
			t.Fatal(err)
		}
		if err := exec("INSERT INTO t VALUES (5)"); err != nil {
			t.Fatal(err)
		}
		res, err := pc.Exec(ctx, "SELECT id FROM t ORDER BY id").ReadAll()
		if err != nil || len(res) != 1 || len(res[0].Rows) != 2 || string(res[0].Rows[1][0]) != "5" {
			t.Fatalf("read after a guarded write in a block: %v %v", res, err)
		}
		for _, q := range []string{"SAVEPOINT s", "INSERT INTO t VALUES (6)", "ROLLBACK TO SAVEPOINT s", "INSERT INTO t VALUES (7)", "INSERT INTO t VALUES (8)", "COMMIT"} {
			if err := exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if s := pc.TxStatus(); s != 'I' {
			t.Fatalf("after COMMIT: status %c, want I", s)
		}
		if !only("1,5,7,8") {
			t.Fatalf("rows: want 1, 5, 7, 8")
		}
	})

	t.Run("extended", func(t *testing.T) {
		cfg, _ := pgx.ParseConfig(a.URL("wanda", wanda, "app"))
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		b := &pgx.Batch{}
		b.Queue("INSERT INTO t VALUES ($1)", 10)
		b.Queue("INSERT INTO t VALUES ($1)", 10)
		b.Queue("INSERT INTO t VALUES ($1)", 11)
		br := c.SendBatch(ctx, b)
		_, e1 := br.Exec()
		_, e2 := br.Exec()
		_, e3 := br.Exec()
		br.Close()
		if e1 != nil || pgCode(e2) != "23505" || e3 == nil {
			t.Fatalf("batch: %v / %v / %v", e1, e2, e3)
		}
		b = &pgx.Batch{}
		b.Queue("INSERT INTO t VALUES ($1)", 12)
		b.Queue("INSERT INTO t VALUES ($1)", 13)
		if err := c.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ($1)", 14); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ($1)", 14); pgCode(err) != "23505" {
			t.Fatalf("duplicate insert in a block: %v", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ($1)", 15); pgCode(err) != "25P02" {
			t.Fatalf("a write in a failed block: %v", err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		// Reads, savepoints and rollbacks after guarded writes in a block.
		tx, err = c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES ($1)", 16); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM t WHERE id >= $1", 10).Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows from 10 in the block: %d %v, want 3 (12, 13, 16)", n, err)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"SAVEPOINT s", nil}, {"INSERT INTO t VALUES ($1)", []any{17}}, {"ROLLBACK TO SAVEPOINT s", nil},
			{"INSERT INTO t VALUES ($1)", []any{18}}, {"INSERT INTO t VALUES ($1)", []any{19}},
		} {
			if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s %v: %v", q.sql, q.args, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRow(ctx, "SELECT count(*) FROM t WHERE id >= $1", 10).Scan(&n); err != nil || n != 5 {
			t.Fatalf("rows from 10: %d %v, want 5 (12, 13, 16, 18, 19)", n, err)
		}
	})

	t.Run("discard", func(t *testing.T) {
		cfg, _ := pgx.ParseConfig(a.URL("wanda", wanda, "app"))
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		pc := c.PgConn()
		for i, q := range []string{"DISCARD ALL", "INSERT INTO t VALUES (20)", "DISCARD ALL"} {
			if _, err := pc.Exec(ctx, q).ReadAll(); err != nil {
				t.Fatalf("%d %s: %v", i, q, err)
			}
		}
		if _, err := c.Exec(ctx, "INSERT INTO t VALUES ($1)", 21); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "INSERT INTO t VALUES ($1)", 23); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM t WHERE id IN (20, 21, 23)").Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows 20, 21, 23: %d %v, want 3", n, err)
		}
	})

	// airlock keeps the plans of its own queries prepared on the upstream
	// connection; a client that drops them (all of them, or one by the
	// name it reads from pg_prepared_statements, in a block that then
	// rolls back: deallocation is not transactional) only makes airlock
	// prepare them again.
	t.Run("deallocate", func(t *testing.T) {
		c := testenv.Connect(t, a.URL("wanda", wanda, "app"))
		defer c.Close(ctx)
		pc := c.PgConn()
		exec := func(sql string) error {
			_, err := pc.Exec(ctx, sql).ReadAll()
			return err
		}
		if err := exec("INSERT INTO t VALUES (30)"); err != nil {
			t.Fatal(err)
		}
		names := func() []string {
			res, err := pc.Exec(ctx, "SELECT name FROM pg_prepared_statements ORDER BY name").ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range res[0].Rows {
				out = append(out, string(r[0]))
			}
			return out
		}
		own := names()
		if len(own) == 0 {
			t.Fatal("no plan of airlock's is prepared after a guarded write (its own queries are planned every time)")
		}
		steps := []string{"BEGIN", "DEALLOCATE ALL", "INSERT INTO t VALUES (31)", "ROLLBACK", "INSERT INTO t VALUES (32)",
			"DEALLOCATE " + own[0], "INSERT INTO t VALUES (33)"}
		for i, q := range steps {
			if err := exec(q); err != nil {
				t.Fatalf("%d %s: %v", i, q, err)
			}
		}
		if got := db.QueryInt("SELECT count(*) FROM t WHERE id BETWEEN 30 AND 39"); got != 3 || db.QueryInt("SELECT count(*) FROM t WHERE id IN (30, 32, 33)") != 3 {
			t.Errorf("rows 30 to 39: %d, want 30, 32 and 33", got)
		}
	})
}
