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
	"airlock/internal/audit/seglog"
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
//     until it is durable (group commit: concurrent waits share an fsync);
//   - writes-1: one session does (ns/op is then the latency of one
//     Append and Wait).
//
// The seglog- variants put the audit segment log (internal/audit/seglog)
// in front of the store, as the server does for SQLite: an event is
// durable once its segment is fdatasynced; the benchmark ends when SQLite
// has indexed every event, so the CPU includes the indexing.
//
// BENCH_DELAY (a Go duration) sets audit.Options.MaxDelay.
//
//	go test -run '^$' -bench Pipeline -benchtime 100000x ./internal/audit
func BenchmarkPipeline(b *testing.B) {
	for _, store := range []string{"", "seglog-"} {
		for _, c := range []struct {
			name     string
			wait     bool
			rate     int // events/s from all sessions together; 0: as fast as they can
			sessions int
		}{{"reads", false, 0, 8}, {"reads-6000/s", false, 6000, 8}, {"writes", true, 0, 8}, {"writes-1", true, 0, 1}} {
			b.Run(store+c.name, func(b *testing.B) {
				db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "airlock.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				var st airlock.EventStore = db
				if store != "" {
					seg, err := seglog.Open(b.Context(), filepath.Join(b.TempDir(), "audit"), db, seglog.Options{})
					if err != nil {
						b.Fatal(err)
					}
					defer seg.Close()
					st = seg
				}
				l, err := audit.Open(b.Context(), st, audit.Options{MaxDelay: benchDelay})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close(b.Context())
				sessions := c.sessions
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
								time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second * time.Duration(sessions) / time.Duration(c.rate))))
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
				// Readers see every durable event: with the segment log,
				// this waits until SQLite has indexed them (counted in the
				// CPU, not in the latency of the waits above).
				if _, err := st.ListEvents(b.Context(), airlock.EventFilter{Limit: 1}); err != nil {
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
