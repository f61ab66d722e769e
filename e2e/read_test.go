package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestClientsReadAsDirect: psql, pgx (simple and extended), psycopg2 and
// JDBC read through airlock exactly what they read directly.
func TestClientsReadAsDirect(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	a := testenv.Start(t, db, testenv.Options{})
	tok := a.Token("alice", 0)

	t.Run("psql", func(t *testing.T) {
		script := `\pset footer on
SELECT * FROM items ORDER BY id;
SELECT name, price * 2 AS double, tags[1], note->'a', created AT TIME ZONE 'UTC' FROM items WHERE id > 1 ORDER BY id;
\d items
\dt
PREPARE p(int) AS SELECT name FROM items WHERE id = $1;
EXECUTE p(2);
DEALLOCATE p;
COPY (SELECT * FROM items ORDER BY id) TO STDOUT;
COPY items TO STDOUT WITH (FORMAT csv, HEADER);
BEGIN;
DECLARE c CURSOR FOR SELECT id, name FROM items ORDER BY id;
FETCH 2 FROM c;
FETCH NEXT FROM c;
CLOSE c;
COMMIT;
SELECT 1/0;
SELECT 'still here';
SHOW transaction_read_only;
SELECT repeat('x', 100000) = repeat('x', 100000) AS large;
LISTEN psql_channel;
\! psql -X -q -h 127.0.0.1 -U postgres -d %s -c "NOTIFY psql_channel, 'hello psql'"
SELECT 'after notify';
`
		script = fmt.Sprintf(script, db.Name)
		pid := regexp.MustCompile(`server process with PID \d+`)
		direct := pid.ReplaceAllString(psql(t, "127.0.0.1", "5432", testenv.RoleRO, "", db.Name, script), "PID")
		via := pid.ReplaceAllString(psql(t, a.Host(), a.Port(), "alice", tok, "app", script), "PID")
		// The read session is read-only upstream too; a direct
		// connection of the read role is not.
		direct = strings.Replace(direct, " transaction_read_only \n-----------------------\n off\n", " transaction_read_only \n-----------------------\n on\n", 1)
		if direct != via {
			t.Fatalf("psql output differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
		}
		if !strings.Contains(via, "cheese 'brie'") || !strings.Contains(via, "division by zero") ||
			!strings.Contains(via, `Asynchronous notification "psql_channel" with payload "hello psql" received`) {
			t.Fatalf("unexpected output:\n%s", via)
		}
	})

	t.Run("pgx", func(t *testing.T) {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec} {
			t.Run(mode.String(), func(t *testing.T) {
				direct := pgxReads(t, directURL(db), mode)
				via := pgxReads(t, a.URL("alice", tok, "app"), mode)
				if direct != via {
					t.Fatalf("pgx output differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
				}
			})
		}
	})

	t.Run("pgx listen", func(t *testing.T) {
		ctx := context.Background()
		c := testenv.Connect(t, a.URL("alice", tok, "app"))
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "LISTEN jobs"); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(200 * time.Millisecond) // the listener is idle by then
			n := testenv.Connect(t, testenv.AdminURL(db.Name))
			defer n.Close(ctx)
			n.Exec(ctx, "NOTIFY jobs, 'payload 1'")
		}()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		note, err := c.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("no notification while idle: %v", err)
		}
		if note.Channel != "jobs" || note.Payload != "payload 1" {
			t.Fatalf("notification = %+v", note)
		}
		// The session goes on normally afterwards.
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != 5 {
			t.Fatalf("after notification: %d, %v", n, err)
		}
	})

	t.Run("psycopg2", func(t *testing.T) {
		directDSN := fmt.Sprintf("host=127.0.0.1 port=5432 user=%s dbname=%s sslmode=disable", testenv.RoleRO, db.Name)
		viaDSN := fmt.Sprintf("host=%s port=%s user=alice password=%s dbname=app sslmode=disable", a.Host(), a.Port(), tok)
		notify := fmt.Sprintf("host=127.0.0.1 port=5432 user=postgres dbname=%s sslmode=disable", db.Name)
		direct := run(t, 60*time.Second, "", nil, "/usr/bin/python3", testdata("probe.py"), directDSN, notify)
		via := run(t, 60*time.Second, "", nil, "/usr/bin/python3", testdata("probe.py"), viaDSN, notify)
		if direct != via {
			t.Fatalf("psycopg2 output differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
		}
		if !strings.Contains(via, "notify probe_channel hello") || !strings.Contains(via, "delete 42501") {
			t.Fatalf("unexpected output:\n%s", via)
		}
	})

	t.Run("jdbc", func(t *testing.T) {
		notify := fmt.Sprintf("NOTIFY_URL=jdbc:postgresql://127.0.0.1:5432/%s?sslmode=disable", db.Name)
		java := func(url, user, pass string) string {
			return run(t, 120*time.Second, "", []string{notify}, "java", "-cp", "/usr/share/java/postgresql.jar", testdata("JdbcProbe.java"), url, user, pass, "read")
		}
		direct := java(fmt.Sprintf("jdbc:postgresql://127.0.0.1:5432/%s?sslmode=disable", db.Name), testenv.RoleRO, "x")
		via := java(fmt.Sprintf("jdbc:postgresql://%s/app?sslmode=disable", a.PostgresAddr), "alice", tok)
		if direct != via {
			t.Fatalf("JDBC output differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
		}
		if !strings.Contains(via, "fetch 1 2 3 4 5") || !strings.Contains(via, "column note jsonb") ||
			!strings.Contains(via, "notify jdbc_channel from jdbc") || !strings.Contains(via, "copy\n1\tapple\n") {
			t.Fatalf("unexpected output:\n%s", via)
		}
	})
}

// pgxReads reads with pgx in one exec mode and prints what it got.
func pgxReads(t *testing.T, url string, mode pgx.QueryExecMode) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var b strings.Builder
	rows, err := c.Query(ctx, "SELECT id, name, price::text, tags, created, note, m::text FROM items WHERE id >= $1 ORDER BY id", 1)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "row %v\n", vals)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for i := 1; i <= 3; i++ {
		var name string
		if err := c.QueryRow(ctx, "SELECT name FROM items WHERE id = $1", i).Scan(&name); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "param %d %s\n", i, name)
	}
	// A pipelined batch with an error in the middle.
	batch := &pgx.Batch{}
	batch.Queue("SELECT count(*) FROM items")
	batch.Queue("SELECT 1/0")
	batch.Queue("SELECT 2")
	br := c.SendBatch(ctx, batch)
	var n int64
	fmt.Fprintf(&b, "batch1 %v ", br.QueryRow().Scan(&n))
	fmt.Fprintf(&b, "%d\n", n)
	_, err = br.Exec()
	fmt.Fprintf(&b, "batch2 %s\n", pgCode(err))
	_, err = br.Exec()
	fmt.Fprintf(&b, "batch3 %v\n", err != nil)
	br.Close()
	// COPY TO STDOUT.
	var buf strings.Builder
	tag, err := c.PgConn().CopyTo(ctx, &buf, "COPY (SELECT * FROM items ORDER BY id) TO STDOUT")
	fmt.Fprintf(&b, "copy %s %v\n%s", tag, err, buf.String())
	// A cursor in a transaction.
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "DECLARE cur CURSOR FOR SELECT id FROM items ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var id int
		if err := tx.QueryRow(ctx, "FETCH 1 FROM cur").Scan(&id); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "fetched %d\n", id)
	}
	tx.Rollback(ctx)
	var s string
	if err := c.QueryRow(ctx, "SELECT 'alive'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	b.WriteString(s + "\n")
	return b.String()
}

