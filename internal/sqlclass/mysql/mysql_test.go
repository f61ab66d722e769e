package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"airlock"
	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/corpus"
)

// myWant is what a named test expects of one statement; empty fields are
// not checked.
type myWant struct {
	kind      airlock.Kind
	level     airlock.Level
	escape    airlock.Escape
	command   string
	name      string
	setting   string
	value     string
	tables    []string
	writes    []string
	functions []string
	txn       airlock.TxnEffect
	where     *bool
	limit     *bool
	// decisions is corpus.Decisions: "read:allow write:allow ...".
	decisions string
}

var (
	myTrue  = func() *bool { b := true; return &b }()
	myFalse = func() *bool { b := false; return &b }()
)

func (w myWant) check(t *testing.T, st airlock.Statement) {
	t.Helper()
	if w.kind != "" && st.Kind != w.kind {
		t.Errorf("kind %s, want %s", st.Kind, w.kind)
	}
	if w.level != airlock.LevelNone && st.Level != w.level {
		t.Errorf("level %s (%s), want %s", st.Level, st.Why, w.level)
	}
	if st.Escape != w.escape {
		t.Errorf("escape %q (%s), want %q", st.Escape, st.Why, w.escape)
	}
	if w.command != "" && st.Command != w.command {
		t.Errorf("command %q, want %q", st.Command, w.command)
	}
	if w.name != "" && st.Name != w.name {
		t.Errorf("name %q, want %q", st.Name, w.name)
	}
	if w.setting != "" && (st.Setting != w.setting || st.Value != w.value) {
		t.Errorf("setting %q = %q, want %q = %q", st.Setting, st.Value, w.setting, w.value)
	}
	if w.tables != nil && strings.Join(st.Tables, ",") != strings.Join(w.tables, ",") {
		t.Errorf("tables %q, want %q", st.Tables, w.tables)
	}
	if w.writes != nil && strings.Join(st.WriteTables, ",") != strings.Join(w.writes, ",") {
		t.Errorf("write tables %q, want %q", st.WriteTables, w.writes)
	}
	if w.functions != nil && strings.Join(st.Functions, ",") != strings.Join(w.functions, ",") {
		t.Errorf("functions %q, want %q", st.Functions, w.functions)
	}
	if st.Txn != w.txn {
		t.Errorf("txn %d, want %d", st.Txn, w.txn)
	}
	if w.where != nil && st.HasWhere != *w.where {
		t.Errorf("has_where %v", st.HasWhere)
	}
	if w.limit != nil && st.HasLimit != *w.limit {
		t.Errorf("has_limit %v", st.HasLimit)
	}
	if w.decisions != "" && corpus.Decisions(st) != w.decisions {
		t.Errorf("decisions %q, want %q", corpus.Decisions(st), w.decisions)
	}
	if msg := checkMySQLInvariants(st); msg != "" {
		t.Error(msg)
	}
}

const (
	readOnlyEverywhere = "read:allow write:allow ddl:allow admin:allow"
	deniedEverywhere   = "read:deny write:deny ddl:deny admin:deny"
	writeAndUp         = "read:deny write:allow ddl:allow admin:allow"
	adminOnly          = "read:deny write:deny ddl:deny admin:allow"
)

// runMySQLCases classifies each text, which must be one statement (or fail
// to parse when want is nil).
func runMySQLCases(t *testing.T, cases []struct {
	name string
	sql  string
	want *myWant
}) {
	m := New()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sts, err := m.Classify(c.sql)
			if c.want == nil {
				var pe *sqlclass.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("got %+v, %v; want a *sqlclass.ParseError", sts, err)
				}
				if sts != nil {
					t.Fatalf("statements %+v with an error", sts)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", c.sql, err)
			}
			if len(sts) != 1 {
				t.Fatalf("%d statements: %+v", len(sts), sts)
			}
			c.want.check(t, sts[0])
		})
	}
}

