package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"airlock"
)

// TestUndoParity runs the undo acceptance scenarios on every engine
// (engines_test.go): the same statements where the dialects agree, each
// engine's own types and upserts where they do not.
func TestUndoParity(t *testing.T) {
	for _, e := range undoEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Run("SessionRestoresState", func(t *testing.T) { undoSessionRestoresState(t, e) })
			t.Run("Conflicts", func(t *testing.T) { undoConflicts(t, e) })
			t.Run("Required", func(t *testing.T) { undoRequired(t, e) })
			t.Run("FollowsTransactions", func(t *testing.T) { undoFollowsTransactions(t, e) })
			t.Run("ExactUnderConcurrency", func(t *testing.T) { undoExactUnderConcurrency(t, e) })
		})
	}
}

func prepare(t *testing.T, env *undoEnv) {
	t.Helper()
	if out, err := runCLI(t, env.a, env.a.AdminToken, "databases", "prepare", "app"); err != nil || !strings.Contains(out, "installed") {
		t.Fatalf("prepare: %v %s", err, out)
	}
}

// undoSessionRestoresState: 50 random inserts, updates and deletes over
// three tables with every kind of type, sent every way a client sends
// them; undoing the session restores the exact prior state, the apply is
// audited and can itself be undone.
func undoSessionRestoresState(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	a := env.a
	prepare(t, env)
	before := env.dump()
	tok := a.Token("wanda", 0)
	c := env.connect("wanda", tok)
	defer c.close()
	sid := c.sessionID()
	r := rand.New(rand.NewPCG(42, 7))
	var s writeState
	s.nextA, s.nextB = 100, 100
	for i := range 50 {
		v := r.IntN(env.variants)
		sql, args := env.randomWrite(r, &s)
		if err := c.exec(v, sql, args...); err != nil {
			t.Fatalf("statement %d %s: %v", i, sql, err)
		}
	}
	if env.dump() == before {
		t.Fatal("the session changed nothing")
	}
	ctx := context.Background()
	a.Audit.Sync(ctx)
	evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{SessionID: sid, Type: airlock.EventStatement})
	for _, ev := range evs {
		if strings.HasPrefix(ev.Detail["undo"], "not reversible") {
			t.Errorf("%s: %s", ev.Text, ev.Detail["undo"])
		}
	}
	out, err := runCLI(t, a, tok, "undo", "show", sid)
	if err != nil || !strings.Contains(out, "-- undo u_") {
		t.Fatalf("undo show: %v %s", err, out)
	}
	out, err = runCLI(t, a, tok, "undo", "apply", sid)
	if err != nil {
		t.Fatalf("undo apply: %v %s", err, out)
	}
	if after := env.dump(); after != before {
		t.Fatalf("undo did not restore the state:\n--- before\n%s\n--- after\n%s", before, after)
	}
	// The apply was audited and can itself be undone.
	if !strings.Contains(out, "to undo this: airlock undo apply u_") {
		t.Fatalf("apply output: %s", out)
	}
	undoID := out[strings.Index(out, "airlock undo apply u_")+len("airlock undo apply "):]
	undoID = strings.TrimRight(strings.TrimSpace(undoID), ")")
	if _, err := runCLI(t, a, tok, "undo", "apply", undoID); err != nil {
		t.Fatalf("undo the undo: %v", err)
	}
	if env.dump() == before {
		t.Fatal("undoing the undo did not bring the session's changes back")
	}
	evs, _ = a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventUndo})
	if len(evs) != 2 {
		t.Fatalf("%d undo events in the audit, want 2", len(evs))
	}
}

