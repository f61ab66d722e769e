package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// terminate ends the upstream backend pid from outside airlock, as an
// administrator (or a server shutdown) would.
func terminate(t *testing.T, db *testenv.DB, pid uint32) {
	t.Helper()
	if n := db.QueryInt(fmt.Sprintf("SELECT pg_terminate_backend(%d)::int", pid)); n != 1 {
		t.Fatalf("backend %d not terminated", pid)
	}
}

// TestUpstreamTerminated: when the server ends a session's backend, the
// client sees what PostgreSQL's own client would see: the FATAL error
// (57P01) on its next statement, a transaction start included, or in the
// middle of a COPY FROM, and then a closed connection; nothing hangs.
func TestUpstreamTerminated(t *testing.T) {
	db := testenv.NewDB(t)
	db.Exec(`CREATE TABLE bulk (a int, b text); GRANT SELECT, INSERT ON bulk TO airlock_test_rw; GRANT SELECT ON bulk TO airlock_test_ro;`)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info", DatabaseExtra: "    undo: \"off\"\n    guardrails: {disable: [blast-radius]}\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := a.URL("wanda", a.Token("wanda", 0), "app")
	backend := func(c *pgx.Conn) uint32 {
		var pid uint32
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	isFatal := func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.SeverityUnlocalized == "FATAL" && pe.Code == "57P01"
	}

	t.Run("transaction start", func(t *testing.T) {
		c := testenv.Connect(t, url)
		defer c.Close(ctx)
		terminate(t, db, backend(c))
		time.Sleep(200 * time.Millisecond) // the FATAL is on its way
		_, err := c.Begin(ctx)
		if !isFatal(err) {
			t.Fatalf("Begin after the backend ended: %v, want FATAL 57P01", err)
		}
		if !c.IsClosed() {
			t.Fatal("the connection is still open")
		}
	})

	t.Run("mid-COPY", func(t *testing.T) {
		c := testenv.Connect(t, url)
		defer c.Close(ctx)
		pid := backend(c)
		r, w := io.Pipe()
		go func() {
			for i := 0; ; i++ {
				if _, err := fmt.Fprintf(w, "%d,\"row %d\"\n", i, i); err != nil {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		time.AfterFunc(500*time.Millisecond, func() { terminate(t, db, pid) })
		_, err := c.PgConn().CopyFrom(ctx, r, "COPY bulk FROM STDIN WITH (FORMAT csv)")
		r.Close()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("CopyFrom when the backend ended: %v", err)
		}
		if !isFatal(err) {
			t.Fatalf("CopyFrom when the backend ended: %v, want FATAL 57P01", err)
		}
		if !c.IsClosed() && c.Ping(ctx) == nil {
			t.Fatal("the connection still works after its backend ended")
		}
		if n := db.QueryInt("SELECT count(*) FROM bulk"); n != 0 {
			t.Fatalf("%d rows", n)
		}
	})
}
