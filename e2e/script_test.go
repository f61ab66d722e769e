package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/api"
	"airlock/internal/notify"
)

// TestScriptRequests runs the reviewed change script scenarios on every
// engine: a dry-run whose diff the approved run matches (committed,
// audited, undoable as one unit), data changed between review and
// approval (rolled back, back to review), and side effects a rollback
// cannot undo (flagged; MySQL DDL refused).
func TestScriptRequests(t *testing.T) {
	for _, e := range undoEngines {
		t.Run(e.name, func(t *testing.T) {
			t.Run("DryRunMatchesRun", func(t *testing.T) { scriptDryRunMatchesRun(t, e) })
			t.Run("ChangedBeforeApproval", func(t *testing.T) { scriptChangedBeforeApproval(t, e) })
			t.Run("SideEffects", func(t *testing.T) { scriptSideEffects(t, e) })
		})
	}
}

// createScript files a script request as alice through the CLI and
// returns its id.
func createScript(t *testing.T, env *undoEnv, alice, script string, extra ...string) (string, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "fix.sql")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, env.a, alice, append([]string{"requests", "create", "app", "--sql-file", f, "--reason", "fix the prices"}, extra...)...)
	return strings.TrimSpace(out), err
}

func showRequest(t *testing.T, env *undoEnv, token, id string) api.RequestJSON {
	t.Helper()
	out, err := runCLI(t, env.a, token, "--json", "requests", "show", id)
	if err != nil {
		t.Fatalf("requests show: %v %s", err, out)
	}
	var r api.RequestJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("requests show --json: %v\n%s", err, out)
	}
	return r
}

func rowsOf(run *airlock.ScriptRun) []int64 {
	var out []int64
	for _, st := range run.Statements {
		out = append(out, st.RowsChanged)
	}
	return out
}

