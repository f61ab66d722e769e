package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/testenv"
)

// TestMySQLAdversarialCorpus sends every case of
// testdata/adversarial_mysql.sql through a read session on airlock's MySQL
// listener as one text query (multi-statements on): each is denied by
// airlock (or, marked [database wall], fails upstream), the session stays
// usable with its pinned settings and read-only state unchanged, and
// nothing changes in the database or on the server.
func TestMySQLAdversarialCorpus(t *testing.T) {
	cases := readCorpus(t, "testdata/adversarial_mysql.sql", 90)
	db := testenv.NewMyDB(t)
	db.Exec("CREATE TABLE victim (id int PRIMARY KEY AUTO_INCREMENT, v varchar(50)) ENGINE=InnoDB")
	db.Exec("INSERT INTO victim (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e')")
	db.Exec("CREATE FUNCTION victim_evil() RETURNS int MODIFIES SQL DATA BEGIN DELETE FROM victim; RETURN 1; END")
	db.Exec("CREATE PROCEDURE victim_evil_proc() MODIFIES SQL DATA DELETE FROM victim")
	db.Exec("GRANT EXECUTE ON " + db.Name + ".* TO '" + testenv.MyRoleRO + "'@'%'")
	state := func() string {
		return db.QueryString(`SELECT CONCAT(COUNT(*), ':', MD5(GROUP_CONCAT(id, v ORDER BY id)), ':',
			(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()), ':',
			(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()), ':',
			(SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'airlock\_pwned%'), ':',
			@@global.read_only, ':', @@global.max_connections) FROM victim`)
	}
	before := state()

	a := testenv.StartMySQL(t, db, testenv.Options{})
	ctx := context.Background()
	pool := testenv.OpenMy(t, a.MyDSN("alice", a.Token("alice", 0), "app", "multiStatements=true&interpolateParams=false"))
	c, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	session := func() string {
		var s string
		if err := c.QueryRowContext(ctx, "SELECT CONCAT_WS('|', @@sql_mode, @@character_set_client, @@character_set_connection, @@tx_read_only, DATABASE())").Scan(&s); err != nil {
			t.Fatalf("the session is not usable any more: %v", err)
		}
		return s
	}
	pinned := session()
	syntax := 0 // answered as the server's syntax error
	for _, k := range cases {
		_, err := c.ExecContext(ctx, k.sql)
		code, state := testenv.MyErr(err)
		switch {
		case strings.HasPrefix(k.name, "[database wall]"):
			if err == nil {
				t.Errorf("%s: allowed", k.name)
			}
		case code == 1064:
			syntax++ // checked below: each is a denial by rule parse
		case code != 1227 || state != "42000" || !strings.Contains(err.Error(), "airlock: denied"):
			t.Errorf("%s: %v, want denied by airlock", k.name, err)
		}
		c.ExecContext(ctx, "ROLLBACK")
		if got := session(); got != pinned {
			t.Fatalf("%s: the session's settings changed: %s -> %s", k.name, pinned, got)
		}
	}
	a.Audit.Sync(ctx)
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{User: "alice", Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	parse := 0
	for _, ev := range evs {
		if ev.Rule == airlock.RuleParse {
			parse++
		}
	}
	if parse < syntax {
		t.Errorf("%d syntax errors answered, but %d denials by rule parse audited", syntax, parse)
	}
	if after := state(); after != before {
		t.Fatalf("the database changed: %s -> %s", before, after)
	}
	if _, err := os.Stat("/tmp/airlock-my-pwned"); err == nil {
		t.Fatal("INTO OUTFILE wrote a file")
	}
}
