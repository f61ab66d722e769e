package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock/internal/cli"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// writesInReadSession are statements a read session must not run.
var writesInReadSession = []string{
	"INSERT INTO items (id, name) VALUES (100, 'new')",
	"UPDATE items SET price = 0 WHERE id = 1",
	"DELETE FROM items WHERE id = 1",
	"CREATE TABLE evil (a int)",
	"DROP TABLE items",
	"TRUNCATE items",
	"ALTER TABLE items ADD COLUMN evil int",
	"SELECT * FROM items WHERE id = 1 FOR UPDATE",
	"WITH d AS (DELETE FROM items WHERE id = 1 RETURNING *) SELECT * FROM d",
	"EXPLAIN ANALYZE DELETE FROM items WHERE id = 1",
	"SET default_transaction_read_only = off",
	"SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
	"BEGIN READ WRITE",
	"SELECT set_config('default_transaction_read_only', 'off', false)",
	"SET ROLE postgres",
	"SET SESSION AUTHORIZATION postgres",
	"SET standard_conforming_strings = off",
	"SET client_encoding = 'SJIS'",
	"COPY items FROM '/etc/passwd'",
	"SELECT pg_terminate_backend(1)",
	"DO $$ BEGIN DELETE FROM items; END $$",
	"SELECT nextval('some_seq')",
	"PREPARE del AS DELETE FROM items WHERE id = 1",
	"LOCK items IN EXCLUSIVE MODE",
	"NOTIFY chan",
}

