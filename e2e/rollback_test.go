package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/server"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// writeStory returns, for the INSERT statements of the audit, "text:
// action" lines in order, with the rolled_back events checked to refer to
// the executed event of the same statement.
func writeStory(t *testing.T, a *testenv.Airlock) []string {
	t.Helper()
	a.Audit.Sync(context.Background())
	evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventStatement, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*airlock.Event{}
	var story []string
	for _, e := range evs {
		byID[fmt.Sprint(e.ID)] = e
		if !strings.HasPrefix(e.Text, "INSERT") || e.Action == airlock.ActionStarted {
			continue
		}
		if e.Action == gateway.ActionRolledBack {
			ref := byID[e.Ref]
			if ref == nil || ref.Action != airlock.ActionExecuted || ref.Text != e.Text {
				t.Fatalf("rolled_back event %d refers to %q, not to the executed event of %q", e.ID, e.Ref, e.Text)
			}
		}
		story = append(story, e.Text+": "+e.Action)
	}
	return story
}

func waitStory(t *testing.T, a *testenv.Airlock, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := writeStory(t, a)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("write events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRolledBackWrites: a write whose transaction ends without commit (a
// ROLLBACK, a ROLLBACK TO SAVEPOINT, the client leaving before COMMIT) gets
// a rolled_back event referring to its executed event; committed and
// autocommitted writes do not; and the rolled-back write leaves nothing to
// undo. The same holds where writes are not guarded (blast radius and undo
// off), for writes inside an explicit transaction block.
func TestRolledBackWrites(t *testing.T) {
	// Guarded (the defaults: blast radius and undo) and not guarded.
	for _, guard := range []struct{ name, pg, my string }{
		{"guarded", "", ""},
		{"unguarded", unguardedPG, unguardedMy},
	} {
		t.Run(guard.name, func(t *testing.T) { rolledBackWrites(t, guard.pg, guard.my) })
	}
}

const (
	unguardedPG = "    undo: off\n    guardrails: {disable: [blast-radius]}\n"
	unguardedMy = "    undo: off\n    guardrails: {disable: [blast-radius]}\n"
)

func rolledBackWrites(t *testing.T, pgExtra, myExtra string) {
	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		db.Exec("CREATE TABLE t (id int PRIMARY KEY)")
		a := testenv.Start(t, db, testenv.Options{DatabaseExtra: pgExtra})
		ctx := context.Background()
		url := a.URL("wanda", a.Token("wanda", 0), "app")
		c := testenv.Connect(t, url)
		for _, q := range []string{
			"INSERT INTO t VALUES (1)",
			"BEGIN", "INSERT INTO t VALUES (2)", "ROLLBACK",
			"BEGIN", "INSERT INTO t VALUES (3)", "COMMIT",
			"BEGIN", "SAVEPOINT a", "INSERT INTO t VALUES (4)", "ROLLBACK TO SAVEPOINT a", "INSERT INTO t VALUES (5)", "COMMIT",
		} {
			testenv.MustExec(t, c, q)
		}
		c.Close(ctx)
		c = testenv.Connect(t, url)
		testenv.MustExec(t, c, "BEGIN")
		testenv.MustExec(t, c, "INSERT INTO t VALUES (6)")
		c.Close(ctx) // leaves before COMMIT
		waitStory(t, a, []string{
			"INSERT INTO t VALUES (1): executed",
			"INSERT INTO t VALUES (2): executed", "INSERT INTO t VALUES (2): rolled_back",
			"INSERT INTO t VALUES (3): executed",
			"INSERT INTO t VALUES (4): executed", "INSERT INTO t VALUES (4): rolled_back",
			"INSERT INTO t VALUES (5): executed",
			"INSERT INTO t VALUES (6): executed", "INSERT INTO t VALUES (6): rolled_back",
		})
		if n := db.QueryInt("SELECT count(*) FROM t"); n != 3 {
			t.Fatalf("%d rows, want 3 (1, 3, 5)", n)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		my := testenv.NewMyDB(t)
		my.Exec("CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB")
		a := testenv.StartMySQL(t, my, testenv.Options{Databases: testenv.MyDatabases(my.Name, myExtra)})
		ctx := context.Background()
		d := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", 0), "app", ""))
		conn, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO t VALUES (1)",
			"BEGIN", "INSERT INTO t VALUES (2)", "ROLLBACK",
			"BEGIN", "INSERT INTO t VALUES (3)", "COMMIT",
			"BEGIN", "INSERT INTO t VALUES (6)",
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		conn.Raw(func(dc any) error { return sql.ErrConnDone }) // drop it: leaves before COMMIT
		conn.Close()
		d.Close()
		waitStory(t, a, []string{
			"INSERT INTO t VALUES (1): executed",
			"INSERT INTO t VALUES (2): executed", "INSERT INTO t VALUES (2): rolled_back",
			"INSERT INTO t VALUES (3): executed",
			"INSERT INTO t VALUES (6): executed", "INSERT INTO t VALUES (6): rolled_back",
		})
		rows := my.QueryInt("SELECT count(*) FROM t")
		if rows != 2 {
			t.Fatalf("%d rows, want 2 (1, 3)", rows)
		}
	})
}

// TestImplicitTransactionWrites: writes in transactions the client never
// began are followed too. In a MySQL session with autocommit off (SET
// autocommit = 0, or the driver's connection option), each write waits
// for COMMIT: ROLLBACK or the client leaving records it rolled_back; COMMIT,
// DDL, BEGIN and SET autocommit = 1 commit it. In PostgreSQL, the writes
// of an extended-protocol batch, or of a Query of several statements, are
// rolled back by a later error in it. Guarded or not.
func TestImplicitTransactionWrites(t *testing.T) {
	for _, guard := range []struct{ name, pg, my string }{
		{"guarded", "", ""},
		{"unguarded", unguardedPG, unguardedMy},
	} {
		t.Run(guard.name, func(t *testing.T) { implicitTransactionWrites(t, guard.pg, guard.my) })
	}
}

func implicitTransactionWrites(t *testing.T, pgExtra, myExtra string) {
	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		db.Exec("CREATE TABLE t (id int PRIMARY KEY)")
		a := testenv.Start(t, db, testenv.Options{DatabaseExtra: pgExtra})
		ctx := context.Background()
		c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
		defer c.Close(ctx)
		batch := func(qs ...string) error {
			b := &pgx.Batch{}
			for _, q := range qs {
				b.Queue(q)
			}
			return c.SendBatch(ctx, b).Close()
		}
		if err := batch("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)", "SELECT 1/0"); err == nil {
			t.Fatal("a batch dividing by zero succeeded")
		}
		if err := batch("INSERT INTO t VALUES (3)", "INSERT INTO t VALUES (4)"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PgConn().Exec(ctx, "INSERT INTO t VALUES (5); SELECT 1/0").ReadAll(); err == nil {
			t.Fatal("a query dividing by zero succeeded")
		}
		testenv.MustExec(t, c, "INSERT INTO t VALUES (6)")
		waitStory(t, a, []string{
			"INSERT INTO t VALUES (1): executed",
			"INSERT INTO t VALUES (2): executed",
			"INSERT INTO t VALUES (1): rolled_back", "INSERT INTO t VALUES (2): rolled_back",
			"INSERT INTO t VALUES (3): executed",
			"INSERT INTO t VALUES (4): executed",
			"INSERT INTO t VALUES (5): executed", "INSERT INTO t VALUES (5): rolled_back",
			"INSERT INTO t VALUES (6): executed",
		})
		if n := db.QueryInt("SELECT count(*) FROM t"); n != 3 {
			t.Fatalf("%d rows, want 3 (3, 4, 6)", n)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		my := testenv.NewMyDB(t)
		my.Exec("CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB")
		// Standing ddl, for a DDL's implicit commit.
		ddl := "policies:\n  - {name: writers, groups: [writers], databases: [app], standing: ddl}\n"
		a := testenv.StartMySQL(t, my, testenv.Options{Databases: testenv.MyDatabases(my.Name, myExtra), Policies: ddl})
		ctx := context.Background()
		d := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", 0), "app", ""))
		conn, err := d.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"SET autocommit = 0",
			"INSERT INTO t VALUES (1)", "COMMIT",
			"INSERT INTO t VALUES (2)", "ROLLBACK",
			"INSERT INTO t VALUES (3)", "CREATE TABLE u (id int)", // DDL commits
			"INSERT INTO t VALUES (4)", "BEGIN", "COMMIT", // BEGIN commits
			"INSERT INTO t VALUES (5)", "SET autocommit = 1", // so does autocommit
			"INSERT INTO t VALUES (6)", "ROLLBACK", // autocommitted: nothing to roll back
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		conn.Close()
		// The driver's option, and a client leaving before COMMIT.
		d2 := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", 0), "app", "autocommit=0"))
		conn, err = d2.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO t VALUES (7)"); err != nil {
			t.Fatal(err)
		}
		conn.Raw(func(dc any) error { return sql.ErrConnDone }) // drop it
		conn.Close()
		d2.Close()
		waitStory(t, a, []string{
			"INSERT INTO t VALUES (1): executed",
			"INSERT INTO t VALUES (2): executed", "INSERT INTO t VALUES (2): rolled_back",
			"INSERT INTO t VALUES (3): executed",
			"INSERT INTO t VALUES (4): executed",
			"INSERT INTO t VALUES (5): executed",
			"INSERT INTO t VALUES (6): executed",
			"INSERT INTO t VALUES (7): executed", "INSERT INTO t VALUES (7): rolled_back",
		})
		if n := my.QueryInt("SELECT count(*) FROM t"); n != 5 {
			t.Fatalf("%d rows, want 5 (1, 3, 4, 5, 6)", n)
		}
	})
}

