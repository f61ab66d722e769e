package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"testing"

	"airlock"
	"airlock/internal/sqlclass/corpus"

	"github.com/go-sql-driver/mysql"
)

const mariaValidFile = "testdata/mariadb/valid.sql"

// TestMariaDBValidCorpus: every statement of testdata/mariadb/valid.sql
// parses on the real MariaDB (run in a transaction rolled back; any answer
// but a syntax error counts, since the server got past its grammar) and
// is classified by airlock, never refused as unparseable, with facts that
// do not read as less than they are (a write is never a read).
func TestMariaDBValidCorpus(t *testing.T) {
	cases := corpus.Read(t, mariaValidFile)
	if len(cases) < 150 {
		t.Fatalf("%d cases: the corpus file is broken", len(cases))
	}
	ctx := context.Background()
	root, err := sql.Open("mysql", myTestDSN+"&multiStatements=false")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "airlock_sqlclass_mariadb_" + hex.EncodeToString(rnd[:])
	for _, q := range []string{"DROP DATABASE IF EXISTS " + schema, "CREATE DATABASE " + schema} {
		if _, err := root.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+schema)
	c, err := root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []string{
		"USE " + schema,
		"CREATE TABLE t1 (id int PRIMARY KEY, a int, b varchar(20), j json) ENGINE=InnoDB",
		"CREATE TABLE t2 (id int AUTO_INCREMENT PRIMARY KEY, c int DEFAULT 0) ENGINE=InnoDB",
		"CREATE TABLE t3 (id int) ENGINE=InnoDB PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
		"CREATE TABLE t4 (id int PRIMARY KEY) ENGINE=InnoDB WITH SYSTEM VERSIONING",
		"CREATE SEQUENCE s1",
		"CREATE VIEW v1 AS SELECT id, a FROM t1",
		"CREATE PROCEDURE p1() SELECT 1",
		`INSERT INTO t1 VALUES (1, 1, 'a', '{"a": 1, "b": [1, 2]}'), (2, 2, 'b', '[{"n": 1, "s": "x"}]')`,
		"INSERT INTO t2 (id, c) VALUES (1, 1), (3, 3)",
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	my := New()
	classified := 0
	for _, k := range cases {
		c.ExecContext(ctx, "PREPARE q FROM 'SELECT ?'")
		c.ExecContext(ctx, "START TRANSACTION")
		_, err := c.ExecContext(ctx, k.Text)
		c.ExecContext(ctx, "ROLLBACK")
		c.ExecContext(ctx, "UNLOCK TABLES")
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1064 || me.Number == 1149) {
			t.Errorf("%s: the server rejects it: %v", k.Name, err)
			continue
		}
		sts, cerr := my.Classify(k.Text)
		if cerr != nil {
			t.Errorf("%s: not classified: %v", k.Name, cerr)
			continue
		}
		classified++
		st := sts[0]
		if len(sts) != 1 || st.Kind == airlock.KindEmpty {
			t.Errorf("%s: %d statements of kind %s", k.Name, len(sts), st.Kind)
		}
		switch st.Kind {
		case airlock.KindInsert, airlock.KindUpdate, airlock.KindDelete:
			if st.Level < airlock.LevelWrite || len(st.WriteTables) == 0 {
				t.Errorf("%s: a write read as %s at %s writing %v", k.Name, st.Kind, st.Level, st.WriteTables)
			}
		}
	}
	t.Logf("%d of %d valid MariaDB statements classified", classified, len(cases))
}
