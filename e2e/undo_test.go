package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// The undo acceptance tests run on every engine: undo_parity_test.go,
// with the engines in engines_test.go. What follows is PostgreSQL's side.

// undoSchema is PostgreSQL's undo tables: numeric, timestamptz, json and
// jsonb, bytea, arrays, an enum, text; a composite key; identity and
// generated columns; no primary key.
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
