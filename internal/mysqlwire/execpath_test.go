package mysqlwire_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/testenv/mydb"
)

// TestManyRowsRelayed: result sets of many rows, small ones between rows
// larger than the upstream reader's buffer, come through whole and in
// order in the text and the binary protocol (the driver checks every
// packet's sequence number), the statement after them works, and each
// execution is audited with its row count.
func TestManyRowsRelayed(t *testing.T) {
	db := mydb.New(t)
	e := startEnv(t, db, envOptions{})
	tok := e.token("alice")
	const q = "SELECT seq, REPEAT('x', IF(seq % 100 = 0, 20000, seq % 50)) AS pad FROM seq_1_to_1000 WHERE seq >= ?"
	for _, mode := range []string{"interpolateParams=true", "interpolateParams=false"} {
		c := mydb.Open(t, e.dsn("alice", tok, mode))
		c.SetMaxOpenConns(1)
		for round := range 3 {
			rows, err := c.Query(q, 1)
			if err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			n := 0
			for rows.Next() {
				var seq int
				var pad string
				if err := rows.Scan(&seq, &pad); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				n++
				want := seq % 50
				if seq%100 == 0 {
					want = 20000
				}
				if seq != n || len(pad) != want || strings.Trim(pad, "x") != "" {
					t.Fatalf("%s, round %d: row %d is seq %d with %d bytes, want %d", mode, round, n, seq, len(pad), want)
				}
			}
			if err := rows.Err(); err != nil || n != 1000 {
				t.Fatalf("%s: %d rows, %v", mode, n, err)
			}
			rows.Close()
			var one int
			if err := c.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("%s: the statement after the rows: %d %v", mode, one, err)
			}
		}
	}
	audited := 0
	for _, ev := range e.events("alice") {
		if ev.Action == airlock.ActionExecuted && strings.HasPrefix(ev.Text, "SELECT seq, REPEAT") {
			audited++
			if ev.Rows != 1000 {
				t.Errorf("audited %d rows: %q", ev.Rows, ev.Text)
			}
		}
	}
	if audited != 6 {
		t.Errorf("%d executions audited, want 6", audited)
	}
}

// TestPreparedExecutionsDecidedEachTime: every execution of a prepared
// statement is decided at the session's level when it runs and audited
// with its own parameters, however often the statement ran before: a
// write prepared under a grant runs while the grant lasts and is denied
// at its first execution after the grant ended; the reads prepared in the
// same session keep running, each execution its own event.
func TestPreparedExecutionsDecidedEachTime(t *testing.T) {
	db := mydb.New(t)
	db.Exec(itemsTable)
	e := startEnv(t, db, envOptions{})
	ctx := context.Background()
	tok := e.token("alice")
	alice, err := e.access.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.access.Authenticate(ctx, e.token("bob"))
	if err != nil {
		t.Fatal(err)
	}
	c := mydb.Open(t, e.dsn("alice", tok, "interpolateParams=false"))
	c.SetMaxOpenConns(1)
	sel, err := c.Prepare("SELECT name FROM items WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	readAll := func(ids ...int) {
		t.Helper()
		for _, id := range ids {
			var name string
			if err := sel.QueryRow(id).Scan(&name); err != nil {
				t.Fatalf("prepared select of %d: %v", id, err)
			}
		}
	}
	readAll(1, 2, 3, 4)

	r, err := e.access.CreateRequest(ctx, alice, access.RequestInput{Database: "app", Level: airlock.LevelWrite, Duration: time.Hour, Reason: "fix prices"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = e.access.ApproveRequest(ctx, bob, r.ID); err != nil {
		t.Fatal(err)
	}
	readAll(4, 3) // the first command after the grant moves the session to the write credential
	upd, err := c.Prepare("UPDATE items SET price = IFNULL(price, 0) + 1 WHERE id = ?")
	if err != nil {
		t.Fatalf("prepare the UPDATE under the grant: %v", err)
	}
	for id := 1; id <= 3; id++ {
		if _, err := upd.Exec(id); err != nil {
			t.Fatalf("UPDATE %d under the grant: %v", id, err)
		}
	}
	before := itemsState(t, db)

	revokeGrant(t, e, r.GrantID)
	for id := 1; id <= 2; id++ {
		if _, err := upd.Exec(id); err == nil {
			t.Fatalf("the prepared UPDATE of %d ran after the grant ended", id)
		} else if code, _ := mydb.Err(err); code != 1227 {
			t.Fatalf("prepared UPDATE after the grant: %v", err)
		}
	}
	if got := itemsState(t, db); got != before {
		t.Fatalf("items changed after the grant ended: %s, was %s", got, before)
	}
	readAll(2, 1)

	var selects, updates, denied [][]string
	for _, ev := range e.events("alice") {
		switch {
		case ev.Text == "SELECT name FROM items WHERE id = ?" && ev.Action == airlock.ActionExecuted:
			selects = append(selects, ev.Params)
		case strings.HasPrefix(ev.Text, "UPDATE items") && ev.Action == airlock.ActionExecuted:
			updates = append(updates, ev.Params)
		case strings.HasPrefix(ev.Text, "UPDATE items") && ev.Action == airlock.ActionDenied:
			denied = append(denied, ev.Params)
		}
	}
	want := func(what string, got [][]string, ids ...int) {
		t.Helper()
		var w [][]string
		for _, id := range ids {
			w = append(w, []string{fmt.Sprint(id)})
		}
		if !slices.EqualFunc(got, w, slices.Equal[[]string]) {
			t.Errorf("%s audited with parameters %v, want %v", what, got, w)
		}
	}
	want("selects", selects, 1, 2, 3, 4, 4, 3, 2, 1)
	want("updates", updates, 1, 2, 3)
	want("denied updates", denied, 1, 2)
	var price sql.NullString
	if err := c.QueryRow("SELECT price FROM items WHERE id = 3").Scan(&price); err != nil || price.String != "10.99" {
		t.Fatalf("price of 3: %q %v", price.String, err)
	}
}