func TestMySQLExecutableComments(t *testing.T) {
	runMySQLCases(t, []struct {
		name string
		sql  string
		want *myWant
	}{
		{"bang comment is code", "SELECT 1 /*!, LOAD_FILE('/etc/passwd') */",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin, functions: []string{"load_file"}}},
		{"versioned comment is code", "/*!40101 DELETE FROM users */",
			&myWant{kind: airlock.KindDelete, level: airlock.LevelWrite, writes: []string{"users"}, where: myFalse}},
		{"versioned set is the setting", "/*!40100 SET @@SQL_MODE='' */",
			&myWant{kind: airlock.KindSet, level: airlock.LevelRead, setting: "sql_mode", value: "", decisions: readOnlyEverywhere}},
		{"statement may start inside the comment", "/*!40101 UPDATE t SET a = 1*/ WHERE id = 1",
			&myWant{kind: airlock.KindUpdate, where: myTrue}},
		{"markers split tokens as the server does", "SELECT/*!50000 id*/FROM/*!50000 users*/",
			&myWant{kind: airlock.KindSelect, tables: []string{"users"}}},
		{"fewer than five digits are content", "SELECT /*!123 + 1 */",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead}},
		{"mariadb comment is code", "/*M!100100 DELETE FROM users WHERE id = 1 */",
			&myWant{kind: airlock.KindDelete, level: airlock.LevelWrite, where: myTrue}},
		{"mariadb comment adding a call", "SELECT 1 /*M!, GET_LOCK('x', 1) */",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelWrite, functions: []string{"get_lock"}}},
		{"mariadb comment adding LIMIT is refused", "DELETE FROM t WHERE a = 1 /*M! LIMIT 1 */", nil},
		{"mysql 8 comment adding WHERE is refused", "DELETE FROM users /*!80000 WHERE id = 1 */", nil},
		{"mysql 8 comment adding a call is kept", "SELECT 1 /*!80000 , SLEEP(1) */",
			&myWant{kind: airlock.KindSelect, functions: []string{"sleep"}}},
		{"mysql 8 comment adding a table is kept", "SELECT 1 /*!80000 FROM users */",
			&myWant{kind: airlock.KindSelect, tables: []string{"users"}}},
		{"six-digit bang version is refused", "SELECT 1 /*!100100 , 2 */", nil},
		{"never-run six-digit version is a comment", "/*!999999\\- enable the sandbox mode */ SELECT 1",
			&myWant{kind: airlock.KindSelect}},
		{"semicolon inside is refused", "/*!40101 SELECT 1; DELETE FROM users */", nil},
		{"nested comment is refused", "/*!40101 SELECT 1 /* x */ */", nil},
		{"line comment inside is refused", "/*!40101 SELECT 1 -- x\n */", nil},
		{"string holding the end marker is refused", "/*!40101 SELECT '*/' */", nil},
		{"unterminated is refused", "SELECT 1 /*!40101 , 2", nil},
		{"tidb comment is a plain comment", "SELECT 1 /*T![clustered_index] , LOAD_FILE('/x') */",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead, functions: []string{}}},
		{"optimizer hint is a comment", "SELECT /*+ MAX_EXECUTION_TIME(10) */ 1",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead}},
		{"optimizer hint setting a variable is refused", "SELECT /*+ SET_VAR(sql_mode='ANSI_QUOTES') */ 1", nil},
		{"comment right after dash dash is refused", "SELECT 1--/**/1", nil},
		{"executable comment right after dash dash is refused", "SELECT 1--/*!40000 1*/", nil},
		{"dash dash with a control character is a comment", "SELECT 1 --\x01, LOAD_FILE('x')",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead}},
		{"dash dash at the end is a comment", "SELECT 1 --",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead}},
		{"dash dash before non-ASCII is refused", "SELECT 1 --\u00a0, LOAD_FILE('x')", nil},
		{"comment marker in a string is text", "SELECT '/*!40101 DELETE FROM t */', \"# x\"",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead}},
	})
}

