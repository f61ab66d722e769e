package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

const undoSchema = `
CREATE TYPE color AS ENUM ('red', 'green', 'blue');
CREATE TABLE a (id int PRIMARY KEY, n numeric(30,10), ts timestamptz, j json, jb jsonb, b bytea, arr int[], c color, t text);
CREATE TABLE b (k1 text, k2 int, v double precision, note text, PRIMARY KEY (k1, k2));
CREATE TABLE c (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb, tags text[], g int GENERATED ALWAYS AS (length(payload::text)) STORED);
CREATE TABLE nopk (x int, y text);
INSERT INTO a SELECT g, g * 1.5, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour 7 seconds 12 microseconds',
	'{"k": 1,  "k": 2}', '{"x": [1, 2]}', decode('00ff10', 'hex'), ARRAY[g, NULL], 'red', 'row ' || g FROM generate_series(1, 20) g;
INSERT INTO b SELECT 'key' || g, g, g / 3.0, NULL FROM generate_series(1, 20) g;
INSERT INTO c (payload, tags) SELECT jsonb_build_object('n', g), ARRAY['t' || g] FROM generate_series(1, 20) g;
INSERT INTO nopk VALUES (1, 'x');
`

// dump is every table's rows in a fixed text form, to compare states.
func dump(t *testing.T, db *testenv.DB) string {
	t.Helper()
	c := testenv.Connect(t, testenv.AdminURL(db.Name))
	defer c.Close(context.Background())
	var b strings.Builder
	for _, q := range []string{"SELECT a::text FROM a ORDER BY id", "SELECT b::text FROM b ORDER BY k1, k2", "SELECT c::text FROM c ORDER BY id"} {
		rows, err := c.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			b.WriteString(s + "\n")
		}
		rows.Close()
	}
	return b.String()
}

func randText(r *rand.Rand) string {
	parts := []string{"plain", "quote ' and \"", `back\slash`, "new\nline", "tab\there", "ünïcødé ✓", "emoji 😀", "", "NULL", "(a,b)", "{x}", `\x00`}
	return parts[r.IntN(len(parts))] + fmt.Sprint(r.IntN(1000))
}

func sessionID(t *testing.T, c *pgx.Conn) string {
	t.Helper()
	var sid string
	if err := c.QueryRow(context.Background(), "SELECT split_part(current_setting('application_name'), ':', 3)").Scan(&sid); err != nil {
		t.Fatal(err)
	}
	return sid
}

