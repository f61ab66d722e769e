package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestMySQLLoadDataLocal: LOAD DATA LOCAL INFILE sends the client's own
// data: a bulk write at write level, streamed, under the same blast
// radius and protected tables as any write; a read session is denied;
// server-side LOAD DATA INFILE stays admin.
func TestMySQLLoadDataLocal(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(`CREATE TABLE t (id int PRIMARY KEY, v varchar(20)) ENGINE=InnoDB;
CREATE TABLE ledger (id int PRIMARY KEY, v varchar(20)) ENGINE=InnoDB`)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: testenv.MyDatabases(db.Name, "    protected_tables: ["+db.Name+".ledger]\n    max_rows_changed: 100\n")})
	host, port := a.MyHostPort()
	dir := t.TempDir()
	file := func(name string, from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "%d,row %d\n", i, i)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small, big := file("small.csv", 1, 50), file("big.csv", 1001, 1200)
	load := func(user, path, table string) string {
		tok := a.Token(user, time.Hour)
		return mariadbCLI(t, host, port, user, tok, "app",
			fmt.Sprintf("LOAD DATA LOCAL INFILE '%s' INTO TABLE %s FIELDS TERMINATED BY ',';\nSELECT 'alive';\n", path, table), "--local-infile=1")
	}

	// Write session: loaded, counted; over the limit: rolled back.
	if out := load("wanda", small, "t"); !strings.Contains(out, "alive") || strings.Contains(out, "ERROR") {
		t.Fatalf("load at write: %s", out)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t"); n != 50 {
		t.Fatalf("t has %d rows after the load, want 50", n)
	}
	out := load("wanda", big, "t")
	if !strings.Contains(out, "airlock: denied: blast-radius: 200 rows > limit 100") || !strings.Contains(out, "alive") {
		t.Fatalf("load over the limit: %s", out)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM t"); n != 50 {
		t.Fatalf("t has %d rows after a denied load, want 50", n)
	}
	// Protected table, read session: denied before anything is sent.
	if out := load("wanda", small, "ledger"); !strings.Contains(out, "airlock: denied: protected-table") {
		t.Fatalf("load into a protected table: %s", out)
	}
	if out := load("alice", small, "t"); !strings.Contains(out, "airlock: denied: level") {
		t.Fatalf("load in a read session: %s", out)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM ledger") + db.QueryInt("SELECT COUNT(*) FROM t"); n != 50 {
		t.Fatalf("rows changed by denied loads: %d", n)
	}
	// Server-side files stay admin.
	w := testenv.OpenMy(t, a.MyDSN("wanda", a.Token("wanda", time.Hour), "app", ""))
	_, err := w.Exec("LOAD DATA INFILE '/etc/passwd' INTO TABLE t")
	if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "reads the server's files") {
		t.Fatalf("server-side LOAD DATA: %v", err)
	}
}
