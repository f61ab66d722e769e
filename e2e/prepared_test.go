package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestPreparedParseFailedKeepsStatement: a Parse that reuses the name of
// a prepared statement is allowed by airlock but fails upstream (42P05):
// the name keeps the statement it had, and a later execution of it is
// decided and audited on that statement's facts, not on the failed one's.
func TestPreparedParseFailedKeepsStatement(t *testing.T) {
	db := testenv.NewDB(t)
	a := testenv.Start(t, db, testenv.Options{LogLevel: "info"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pgconn.Connect(ctx, a.URL("alice", a.Token("alice", 0), "app"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	fe := pc.Frontend()
	batch := func(msgs ...pgproto3.FrontendMessage) []string {
		t.Helper()
		for _, m := range msgs {
			fe.Send(m)
		}
		fe.Send(&pgproto3.Sync{})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		pc.Conn().SetReadDeadline(time.Now().Add(20 * time.Second))
		var got []string
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatalf("after %v: %v", got, err)
			}
			switch m := m.(type) {
			case *pgproto3.ErrorResponse:
				got = append(got, "error "+m.Code)
			case *pgproto3.DataRow:
				got = append(got, "row "+string(m.Values[0]))
			case *pgproto3.ReadyForQuery:
				return got
			default:
				got = append(got, fmt.Sprintf("%T", m))
			}
		}
	}
	const first = "SELECT 41 + 1"
	if got, want := fmt.Sprint(batch(&pgproto3.Parse{Name: "s", Query: first})), "[*pgproto3.ParseComplete]"; got != want {
		t.Fatalf("first Parse: %s, want %s", got, want)
	}
	got := fmt.Sprint(batch(&pgproto3.Parse{Name: "s", Query: "SELECT 'other'"}, &pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}))
	if want := "[error 42P05]"; got != want {
		t.Fatalf("second Parse of the name: %s, want %s", got, want)
	}
	got = fmt.Sprint(batch(&pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}))
	if want := "[*pgproto3.BindComplete row 42 *pgproto3.CommandComplete]"; got != want {
		t.Fatalf("execution after the failed Parse: %s, want %s", got, want)
	}

	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{Type: airlock.EventStatement, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var last *airlock.Event
	for _, ev := range evs {
		if ev.Action == airlock.ActionExecuted && ev.Error == "" && (last == nil || ev.ID > last.ID) {
			last = ev
		}
	}
	if last == nil || last.Text != first {
		t.Fatalf("last execution audited as %+v, want the text %q", last, first)
	}
}
