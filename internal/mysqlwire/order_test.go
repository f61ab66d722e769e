package mysqlwire_test

import (
	"testing"

	"airlock/internal/mysqlwire"
	"airlock/internal/testenv/mydb"
)

// TestPacketsOutOfOrder: a command packet whose sequence number is not 0
// is never executed; airlock answers as MariaDB does (ERR 1156 08S01 "Got
// packets out of order", sequence 0) and closes the connection.
func TestPacketsOutOfOrder(t *testing.T) {
	db := mydb.New(t)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB")
	e := startEnv(t, db, envOptions{databases: mydb.Databases(db.Name, "    undo: \"off\"\n")})
	tok := e.token("wanda")
	for _, tc := range []struct {
		name, addr, user, password, db string
	}{
		{"airlock", e.addr, "wanda", tok, "app"},
		{"direct", mydb.Addr, mydb.RoleRW, mydb.Password, db.Name},
	} {
		for _, seq := range []byte{1, 3, 255} {
			r, err := mysqlwire.RawDial(tc.addr, tc.user, tc.password, tc.db, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.SendSeq(append([]byte{0x03}, "INSERT INTO t VALUES (1)"...), seq); err != nil {
				t.Fatal(err)
			}
			p, err := r.Read()
			if err != nil {
				t.Fatalf("%s seq %d: %v", tc.name, seq, err)
			}
			code, state, msg := mysqlwire.ERR(p)
			if code != 1156 || state != "08S01" || msg != "Got packets out of order" {
				t.Fatalf("%s seq %d: %d %s %q, want 1156 08S01", tc.name, seq, code, state, msg)
			}
			if _, err := r.Read(); err == nil {
				t.Fatalf("%s seq %d: the connection stays open", tc.name, seq)
			}
			r.Close()
			if n := db.QueryInt("SELECT COUNT(*) FROM t"); n != 0 {
				t.Fatalf("%s seq %d: the command ran", tc.name, seq)
			}
		}
	}
	// In order, the same command runs.
	r, err := mysqlwire.RawDial(e.addr, "wanda", tok, "app", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Query("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}
