package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"airlock/internal/audit"
	"airlock/internal/testenv"
)

// TestMySQLBinaryLiterals: BLOB values that text-protocol drivers inline
// as _binary'...' (go-sql-driver with interpolateParams, PyMySQL) hold
// bytes that are not UTF-8; they are data: the statement is decided and
// its bytes reach the server unchanged. Bytes that are not UTF-8 outside
// a string stay refused.
func TestMySQLBinaryLiterals(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(`CREATE TABLE blobs (id int PRIMARY KEY, data longblob) ENGINE=InnoDB`)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	tok := a.Token("wanda", time.Hour) // standing write
	var all []byte
	for i := 0; i < 256; i++ {
		all = append(all, byte(i))
	}
	values := [][]byte{all, []byte("\xc3'\\\x00\xff\x27"), bytes.Repeat([]byte{0x80, 0x5c, 0x27}, 1000)}

	c := testenv.OpenMy(t, a.MyDSN("wanda", tok, "app", "interpolateParams=true"))
	for i, v := range values {
		if _, err := c.Exec("INSERT INTO blobs (id, data) VALUES (?, ?)", i+1, v); err != nil {
			t.Fatalf("insert blob %d: %v", i, err)
		}
		var got []byte
		if err := c.QueryRow("SELECT data FROM blobs WHERE id = ? AND data = ?", i+1, v).Scan(&got); err != nil {
			t.Fatalf("select blob %d: %v", i, err)
		}
		if !bytes.Equal(got, v) {
			t.Fatalf("blob %d read back differs", i)
		}
	}
	for i, v := range values {
		var n int64
		if n = db.QueryInt(fmt.Sprintf("SELECT COUNT(*) FROM blobs WHERE id = %d AND data = UNHEX('%X')", i+1, v)); n != 1 {
			t.Errorf("blob %d stored differs upstream", i)
		}
	}

	// PyMySQL sends bytes parameters as _binary'...' too.
	host, port := a.MyHostPort()
	script := `import sys, pymysql
c = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="wanda", password=sys.argv[3], database="app")
cur = c.cursor()
v = bytes(range(256)) * 3
cur.execute("INSERT INTO blobs (id, data) VALUES (%s, %s)", (10, v))
c.commit()
cur.execute("SELECT data FROM blobs WHERE id = %s AND data = %s", (10, v))
print("same" if cur.fetchone()[0] == v else "differs")
`
	out := run(t, 60*time.Second, script, nil, "/usr/bin/python3", "-", host, port, tok)
	if strings.TrimSpace(out) != "same" {
		t.Fatalf("pymysql: %s", out)
	}
	if n := db.QueryInt("SELECT COUNT(*) FROM blobs WHERE id = 10 AND LENGTH(data) = 768"); n != 1 {
		t.Fatalf("pymysql's blob not stored")
	}

	// The audit log holds these statements and its chain verifies.
	if err := a.Audit.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(context.Background(), a.Store)
	if err != nil || rep.Problem != nil {
		t.Fatalf("audit verify: %+v %v", rep, err)
	}

	// Outside a string, such bytes are refused.
	_, err = c.Exec("SELECT 1 AS caf\xe9")
	if code, _ := testenv.MyErr(err); code != 1227 || !strings.Contains(err.Error(), "not valid UTF-8 outside a quoted string") {
		t.Fatalf("identifier with a byte that is not UTF-8: %v", err)
	}
}
