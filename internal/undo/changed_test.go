package undo_test

import (
	"context"
	"testing"

	"airlock/internal/testenv"
	"airlock/internal/undo"
)

// viewCount is what ChangedRows counted before it read pg_class directly.
const viewCount = "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_catalog.pg_stat_xact_user_tables WHERE schemaname <> 'airlock'"

// TestChangedRowsMatchesTheView: ChangedRows counts what the statistics
// view counts, rows changed by triggers, cascades, data-modifying CTEs,
// partitions, temporary tables and TOASTed values included, and airlock's
// own schema left out.
func TestChangedRowsMatchesTheView(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE SCHEMA airlock;
		CREATE TABLE airlock.own (x int);
		CREATE SCHEMA other;
		CREATE TABLE p (id int PRIMARY KEY, body text);
		CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES p ON DELETE CASCADE);
		CREATE TABLE other.log (n int);
		CREATE FUNCTION logit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO other.log VALUES (1); INSERT INTO airlock.own VALUES (1); RETURN NEW; END $$;
		CREATE TRIGGER t AFTER INSERT ON c FOR EACH ROW EXECUTE FUNCTION logit();
		CREATE TABLE parted (k int) PARTITION BY RANGE (k);
		CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);`)
	ctx := context.Background()
	c := testenv.Connect(t, testenv.AdminURL(db.Name))
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	counts := func(step string, want int64) {
		t.Helper()
		var got, view int64
		if err := tx.QueryRow(ctx, undo.ChangedRows).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, viewCount).Scan(&view); err != nil {
			t.Fatal(err)
		}
		if got != view || got != want {
			t.Fatalf("after %s: ChangedRows %d, the view %d, want %d", step, got, view, want)
		}
	}
	counts("nothing", 0)
	for _, s := range []struct {
		sql  string
		want int64
	}{
		{"INSERT INTO p SELECT g, repeat('x', 100000) FROM generate_series(1, 3) g", 3},
		{"INSERT INTO c VALUES (1, 1), (2, 1), (3, 2)", 3 + 3 + 3}, // + other.log, not airlock.own
		{"DELETE FROM p WHERE id = 1", 9 + 1 + 2},                  // the cascade
		{"WITH u AS (UPDATE p SET body = 'y' RETURNING id) INSERT INTO parted SELECT id FROM u", 12 + 2 + 2},
		{"CREATE TEMP TABLE tmp AS SELECT 1 AS x", 16 + 1},
		{"INSERT INTO airlock.own VALUES (2)", 17},
	} {
		if _, err := tx.Exec(ctx, s.sql); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
		counts(s.sql, s.want)
	}
}
