package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
)

// TestCopyFromBinary: pgx's CopyFrom (binary COPY, its data sent right
// behind the query without waiting for CopyInResponse) loads rows through
// airlock in a write session, guarded (blast radius, undo) and plain, from
// a slice and from a function; over the blast radius it is rolled back;
// in a read session it is denied and nothing changes.
func TestCopyFromBinary(t *testing.T) {
	for _, tc := range []struct{ name, extra string }{
		{"guarded", ""},
		{"plain", "    undo: \"off\"\n    guardrails: {disable: [blast-radius]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.NewDB(t)
			db.Exec(`CREATE TABLE bulk (id int PRIMARY KEY, name text, at timestamptz, data bytea);
				GRANT SELECT ON bulk TO airlock_test_ro; GRANT SELECT, INSERT ON bulk TO airlock_test_rw;`)
			a := testenv.Start(t, db, testenv.Options{LogLevel: "info", DatabaseExtra: tc.extra})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c := testenv.Connect(t, a.URL("wanda", a.Token("wanda", 0), "app"))
			defer c.Close(ctx)
			at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			var rows [][]any
			for i := 1; i <= 500; i++ {
				rows = append(rows, []any{i, fmt.Sprintf("row %d", i), at, []byte{byte(i), 0, 0xff}})
			}
			n, err := c.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id", "name", "at", "data"}, pgx.CopyFromRows(rows))
			if err != nil || n != 500 {
				t.Fatalf("CopyFrom rows: %d, %v", n, err)
			}
			i := 500
			n, err = c.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id", "name"}, pgx.CopyFromFunc(func() ([]any, error) {
				if i >= 800 {
					return nil, nil
				}
				i++
				return []any{i, "fn"}, nil
			}))
			if err != nil || n != 300 {
				t.Fatalf("CopyFrom func: %d, %v", n, err)
			}
			// The session goes on; a failing source aborts the COPY only.
			_, err = c.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id"}, pgx.CopyFromFunc(func() ([]any, error) {
				return nil, fmt.Errorf("source broke")
			}))
			if err == nil {
				t.Fatal("a failing source was not reported")
			}
			if got := db.QueryInt("SELECT count(*) FROM bulk"); got != 800 {
				t.Fatalf("%d rows loaded, want 800", got)
			}
			if got := db.QueryInt("SELECT count(*) FROM bulk WHERE at = '2024-01-02 03:04:05+00' AND data = '\\x0000ff'::bytea OR id > 500"); got != 300+1 {
				t.Fatalf("%d rows as sent, want 301", got)
			}
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
			if tc.name == "guarded" {
				// 1,200 rows are over the blast radius (1,000): rolled back.
				var big [][]any
				for i := 1001; i <= 2200; i++ {
					big = append(big, []any{i, "big"})
				}
				if _, err := c.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id", "name"}, pgx.CopyFromRows(big)); pgCode(err) != "42501" {
					t.Fatalf("CopyFrom over the blast radius: %v", err)
				}
				if got := db.QueryInt("SELECT count(*) FROM bulk"); got != 800 {
					t.Fatalf("%d rows after the denied COPY, want 800", got)
				}
			}
			r := testenv.Connect(t, a.URL("alice", a.Token("alice", 0), "app"))
			defer r.Close(ctx)
			if _, err := r.CopyFrom(ctx, pgx.Identifier{"bulk"}, []string{"id"}, pgx.CopyFromRows([][]any{{9999}})); pgCode(err) != "42501" {
				t.Fatalf("CopyFrom in a read session: %v", err)
			}
			if err := r.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Fatalf("read session after the denied COPY: %v", err)
			}
			if got := db.QueryInt("SELECT count(*) FROM bulk"); got != 800 {
				t.Fatalf("%d rows after the denied COPY, want 800", got)
			}
		})
	}
}