func TestMySQLSetStatementFor(t *testing.T) {
	runMySQLCases(t, []struct {
		name string
		sql  string
		want *myWant
	}{
		{"allow-listed setting keeps the statement's facts", "SET STATEMENT max_statement_time=1 FOR SELECT * FROM t",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead, command: "SELECT", tables: []string{"t"}, decisions: readOnlyEverywhere}},
		{"rules still see a DELETE without WHERE", "SET STATEMENT max_statement_time=1 FOR DELETE FROM t",
			&myWant{kind: airlock.KindDelete, level: airlock.LevelWrite, where: myFalse, writes: []string{"t"}}},
		{"read-only off", "SET STATEMENT transaction_read_only=0 FOR INSERT INTO t VALUES (1)",
			&myWant{kind: airlock.KindInsert, level: airlock.LevelWrite, escape: airlock.EscapeReadOnly, setting: "transaction_read_only", value: "0"}},
		{"read-only off on a read", "SET STATEMENT tx_read_only=0 FOR SELECT 1",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead, escape: airlock.EscapeReadOnly, decisions: writeAndUp}},
		{"read-only on", "SET STATEMENT tx_read_only=1 FOR SELECT 1",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead, decisions: readOnlyEverywhere}},
		{"not allow-listed", "SET STATEMENT foreign_key_checks=0 FOR DELETE FROM t WHERE id = 1",
			&myWant{kind: airlock.KindDelete, level: airlock.LevelAdmin, escape: airlock.EscapeReadOnly, setting: "foreign_key_checks", value: "0", decisions: adminOnly}},
		{"pinned", "SET STATEMENT sql_mode='ANSI_QUOTES' FOR SELECT 1",
			&myWant{kind: airlock.KindSelect, escape: airlock.EscapePinned, decisions: deniedEverywhere}},
		{"pinned value kept", "SET STATEMENT sql_mode='STRICT_ALL_TABLES' FOR SELECT 1",
			&myWant{kind: airlock.KindSelect, decisions: readOnlyEverywhere}},
		{"several settings", "SET STATEMENT max_statement_time=1, sql_log_bin=0 FOR SELECT 1",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin, escape: airlock.EscapeReadOnly, setting: "sql_log_bin", value: "0"}},
		{"FOR UPDATE of the statement", "SET STATEMENT lock_wait_timeout=1 FOR SELECT * FROM t FOR UPDATE",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelWrite, writes: []string{"t"}}},
		{"in an executable comment", "/*M!100300 SET STATEMENT max_statement_time=1 FOR */ DELETE FROM t",
			&myWant{kind: airlock.KindDelete, where: myFalse}},
		{"the statement's own calls", "SET STATEMENT max_statement_time=1 FOR SELECT LOAD_FILE('x')",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin}},
		{"no FOR", "SET STATEMENT max_statement_time=1", nil},
		{"nothing after FOR", "SET STATEMENT max_statement_time=1 FOR", nil},
		{"user variable", "SET STATEMENT @a=1 FOR SELECT 1", nil},
		{"global", "SET STATEMENT @@global.max_statement_time=1 FOR SELECT 1", nil},
		{"transaction control", "SET STATEMENT max_statement_time=1 FOR COMMIT", nil},
		{"unparsable statement", "SET STATEMENT max_statement_time=1 FOR SELEKT 1", nil},
	})
}

func TestMySQLIntoAndFiles(t *testing.T) {
	runMySQLCases(t, []struct {
		name string
		sql  string
		want *myWant
	}{
		{"into outfile", "SELECT * FROM users INTO OUTFILE '/tmp/u.csv'",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin, tables: []string{"users"}, decisions: adminOnly}},
		{"into outfile with options", "SELECT a FROM t WHERE b = 1 INTO OUTFILE '/tmp/x' FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n'",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin, where: myTrue}},
		{"into dumpfile", "SELECT data FROM blobs LIMIT 1 INTO DUMPFILE '/tmp/b'",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin}},
		{"into user variable", "SELECT COUNT(*) INTO @n FROM users",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead, tables: []string{"users"}, decisions: readOnlyEverywhere}},
		{"into user variables at the end", "SELECT a, b FROM t WHERE id = 1 INTO @a, @b",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelRead, where: myTrue}},
		{"into user variable then lock", "SELECT a FROM t WHERE id = 1 INTO @a FOR UPDATE",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelWrite, writes: []string{"t"}}},
		{"into local variable is refused", "SELECT a INTO x FROM t", nil},
		{"load data infile", "LOAD DATA INFILE '/var/lib/mysql-files/x' INTO TABLE t",
			&myWant{kind: airlock.KindCopyFrom, level: airlock.LevelAdmin, writes: []string{"t"}}},
		{"load data local infile is a write", "LOAD DATA LOCAL INFILE 'x' INTO TABLE t",
			&myWant{kind: airlock.KindCopyFrom, level: airlock.LevelWrite, command: "LOAD DATA LOCAL", writes: []string{"t"}}},
		{"load data local infile replace", "LOAD DATA LOCAL INFILE 'x' REPLACE INTO TABLE t FIELDS TERMINATED BY ','",
			&myWant{kind: airlock.KindCopyFrom, level: airlock.LevelWrite, command: "LOAD DATA LOCAL", writes: []string{"t"}}},
		{"load_file", "SELECT LOAD_FILE('/etc/passwd')",
			&myWant{kind: airlock.KindSelect, level: airlock.LevelAdmin}},
	})
}

