package e2e

import (
	"crypto/sha1"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
)

// myReads are the queries every client runs directly and through
// airlock; the outputs must be the same.
var myReads = []string{
	"SELECT * FROM items ORDER BY id",
	"SELECT id, CONCAT(name, '!') AS shout, price * 2 AS twice, JSON_EXTRACT(note, '$.a') AS a, HEX(data) AS hex FROM items WHERE id > 1 ORDER BY id DESC",
	"SELECT mood, COUNT(*) AS n, SUM(price) AS total FROM items GROUP BY mood ORDER BY mood",
	"SELECT a.id, b.name FROM items a JOIN items b ON b.id = a.id + 1 ORDER BY a.id",
	"SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' ORDER BY ORDINAL_POSITION",
	"SHOW COLUMNS FROM items",
	"SELECT 1/0 AS nothing, NULL AS n, '' AS empty, 'it''s' AS quoted",
	"SELECT nosuchcolumn FROM items",
	"SELECT REPEAT('x', 100000) = REPEAT('x', 100000) AS large, LENGTH(REPEAT('ab', 70000)) AS len",
	"SELECT REPEAT('y', 300000) AS big",
}

// TestMySQLClientsReadAsDirect: the mariadb client, go-sql-driver (text
// and prepared statements), MariaDB Connector/J (client- and server-side
// prepared statements) and mysql2 (query and execute) read through
// airlock exactly what they read directly from MariaDB.
func TestMySQLClientsReadAsDirect(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myItemsSchema)
	a := testenv.StartMySQL(t, db, testenv.Options{})
	tok := a.Token("alice", 0)
	host, port := a.MyHostPort()

	t.Run("mariadb", func(t *testing.T) {
		script := strings.Join(myReads, ";\n") + ";\nSELECT 'still here';\nSELECT 1; SELECT 2;\nSHOW TABLES;\nDESCRIBE items;\n"
		direct := mariadbCLI(t, "127.0.0.1", "3306", testenv.MyRoleRO, testenv.MyPassword, db.Name, script)
		via := mariadbCLI(t, host, port, "alice", tok, "app", script)
		myDiff(t, "mariadb", direct, via)
		for _, want := range []string{"cheese 'brie'", "eggs € ü 日本", "ERROR 1054 (42S22)", "still here"} {
			if !strings.Contains(via, want) {
				t.Errorf("output lacks %q:\n%s", want, via)
			}
		}
		// --table mode and the vertical format too.
		for _, args := range [][]string{{"--table"}, {"--vertical"}} {
			direct := mariadbCLI(t, "127.0.0.1", "3306", testenv.MyRoleRO, testenv.MyPassword, db.Name, myReads[0]+";", args...)
			via := mariadbCLI(t, host, port, "alice", tok, "app", myReads[0]+";", args...)
			myDiff(t, "mariadb "+args[0], direct, via)
		}
	})

	t.Run("go-sql-driver", func(t *testing.T) {
		for _, params := range []string{"interpolateParams=true", "interpolateParams=false"} {
			direct := goReads(t, myDirect(db, params))
			via := goReads(t, a.MyDSN("alice", tok, "app", params))
			myDiff(t, "go-sql-driver "+params, direct, via)
		}
	})

	t.Run("connector/j", func(t *testing.T) {
		queries := append(append([]string(nil), myReads...),
			"PS:SELECT id, name, price, created, note FROM items WHERE id >= ? AND name <> ? ORDER BY id|2,x",
			"PS:SELECT * FROM items WHERE id = ?|5")
		for _, params := range []string{"", "useServerPrepStmts=true", "useServerPrepStmts=true&allowMultiQueries=true&useCompression=false"} {
			direct := javaProbe(t, jdbcURL(testenv.MyAddr, db.Name, params), testenv.MyRoleRO, testenv.MyPassword, "read", queries...)
			via := javaProbe(t, jdbcURL(a.MySQLAddr.String(), "app", params), "alice", tok, "read", queries...)
			myDiff(t, "Connector/J "+params, direct, via)
			if !strings.Contains(via, "row | Integer:1 | String:apple") || !strings.HasSuffix(via, "done\n") {
				t.Fatalf("unexpected output:\n%s", via)
			}
		}
	})

	t.Run("mysql2", func(t *testing.T) {
		dir := mysql2Dir(t)
		sqls := append(append([]string(nil), myReads...), "SELECT 1 AS one; SELECT 2 AS two")
		direct := nodeProbe(t, dir, "127.0.0.1", "3306", testenv.MyRoleRO, testenv.MyPassword, db.Name, "read", sqls...)
		via := nodeProbe(t, dir, host, port, "alice", tok, "app", "read", sqls...)
		myDiff(t, "mysql2", direct, via)
		if !strings.Contains(via, "execute SELECT * FROM items ORDER BY id") || !strings.HasSuffix(via, "done\n") {
			t.Fatalf("unexpected output:\n%s", via)
		}
	})
}

