package mysqlwire

import (
	"testing"

	"airlock/internal/sqlclass/mysql"
)

// TestSessionStateFollows: what the statements a session ran leave on its
// upstream connection, as the server keeps it (LOCK TABLES is released by
// UNLOCK TABLES and by beginning a transaction; GET_LOCK by
// RELEASE_ALL_LOCKS), decides whether the session can move to another
// connection.
func TestSessionStateFollows(t *testing.T) {
	cl := mysql.New()
	for _, c := range []struct {
		stmts []string
		want  string
	}{
		{[]string{"SELECT 1"}, ""},
		{[]string{"LOCK TABLES t WRITE"}, "table locks (LOCK TABLES)"},
		{[]string{"LOCK TABLES t WRITE", "UNLOCK TABLES"}, ""},
		{[]string{"LOCK TABLES t WRITE", "START TRANSACTION"}, ""},
		{[]string{"LOCK TABLES t READ", "BEGIN"}, ""},
		{[]string{"LOCK TABLES t READ", "SELECT * FROM t"}, "table locks (LOCK TABLES)"},
		{[]string{"CREATE TEMPORARY TABLE tt (a int)"}, "temporary tables"},
		{[]string{"SELECT GET_LOCK('x', 0)"}, "named locks (GET_LOCK)"},
		{[]string{"SELECT GET_LOCK('x', 0)", "SELECT RELEASE_ALL_LOCKS()"}, ""},
	} {
		var s sessionState
		for _, q := range c.stmts {
			sts, err := cl.Classify(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			for i := range sts {
				s.follow(&sts[i])
			}
		}
		if got := s.blocker(); got != c.want {
			t.Errorf("%q: blocker %q, want %q", c.stmts, got, c.want)
		}
	}
}