func TestMySQLPinnedSettings(t *testing.T) {
	pinned := func(setting, value string) *myWant {
		return &myWant{kind: airlock.KindSet, level: airlock.LevelRead, escape: airlock.EscapePinned, setting: setting, value: value, decisions: deniedEverywhere}
	}
	allowed := func(setting, value string) *myWant {
		return &myWant{kind: airlock.KindSet, level: airlock.LevelRead, setting: setting, value: value, decisions: readOnlyEverywhere}
	}
	runMySQLCases(t, []struct {
		name string
		sql  string
		want *myWant
	}{
		{"names utf8mb4", "SET NAMES utf8mb4", allowed("names", "utf8mb4")},
		{"names quoted with collation", "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci'", allowed("names", "utf8mb4")},
		{"names upper case", "SET NAMES UTF8MB4", allowed("names", "utf8mb4")},
		{"names latin1", "SET NAMES latin1", allowed("names", "latin1")},
		{"names sjis (TiDB does not know it: refused as a parse error)", "SET NAMES sjis", nil},
		{"names big5", "SET NAMES big5", nil},
		{"names cp932", "SET NAMES cp932", nil},
		{"names gb18030", "SET NAMES gb18030", pinned("names", "gb18030")},
		{"names latin1 with utf8mb4 collation", "SET NAMES latin1 COLLATE utf8mb4_bin", pinned("names", "latin1")},
		{"names utf8 is utf8mb3, read alike", "SET NAMES utf8", allowed("names", "utf8")},
		{"names utf8mb3 with collation", "SET NAMES utf8mb3 COLLATE utf8mb3_general_ci", allowed("names", "utf8")},
		{"names utf8 with another charset's collation", "SET NAMES utf8 COLLATE latin1_bin", pinned("names", "utf8")},
		{"results utf8", "SET character_set_results = utf8", allowed("character_set_results", "utf8")},
		{"names gbk", "SET NAMES gbk", pinned("names", "gbk")},
		{"names binary", "SET NAMES binary", pinned("names", "binary")},
		{"names with another charset's collation", "SET NAMES utf8mb4 COLLATE latin1_bin", pinned("names", "utf8mb4")},
		{"names default", "SET NAMES DEFAULT", pinned("names", "")},
		{"character set", "SET CHARACTER SET utf8mb4", allowed("character set", "utf8mb4")},
		{"charset latin1", "SET CHARSET latin1", allowed("character set", "latin1")},
		{"charset gbk", "SET CHARSET gbk", pinned("character set", "gbk")},
		{"client charset", "SET character_set_client = sjis", pinned("character_set_client", "sjis")},
		{"client charset utf8mb4", "SET @@character_set_client = 'utf8mb4'", allowed("character_set_client", "utf8mb4")},
		{"client charset from a variable", "SET character_set_client = @cs", pinned("character_set_client", "@cs")},
		{"connection charset", "SET SESSION character_set_connection = latin1", allowed("character_set_connection", "latin1")},
		{"connection charset big5", "SET SESSION character_set_connection = big5", pinned("character_set_connection", "big5")},
		{"connection collation", "SET collation_connection = utf8mb4_bin", allowed("collation_connection", "utf8mb4_bin")},
		{"connection collation latin1", "SET collation_connection = latin1_bin", allowed("collation_connection", "latin1_bin")},
		{"connection collation gbk", "SET collation_connection = gbk_bin", pinned("collation_connection", "gbk_bin")},
		{"results null", "SET character_set_results = NULL", allowed("character_set_results", "NULL")},
		{"results binary", "SET character_set_results = binary", allowed("character_set_results", "BINARY")},
		{"results latin1", "SET character_set_results = latin1", allowed("character_set_results", "latin1")},
		{"results sjis", "SET character_set_results = sjis", pinned("character_set_results", "sjis")},
		{"sql_mode empty", "SET sql_mode = ''", allowed("sql_mode", "")},
		{"sql_mode strict", "SET sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE'", allowed("sql_mode", "STRICT_ALL_TABLES,NO_ZERO_DATE")},
		{"sql_mode ansi_quotes", "SET sql_mode = 'ANSI_QUOTES'", pinned("sql_mode", "ANSI_QUOTES")},
		{"sql_mode ansi_quotes lower case with space", "SET sql_mode = 'traditional, ansi_quotes'", pinned("sql_mode", "traditional, ansi_quotes")},
		{"sql_mode no_backslash_escapes", "SET @@session.sql_mode = 'NO_BACKSLASH_ESCAPES'", pinned("sql_mode", "NO_BACKSLASH_ESCAPES")},
		{"sql_mode ansi", "SET sql_mode = ansi", pinned("sql_mode", "ansi")},
		{"sql_mode oracle", "SET sql_mode = 'ORACLE'", pinned("sql_mode", "ORACLE")},
		{"sql_mode postgresql", "SET sql_mode = 'POSTGRESQL'", pinned("sql_mode", "POSTGRESQL")},
		{"sql_mode by number", "SET sql_mode = 4", pinned("sql_mode", "4")},
		{"sql_mode zero", "SET sql_mode = 0", allowed("sql_mode", "0")},
		{"sql_mode default", "SET sql_mode = DEFAULT", pinned("sql_mode", "")},
		{"sql_mode from a variable", "SET sql_mode = @old", pinned("sql_mode", "@old")},
		{"sql_mode concat", "SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')",
			allowed("sql_mode", "CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')")},
		{"sql_mode nested concat", "SET @@SESSION.sql_mode = CONCAT(CONCAT(@@session.sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO')",
			allowed("sql_mode", "CONCAT(CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO')")},
		{"sql_mode concat ansi_quotes", "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
			pinned("sql_mode", "CONCAT(@@sql_mode, ',ANSI_QUOTES')")},
		{"sql_mode concat building a flag", "SET sql_mode = CONCAT(@@sql_mode, ',ANSI', '_QUOTES')",
			pinned("sql_mode", "CONCAT(@@sql_mode, ',ANSI', '_QUOTES')")},
		{"sql_mode concat glued to the current modes", "SET sql_mode = CONCAT(@@sql_mode, 'X')",
			pinned("sql_mode", "CONCAT(@@sql_mode, 'X')")},
		{"sql_mode concat of the global modes", "SET sql_mode = CONCAT(@@global.sql_mode, '')",
			pinned("sql_mode", "CONCAT(@@GLOBAL.sql_mode, '')")},
		{"sql_mode replace", "SET sql_mode = REPLACE(@@sql_mode, 'STRICT_TRANS_TABLES', '')",
			pinned("sql_mode", "REPLACE(@@sql_mode, 'STRICT_TRANS_TABLES', '')")},
		{"sql_mode in a SET of several", "SET NAMES utf8mb4, sql_mode = 'ANSI_QUOTES', time_zone = '+00:00'", pinned("sql_mode", "ANSI_QUOTES")},
		{"global sql_mode is admin, not pinned", "SET GLOBAL sql_mode = 'ANSI_QUOTES'",
			&myWant{kind: airlock.KindSet, level: airlock.LevelAdmin, setting: "sql_mode", value: "ANSI_QUOTES", decisions: adminOnly}},
		{"pinned in a prepared statement", "PREPARE s FROM 'SET NAMES gbk'",
			&myWant{kind: airlock.KindSet, escape: airlock.EscapePinned, command: "PREPARE", name: "s", decisions: deniedEverywhere}},
	})
}