// undoConflicts: a row changed by someone else since is a conflict and
// nothing is applied; --force applies; nothing is applied twice; another
// user (not admin) can neither see nor undo the changes.
func undoConflicts(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	a := env.a
	prepare(t, env)
	tok := a.Token("wanda", 0)
	c := env.connect("wanda", tok)
	defer c.close()
	if err := c.exec(0, "UPDATE a SET t = 'mine' WHERE id IN (1, 2, 3)"); err != nil {
		t.Fatal(err)
	}
	env.exec("UPDATE a SET t = 'theirs' WHERE id = 2") // another user, directly
	sid := c.sessionID()
	out, err := runCLI(t, a, tok, "undo", "apply", sid)
	if err == nil || !strings.Contains(out, "conflict: "+env.table("a")+" update") || !strings.Contains(out, "theirs") {
		t.Fatalf("apply with a conflict: %v\n%s", err, out)
	}
	if n := env.queryInt("SELECT count(*) FROM a WHERE t = 'mine'"); n != 2 {
		t.Fatalf("something was applied despite the conflict (%d rows still 'mine', want 2)", n)
	}
	if out, err := runCLI(t, a, tok, "undo", "apply", sid, "--force"); err != nil {
		t.Fatalf("forced apply: %v %s", err, out)
	}
	if n := env.queryInt("SELECT count(*) FROM a WHERE t IN ('mine', 'theirs')"); n != 0 {
		t.Fatalf("forced apply left %d rows", n)
	}
	// Already applied: nothing more to undo.
	if out, err := runCLI(t, a, tok, "undo", "apply", sid); err == nil {
		t.Fatalf("applied twice: %s", out)
	}
	// Another user (not admin) cannot see or undo wanda's changes.
	if err := c.exec(0, "UPDATE a SET t = 'again' WHERE id = 4"); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, a, a.Token("alice", 0), "undo", "apply", sid); err == nil || !strings.Contains(out, "only admins") {
		t.Fatalf("alice undoing wanda's change: %v %s", err, out)
	}
	if out, err := runCLI(t, a, a.Token("alice", 0), "undo", "show", sid); err == nil || !strings.Contains(out, "only admins") {
		t.Fatalf("alice showing wanda's undo: %v %s", err, out)
	}
}

// undoRequired: with undo required, a write to an unprepared database or
// to a table without a primary key is denied with the reason, and so is
// DDL; with best_effort it passes and the audit says it is not reversible.
func undoRequired(t *testing.T, e undoEngine) {
	for _, mode := range []string{"required", "best_effort"} {
		t.Run(mode, func(t *testing.T) {
			env := e.start(t, "", mode)
			a := env.a
			ctx := context.Background()
			c := env.connect("wanda", a.Token("wanda", 0))
			defer c.close()
			// Not prepared yet.
			err := c.exec(0, "UPDATE a SET t = 'x' WHERE id = 1")
			if mode == "required" && (!env.denied(err) || !strings.Contains(err.Error(), "airlock databases prepare app")) {
				t.Fatalf("unprepared write: %v", err)
			}
			prepare(t, env)
			err = c.exec(0, "UPDATE nopk SET y = 'z' WHERE x = 1")
			if mode == "required" {
				if !env.denied(err) || !strings.Contains(err.Error(), "undo: table "+env.table("nopk")+" has no primary key") {
					t.Fatalf("write without a primary key: %v", err)
				}
				if env.queryInt("SELECT count(*) FROM nopk WHERE y = 'z'") != 0 {
					t.Fatal("the denied write changed the table")
				}
				if err := c.exec(0, "UPDATE a SET t = 'x' WHERE id = 1"); err != nil {
					t.Fatalf("write with a key: %v", err)
				}
				if err := c.exec(0, env.ddl); !env.denied(err) {
					t.Fatalf("DDL under undo required: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("best_effort write without a primary key: %v", err)
			}
			a.Audit.Sync(ctx)
			evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Contains: "UPDATE nopk"})
			if len(evs) == 0 || !strings.Contains(evs[0].Detail["undo"], "not reversible: table "+env.table("nopk")+" has no primary key") {
				t.Fatalf("audit: %+v", evs)
			}
		})
	}
}