// TestUndoSessionRestoresState: 50 random inserts, updates and deletes over
// three tables with every kind of type; undoing the session restores the
// exact prior state.
func TestUndoSessionRestoresState(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(undoSchema)
	a := testenv.Start(t, db, testenv.Options{})
	if out, err := runCLI(t, a, a.AdminToken, "databases", "prepare", "app"); err != nil || !strings.Contains(out, "installed") {
		t.Fatalf("prepare: %v %s", err, out)
	}
	before := dump(t, db)
	ctx := context.Background()
	tok := a.Token("wanda", 0)
	c := testenv.Connect(t, a.URL("wanda", tok, "app"))
	defer c.Close(ctx)
	sid := sessionID(t, c)
	r := rand.New(rand.NewPCG(42, 7))
	modes := []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement}
	nextA, nextB := 100, 100
	for i := range 50 {
		mode := modes[r.IntN(len(modes))]
		var sql string
		var args []any
		switch r.IntN(9) {
		case 0:
			nextA++
			sql = "INSERT INTO a VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
			args = []any{nextA, fmt.Sprintf("%d.%010d", r.IntN(1e9), r.IntN(1e9)), time.Unix(r.Int64N(2e9), r.Int64N(1e9)/1000*1000).UTC(),
				`{"a":  [1, 2,3], "a": "dup"}`, `{"z": null, "y": [true]}`, []byte{byte(r.IntN(256)), 0, 255}, fmt.Sprintf("{%d,NULL}", r.IntN(10)), []string{"red", "green", "blue"}[r.IntN(3)], randText(r)}
		case 1:
			sql = "UPDATE a SET n = n * 3, t = $1, b = $2, ts = ts + interval '1 microsecond' WHERE id = $3"
			args = []any{randText(r), []byte(randText(r)), 1 + r.IntN(20)}
		case 2:
			sql = "DELETE FROM a WHERE id = $1"
			args = []any{1 + r.IntN(20)}
		case 3:
			nextB++
			sql = "INSERT INTO b VALUES ($1, $2, $3, $4)"
			args = []any{randText(r), nextB, r.Float64() * 1e-7, nil}
		case 4:
			sql = "UPDATE b SET k1 = k1 || 'x', v = v + 0.1, note = $1 WHERE k2 = $2" // the key itself changes
			args = []any{randText(r), 1 + r.IntN(20)}
		case 5:
			sql = "DELETE FROM b WHERE k2 BETWEEN $1 AND $1 + 1"
			args = []any{1 + r.IntN(20)}
		case 6:
			sql = "INSERT INTO c (payload, tags) VALUES ($1, $2) RETURNING id, g"
			args = []any{fmt.Sprintf(`{"r": %d, "s": %q}`, r.IntN(100), randText(r)), []string{randText(r), "x"}}
		case 7:
			sql = "UPDATE c SET payload = payload || '{\"u\": 1}', tags = tags || ARRAY['more'] WHERE id = $1"
			args = []any{1 + r.IntN(20)}
		default:
			sql = "DELETE FROM c WHERE id = $1"
			args = []any{1 + r.IntN(20)}
		}
		if _, err := c.Exec(ctx, sql, append([]any{mode}, args...)...); err != nil {
			t.Fatalf("statement %d %s: %v", i, sql, err)
		}
	}
	if dump(t, db) == before {
		t.Fatal("the session changed nothing")
	}
	out, err := runCLI(t, a, tok, "undo", "show", sid)
	if err != nil || !strings.Contains(out, "-- undo u_") {
		t.Fatalf("undo show: %v %s", err, out)
	}
	out, err = runCLI(t, a, tok, "undo", "apply", sid)
	if err != nil {
		t.Fatalf("undo apply: %v %s", err, out)
	}
	if after := dump(t, db); after != before {
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
	if dump(t, db) == before {
		t.Fatal("undoing the undo did not bring the session's changes back")
	}
	evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventUndo})
	if len(evs) != 2 {
		t.Fatalf("%d undo events in the audit, want 2", len(evs))
	}
}

// TestUndoConflicts: a row changed by someone else since is a conflict and
// nothing is applied; --force applies.
func TestUndoConflicts(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(undoSchema)
	a := testenv.Start(t, db, testenv.Options{})
	runCLI(t, a, a.AdminToken, "databases", "prepare", "app")
	ctx := context.Background()
	tok := a.Token("wanda", 0)
	c := testenv.Connect(t, a.URL("wanda", tok, "app"))
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "UPDATE a SET t = 'mine' WHERE id IN (1, 2, 3)"); err != nil {
		t.Fatal(err)
	}
	db.Exec("UPDATE a SET t = 'theirs' WHERE id = 2") // another user, directly
	sid := sessionID(t, c)
	out, err := runCLI(t, a, tok, "undo", "apply", sid)
	if err == nil || !strings.Contains(out, "conflict: public.a update") || !strings.Contains(out, "theirs") {
		t.Fatalf("apply with a conflict: %v\n%s", err, out)
	}
	if n := db.QueryInt("SELECT count(*) FROM a WHERE t = 'mine'"); n != 2 {
		t.Fatalf("something was applied despite the conflict (%d rows still 'mine', want 2)", n)
	}
	if out, err := runCLI(t, a, tok, "undo", "apply", sid, "--force"); err != nil {
		t.Fatalf("forced apply: %v %s", err, out)
	}
	if n := db.QueryInt("SELECT count(*) FROM a WHERE t IN ('mine', 'theirs')"); n != 0 {
		t.Fatalf("forced apply left %d rows", n)
	}
	// Already applied: nothing more to undo.
	if out, err := runCLI(t, a, tok, "undo", "apply", sid); err == nil {
		t.Fatalf("applied twice: %s", out)
	}
	// Another user (not admin) cannot see or undo wanda's changes.
	if _, err := c.Exec(ctx, "UPDATE a SET t = 'again' WHERE id = 4"); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, a, a.Token("alice", 0), "undo", "apply", sid); err == nil || !strings.Contains(out, "only admins") {
		t.Fatalf("alice undoing wanda's change: %v %s", err, out)
	}
	if out, err := runCLI(t, a, a.Token("alice", 0), "undo", "show", sid); err == nil || !strings.Contains(out, "only admins") {
		t.Fatalf("alice showing wanda's undo: %v %s", err, out)
	}
}

