package e2e

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// BenchmarkSoftDrop measures what soft_drop costs on a large table
// (AIRLOCK_BENCH_SOFTDROP_MB, default 1024 MB of heap): the soft DROP
// TABLE and TRUNCATE through airlock, their restores, and a plain DROP and
// TRUNCATE of the same table directly on the database for comparison.
// Run with -benchtime=1x (docs/benchmarks.md).
func BenchmarkSoftDrop(b *testing.B) {
	mb := 1024
	if v := os.Getenv("AIRLOCK_BENCH_SOFTDROP_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("AIRLOCK_BENCH_SOFTDROP_MB=%q: want a number of megabytes", v)
		}
		mb = n
	}
	db, a, _, c := softDropEnvB(b)
	ctx := context.Background()
	direct := testenv.Connect(b, testenv.AdminURL(db.Name))
	defer direct.Close(ctx)
	// About 120 bytes a row with its header: rows for mb megabytes.
	rows := mb * 1024 * 1024 / 120
	fill := func(name string) {
		for _, q := range []string{
			"DROP TABLE IF EXISTS " + name,
			"CREATE TABLE " + name + " (id bigint PRIMARY KEY, grp int, payload text)",
			"INSERT INTO " + name + " SELECT g, g % 100, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, " + strconv.Itoa(rows) + ") g",
			"CREATE INDEX ON " + name + " (grp)",
			"VACUUM ANALYZE " + name,
		} {
			if _, err := direct.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
	}
	timed := func(conn *pgx.Conn, q string) time.Duration {
		start := time.Now()
		if _, err := conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		return time.Since(start)
	}
	restore := func() time.Duration {
		items := trashItemsB(b, a)
		start := time.Now()
		if _, err := a.Gateway.TrashRestore(ctx, a.Actor(a.AdminToken), items[0].ID, ""); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for range b.N {
		b.StopTimer()
		fill("big")
		var size int64
		direct.QueryRow(ctx, "SELECT pg_total_relation_size('big')").Scan(&size)
		b.ReportMetric(float64(size)/(1<<20), "table_MB")
		b.StartTimer()
		b.ReportMetric(timed(c, "DROP TABLE big").Seconds()*1000, "soft_drop_ms")
		b.ReportMetric(restore().Seconds()*1000, "restore_drop_ms")
		b.ReportMetric(timed(c, "TRUNCATE big").Seconds()*1000, "soft_truncate_ms")
		b.ReportMetric(restore().Seconds()*1000, "restore_truncate_ms")
		b.ReportMetric(timed(direct, "TRUNCATE big").Seconds()*1000, "plain_truncate_ms")
		b.StopTimer()
		fill("big")
		b.StartTimer()
		b.ReportMetric(timed(direct, "DROP TABLE big").Seconds()*1000, "plain_drop_ms")
	}
}
