package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"airlock"
	"airlock/internal/testenv"
)

// TestMySQLChangeUser: a driver's changeUser (COM_CHANGE_USER) is handled
// as the server handles it: the new identity authenticates with its own
// token, the session state is reset (a user variable is gone), the level
// is decided anew (the upstream credential follows it), and both
// sessions are audited; a bad token gets the server's error and the
// connection closes.
func TestMySQLChangeUser(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(`CREATE TABLE items (id int PRIMARY KEY, name varchar(20)) ENGINE=InnoDB; INSERT INTO items VALUES (1, 'apple')`)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	host, port := a.MyHostPort()
	dir := npmDir(t, "mysql2")
	alice, wanda := a.Token("alice", time.Hour), a.Token("wanda", time.Hour)

	out := run(t, 60*time.Second, "", nil, "node", testdata("change_user.js"), dir, host, port, "alice", alice, "wanda", wanda, "app")
	want := "before " + testenv.MyRoleRO + " 1\nwrite before: 1227\nafter " + testenv.MyRoleRW + " null\nwrite after: rows 1\n"
	if out != want {
		t.Fatalf("change user:\n%s\nwant:\n%s", out, want)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM items WHERE name = 'changed'"); n != 1 {
		t.Fatalf("the write after the change did not reach the database")
	}
	a.Audit.Sync(context.Background())
	evs, err := a.Store.ListEvents(context.Background(), airlock.EventFilter{Type: airlock.EventSession, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	opened := map[string]bool{}
	for _, ev := range evs {
		if ev.Action == "opened" {
			opened[ev.User] = true
		}
	}
	if !opened["alice"] || !opened["wanda"] {
		t.Errorf("sessions opened in the audit: %v", opened)
	}

	out = run(t, 60*time.Second, "", nil, "node", testdata("change_user.js"), dir, host, port, "alice", alice, "wanda", "alk_bad", "app")
	if !strings.Contains(out, "change failed: 1045") || !strings.Contains(out, "closed after a failed change") {
		t.Fatalf("change to a bad token:\n%s", out)
	}
}