// TestUndoRequired: with undo required, a write to a table without a
// primary key is denied with the reason; with best_effort it passes and
// the audit says it is not reversible.
func TestUndoRequired(t *testing.T) {
	for _, mode := range []string{"required", "best_effort"} {
		t.Run(mode, func(t *testing.T) {
			db := testenv.NewDB(t)
			db.Exec(undoSchema)
			a := testenv.Start(t, db, testenv.Options{Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    undo: %s
    credentials:
      read: {user: %s, password: x}
      write: {user: %s, password: x}
      ddl: {user: postgres, password: x}
`, testenv.PGAddr, db.Name, mode, testenv.RoleRO, testenv.RoleRW)})
			ctx := context.Background()
			c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
			defer c.Close(ctx)
			// Not prepared yet.
			_, err := c.Exec(ctx, "UPDATE a SET t = 'x' WHERE id = 1")
			if mode == "required" && (pgCode(err) != "42501" || !strings.Contains(err.Error(), "airlock databases prepare app")) {
				t.Fatalf("unprepared write: %v", err)
			}
			runCLI(t, a, a.AdminToken, "databases", "prepare", "app")
			_, err = c.Exec(ctx, "UPDATE nopk SET y = 'z' WHERE x = 1")
			if mode == "required" {
				if pgCode(err) != "42501" || !strings.Contains(err.Error(), "undo: table public.nopk has no primary key") {
					t.Fatalf("write without a primary key: %v", err)
				}
				if db.QueryInt("SELECT count(*) FROM nopk WHERE y = 'z'") != 0 {
					t.Fatal("the denied write changed the table")
				}
				if _, err := c.Exec(ctx, "UPDATE a SET t = 'x' WHERE id = 1"); err != nil {
					t.Fatalf("write with a key: %v", err)
				}
				if _, err := c.Exec(ctx, "CREATE INDEX ON a (t)"); pgCode(err) != "42501" {
					t.Fatalf("DDL under undo required: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("best_effort write without a primary key: %v", err)
			}
			a.Audit.Sync(ctx)
			evs, _ := a.Store.ListEvents(ctx, airlock.EventFilter{Contains: "UPDATE nopk"})
			if len(evs) == 0 || !strings.Contains(evs[0].Detail["undo"], "not reversible: table public.nopk has no primary key") {
				t.Fatalf("audit: %+v", evs)
			}
		})
	}
}

// TestUndoFollowsTransactions: a rolled-back transaction (or savepoint)
// leaves nothing to undo; a committed one can be undone.
func TestUndoFollowsTransactions(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(undoSchema)
	a := testenv.Start(t, db, testenv.Options{})
	runCLI(t, a, a.AdminToken, "databases", "prepare", "app")
	ctx := context.Background()
	tok := a.Token("wanda", 0)
	c := testenv.Connect(t, a.URL("wanda", tok, "app"))
	defer c.Close(ctx)
	sid := sessionID(t, c)
	mustExec := func(s string) {
		if _, err := c.Exec(ctx, s); err != nil {
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
	if err != nil || !strings.Contains(out, "UPDATE public.a") || strings.Count(out, "-- undo") != 1 {
		t.Fatalf("undo show after commit: %v\n%s", err, out)
	}
	if _, err := runCLI(t, a, tok, "undo", "apply", sid); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt("SELECT count(*) FROM a WHERE t = 'kept'"); n != 0 {
		t.Fatal("the committed update was not undone")
	}
}

// TestUndoExactUnderConcurrency: while other writers change the same table
// directly, every image airlock stores is exactly what a trigger-based log
// of the session's own changes recorded.
func TestUndoExactUnderConcurrency(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(undoSchema + `
CREATE TABLE witness (id serial PRIMARY KEY, app text, op text, old_row text, new_row text);
CREATE FUNCTION witness() RETURNS trigger LANGUAGE plpgsql
SET timezone = 'UTC' SET datestyle = 'ISO, YMD' SET intervalstyle = 'postgres' SET extra_float_digits = 3 SET bytea_output = 'hex' AS $$
BEGIN
	INSERT INTO witness (app, op, old_row, new_row) VALUES (current_setting('application_name'), left(TG_OP, 1),
		CASE WHEN TG_OP <> 'INSERT' THEN OLD::text END, CASE WHEN TG_OP <> 'DELETE' THEN NEW::text END);
	RETURN NULL;
END $$;
CREATE TRIGGER witness AFTER INSERT OR UPDATE OR DELETE ON a FOR EACH ROW EXECUTE FUNCTION witness();
GRANT INSERT ON witness TO airlock_test_rw; GRANT USAGE ON SEQUENCE witness_id_seq TO airlock_test_rw;
INSERT INTO a SELECT g, 0, now(), '{}', '{}', '', '{}', 'red', 'w' FROM generate_series(1000, 1999) g;`)
	a := testenv.Start(t, db, testenv.Options{})
	runCLI(t, a, a.AdminToken, "databases", "prepare", "app")
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
	defer c.Close(ctx)
	var app string
	c.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&app)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := testenv.Connect(t, testenv.AdminURL(db.Name))
			defer d.Close(ctx)
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := 1000 + r.IntN(1000)
				d.Exec(ctx, "UPDATE a SET n = n + 1, t = 'other' WHERE id = $1", id)
			}
		}()
	}
	for i := range 40 {
		lo := 1000 + i*25
		if _, err := c.Exec(ctx, "UPDATE a SET n = n + 100, t = 'session' WHERE id BETWEEN $1 AND $2", lo, lo+24); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()

	recs, err := a.Store.ListUndo(ctx, airlock.UndoFilter{SessionID: sessionID(t, c)})
	if err != nil || len(recs) != 40 {
		t.Fatalf("%d undo records, %v", len(recs), err)
	}
	var stored []string
	for i := len(recs) - 1; i >= 0; i-- {
		r, _ := a.Store.GetUndo(ctx, recs[i].ID)
		for _, im := range r.Images {
			if im.Table != "public.a" {
				continue
			}
			stored = append(stored, im.Op+" "+*im.Old+" -> "+*im.New)
		}
	}
	w := testenv.Connect(t, testenv.AdminURL(db.Name))
	defer w.Close(ctx)
	rows, err := w.Query(ctx, "SELECT op || ' ' || old_row || ' -> ' || new_row FROM witness WHERE app = $1 ORDER BY id", app)
	if err != nil {
		t.Fatal(err)
	}
	witnessed, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	if len(witnessed) != 1000 || strings.Join(stored, "\n") != strings.Join(witnessed, "\n") {
		b, _ := json.Marshal(map[string]int{"stored": len(stored), "witnessed": len(witnessed)})
		t.Fatalf("stored images differ from the witness log: %s", b)
	}
}