// goReads runs myReads with go-sql-driver (prepared when the DSN says
// interpolateParams=false and a query has arguments) and prints the rows.
func goReads(t *testing.T, dsn string) string {
	t.Helper()
	c := testenv.OpenMy(t, dsn+"&multiStatements=true")
	c.SetMaxOpenConns(1)
	var b strings.Builder
	show := func(q string, args ...any) {
		fmt.Fprintf(&b, "query %s %v\n", q, args)
		rows, err := c.Query(q, args...)
		if err != nil {
			code, state := testenv.MyErr(err)
			fmt.Fprintf(&b, "error %d %s %v\n", code, state, err)
			return
		}
		defer rows.Close()
		for {
			cols, _ := rows.ColumnTypes()
			for _, ct := range cols {
				fmt.Fprintf(&b, "column %s %s\n", ct.Name(), ct.DatabaseTypeName())
			}
			for rows.Next() {
				vals := make([]sql.RawBytes, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for _, v := range vals {
					switch {
					case v == nil:
						b.WriteString("| NULL ")
					case len(v) > 200:
						fmt.Fprintf(&b, "| long:%d:%x ", len(v), sha1.Sum(v))
					default:
						fmt.Fprintf(&b, "| %q ", v)
					}
				}
				b.WriteString("\n")
			}
			if !rows.NextResultSet() {
				break
			}
		}
		if err := rows.Err(); err != nil {
			fmt.Fprintf(&b, "rows error %v\n", err)
		}
	}
	for _, q := range myReads {
		show(q)
	}
	show("SELECT id, name, price FROM items WHERE id > ? AND name <> ? ORDER BY id", 1, "bread")
	show("SELECT * FROM items WHERE created < ? OR price = ?", "2000-01-01", 9.99)
	show("SELECT ? AS a, ? AS b, ? AS c, ? AS d", nil, []byte{0, 1, 2}, int64(-5), 2.5)
	show("SELECT 1 AS one; SELECT 'two' AS two")
	return b.String()
}

// TestMySQLDumpInReadSession: mysqldump --single-transaction (MariaDB's
// mariadb-dump) works in a read session and dumps through airlock exactly
// what it dumps connected directly as the read-only account airlock uses.
// mysqldump names the schema in its own queries (information_schema.views
// WHERE table_schema = '<the name it was given>'), so the airlock database
// is named as its schema here, as the README advises for such tools.
func TestMySQLDumpInReadSession(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myItemsSchema)
	db.Exec("CREATE TABLE other (id int PRIMARY KEY, v varchar(20)) ENGINE=InnoDB")
	db.Exec("INSERT INTO other VALUES (1, 'a'), (2, 'b')")
	db.Exec("CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5")
	dbs := strings.Replace(testenv.MyDatabases(db.Name, ""), "name: app", "name: "+db.Name, 1)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: dbs, Policies: strings.ReplaceAll(testenv.DefaultPolicies, "[app]", "["+db.Name+"]")})
	host, port := a.MyHostPort()
	dump := func(host, port, user, password, schema string) string {
		out := run(t, 120*time.Second, "", nil, "mariadb-dump", "--no-defaults", "--single-transaction", "--skip-dump-date",
			"-h", host, "-P", port, "-u", user, "--password="+password, schema)
		// The header names the host the client connected to, and the
		// version of its greeting (airlock's, by design).
		out = dumpVersionRE.ReplaceAllString(out, "-- Server version\tV")
		return dumpHeaderRE.ReplaceAllString(out, "-- Host: H    Database:")
	}
	myHost, myPort, _ := strings.Cut(testenv.MyAddr, ":")
	direct := dump(myHost, myPort, testenv.MyRoleRO, testenv.MyPassword, db.Name)
	via := dump(host, port, "alice", a.Token("alice", 0), db.Name)
	if !strings.Contains(direct, "INSERT INTO `other` VALUES") {
		t.Fatalf("the direct dump has no data:\n%s", direct)
	}
	if via != direct {
		t.Fatalf("dump through airlock differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
	}
}

var dumpHeaderRE = regexp.MustCompile(`-- Host: \S+\s+Database:`)

var dumpVersionRE = regexp.MustCompile(`-- Server version\t.*`)

// TestMySQLMetadataAsDirect: the catalog a database tool walks through
// Connector/J's DatabaseMetaData (tables and views, columns, keys,
// indexes) reads the same through airlock as directly; the airlock
// database is named as its schema, as for mysqldump.
func TestMySQLMetadataAsDirect(t *testing.T) {
	db := testenv.NewMyDB(t)
	db.Exec(myItemsSchema)
	db.Exec("CREATE INDEX items_name ON items (name)")
	db.Exec("CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 5")
	dbs := strings.Replace(testenv.MyDatabases(db.Name, ""), "name: app", "name: "+db.Name, 1)
	a := testenv.StartMySQL(t, db, testenv.Options{Databases: dbs, Policies: strings.ReplaceAll(testenv.DefaultPolicies, "[app]", "["+db.Name+"]")})
	direct := javaProbe(t, jdbcURL(testenv.MyAddr, db.Name, ""), testenv.MyRoleRO, testenv.MyPassword, "meta")
	via := javaProbe(t, jdbcURL(a.MySQLAddr.String(), db.Name, ""), "alice", a.Token("alice", 0), "meta")
	if !strings.Contains(direct, "table cheap VIEW") || !strings.Contains(direct, "index items_name name") {
		t.Fatalf("the direct walk misses the catalog:\n%s", direct)
	}
	if via != direct {
		t.Fatalf("metadata through airlock differs\n--- direct\n%s\n--- airlock\n%s", direct, via)
	}
}
