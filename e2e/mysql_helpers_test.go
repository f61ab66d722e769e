package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"
	"airlock/internal/testenv/npm"
)

// myItemsSchema creates the table the MySQL tests read: most column types
// a client decodes, NULLs, quotes and non-ASCII text.
const myItemsSchema = `
CREATE TABLE items (
	id int PRIMARY KEY,
	name varchar(50) NOT NULL,
	price decimal(10,2),
	qty bigint unsigned,
	ratio double,
	created datetime(3),
	day date,
	note json,
	data blob,
	mood enum('sad', 'ok', 'happy'),
	flags set('a', 'b', 'c'),
	bits bit(8)
) ENGINE=InnoDB;
INSERT INTO items VALUES
	(1, 'apple', 1.50, 18446744073709551615, 0.25, '2024-01-02 03:04:05.678', '2024-01-02', '{"a": 1}', x'00ff10', 'happy', 'a,c', b'101'),
	(2, 'bread', 2.25, 0, -1e300, '2024-02-03 04:05:06.000', '1999-12-31', '[1, "two", null]', '', 'ok', '', b'0'),
	(3, 'cheese ''brie''', 9.99, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(4, 'dates "x" \\ y', 0.10, 42, 3.5, '1970-01-01 00:00:00.001', '2030-06-07', '"str"', x'deadbeef', 'sad', 'b', b'11111111'),
	(5, 'eggs € ü 日本', 3.00, 7, 1e-10, '2038-01-19 03:14:07.999', '2000-02-29', '{"nested": {"k": [true, false]}}', 'text', 'ok', 'a,b,c', b'1');
`

// myDirect is a go-sql-driver DSN to the schema as the read account.
func myDirect(db *testenv.MyDB, params string) string {
	return testenv.MyDSN(testenv.MyRoleRO, testenv.MyPassword, testenv.MyAddr, db.Name, params)
}

// mariadbCLI runs the mariadb client in batch mode (--force: it goes on
// after errors) and returns its output.
func mariadbCLI(t *testing.T, host, port, user, password, db, script string, args ...string) string {
	t.Helper()
	all := append([]string{"--no-defaults", "-h", host, "-P", port, "-u", user, "--password=" + password, "--batch", "--force", "--default-character-set=utf8mb4"}, args...)
	return run(t, 120*time.Second, script, nil, "mariadb", append(all, db)...)
}

// connRE matches Connector/J's "(conn=<connection id>)" in messages, which
// differs between connections.
var connRE = regexp.MustCompile(`\(conn=\d+\)`)

// javaProbe runs testdata/MysqlProbe.java with MariaDB Connector/J.
func javaProbe(t *testing.T, url, user, password, mode string, queries ...string) string {
	t.Helper()
	args := append([]string{"-cp", "/usr/share/java/mariadb-java-client.jar", testdata("MysqlProbe.java"), url, user, password, mode}, queries...)
	return connRE.ReplaceAllString(run(t, 180*time.Second, "", nil, "java", args...), "(conn=N)")
}

// mysql2Dir is the directory of the pinned Node.js clients (mysql2).
func mysql2Dir(t *testing.T) string { return npmDir(t, "mysql2") }

// npmDir is the directory of the pinned Node.js clients; pkg must be one
// of them (internal/testenv/npm/package.json names them and their versions).
func npmDir(t *testing.T, pkg string) string {
	t.Helper()
	dir := npm.NodeModules(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
		t.Fatalf("%s is not one of the pinned Node.js clients: %v", pkg, err)
	}
	return dir
}

// myWarnings returns what SHOW WARNINGS answers on c, a row a line
// ("Level Code Message").
func myWarnings(t *testing.T, c *sql.Conn) []string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), "SHOW WARNINGS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var level, code, msg string
		if err := rows.Scan(&level, &code, &msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, level+" "+code+" "+msg)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// nodeProbe runs testdata/mysql_probe.js with mysql2.
func nodeProbe(t *testing.T, dir, host, port, user, password, db, mode string, sqls ...string) string {
	t.Helper()
	args := append([]string{testdata("mysql_probe.js"), dir, host, port, user, password, db, mode}, sqls...)
	return run(t, 120*time.Second, "", nil, "node", args...)
}

// myDiff fails the test when direct and via differ, showing both.
func myDiff(t *testing.T, what, direct, via string) {
	t.Helper()
	if direct != via {
		dl, vl := strings.Split(direct, "\n"), strings.Split(via, "\n")
		for i := 0; i < len(dl) || i < len(vl); i++ {
			var d, v string
			if i < len(dl) {
				d = dl[i]
			}
			if i < len(vl) {
				v = vl[i]
			}
			if d != v {
				t.Fatalf("%s output differs at line %d:\n  direct:  %q\n  airlock: %q", what, i+1, clip(d), clip(v))
			}
		}
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

// myState summarises the items table, read directly, to prove nothing
// changed.
func myState(t *testing.T, db *testenv.MyDB) string {
	t.Helper()
	return db.QueryString(`SELECT CONCAT(COUNT(*), ':', IFNULL(SUM(price), 0), ':',
		MD5(IFNULL(GROUP_CONCAT(id, name, IFNULL(price, ''), IFNULL(qty, '') ORDER BY id), '')), ':',
		(SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()))
		FROM items`)
}

func jdbcURL(addr, db, params string) string {
	u := fmt.Sprintf("jdbc:mariadb://%s/%s", addr, db)
	if params != "" {
		u += "?" + params
	}
	return u
}
