package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/testenv"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// badSyntax are statements PostgreSQL's grammar rejects, at different
// positions, with non-ASCII text before the error (positions count
// characters).
var badSyntax = []string{
	"SELEC 1",
	"SELECT 1 FROM",
	"SELECT 'é日本' AS x, FROM items",
	"SELECT 1;\nSELECT (2",
	"SELECT 'unterminated",
	"UPDATE items SET WHERE id = 1",
}

// TestSyntaxErrorAsPostgres: text the grammar rejects is answered as
// PostgreSQL answers it (42601, its message and position), by the simple
// and the extended protocol, never forwarded, and audited as denied by
// rule parse; the session stays usable.
func TestSyntaxErrorAsPostgres(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema + "GRANT SELECT ON ALL TABLES IN SCHEMA public TO airlock_test_ro;")
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	ctx := context.Background()
	via := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
	defer via.Close(ctx)
	direct := testenv.Connect(t, directURL(db))
	defer direct.Close(ctx)
	for _, sql := range badSyntax {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			if mode == pgx.QueryExecModeExec && strings.Contains(sql, ";") {
				continue
			}
			_, werr := direct.Exec(ctx, sql, mode)
			_, gerr := via.Exec(ctx, sql, mode)
			var want, got *pgconn.PgError
			if !errors.As(werr, &want) || !errors.As(gerr, &got) {
				t.Fatalf("%q (%v): direct %v, airlock %v", sql, mode, werr, gerr)
			}
			if got.Code != want.Code || got.Message != want.Message || got.Position != want.Position || got.Severity != want.Severity {
				t.Errorf("%q (%v): airlock %s %q at %d, direct %s %q at %d", sql, mode, got.Code, got.Message, got.Position, want.Code, want.Message, want.Position)
			}
			if want.Code != "42601" {
				t.Errorf("%q: direct gives %s, not a syntax error", sql, want.Code)
			}
			var one int
			if err := via.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Fatalf("%q: the session is not usable after the error: %v", sql, err)
			}
		}
	}
	// Inside a transaction block the error fails the block, as upstream.
	tx, err := via.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELEC 1"); pgCode(err) != "42601" {
		t.Fatalf("in a block: %v", err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
		t.Fatalf("after a syntax error in a block: %v, want 25P02", err)
	}
	tx.Rollback(ctx)

	// Never forwarded: the server saw none of the texts.
	var seen int
	if err := direct.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELEC 1%'").Scan(&seen); err != nil || seen != 0 {
		t.Fatalf("a syntax error reached the server: %d, %v", seen, err)
	}
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	parse := 0
	for _, ev := range evs {
		if ev.Rule == airlock.RuleParse {
			parse++
		}
	}
	if want := 2*len(badSyntax) - 1 + 1; parse != want {
		t.Fatalf("%d denials by rule parse audited, want %d", parse, want)
	}
}

// TestSyntaxErrorAsMySQL: text MariaDB's grammar certainly rejects (no
// statement starts so, an unterminated string) is answered with 1064
// (42000) and the server's message, never forwarded, and audited as denied
// by rule parse. What only airlock's parser cannot read stays airlock's
// denial (1227), since the server might run it.
func TestSyntaxErrorAsMySQL(t *testing.T) {
	db := testenv.NewMyDB(t)
	a := testenv.StartMySQL(t, db, testenv.Options{LogLevel: "info"})
	via := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", ""))
	direct := testenv.OpenMy(t, myDirect(db, ""))
	for _, sql := range []string{"SELEC 1", "/* c */ ＤELETE FROM t", "SELECT 'é'\nFROM t WHERE v = 'x"} {
		_, werr := direct.Exec(sql)
		_, gerr := via.Exec(sql)
		var want, got *mysql.MySQLError
		if !errors.As(werr, &want) || !errors.As(gerr, &got) {
			t.Fatalf("%q: direct %v, airlock %v", sql, werr, gerr)
		}
		if got.Number != 1064 || want.Number != 1064 || got.SQLState != want.SQLState {
			t.Errorf("%q: airlock %d %s, direct %d %s", sql, got.Number, got.SQLState, want.Number, want.SQLState)
		}
		if !strings.HasPrefix(got.Message, "You have an error in your SQL syntax") {
			t.Errorf("%q: airlock says %q", sql, got.Message)
		}
		if got.Message != want.Message {
			t.Errorf("%q: airlock says %q, the server %q", sql, got.Message, want.Message)
		}
		if err := via.QueryRow("SELECT 1").Scan(new(int)); err != nil {
			t.Fatalf("%q: the session is not usable after the error: %v", sql, err)
		}
	}
	// A statement that starts as one but that the parser cannot read.
	if _, err := via.Exec("SELECT 1 FROM WHERE"); err == nil || !strings.Contains(err.Error(), "1227") {
		t.Fatalf("unreadable SELECT: %v, want airlock's denial", err)
	}
	ctx := context.Background()
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("%d denials audited, want 4", len(evs))
	}
	for _, ev := range evs {
		if ev.Rule != airlock.RuleParse {
			t.Errorf("%q audited with rule %q", ev.Text, ev.Rule)
		}
	}
}
