package postgres

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/cputime"
)

// BenchmarkPipeline measures the audit pipeline end to end on the
// PostgreSQL store (a fresh database on 127.0.0.1:5432, synchronous_commit
// on): events appended by concurrent sessions until every one is durable.
// It reports events/s and this process's CPU time per event (the server's
// own CPU is not included), after checking that the store holds every
// event appended, densely numbered (none lost).
//
//   - reads: 8 sessions append read statements' events and never wait,
//     then one Sync (throughput);
//
//   - writes: 8 sessions each append a write's "started" event and wait
//     until it is durable (group commit);
//
//   - reads-2-gateways: two audit logs on two store handles (two gateways)
//     append to the one chain at once, 4 sessions each.
//
//     go test -run '^$' -bench Pipeline -benchtime 200000x ./internal/store/postgres
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []struct {
		name     string
		wait     bool
		gateways int
	}{{"reads", false, 1}, {"writes", true, 1}, {"reads-2-gateways", false, 2}} {
		b.Run(c.name, func(b *testing.B) {
			_, url := open(b, Options{})
			var logs []*audit.Log
			for g := range c.gateways {
				st, err := Open(b.Context(), url, Options{Gateway: fmt.Sprintf("gw_%d", g)})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				l, err := audit.Open(b.Context(), st, audit.Options{MaxBatch: benchBatch})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close(b.Context())
				logs = append(logs, l)
			}
			const sessions = 8
			per := (b.N + sessions - 1) / sessions
			cpu := cputime.Process()
			b.ResetTimer()
			var wg sync.WaitGroup
			for s := range sessions {
				l := logs[s%len(logs)]
				wg.Go(func() {
					sid := fmt.Sprintf("s_%010d", s)
					for i := range per {
						t, err := l.Append(benchEvent(sid, i))
						if err != nil {
							b.Error(err)
							return
						}
						if c.wait {
							if err := l.Wait(b.Context(), t); err != nil {
								b.Error(err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			for _, l := range logs {
				if err := l.Sync(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cpu = cputime.Process() - cpu
			st, err := Open(b.Context(), url, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var n, maxID int64
			if err := st.pool.QueryRow(b.Context(), `SELECT COALESCE(sum(events), 0)::bigint, COALESCE(max(last_id), 0) FROM event_batches`).Scan(&n, &maxID); err != nil {
				b.Fatal(err)
			}
			if n != int64(per*sessions) || maxID != n {
				b.Fatalf("stored %d events (largest ID %d), appended %d", n, maxID, per*sessions)
			}
			total := float64(per * sessions)
			b.ReportMetric(total/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/total/1e3, "cpu-us/event")
		})
	}
}

// benchEvent is the event a session's Done makes for one pgbench -S query.
func benchEvent(sid string, i int) *airlock.Event {
	return &airlock.Event{
		Type: airlock.EventStatement, Action: airlock.ActionExecuted, Time: time.Now().UTC(),
		User: "reader", Database: "bench", SessionID: sid, ClientAddr: "127.0.0.1", Application: "pgbench",
		Text:          fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", 1+i*7919%1000000),
		StatementKind: "select", Level: "read", Tables: []string{"public.pgbench_accounts"},
		Decision: airlock.DecisionAllowed, Rows: 1, DurationMS: 0.123,
	}
}

// benchBatch is audit.Options.MaxBatch (BENCH_BATCH; default: the
// gateway's for this store, MaxBatch).
var benchBatch = func() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_BATCH")); err == nil && n > 0 {
		return n
	}
	return MaxBatch
}()