func TestMySQLEscapesAndSessions(t *testing.T) {
	readOnlyEscape := func(setting, value string) *myWant {
		return &myWant{kind: airlock.KindSet, level: airlock.LevelRead, escape: airlock.EscapeReadOnly, setting: setting, value: value, decisions: writeAndUp}
	}
	runMySQLCases(t, []struct {
		name string
		sql  string
		want *myWant
	}{
		{"set transaction read write", "SET TRANSACTION READ WRITE", readOnlyEscape("transaction_read_only", "0")},
		{"set session transaction read write", "SET SESSION TRANSACTION READ WRITE", readOnlyEscape("transaction_read_only", "0")},
		{"transaction_read_only off", "SET transaction_read_only = OFF", readOnlyEscape("transaction_read_only", "OFF")},
		{"tx_read_only expression", "SET tx_read_only = 1 - 1", readOnlyEscape("transaction_read_only", "1-1")},
		{"tx_read_only on", "SET @@session.tx_read_only = 1",
			&myWant{kind: airlock.KindSet, setting: "transaction_read_only", value: "1", decisions: readOnlyEverywhere}},
		{"start transaction read write", "START TRANSACTION READ WRITE",
			&myWant{kind: airlock.KindTransaction, escape: airlock.EscapeReadOnly, txn: airlock.TxnBegin, decisions: writeAndUp}},
		{"start transaction with snapshot, read write", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ WRITE",
			&myWant{kind: airlock.KindTransaction, escape: airlock.EscapeReadOnly, txn: airlock.TxnBegin}},
		{"mysqldump's start transaction", "START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */",
			&myWant{kind: airlock.KindTransaction, txn: airlock.TxnBegin, decisions: readOnlyEverywhere}},
		{"set role", "SET ROLE dba",
			&myWant{kind: airlock.KindSet, escape: airlock.EscapeIdentity, command: "SET ROLE", decisions: deniedEverywhere}},
		{"set role none", "SET ROLE NONE",
			&myWant{kind: airlock.KindSet, escape: airlock.EscapeIdentity, decisions: deniedEverywhere}},
		{"set default role", "SET DEFAULT ROLE dba FOR bob",
			&myWant{level: airlock.LevelAdmin, command: "SET DEFAULT ROLE", decisions: adminOnly}},
		{"set password", "SET PASSWORD FOR bob = PASSWORD('x')",
			&myWant{level: airlock.LevelAdmin, command: "SET PASSWORD", decisions: adminOnly}},
		{"set global", "SET @@global.max_connections = 10",
			&myWant{kind: airlock.KindSet, level: airlock.LevelAdmin, decisions: adminOnly}},
		{"set session not allow-listed", "SET SESSION sql_log_bin = 0",
			&myWant{kind: airlock.KindSet, level: airlock.LevelAdmin, setting: "sql_log_bin", value: "0"}},
		{"set allow-listed", "SET SESSION time_zone = 'Europe/Paris'",
			&myWant{kind: airlock.KindSet, level: airlock.LevelRead, setting: "time_zone", value: "Europe/Paris", decisions: readOnlyEverywhere}},
		{"set user variable", "SET @x = 42",
			&myWant{kind: airlock.KindSet, level: airlock.LevelRead, setting: "@x", value: "42"}},
		{"use", "USE `Shop`",
			&myWant{kind: airlock.KindUtility, level: airlock.LevelRead, command: "USE", name: "Shop"}},
		{"kill query", "KILL QUERY 1234",
			&myWant{kind: airlock.KindUtility, level: airlock.LevelAdmin, command: "KILL QUERY", name: "1234"}},
		{"kill connection", "KILL 1234",
			&myWant{kind: airlock.KindUtility, level: airlock.LevelAdmin, command: "KILL"}},
		{"execute", "EXECUTE s USING @a",
			&myWant{kind: airlock.KindUnknown, level: airlock.LevelAdmin, command: "EXECUTE", name: "s"}},
		{"prepare from a variable", "PREPARE s FROM @q",
			&myWant{kind: airlock.KindUnknown, level: airlock.LevelAdmin, command: "PREPARE", name: "s"}},
		{"execute immediate", "EXECUTE IMMEDIATE 'DELETE FROM t'",
			&myWant{kind: airlock.KindUnknown, level: airlock.LevelAdmin, command: "EXECUTE IMMEDIATE"}},
		{"xa", "XA START 'x'",
			&myWant{kind: airlock.KindTransaction, level: airlock.LevelAdmin, command: "XA START", txn: airlock.TxnBegin}},
	})
}

