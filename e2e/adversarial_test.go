package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestAdversarialCorpus sends every case of testdata/adversarial_pg.sql
// through a read session, by the simple and the extended protocol: each is
// denied or fails upstream, the session stays usable, and nothing changes.
func TestAdversarialCorpus(t *testing.T) {
	cases := readCorpus(t, "testdata/adversarial_pg.sql", 100)
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE victim (id serial PRIMARY KEY, v text);
		INSERT INTO victim (v) SELECT 'row ' || g FROM generate_series(1, 10) g;
		CREATE MATERIALIZED VIEW victim_mv AS SELECT * FROM victim;
		CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql AS 'DELETE FROM victim RETURNING 1';
		CREATE PROCEDURE public.evil_proc() LANGUAGE sql AS 'DELETE FROM victim';
		GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_test_ro;`)
	before := db.QueryInt("SELECT count(*) * 1000 + sum(length(v)) FROM victim")
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	ctx := context.Background()
	c := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	defer c.Close(ctx)
	syntax := 0 // answered as PostgreSQL's syntax error
	for _, k := range cases {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			if mode == pgx.QueryExecModeExec && strings.Contains(k.sql, ";") {
				continue // several statements: the simple protocol only
			}
			_, err := c.Exec(ctx, k.sql, mode)
			// airlock is the first wall: it must deny, not the database.
			switch {
			case strings.HasPrefix(k.name, "[database wall]"):
				if err == nil {
					t.Errorf("%s (%s): allowed", k.name, mode)
				}
			case pgCode(err) == "42601":
				// Checked below: each is a denial by rule parse.
				syntax++
			case pgCode(err) != "42501" || !strings.Contains(err.Error(), "airlock: denied"):
				t.Errorf("%s (%s): %v, want denied by airlock", k.name, mode, err)
			}
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				// A failed transaction block is the client's to end.
				c.Exec(ctx, "ROLLBACK")
				if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
					t.Fatalf("%s (%s): the session is not usable any more: %v", k.name, mode, err)
				}
			}
		}
	}
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	parse := 0
	for _, ev := range evs {
		if ev.Rule == airlock.RuleParse {
			parse++
		}
	}
	if parse < syntax {
		t.Errorf("%d syntax errors answered, but %d denials by rule parse audited", syntax, parse)
	}
	if after := db.QueryInt("SELECT count(*) * 1000 + sum(length(v)) FROM victim"); after != before {
		t.Fatalf("the table changed: %d -> %d", before, after)
	}
	if _, err := os.Stat("/tmp/airlock-pwned"); err == nil {
		t.Fatal("COPY TO PROGRAM ran")
	}
}

// corpusCase is one case of an adversarial corpus file: a header line
// "-- case: <name>" and the text sent as one query.
type corpusCase struct{ name, sql string }

// readCorpus reads an adversarial corpus file, which must hold at least
// atLeast cases (so that a broken file cannot pass by holding none).
func readCorpus(t *testing.T, path string, atLeast int) []corpusCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	for _, part := range strings.Split(string(data), "-- case: ")[1:] {
		name, sql, _ := strings.Cut(part, "\n")
		cases = append(cases, corpusCase{name, strings.TrimSpace(sql)})
	}
	if len(cases) < atLeast {
		t.Fatalf("%s: only %d cases", path, len(cases))
	}
	return cases
}
