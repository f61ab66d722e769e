package audit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/cputime"
	"airlock/internal/store/sqlite"
)

// BenchmarkPipeline measures the audit pipeline end to end on the SQLite
// store (in a temporary directory on the test's disk, fsynced): events
// appended by concurrent sessions until every one of them is durable. It
// reports events/s and the process's CPU time per event (user and system,
// from getrusage: the sessions' Append, the writer's chaining and
// encoding, SQLite's inserts, commits and fsyncs), after checking that the
// store holds every event appended.
//
//   - reads: 8 sessions append read statements' events as fast as the
//     writer takes them and never wait, then one Sync (throughput);
//   - reads-6000/s: the same at 6,000 events/s, the pace of pgbench -S
//     through airlock, so that batches are as small as they are there
//     (the pacing itself, a sleep per event, costs about 9 µs of CPU per
//     event on the reference machine: see docs/benchmarks.md);
//   - writes: 8 sessions each append a write's "started" event and wait
//     until it is durable (group commit: concurrent waits share an fsync).
//
// BENCH_DELAY (a Go duration) sets audit.Options.MaxDelay.
//
//	go test -run '^$' -bench Pipeline -benchtime 100000x ./internal/audit
func BenchmarkPipeline(b *testing.B) {
	for _, c := range []struct {
		name string
		wait bool
		rate int // events/s from all sessions together; 0: as fast as they can
	}{{"reads", false, 0}, {"reads-6000/s", false, 6000}, {"writes", true, 0}} {
		b.Run(c.name, func(b *testing.B) {
			db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "airlock.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			l, err := audit.Open(b.Context(), db, audit.Options{MaxDelay: benchDelay})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close(b.Context())
			const sessions = 8
			per := (b.N + sessions - 1) / sessions
			cpu := cputime.Process()
			b.ResetTimer()
			var wg sync.WaitGroup
			for s := range sessions {
				wg.Go(func() {
					sid := fmt.Sprintf("s_%010d", s)
					start := time.Now()
					for i := range per {
						if c.rate > 0 {
							// Paced like a client that waits for each answer.
							time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second * sessions / time.Duration(c.rate))))
						}
						ev := statementEvent(sid, i)
						t, err := l.Append(ev)
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
			if err := l.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu = cputime.Process() - cpu
			// None lost: the writer numbers events densely from 1.
			last, err := db.LastEvent(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if last == nil || last.ID != int64(per*sessions) {
				b.Fatalf("stored %v events, appended %d", last, per*sessions)
			}
			n := float64(per * sessions)
			b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/n/1e3, "cpu-us/event")
		})
	}
}

var benchDelay, _ = time.ParseDuration(os.Getenv("BENCH_DELAY"))

// statementEvent is the event a session's Done makes for one pgbench -S
// query.
func statementEvent(sid string, i int) *airlock.Event {
	return &airlock.Event{
		Type: airlock.EventStatement, Action: airlock.ActionExecuted,
		User: "reader", Database: "bench", SessionID: sid, ClientAddr: "127.0.0.1", Application: "pgbench",
		Text:          fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", 1+i*7919%1000000),
		StatementKind: "select", Level: "read", Tables: []string{"public.pgbench_accounts"},
		Decision: airlock.DecisionAllowed, Rows: 1, DurationMS: 0.123,
	}
}