// TestMySQLExecuteArgs checks that EXECUTE's USING values are classified
// apart, for the gateway to combine with the prepared facts.
func TestMySQLExecuteArgs(t *testing.T) {
	m := New()
	sts, err := m.Classify("EXECUTE s USING @a, @b")
	if err != nil {
		t.Fatal(err)
	}
	if sts[0].ArgsLevel != airlock.LevelRead {
		t.Errorf("args level %s", sts[0].ArgsLevel)
	}
	if sts, err := m.Classify("EXECUTE s USING LOAD_FILE('/etc/passwd')"); err == nil && sts[0].ArgsLevel != airlock.LevelAdmin {
		t.Errorf("args level %s (%s), want admin", sts[0].ArgsLevel, sts[0].ArgsWhy)
	}
}

// TestMySQLMultiStatement checks the statements of one text and their own
// texts.
func TestMySQLMultiStatement(t *testing.T) {
	m := New()
	text := "/* a */ SELECT 1;\n-- b\nUPDATE t SET a = 'x;y' WHERE id = 1 ; SELECT \"z;\" # c\n;  "
	sts, err := m.Classify(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind airlock.Kind
		text string
	}{
		{airlock.KindSelect, "/* a */ SELECT 1"},
		{airlock.KindUpdate, "-- b\nUPDATE t SET a = 'x;y' WHERE id = 1"},
		{airlock.KindSelect, "SELECT \"z;\" # c"},
	}
	if len(sts) != len(want) {
		t.Fatalf("%d statements: %+v", len(sts), sts)
	}
	for i, w := range want {
		if sts[i].Kind != w.kind || sts[i].Text != w.text {
			t.Errorf("statement %d: %s %q, want %s %q", i, sts[i].Kind, sts[i].Text, w.kind, w.text)
		}
	}
	for _, empty := range []string{"", " ", ";", ";;", "/* x */", "# x", "-- x\n;"} {
		sts, err := m.Classify(empty)
		if err != nil || len(sts) != 1 || sts[0].Kind != airlock.KindEmpty || sts[0].Level != airlock.LevelRead {
			t.Errorf("%q: %+v, %v", empty, sts, err)
		}
	}
	// One unparsable statement makes the whole text an error.
	if sts, err := m.Classify("SELECT 1; SELEKT 2; SELECT 3"); err == nil {
		t.Errorf("got %+v", sts)
	}
}