// TestCrashCutTransaction: airlock is killed (SIGKILL) while a session
// holds an uncommitted write. Another gateway started on the same store
// (another config, so another instance) leaves that session alone; this
// gateway's restart closes it with reason "gateway restarted", records the
// write rolled_back (ref: its executed event, or its started event when
// the crash cut the executed one) and voids its undo record, so that undo
// never offers it.
func TestCrashCutTransaction(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY)")
	dirA, dirB := t.TempDir(), t.TempDir()
	store := filepath.Join(dirA, "airlock.db")
	yaml := fmt.Sprintf(`listen: {postgres: "127.0.0.1:0", http: "127.0.0.1:0"}
store: "sqlite:%s"
%s%s
databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
      ddl: {user: postgres, password: x}
`, store, testenv.DefaultUsers, testenv.DefaultPolicies, testenv.PGAddr, db.Name, testenv.RoleRO, testenv.RoleRW)
	cfgA, cfgB := filepath.Join(dirA, "airlock.yaml"), filepath.Join(dirB, "airlock.yaml")
	os.WriteFile(cfgA, []byte(yaml), 0o600)
	os.WriteFile(cfgB, []byte(yaml), 0o600)

	admin := "alk_" + testenv.RandHex(24)
	cmd := exec.Command(airlockBin, "serve", "--config", cfgA)
	cmd.Env = append(os.Environ(), "AIRLOCK_BOOTSTRAP_TOKEN="+admin)
	addrs, _ := runServe(t, cmd, nil, "PostgreSQL clients", "HTTP")
	defer cmd.Process.Kill()
	pgAddr, httpAddr := addrs["PostgreSQL clients"], addrs["HTTP"]
	env := []string{"AIRLOCK_SERVER=http://" + httpAddr, "AIRLOCK_TOKEN=" + admin, "HOME=" + t.TempDir()}
	if out := run(t, 60*time.Second, "", env, airlockBin, "databases", "prepare", "app"); !strings.Contains(out, "installed") {
		t.Fatalf("prepare: %s", out)
	}
	tok := strings.TrimSpace(run(t, 30*time.Second, "", env, airlockBin, "tokens", "issue", "--user", "wanda"))
	c := testenv.Connect(t, fmt.Sprintf("postgres://wanda:%s@%s/app?sslmode=disable&application_name=first", tok, pgAddr))
	testenv.MustExec(t, c, "BEGIN")
	testenv.MustExec(t, c, "INSERT INTO t VALUES (1)")
	// A second session's write waits for the first's transaction (the
	// same key) when the gateway dies: it has no result, only its
	// started event.
	c2 := testenv.Connect(t, fmt.Sprintf("postgres://wanda:%s@%s/app?sslmode=disable", tok, pgAddr))
	go c2.Exec(context.Background(), "INSERT INTO t (id) VALUES (1)")
	for db.QueryInt("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	start := func(path string) *server.Server {
		cfg, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := server.Start(context.Background(), cfg, server.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stop := func(s *server.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s.Shutdown(ctx, time.Second)
	}
	ctx := context.Background()

	// Another instance on the same store: the session is not its own.
	b := start(cfgB)
	open, err := b.Store.ListSessions(ctx, airlock.SessionFilter{Active: true})
	if err != nil || len(open) != 2 {
		all, _ := b.Store.ListSessions(ctx, airlock.SessionFilter{})
		for _, s := range all {
			t.Logf("session %s (%s): ended %v, %q", s.ID, s.Application, s.EndedAt, s.EndReason)
		}
		evs, _ := b.Store.ListEvents(ctx, airlock.EventFilter{})
		for _, e := range evs {
			t.Logf("event %d %s/%s session %s %q %v", e.ID, e.Type, e.Action, e.SessionID, e.Text, e.Detail)
		}
		t.Fatalf("after another gateway started: %d open sessions (%v), want the dead gateway's 2 left alone", len(open), err)
	}
	sid := open[0].ID
	if open[1].Application == "first" {
		sid = open[1].ID
	}
	stop(b)

	// The same instance again: it closes its dead session.
	a := start(cfgA)
	defer stop(a)
	s, err := a.Store.GetSession(ctx, sid)
	if err != nil || s.EndedAt == nil || s.EndReason != "gateway restarted" {
		t.Fatalf("session after the restart: %+v %v, want ended: gateway restarted", s, err)
	}
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventStatement, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	var waiting []string
	for _, e := range evs {
		if e.Text == "INSERT INTO t (id) VALUES (1)" {
			if e.Action == gateway.ActionRolledBack && (len(waiting) != 1 || e.Ref != waiting[0][len("started "):]) {
				t.Fatalf("rolled_back event of the waiting write refers to %q, not to its started event (%q)", e.Ref, waiting)
			}
			waiting = append(waiting, e.Action+" "+fmt.Sprint(e.ID))
		}
	}
	if len(waiting) != 2 || !strings.HasPrefix(waiting[0], "started ") || !strings.HasPrefix(waiting[1], "rolled_back ") {
		t.Fatalf("events of the waiting write: %q, want started, then rolled_back", waiting)
	}
	evs, err = a.Store.ListEvents(ctx, airlock.EventFilter{SessionID: sid, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	// The write's executed event is durable only before a commit, so the
	// crash may have cut it; its started event is durable before it is
	// forwarded, so the rolled_back event refers to the executed event,
	// or else to the started one.
	var started, executed, rolled *airlock.Event
	for _, e := range evs {
		if e.Text == "INSERT INTO t VALUES (1)" {
			switch e.Action {
			case airlock.ActionStarted:
				started = e
			case airlock.ActionExecuted:
				executed = e
			case gateway.ActionRolledBack:
				rolled = e
			}
		}
	}
	want := started
	if executed != nil {
		want = executed
	}
	if started == nil || rolled == nil || rolled.Ref != fmt.Sprint(want.ID) {
		t.Fatalf("events of the cut write: started %+v, executed %+v, rolled_back %+v", started, executed, rolled)
	}
	recs, err := a.Store.ListUndo(ctx, airlock.UndoFilter{SessionID: sid})
	if err != nil || len(recs) != 1 || recs[0].State != airlock.UndoVoid || rolled.Detail["undo"] != recs[0].ID {
		t.Fatalf("undo records of the session: %+v %v, want one, void, named by the rolled_back event", recs, err)
	}
	if n := db.QueryInt("SELECT count(*) FROM t"); n != 0 {
		t.Fatalf("%d rows: the cut write was committed", n)
	}
}

// closedReason waits for the session's closed event and returns its
// reason.
func closedReason(t *testing.T, a *testenv.Airlock, user string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a.Audit.Sync(context.Background())
		evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventSession, User: user})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Action == "closed" {
				return e.Detail["reason"]
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no closed event")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUpstreamClosed: when the database ends the upstream connection, the
// client gets the database's own error, and the session is recorded ended
// with reason "upstream closed" (not "client disconnected").
func TestUpstreamClosed(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		db := testenv.NewDB(t)
		a := testenv.Start(t, db, testenv.Options{})
		c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
		admin := testenv.Connect(t, testenv.AdminURL(db.Name))
		var n int
		if err := admin.QueryRow(context.Background(), "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name LIKE 'airlock:alice:%'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("terminate the upstream backend: %d %v", n, err)
		}
		_, err := c.Exec(context.Background(), "SELECT 1")
		if err == nil || !strings.Contains(err.Error(), "terminating connection due to administrator command") {
			t.Fatalf("statement after the upstream was terminated: %v, want the database's own error", err)
		}
		if r := closedReason(t, a, "alice"); r != "upstream closed" {
			t.Fatalf("session closed with reason %q, want upstream closed", r)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		my := testenv.NewMyDB(t)
		a := testenv.StartMySQL(t, my, testenv.Options{})
		d := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", ""))
		d.SetMaxOpenConns(1)
		var thread int64
		if err := d.QueryRow("SELECT CONNECTION_ID()").Scan(&thread); err != nil {
			t.Fatal(err)
		}
		root := testenv.OpenMy(t, testenv.MyDSN("root", "", testenv.MyAddr, "", ""))
		if _, err := root.Exec(fmt.Sprintf("KILL CONNECTION %d", thread)); err != nil {
			t.Fatalf("kill the upstream connection %d: %v", thread, err)
		}
		var one int
		if err := d.QueryRow("SELECT 1").Scan(&one); err == nil {
			// database/sql may retry on a fresh connection: the first
			// session must still have been recorded as ended upstream.
			t.Log("the driver retried on a new connection")
		}
		if r := closedReason(t, a, "alice"); r != "upstream closed" {
			t.Fatalf("session closed with reason %q, want upstream closed", r)
		}
	})
}