// undoFollowsTransactions: a rolled-back transaction (or savepoint) leaves
// nothing to undo; a committed one can be undone. On MariaDB, BEGIN and
// SET autocommit = 1 commit the open transaction (implicitly), and what
// was captured in it can be undone too.
func undoFollowsTransactions(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	a := env.a
	prepare(t, env)
	tok := a.Token("wanda", 0)
	c := env.connect("wanda", tok)
	defer c.close()
	sid := c.sessionID()
	mustExec := func(s string) {
		t.Helper()
		if err := c.exec(0, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	mustExec("BEGIN")
	mustExec("UPDATE a SET t = 'rolled back' WHERE id = 1")
	mustExec("ROLLBACK")
	if out, err := runCLI(t, a, tok, "undo", "show", sid); err == nil {
		t.Fatalf("a rolled-back transaction left something to undo:\n%s", out)
	}
	mustExec("BEGIN")
	mustExec("UPDATE a SET t = 'kept' WHERE id = 2")
	mustExec("SAVEPOINT s1")
	mustExec("UPDATE a SET t = 'undone by savepoint' WHERE id = 3")
	mustExec("ROLLBACK TO SAVEPOINT s1")
	mustExec("COMMIT")
	out, err := runCLI(t, a, tok, "undo", "show", sid)
	if err != nil || !strings.Contains(out, "UPDATE "+env.target("a")) || strings.Count(out, "-- undo") != 1 {
		t.Fatalf("undo show after commit: %v\n%s", err, out)
	}
	if _, err := runCLI(t, a, tok, "undo", "apply", sid); err != nil {
		t.Fatal(err)
	}
	if n := env.queryInt("SELECT count(*) FROM a WHERE t = 'kept'"); n != 0 {
		t.Fatal("the committed update was not undone")
	}
	if e.name != "mariadb" {
		return
	}
	mustExec("BEGIN")
	mustExec("UPDATE a SET t = 'begin commits' WHERE id = 5")
	mustExec("BEGIN") // commits the transaction
	mustExec("ROLLBACK")
	mustExec("SET autocommit = 0")
	mustExec("UPDATE a SET t = 'autocommit commits' WHERE id = 6")
	mustExec("SET autocommit = 1") // commits the transaction
	mustExec("BEGIN")
	mustExec("UPDATE a SET t = 'pending' WHERE id = 7") // not applicable while its transaction is open
	out, err = runCLI(t, a, tok, "undo", "show", sid)
	if err != nil || strings.Count(out, "-- undo") != 2 || !strings.Contains(out, "`t`='row 5'") || !strings.Contains(out, "WHERE `id`=5;") || !strings.Contains(out, "WHERE `id`=6;") {
		t.Fatalf("undo show after implicit commits: %v\n%s", err, out)
	}
	mustExec("ROLLBACK")
	if _, err := runCLI(t, a, tok, "undo", "apply", sid); err != nil {
		t.Fatal(err)
	}
	if n := env.queryInt("SELECT count(*) FROM a WHERE t LIKE '%commits'"); n != 0 {
		t.Fatalf("%d implicitly committed updates were not undone", n)
	}
}

// undoExactUnderConcurrency: while other writers change the same table
// directly, every image airlock stores is exactly what a trigger-based log
// of the session's own changes recorded.
func undoExactUnderConcurrency(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	env.exec(env.concurrency(t))
	a := env.a
	prepare(t, env)
	ctx := context.Background()
	c := env.connect("wanda", a.Token("wanda", 0))
	defer c.close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		update := env.writer(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				update(1000 + r.IntN(1000))
			}
		}()
	}
	for i := range 40 {
		lo := 1000 + i*25
		if err := c.exec(i%env.variants, env.rangeUpdate, lo, lo+24); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()

	recs, err := a.Store.ListUndo(ctx, airlock.UndoFilter{SessionID: c.sessionID()})
	if err != nil || len(recs) != 40 {
		t.Fatalf("%d undo records, %v", len(recs), err)
	}
	var stored []string
	for i := len(recs) - 1; i >= 0; i-- {
		r, _ := a.Store.GetUndo(ctx, recs[i].ID)
		for _, im := range r.Images {
			if im.Table != env.table("a") {
				continue
			}
			stored = append(stored, im.Op+" "+*im.Old+" -> "+*im.New)
		}
	}
	witnessed := env.witnessed(t, c)
	if len(witnessed) != 1000 || strings.Join(stored, "\n") != strings.Join(witnessed, "\n") {
		b, _ := json.Marshal(map[string]int{"stored": len(stored), "witnessed": len(witnessed)})
		t.Fatalf("stored images differ from the witness log: %s", b)
	}
}