// TestNodePostgresReadsAsDirect: node-postgres (pg, from the npm registry)
// reads through airlock exactly what it reads directly — simple and
// multi-statement queries, parameterized and named prepared statements,
// errors, a transaction, LISTEN/NOTIFY — and its write is denied.
func TestNodePostgresReadsAsDirect(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(itemsSchema)
	a := testenv.Start(t, db, testenv.Options{})
	dir := npmDir(t, "pg")
	notify := fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", db.Name)
	probe := func(conn string) string {
		return run(t, 120*time.Second, "", nil, "node", testdata("pg_probe.js"), dir, conn, notify)
	}
	direct := probe(fmt.Sprintf("postgres://%s:x@127.0.0.1:5432/%s?sslmode=disable", testenv.RoleRO, db.Name))
	via := probe(fmt.Sprintf("postgres://alice:%s@%s/app?sslmode=disable", a.Token("alice", 0), a.PostgresAddr))
	// The write is refused by the read-only account's privileges directly
	// and by airlock before the database through it: the same SQLSTATE,
	// other messages.
	denied := regexp.MustCompile(`(?m)^error 42501 .*$`)
	if !strings.Contains(via, "error 42501 airlock: denied: level:") || !strings.Contains(direct, "error 42501 ") {
		t.Fatalf("the write was not refused as expected\n--- direct\n%s\n--- airlock\n%s", direct, via)
	}
	direct, via = denied.ReplaceAllString(direct, "error (refused)"), denied.ReplaceAllString(via, "error (refused)")
	if !strings.Contains(via, "notify node_channel hello node") || !strings.HasSuffix(via, "done\n") {
		t.Fatalf("unexpected output:\n%s", via)
	}
	if direct != via {
		t.Fatalf("node-postgres output differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
	}
}
