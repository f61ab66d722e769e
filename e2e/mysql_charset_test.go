package e2e

import (
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// TestMySQLLatin1Clients: a client on a latin1 connection (asked for in
// the handshake or with SET NAMES latin1) sends non-ASCII text; airlock
// reads it as latin1, forwards the bytes unchanged, and the database
// stores what it stores directly. Charsets that can hide a quote inside a
// multibyte character stay refused, saying why.
func TestMySQLLatin1Clients(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(`CREATE TABLE words (id int PRIMARY KEY, w varchar(40)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	tok := a.Token("wanda", time.Hour)
	host, port := a.MyHostPort()

	// PyMySQL with charset latin1 (the handshake's collation), then
	// SET NAMES latin1 again, text with latin1 bytes in strings and a
	// latin1 identifier-free statement.
	script := `import sys, pymysql
c = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="wanda", password=sys.argv[3], database="app", charset="latin1")
cur = c.cursor()
cur.execute("SELECT @@character_set_client")
print(cur.fetchone()[0])
cur.execute("INSERT INTO words VALUES (1, 'caf\u00e9 \u00fcber \u20ac')")
cur.execute("SET NAMES latin1")
cur.execute("INSERT INTO words VALUES (2, %s)", ("na\u00efve \u00a3",))
c.commit()
cur.execute("SELECT w FROM words WHERE w LIKE 'caf\u00e9%'")
print(cur.fetchone()[0])
`
	out := run(t, 60*time.Second, script, nil, "/usr/bin/python3", "-", host, port, tok)
	if want := "latin1\ncafé über €\n"; out != want {
		t.Fatalf("pymysql latin1: %q, want %q", out, want)
	}
	c := testenv.OpenMy(t, testenv.MyDSN("root", "", testenv.MyAddr, db.Name, "charset=utf8mb4"))
	for id, want := range map[int]string{1: "café über €", 2: "naïve £"} {
		var got string
		if err := c.QueryRow("SELECT w FROM words WHERE id = ?", id).Scan(&got); err != nil || got != want {
			t.Errorf("row %d upstream: %q %v, want %q", id, got, err, want)
		}
	}

	// gbk and its class stay refused, with the reason.
	w := testenv.OpenMy(t, a.MyDSN("wanda", tok, "app", ""))
	_, err := w.Exec("SET NAMES gbk")
	if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "can hide a quote") {
		t.Fatalf("SET NAMES gbk: %v", err)
	}
}