func scriptDryRunMatchesRun(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	prepare(t, env)
	a := env.a
	alice, bob := a.Token("alice", 0), a.Token("bob", 0)
	before := env.dump()
	id, err := createScript(t, env, alice, "UPDATE a SET n = n + 1 WHERE id BETWEEN 1 AND 3;\nDELETE FROM b WHERE k2 = 5;\n")
	if err != nil {
		t.Fatalf("requests create: %v %s", err, id)
	}
	if env.dump() != before {
		t.Fatal("the dry-run changed the database")
	}
	r := showRequest(t, env, bob, id)
	if r.Level != "write" || r.DryRun == nil || r.DryRun.Outcome != airlock.ScriptDryRun || r.ScriptSHA256 != airlock.ScriptHash(r.Script) {
		t.Fatalf("request: %+v", r)
	}
	if got := rowsOf(r.DryRun); len(got) != 2 || got[0] != 3 || got[1] != 1 {
		t.Fatalf("dry-run rows changed = %v, want [3 1]", got)
	}
	s := r.DryRun.Statements[0]
	if !strings.Contains(s.SQL, "UPDATE a") || len(s.Sample) != 3 {
		t.Fatalf("statement 1: %+v", s)
	}
	for _, rc := range s.Sample {
		n := -1
		for i, c := range rc.Columns {
			if c == "n" {
				n = i
			}
			if c != "n" && rc.Changed(i) {
				t.Errorf("column %s shown changed: %v -> %v", c, rc.Before[i], rc.After[i])
			}
		}
		if n < 0 || rc.Op != "U" || !rc.Changed(n) {
			t.Errorf("sample row: %+v", rc)
		}
	}
	if d := r.DryRun.Statements[1].Sample; len(d) != 1 || d[0].Op != "D" || d[0].After != nil {
		t.Errorf("statement 2 sample: %+v", d)
	}
	text, err := runCLI(t, a, bob, "requests", "show", id)
	if err != nil || !strings.Contains(text, "rows changed: 3") || !strings.Contains(text, " -> ") {
		t.Fatalf("requests show: %v\n%s", err, text)
	}
	if out, err := runCLI(t, a, alice, "requests", "approve", id); err == nil {
		t.Fatalf("alice approved her own script: %s", out)
	}
	out, err := runCLI(t, a, bob, "requests", "approve", id)
	if err != nil || !strings.Contains(out, "committed") {
		t.Fatalf("approve: %v %s", err, out)
	}
	r = showRequest(t, env, alice, id)
	if r.State != airlock.RequestApproved || r.Run == nil || r.Run.Outcome != airlock.ScriptCommitted || r.Run.UndoID == "" || r.GrantID != "" {
		t.Fatalf("after approval: state %s run %+v grant %q", r.State, r.Run, r.GrantID)
	}
	if got, want := rowsOf(r.Run), rowsOf(r.DryRun); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("run rows %v, dry-run %v", got, want)
	}
	if env.queryInt("SELECT count(*) FROM b WHERE k2 = 5") != 0 || env.dump() == before {
		t.Fatal("the approved run did not change the database")
	}
	// Approving again runs nothing more.
	if out, err := runCLI(t, a, bob, "requests", "approve", id); err == nil {
		t.Fatalf("a second approval ran: %s", out)
	}
	// The run is audited and undone as one unit.
	out, err = runCLI(t, a, a.AdminToken, "undo", "show", r.Run.UndoID)
	if err != nil || !strings.Contains(out, "-- undo "+r.Run.UndoID) {
		t.Fatalf("undo show: %v %s", err, out)
	}
	if out, err := runCLI(t, a, a.AdminToken, "undo", "apply", r.Run.UndoID); err != nil {
		t.Fatalf("undo apply: %v %s", err, out)
	}
	if after := env.dump(); after != before {
		t.Fatalf("undoing the run did not restore the state:\n--- before\n%s\n--- after\n%s", before, after)
	}
	out, err = runCLI(t, a, a.AdminToken, "--json", "audit", "list", "--database", "app")
	if err != nil || !strings.Contains(out, `"action": "script"`) || !strings.Contains(out, r.Run.UndoID) {
		t.Fatalf("audit of the run: %v %s", err, out)
	}
	// The request's events (and so its notifications) say what the
	// dry-run and the run did.
	a.Audit.Sync(context.Background())
	evs, _ := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventRequest})
	var said []string
	for _, ev := range evs {
		if ev.Ref == id {
			said = append(said, notify.Summary(ev))
		}
	}
	if s := strings.Join(said, "\n"); !strings.Contains(s, "asks to run a change script (write) on app") || !strings.Contains(s, "its dry-run: 2 statements, 4 rows changed") ||
		!strings.Contains(s, "ran on app (committed: 2 statements, 4 rows changed)") {
		t.Fatalf("request events say:\n%s", s)
	}
}