// TestMySQLBinaryStrings: bytes that are not UTF-8 inside quoted strings
// are data (BLOB values text-protocol drivers inline as _binary'...',
// text of another charset): the statement is read with '?' for them.
func TestMySQLBinaryStrings(t *testing.T) {
	m := New()
	cases := []struct {
		sql, text string
		kind      airlock.Kind
		tables    string
	}{
		{"INSERT INTO blobs (id, data) VALUES (1, _binary'\x89PNG\r\n\x1a\n\x00\xff\xfe')", "", airlock.KindInsert, "blobs"},
		{"INSERT INTO blobs VALUES (2, _binary'\xc3\\'')", "", airlock.KindInsert, "blobs"},
		{"UPDATE blobs SET data = _binary'\xff\x27\x27\xc3' WHERE id = 1", "UPDATE blobs SET data = _binary'?''?' WHERE id = 1", airlock.KindUpdate, "blobs"},
		{"SELECT * FROM t WHERE name = 'caf\xe9' AND x = \"\xff\"; DELETE FROM u WHERE id = 1", "", airlock.KindSelect, "t"},
	}
	for _, c := range cases {
		sts, err := m.Classify(c.sql)
		if err != nil {
			t.Errorf("%q: %v", c.sql, err)
			continue
		}
		if sts[0].Kind != c.kind || strings.Join(sts[0].Tables, ",") != c.tables {
			t.Errorf("%q: kind %s tables %v, want %s %s", c.sql, sts[0].Kind, sts[0].Tables, c.kind, c.tables)
		}
		if c.text != "" && sts[0].Text != c.text {
			t.Errorf("%q: text %q, want %q", c.sql, sts[0].Text, c.text)
		}
		for _, st := range sts {
			if !utf8.ValidString(st.Text) {
				t.Errorf("%q: text %q is not UTF-8", c.sql, st.Text)
			}
		}
	}
	// A byte that is not UTF-8 never hides a quote: the second statement
	// is seen.
	sts, err := m.Classify("SELECT '\xc3'; DELETE FROM t")
	if err != nil || len(sts) != 2 || sts[1].Kind != airlock.KindDelete {
		t.Errorf("got %+v, %v; want the DELETE seen", sts, err)
	}
}

// TestMySQLParseErrors checks the errors: a *sqlclass.ParseError with the
// position of what it refused.
func TestMySQLParseErrors(t *testing.T) {
	m := New()
	cases := []struct {
		sql string
		pos int
	}{
		{"SELECT 1 FROM WHERE", 15},
		{"SELECT 1; SELECT 'x", 18},
		{"SELECT 1\x00", 9},
		{"SELECT caf\xe9 FROM t", 11},
		{"SELECT 'caf\xe9', `caf\xe9`", 20},
		{"SELECT 1 /* caf\xe9 */", 16},
		{"SELECT 'é', 1 /* x", 15},
	}
	for _, c := range cases {
		sts, err := m.Classify(c.sql)
		var pe *sqlclass.ParseError
		if !errors.As(err, &pe) || sts != nil {
			t.Errorf("%q: got %+v, %v", c.sql, sts, err)
			continue
		}
		if pe.Position != c.pos {
			t.Errorf("%q: position %d, want %d (%s)", c.sql, pe.Position, c.pos, pe.Message)
		}
	}
}

