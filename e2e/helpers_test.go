// Package e2e holds airlock's end-to-end tests: a real airlock in front of
// the real PostgreSQL, driven by real clients (psql, pgx, psycopg2, JDBC).
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5/pgconn"
)

// itemsSchema creates the table most tests read.
const itemsSchema = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE items (
	id int PRIMARY KEY,
	name text NOT NULL,
	price numeric(10,2),
	tags text[],
	created timestamptz,
	note jsonb,
	m mood
);
INSERT INTO items VALUES
	(1, 'apple', 1.50, '{red,fruit}', '2024-01-02 03:04:05+00', '{"a": 1}', 'happy'),
	(2, 'bread', 2.25, '{}', '2024-02-03 04:05:06.789+00', '[1, "two", null]', 'ok'),
	(3, 'cheese ''brie''', 9.99, NULL, NULL, NULL, NULL),
	(4, 'dates', 0.10, '{"with space","quote\""}', '1999-12-31 23:59:59+00', '"str"', 'sad'),
	(5, 'eggs €', 3.00, '{a}', '2030-06-07 08:09:10+00', '{"nested": {"k": [true, false]}}', 'ok');
`

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// run runs a command with a timeout and returns its combined output.
func run(t *testing.T, timeout time.Duration, stdin string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), append([]string{"LANG=C.UTF-8", "LC_ALL=C.UTF-8", "PGCONNECT_TIMEOUT=10"}, env...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s timed out; output:\n%s", name, out.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %s: %v", name, err)
	}
	return out.String()
}

// psql runs a script through psql against host:port as user.
func psql(t *testing.T, host, port, user, password, db, script string) string {
	t.Helper()
	return run(t, 60*time.Second, script, []string{"PGPASSWORD=" + password, "PGSSLMODE=disable"},
		"psql", "-X", "-q", "-h", host, "-p", port, "-U", user, "-d", db, "-v", "ON_ERROR_STOP=0", "-f", "-")
}

// directURL is a connection to the upstream database as the read role.
func directURL(db *testenv.DB) string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", testenv.RoleRO, testenv.PGAddr, db.Name)
}

func testdata(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

// tableState summarises the items table as seen directly, to prove that
// nothing changed.
func tableState(t *testing.T, db *testenv.DB) string {
	t.Helper()
	c := testenv.Connect(t, testenv.AdminURL(db.Name))
	defer c.Close(context.Background())
	var s string
	err := c.QueryRow(context.Background(), `SELECT count(*)::text || ':' || coalesce(sum(price),0)::text || ':' ||
		md5(coalesce(string_agg(items::text, ',' ORDER BY id), '')) || ':' ||
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public')::text FROM items`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
