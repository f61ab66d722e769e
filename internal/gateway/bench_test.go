package gateway_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"airlock"

	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/cputime"
	"airlock/internal/gateway"
	"airlock/internal/policy"
	"airlock/internal/sqlclass/pg"
	"airlock/internal/store/sqlite"
	"airlock/internal/store/storetest"
)

// BenchmarkCheck measures the decision path of one simple query whose
// shape the classifier has seen (a cache hit): Session.Check (classify,
// substitute, qualify, decide) and, as "check+done", Check then Done, which
// builds the statement's audit event and queues it. The audit writer runs
// meanwhile, as in the gateway: check+done runs at the writer's pace (a
// full queue blocks Append) and its cpu-us/op, the process's CPU time per
// statement, includes the writer's work (chaining, SQLite, fsync).
//
//	go test -run '^$' -bench Check -benchmem ./internal/gateway
func BenchmarkCheck(b *testing.B) {
	for _, c := range []struct {
		name string
		done bool
	}{{"check", false}, {"check+done", true}} {
		b.Run(c.name, func(b *testing.B) {
			sess, al := benchSession(b)
			texts := make([]string, 1024)
			for i := range texts {
				texts[i] = fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", 1+i*7919%1000000)
			}
			if ch := sess.Check(b.Context(), texts[0]); !ch.Decision.Allowed {
				b.Fatalf("denied: %+v", ch.Decision)
			}
			b.ReportAllocs()
			cpu := cputime.Process()
			i := 0
			for b.Loop() {
				ch := sess.Check(b.Context(), texts[i%len(texts)])
				if !ch.Decision.Allowed {
					b.Fatalf("denied: %+v", ch.Decision)
				}
				if c.done {
					sess.Done(ch, 0, gateway.Outcome{Rows: 1, Tag: "SELECT 1"})
				}
				i++
			}
			if err := al.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N)/1e3, "cpu-us/op")
		})
	}
}

// benchSession opens a session of user alice (standing read) on database
// app; see newSession.
func benchSession(b *testing.B) (*gateway.Session, *audit.Log) {
	sess, al, _ := newSession(b, "alice")
	return sess, al
}

// newSession opens a session of user (alice: standing read; wanda:
// standing write) on database app, with the gateway wired as server.Start
// wires it (SQLite store, wrapped to fail writes on demand; audit log,
// policy with the built-in rules but blast-radius, undo off, the
// PostgreSQL classifier and its cache). The upstream is never dialled.
func newSession(tb testing.TB, user string) (*gateway.Session, *audit.Log, *storetest.Faulty) {
	return newSessionWith(tb, user, nil)
}

// newSessionWith is newSession with the adapter ad given at login.
func newSessionWith(tb testing.TB, user string, ad gateway.Adapter) (*gateway.Session, *audit.Log, *storetest.Faulty) {
	dir := tb.TempDir()
	path := filepath.Join(dir, "airlock.yaml")
	yaml := `listen: {http: "127.0.0.1:0"}
users: [{name: alice, groups: [eng]}, {name: wanda, groups: [ops]}]
databases:
  - {name: app, engine: postgres, address: "127.0.0.1:1", database: app, tls: disable, undo: "off",
     guardrails: {disable: [blast-radius]}, credentials: {read: {user: r, password: r}, write: {user: w, password: w}}}
policies:
  - {name: p, groups: [eng], databases: [app], standing: read}
  - {name: q, groups: [ops], databases: [app], standing: write}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, cfg.StorePath())
	if err != nil {
		tb.Fatal(err)
	}
	st := storetest.WithFaults(db)
	al, err := audit.Open(ctx, st, audit.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		tb.Fatal(err)
	}
	acc := access.New(st, al, cfg, nil, nil)
	if err := acc.SyncConfigUsers(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		st.SetFailWrites(nil)
		closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		al.Close(closeCtx)
		st.Close()
	})
	gw := gateway.New(gateway.Options{Config: cfg, Store: st, Audit: al, Policy: pol, Access: acc,
		Classifiers: map[airlock.Engine]gateway.Classifier{airlock.EnginePostgres: pg.New()}})
	_, tok, err := acc.IssueTokenDirect(ctx, user, 0, "test")
	if err != nil {
		tb.Fatal(err)
	}
	u, _, err := gw.Verifiers(ctx, user)
	if err != nil {
		tb.Fatal(err)
	}
	sess, err := gw.Open(ctx, gateway.Login{User: u, Token: tok, Database: cfg.DB("app"), ClientAddr: "127.0.0.1", Application: "test", Adapter: ad})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sess.Close)
	return sess, al, st
}