// TestMySQLConcurrent classifies from several goroutines (the parsers are
// pooled, one per goroutine at a time).
func TestMySQLConcurrent(t *testing.T) {
	m := New()
	texts := []string{
		"SELECT * FROM a WHERE id = 1", "UPDATE b SET x = 1 WHERE id = 2", "SET NAMES utf8mb4",
		"PREPARE s FROM 'DELETE FROM c'", "SHOW CREATE TRIGGER tr", "HANDLER t READ FIRST",
	}
	want := make([][]airlock.Statement, len(texts))
	for i, s := range texts {
		sts, err := m.Classify(s)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = sts
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				i := (g + k) % len(texts)
				sts, err := m.Classify(texts[i])
				if err != nil || fmt.Sprint(sts) != fmt.Sprint(want[i]) {
					t.Errorf("%q: %+v, %v", texts[i], sts, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestMySQLPrepareDepth checks that nested PREPARE texts are bounded.
func TestMySQLPrepareDepth(t *testing.T) {
	m := New()
	q := "SELECT 1"
	for i := 0; i < 8; i++ {
		q = "PREPARE s FROM '" + strings.ReplaceAll(q, "'", "''") + "'"
		_, err := m.Classify(q)
		if i < myMaxDepth && err != nil {
			t.Fatalf("depth %d: %v", i, err)
		}
		if i > myMaxDepth && err == nil {
			t.Fatalf("depth %d classified", i)
		}
	}
}

// TestMySQLLexerAgreesWithServer runs texts whose reading depends on the
// lexer's rules (comments, executable comments, quotes) on the test server
// and checks that the server runs the statements, and selects the columns,
// that the classifier's reading of the text says it would.
func TestMySQLLexerAgreesWithServer(t *testing.T) {
	texts := []string{
		"SELECT 1--1",
		"SELECT 1 -- , 2\n, 3",
		"SELECT 1 --\t, 2\n, 3",
		"SELECT 1 --\x01, 2\n, 3",
		"SELECT 1 # , 2\n, 3",
		"SELECT 1 /* , 2 */, 3",
		"SELECT 1 /*!, 2 */",
		"SELECT 1 /*!40000 , 2 */",
		"SELECT 1 /*!50700 , 2 */",
		"SELECT 1 /*!99999 , 2 */",
		"SELECT 1 /*M!, 2 */",
		"SELECT 1 /*M!100100 , 2 */",
		"SELECT 1 /*M!999999 , 2 */",
		"SELECT 1 /*!123 , 2 */",
		"SELECT 1 /*+ , 2 */",
		"SELECT 1 /*T! , 2 */",
		"SELECT 'a\\'; SELECT 2 ' AS x",
		"SELECT 'a\\\\'; SELECT 2",
		"SELECT \"a\"\"b;\"; SELECT 2",
		"SELECT 'a''b;', 2; SELECT 3",
		"SELECT `a;``b` FROM (SELECT 1 AS `a;``b`) t; SELECT 2",
		"SELECT '# x', '-- y', '/* z */'",
		"SELECT 1 /* ' */, 2",
		"SELECT 1; /*!40000 SELECT 2, 3 */",
		"SELECT/*!40000 1*/,2",
		"SELECT 1 /*!40000 /*/, 2 */",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", myTestDSN+"&multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	server := myVersionID(version)
	for _, text := range texts {
		got, gotErr := myServerColumns(ctx, db, text)
		want, wantErr := myReading(text, server)
		if (gotErr != nil) != (wantErr != nil) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: the server runs %v (%v), the classifier reads %v (%v)", text, got, gotErr, want, wantErr)
		}
	}
}

// myVersionID turns "10.11.19-MariaDB..." into 101119.
func myVersionID(v string) int {
	var a, b, c int
	fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c)
	return a*10000 + b*100 + c
}

// myServerColumns returns the number of columns of each result set the
// server returns for text.
func myServerColumns(ctx context.Context, db *sql.DB, text string) ([]int, error) {
	rows, err := db.QueryContext(ctx, text)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for {
		cols, err := rows.Columns()
		if err != nil {
			return out, err
		}
		out = append(out, len(cols))
		for rows.Next() {
		}
		if !rows.NextResultSet() {
			break
		}
	}
	return out, rows.Err()
}

// myReading returns the number of columns of each SELECT of text as the
// classifier reads it for a MariaDB server of version server (conditional
// comments run when MariaDB would run them).
func myReading(text string, server int) ([]int, error) {
	sc, lerr := scanMySQL(text)
	if lerr != nil {
		return nil, errors.New(lerr.msg)
	}
	m := New()
	var out []int
	from := 0
	for _, to := range append(sc.semis, len(text)) {
		var run uint
		k := 0
		for _, c := range sc.comments {
			if c.kind != myCondComment || c.end <= from || c.start >= to {
				continue
			}
			if c.mariaDB && c.version <= server {
				run |= 1 << k
			}
			k++
		}
		b := mySanitize(text, sc.comments, from, to, run)
		from = to + 1
		if myBlank(b) {
			continue
		}
		stmt, err := m.parseOne(b)
		if err != nil {
			return out, errors.New(err.msg)
		}
		sel, ok := stmt.(*ast.SelectStmt)
		if !ok {
			return out, fmt.Errorf("%T", stmt)
		}
		out = append(out, len(sel.Fields.Fields))
	}
	return out, nil
}