func scriptChangedBeforeApproval(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	prepare(t, env)
	a := env.a
	alice, bob := a.Token("alice", 0), a.Token("bob", 0)
	id, err := createScript(t, env, alice, "UPDATE a SET t = 'fixed' WHERE id > 15")
	if err != nil {
		t.Fatalf("requests create: %v %s", err, id)
	}
	// Someone adds a row the script's WHERE now also matches.
	env.exec("INSERT INTO a (id, t) VALUES (99, 'late')")
	before := env.dump()
	out, err := runCLI(t, a, bob, "requests", "approve", id)
	if err != nil || !strings.Contains(out, "back to review") {
		t.Fatalf("approve: %v %s", err, out)
	}
	if env.dump() != before || env.queryInt("SELECT count(*) FROM a WHERE t = 'fixed'") != 0 {
		t.Fatal("a run that differs from its dry-run changed the database")
	}
	r := showRequest(t, env, alice, id)
	if r.State != airlock.RequestPending || len(r.Approvals) != 0 || r.Run == nil || r.Run.Outcome != airlock.ScriptMismatch ||
		r.DryRun == nil || r.DryRun.Statements[0].RowsChanged != 5 || r.Run.Statements[0].RowsChanged != 6 ||
		len(r.Run.Differences) != 1 || !strings.Contains(r.DecisionReason, "back to review") {
		t.Fatalf("after a mismatch: %+v run %+v", r, r.Run)
	}
	text, err := runCLI(t, a, bob, "requests", "show", id)
	if err != nil || !strings.Contains(text, "dry-run: dry_run") || !strings.Contains(text, "run: mismatch") || !strings.Contains(text, "changed 6 rows; the dry-run changed 5") {
		t.Fatalf("requests show: %v\n%s", err, text)
	}
	// With a tolerance of a row, the same change is committed.
	id2, err := createScript(t, env, alice, "UPDATE a SET t = 'fixed' WHERE id > 15", "--tolerance", "1")
	if err != nil {
		t.Fatalf("requests create: %v %s", err, id2)
	}
	env.exec("INSERT INTO a (id, t) VALUES (98, 'later')")
	if out, err := runCLI(t, a, bob, "requests", "approve", id2); err != nil || !strings.Contains(out, "committed") {
		t.Fatalf("approve within tolerance: %v %s", err, out)
	}
	if n := env.queryInt("SELECT count(*) FROM a WHERE t = 'fixed'"); n != 7 {
		t.Fatalf("%d rows fixed, want 7", n)
	}
}

func scriptSideEffects(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	prepare(t, env)
	a := env.a
	alice := a.Token("alice", 0)
	before := env.dump()
	var insert string
	if e.name == "postgres" {
		insert = `INSERT INTO c (payload, tags) VALUES ('{"n": 100}', '{x}'); NOTIFY prices`
	} else {
		insert = `INSERT INTO c (payload, tags) VALUES ('{"n": 100}', 'x')`
	}
	id, err := createScript(t, env, alice, insert)
	if err != nil {
		t.Fatalf("requests create: %v %s", err, id)
	}
	if env.dump() != before {
		t.Fatal("the dry-run changed the rows")
	}
	r := showRequest(t, env, alice, id)
	effects := strings.Join(r.DryRun.SideEffects, "\n")
	want := []string{"AUTO_INCREMENT values of"}
	if e.name == "postgres" {
		want = []string{"advanced sequence public.c_id_seq", "sends a notification"}
	}
	for _, w := range want {
		if !strings.Contains(effects, w) {
			t.Errorf("side effects %q lack %q", effects, w)
		}
	}
	text, _ := runCLI(t, a, alice, "requests", "show", id)
	if !strings.Contains(text, "side effect: ") {
		t.Errorf("requests show does not flag the side effect:\n%s", text)
	}
	if e.name == "mariadb" {
		// MySQL commits DDL implicitly: such a script cannot be dry-run.
		out, err := createScript(t, env, alice, "UPDATE a SET t = 'x' WHERE id = 1; ALTER TABLE a ADD COLUMN z int")
		if err == nil || !strings.Contains(out, "commits implicitly") {
			t.Fatalf("a DDL script was accepted: %v %s", err, out)
		}
		if env.dump() != before {
			t.Fatal("a refused script changed the database")
		}
	}
	// A script that fails shows its error and changes nothing.
	if out, err := createScript(t, env, alice, "UPDATE a SET n = n + 1 WHERE id = 1; INSERT INTO a (id) VALUES (2)"); err != nil {
		t.Fatalf("a failing script was not recorded: %v %s", err, out)
	} else {
		r := showRequest(t, env, alice, out)
		if r.DryRun.Error == "" || r.DryRun.Statements[1].Error == "" || r.DryRun.Statements[0].RowsChanged != 1 {
			t.Fatalf("dry-run of a failing script: %+v", r.DryRun)
		}
	}
	if env.dump() != before {
		t.Fatal("a failing dry-run changed the database")
	}
}