// TestReadSessionDeniesWrites: every write, sent by psql, by pgx's
// extended protocol and by JDBC, in and out of transaction blocks, is
// denied with 42501, changes nothing, and leaves the connection usable;
// every statement is in the audit with its decision.
func TestReadSessionDeniesWrites(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	before := tableState(t, db)
	a := testenv.Start(t, db, testenv.Options{})
	tok := a.Token("alice", 0)

	t.Run("psql", func(t *testing.T) {
		var script strings.Builder
		for _, s := range writesInReadSession {
			fmt.Fprintf(&script, "%s;\nSELECT 'alive' AS out;\n", s)
			fmt.Fprintf(&script, "BEGIN;\nSELECT 1 AS in_tx;\n%s;\nSELECT 'in failed tx';\nROLLBACK;\nSELECT 'after rollback' AS out;\n", s)
		}
		script.WriteString("COPY items FROM STDIN;\n100\tnew\t1\t{}\t\\N\t\\N\t\\N\n\\.\nSELECT 'after copy' AS out;\n")
		out := psql(t, a.Host(), a.Port(), "alice", tok, "app", script.String())
		n := len(writesInReadSession)
		if got := strings.Count(out, "ERROR:  airlock: denied:"); got != 2*n+1 {
			t.Errorf("%d denials, want %d\n%s", got, 2*n+1, out)
		}
		if got := strings.Count(out, "current transaction is aborted"); got != n {
			t.Errorf("%d aborted-transaction errors, want %d (a denial fails the transaction block)", got, n)
		}
		for _, want := range []string{"alive", "after rollback"} {
			if got := strings.Count(out, " "+want+"\n"); got != n {
				t.Errorf("%q printed %d times, want %d", want, got, n)
			}
		}
		if !strings.Contains(out, "after copy") || !strings.Contains(out, "HINT:  to request access: airlock requests create app --level write") {
			t.Errorf("output:\n%s", out)
		}
	})

	t.Run("pgx extended", func(t *testing.T) {
		ctx := context.Background()
		c := testenv.Connect(t, a.URL("alice", tok, "app"))
		defer c.Close(ctx)
		for _, s := range writesInReadSession {
			for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
				_, err := c.Exec(ctx, s, mode)
				if code := pgCode(err); code != "42501" || !strings.Contains(err.Error(), "airlock: denied") {
					t.Errorf("%s (%s): err = %v", s, mode, err)
				}
				var one int
				if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
					t.Fatalf("after %s: %v", s, err)
				}
			}
			// Inside a transaction: the denial fails the block.
			tx, err := c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, s); pgCode(err) != "42501" {
				t.Errorf("in tx %s: %v", s, err)
			}
			if _, err := tx.Exec(ctx, "SELECT 1"); pgCode(err) != "25P02" {
				t.Errorf("after denial in tx: %v, want 25P02", err)
			}
			tx.Rollback(ctx)
		}
		// A pipelined batch (one Sync): the denied statement fails the
		// batch.
		bcfg, _ := pgx.ParseConfig(a.URL("alice", tok, "app"))
		bcfg.DefaultQueryExecMode = pgx.QueryExecModeExec
		bc, err := pgx.ConnectConfig(ctx, bcfg)
		if err != nil {
			t.Fatal(err)
		}
		defer bc.Close(ctx)
		b := &pgx.Batch{}
		b.Queue("SELECT 1")
		b.Queue("DELETE FROM items WHERE id = 2")
		b.Queue("SELECT 3")
		br := bc.SendBatch(ctx, b)
		_, err1 := br.Exec()
		_, err2 := br.Exec()
		_, err3 := br.Exec()
		br.Close()
		if err1 != nil || pgCode(err2) != "42501" || err3 == nil {
			t.Errorf("batch: %v / %v / %v", err1, err2, err3)
		}
		// COPY FROM STDIN through the protocol.
		_, err = c.PgConn().CopyFrom(ctx, strings.NewReader("100\tx\t1\t{}\t\\N\t\\N\t\\N\n"), "COPY items FROM STDIN")
		if pgCode(err) != "42501" {
			t.Errorf("copy from: %v", err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 5 {
			t.Fatalf("after all: %d %v", n, err)
		}
	})

	t.Run("jdbc", func(t *testing.T) {
		args := []string{"-cp", "/usr/share/java/postgresql.jar", testdata("JdbcProbe.java"),
			fmt.Sprintf("jdbc:postgresql://%s/app?sslmode=disable", a.PostgresAddr), "alice", tok, "writes"}
		for _, s := range writesInReadSession {
			args = append(args, s, "TXN:"+s)
		}
		out := run(t, 120*time.Second, "", nil, "java", args...)
		n := 2 * len(writesInReadSession)
		if got := strings.Count(out, "error 42501 "); got != n {
			t.Errorf("%d denials, want %d\n%s", got, n, out)
		}
		if got := strings.Count(out, "alive 1"); got != n || !strings.Contains(out, "done") {
			t.Errorf("connection not alive after each denial:\n%s", out)
		}
	})

	if after := tableState(t, db); after != before {
		t.Fatalf("upstream changed: %s -> %s", before, after)
	}

	// Every statement is in the audit log with its decision, as the CLI
	// shows it.
	a.Audit.Sync(context.Background())
	var out bytes.Buffer
	app := &cli.App{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if code := cli.Execute(app, []string{"audit", "list", "--json", "--user", "alice", "--limit", "5000", "--server", a.HTTPURL(), "--token", a.AdminToken}); code != 0 {
		t.Fatalf("audit list: %s", out.String())
	}
	var events []struct {
		Type, Text, Decision, Rule, User, Database string
		ID                                         int64
		CreatedAt                                  time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(out.Bytes(), &events); err != nil {
		t.Fatalf("audit json: %v\n%s", err, out.String())
	}
	denied := map[string]int{}
	allowed := map[string]int{}
	for _, e := range events {
		if e.Type != "statement" {
			continue
		}
		if e.User != "alice" || e.Database != "app" || e.ID == 0 || e.CreatedAt.IsZero() {
			t.Fatalf("event lacks its facts: %+v", e)
		}
		if e.Decision == "denied" {
			denied[strings.TrimSuffix(strings.TrimSpace(e.Text), ";")]++
		} else {
			allowed[strings.TrimSuffix(strings.TrimSpace(e.Text), ";")]++
		}
	}
	for _, s := range writesInReadSession {
		// psql twice, pgx 2 modes + tx, JDBC twice.
		if denied[s] < 6 {
			t.Errorf("%q denied %d times in the audit, want at least 6", s, denied[s])
		}
	}
	if allowed["SELECT 'alive' AS out"] != len(writesInReadSession) || allowed["SELECT 1"] == 0 {
		t.Errorf("allowed statements missing from the audit: %v", allowed)
	}
}
