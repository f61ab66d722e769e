package pg

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"airlock"
	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/corpus"
)

// classifyOne classifies text that must hold exactly one statement.
func classifyOne(t *testing.T, text string) airlock.Statement {
	t.Helper()
	sts, err := New().Classify(text)
	if err != nil {
		t.Fatalf("Classify(%q): %v", text, err)
	}
	if len(sts) != 1 {
		t.Fatalf("Classify(%q): %d statements, want 1", text, len(sts))
	}
	if msg := corpus.CheckInvariants(sts[0]); msg != "" {
		t.Fatalf("Classify(%q): %s", text, msg)
	}
	return sts[0]
}

func TestEscapes(t *testing.T) {
	tests := []struct {
		name   string
		sql    string
		escape airlock.Escape
		kind   airlock.Kind
	}{
		{"read-only off", "SET default_transaction_read_only = off", airlock.EscapeReadOnly, airlock.KindSet},
		{"read-only on", "SET default_transaction_read_only = on", airlock.EscapeNone, airlock.KindSet},
		{"read-only yes", "SET transaction_read_only = 'yes'", airlock.EscapeNone, airlock.KindSet},
		{"read-only 1", "SET transaction_read_only = 1", airlock.EscapeNone, airlock.KindSet},
		{"read-only garbage", "SET transaction_read_only = 'maybe'", airlock.EscapeReadOnly, airlock.KindSet},
		{"read-only ambiguous o", "SET transaction_read_only = o", airlock.EscapeReadOnly, airlock.KindSet},
		{"read-only quoted name", `SET "default_transaction_read_only" = off`, airlock.EscapeReadOnly, airlock.KindSet},
		{"set local read-only off", "SET LOCAL transaction_read_only TO false", airlock.EscapeReadOnly, airlock.KindSet},
		{"set read-only to default", "SET default_transaction_read_only TO DEFAULT", airlock.EscapeReadOnly, airlock.KindSet},
		{"reset read-only", "RESET transaction_read_only", airlock.EscapeReadOnly, airlock.KindSet},
		{"set transaction read write", "SET TRANSACTION READ WRITE", airlock.EscapeReadOnly, airlock.KindSet},
		{"set transaction read only", "SET TRANSACTION READ ONLY", airlock.EscapeNone, airlock.KindSet},
		{"session characteristics read write", "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", airlock.EscapeReadOnly, airlock.KindSet},
		{"begin read write", "BEGIN READ WRITE", airlock.EscapeReadOnly, airlock.KindTransaction},
		{"begin plain", "BEGIN", airlock.EscapeNone, airlock.KindTransaction},
		{"start transaction read write", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE READ WRITE", airlock.EscapeReadOnly, airlock.KindTransaction},
		{"start transaction read only", "START TRANSACTION READ ONLY", airlock.EscapeNone, airlock.KindTransaction},
		{"set_config read-only off", "SELECT set_config('default_transaction_read_only', 'off', false)", airlock.EscapeReadOnly, airlock.KindSelect},
		{"set_config read-only upper-case name", "SELECT set_config('TRANSACTION_READ_ONLY', 'off', true)", airlock.EscapeReadOnly, airlock.KindSelect},
		{"set_config read-only on", "SELECT set_config('default_transaction_read_only', 'on', false)", airlock.EscapeNone, airlock.KindSelect},
		{"set_config read-only cast value", "SELECT set_config('transaction_read_only', 'off'::text, true)", airlock.EscapeReadOnly, airlock.KindSelect},
		{"set role", "SET ROLE postgres", airlock.EscapeIdentity, airlock.KindSet},
		{"set local role", "SET LOCAL ROLE postgres", airlock.EscapeIdentity, airlock.KindSet},
		{"reset role is a no-op", "RESET ROLE", airlock.EscapeNone, airlock.KindSet},
		{"set role none is a no-op", "SET ROLE NONE", airlock.EscapeNone, airlock.KindSet},
		{"set_config role none is a no-op", "SELECT set_config('role', 'none', false)", airlock.EscapeNone, airlock.KindSelect},
		{"set session authorization default is a no-op", "SET SESSION AUTHORIZATION DEFAULT", airlock.EscapeNone, airlock.KindSet},
		{"set role to default is a no-op", "SET ROLE TO DEFAULT", airlock.EscapeNone, airlock.KindSet},
		{"set session authorization", "SET SESSION AUTHORIZATION 'postgres'", airlock.EscapeIdentity, airlock.KindSet},
		{"reset session authorization is a no-op", "RESET SESSION AUTHORIZATION", airlock.EscapeNone, airlock.KindSet},
		{"set session authorization to a name", "SET SESSION AUTHORIZATION x", airlock.EscapeIdentity, airlock.KindSet},
		{"set role to a name called none-ish", "SET ROLE \"nonexistent\"", airlock.EscapeIdentity, airlock.KindSet},
		{"set_config role", "SELECT set_config('role', 'postgres', false)", airlock.EscapeIdentity, airlock.KindSelect},
		{"set_config qualified", "SELECT pg_catalog.set_config('session_authorization', 'postgres', false)", airlock.EscapeIdentity, airlock.KindSelect},
		{"set_config in where", "SELECT * FROM t WHERE set_config('role', 'x', false) IS NOT NULL", airlock.EscapeIdentity, airlock.KindSelect},
		{"set_config in query_to_xml", "SELECT query_to_xml('SELECT set_config(''role'', ''x'', false)', true, false, '')", airlock.EscapeIdentity, airlock.KindSelect},
		{"client_encoding UTF8", "SET client_encoding = 'UTF8'", airlock.EscapeNone, airlock.KindSet},
		{"client_encoding utf_8", "SET client_encoding = 'utf_8'", airlock.EscapeNone, airlock.KindSet},
		{"client_encoding latin1", "SET client_encoding = 'LATIN1'", airlock.EscapePinned, airlock.KindSet},
		{"names sjis", "SET NAMES 'SJIS'", airlock.EscapePinned, airlock.KindSet},
		{"names unicode", "SET NAMES 'UNICODE'", airlock.EscapeNone, airlock.KindSet},
		{"reset client_encoding", "RESET client_encoding", airlock.EscapePinned, airlock.KindSet},
		{"standard_conforming_strings on", "SET standard_conforming_strings = on", airlock.EscapeNone, airlock.KindSet},
		{"standard_conforming_strings off", "SET standard_conforming_strings TO off", airlock.EscapePinned, airlock.KindSet},
		{"backslash_quote safe", "SET backslash_quote = 'SAFE_ENCODING'", airlock.EscapeNone, airlock.KindSet},
		{"backslash_quote on", "SET backslash_quote = on", airlock.EscapePinned, airlock.KindSet},
		{"set_config standard_conforming_strings off", "SELECT set_config('standard_conforming_strings', 'off', false)", airlock.EscapePinned, airlock.KindSelect},
		{"set_config client_encoding not literal", "SELECT set_config('client_encoding', x, false) FROM t", airlock.EscapePinned, airlock.KindSelect},
		{"identity beats read-only", "SELECT set_config('default_transaction_read_only', 'off', false), set_config('role', 'x', false)", airlock.EscapeIdentity, airlock.KindSelect},
		{"search_path", "SET search_path = public", airlock.EscapeNone, airlock.KindSet},
		{"plain explain of set_config", "EXPLAIN SELECT set_config('role', 'x', false)", airlock.EscapeNone, airlock.KindExplain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Escape != tt.escape || st.Kind != tt.kind {
				t.Errorf("escape %q kind %s, want escape %q kind %s (why %q)", st.Escape, st.Kind, tt.escape, tt.kind, st.Why)
			}
			if st.Escape != airlock.EscapeNone && st.Level != airlock.LevelRead {
				t.Errorf("escape at level %s, want read (an honest level for a setting)", st.Level)
			}
		})
	}
}

// TestSetLevels checks the level of SET for settings PostgreSQL lets any
// user change (SPEC §2) and for those it does not.
func TestSetLevels(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		level airlock.Level
	}{
		{"jit", "SET jit = off", airlock.LevelRead},
		{"synchronous_commit", "SET synchronous_commit TO local", airlock.LevelRead},
		{"temp_buffers", "SET temp_buffers = '16MB'", airlock.LevelRead},
		{"max_parallel_workers_per_gather", "SET max_parallel_workers_per_gather = 0", airlock.LevelRead},
		{"escape_string_warning", "SET escape_string_warning = off", airlock.LevelRead},
		{"local", "SET LOCAL enable_seqscan = off", airlock.LevelRead},
		{"reset user setting", "RESET work_mem", airlock.LevelRead},
		{"reset all", "RESET ALL", airlock.LevelRead},
		{"mixed case name", "SET DateStyle = ISO", airlock.LevelRead},
		{"local_preload_libraries loads code", "SET local_preload_libraries = 'x'", airlock.LevelAdmin},
		{"superuser setting", "SET session_replication_role = replica", airlock.LevelAdmin},
		{"superuser log setting", "SET log_statement = 'none'", airlock.LevelAdmin},
		{"postmaster setting", "SET shared_buffers = '1GB'", airlock.LevelAdmin},
		{"unknown setting", "SET no_such_setting = 1", airlock.LevelAdmin},
		{"custom placeholder", "SET app.tenant = '1'", airlock.LevelAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Level != tt.level || st.Escape != airlock.EscapeNone {
				t.Errorf("level %s escape %q, want level %s and no escape (why %q)", st.Level, st.Escape, tt.level, st.Why)
			}
		})
	}
}

func TestHasWhere(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		kind  airlock.Kind
		where bool
	}{
		{"delete with where", "DELETE FROM t WHERE id = 1", airlock.KindDelete, true},
		{"delete without where", "DELETE FROM t", airlock.KindDelete, false},
		{"update where current of", "UPDATE t SET a = 1 WHERE CURRENT OF c", airlock.KindUpdate, true},
		{"cte delete without where, select with where", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d WHERE id = 1", airlock.KindDelete, false},
		{"cte delete with where, select without", "WITH d AS (DELETE FROM t WHERE old RETURNING *) SELECT * FROM d", airlock.KindDelete, true},
		{"cte update without where under delete with where", "WITH u AS (UPDATE t SET a = 1 RETURNING id) DELETE FROM v WHERE id IN (SELECT id FROM u)", airlock.KindDelete, false},
		{"both with where", "WITH u AS (UPDATE t SET a = 1 WHERE b RETURNING id) DELETE FROM v WHERE id IN (SELECT id FROM u)", airlock.KindDelete, true},
		{"insert under cte delete without where", "WITH d AS (DELETE FROM t RETURNING *) INSERT INTO a SELECT * FROM d", airlock.KindDelete, false},
		{"nested cte update without where", "WITH a AS (WITH b AS (UPDATE t SET x = 1 RETURNING *) SELECT * FROM b) SELECT * FROM a WHERE true", airlock.KindUpdate, false},
		{"explain analyze delete without where", "EXPLAIN ANALYZE DELETE FROM t", airlock.KindDelete, false},
		{"explain analyze delete with where", "EXPLAIN (ANALYZE) DELETE FROM t WHERE id = 1", airlock.KindDelete, true},
		{"plain explain delete without where", "EXPLAIN DELETE FROM t", airlock.KindExplain, false},
		{"plain explain delete with where", "EXPLAIN DELETE FROM t WHERE a", airlock.KindExplain, true},
		{"prepare delete without where", "PREPARE p AS DELETE FROM t", airlock.KindDelete, false},
		{"copy delete returning with where", "COPY (DELETE FROM t WHERE a RETURNING *) TO STDOUT", airlock.KindDelete, true},
		{"select with where", "SELECT * FROM t WHERE a", airlock.KindSelect, true},
		{"select where only in subquery", "SELECT * FROM (SELECT * FROM t WHERE a) s", airlock.KindSelect, false},
		{"insert select where", "INSERT INTO a SELECT * FROM b WHERE c", airlock.KindInsert, false},
		{"rule action does not count", "CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u", airlock.KindDDL, false},
		{"merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", airlock.KindMerge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Kind != tt.kind || st.HasWhere != tt.where {
				t.Errorf("kind %s has_where %v, want kind %s has_where %v", st.Kind, st.HasWhere, tt.kind, tt.where)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name   string
		sql    string
		kind   airlock.Kind
		level  airlock.Level
		writes []string
	}{
		{"plain select", "EXPLAIN SELECT * FROM t", airlock.KindExplain, airlock.LevelRead, nil},
		{"plain delete runs nothing", "EXPLAIN DELETE FROM t", airlock.KindExplain, airlock.LevelRead, nil},
		{"plain with verbose", "EXPLAIN VERBOSE UPDATE t SET a = 1", airlock.KindExplain, airlock.LevelRead, nil},
		{"plain admin function runs nothing", "EXPLAIN SELECT pg_terminate_backend(1)", airlock.KindExplain, airlock.LevelRead, nil},
		{"plain for update runs nothing", "EXPLAIN SELECT * FROM t FOR UPDATE", airlock.KindExplain, airlock.LevelRead, nil},
		{"analyze select", "EXPLAIN ANALYZE SELECT * FROM t", airlock.KindExplain, airlock.LevelRead, nil},
		{"analyze delete", "EXPLAIN ANALYZE DELETE FROM t", airlock.KindDelete, airlock.LevelWrite, []string{"t"}},
		{"analyze in option list", "EXPLAIN (FORMAT JSON, ANALYZE) INSERT INTO t VALUES (1)", airlock.KindInsert, airlock.LevelWrite, []string{"t"}},
		{"analyze true", "EXPLAIN (ANALYZE true) MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", airlock.KindMerge, airlock.LevelWrite, []string{"t"}},
		{"analyze 0 is off", "EXPLAIN (ANALYZE 0) DELETE FROM t", airlock.KindExplain, airlock.LevelRead, nil},
		{"analyze off", "EXPLAIN (ANALYZE off) DELETE FROM t", airlock.KindExplain, airlock.LevelRead, nil},
		{"analyze cte update", "EXPLAIN ANALYZE WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM u", airlock.KindUpdate, airlock.LevelWrite, []string{"t"}},
		{"analyze for update", "EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE", airlock.KindExplain, airlock.LevelWrite, []string{"t"}},
		{"analyze admin function", "EXPLAIN ANALYZE SELECT pg_reload_conf()", airlock.KindExplain, airlock.LevelAdmin, nil},
		{"analyze create table as", "EXPLAIN ANALYZE CREATE TABLE n AS SELECT 1", airlock.KindDDL, airlock.LevelDDL, []string{"n"}},
		{"analyze execute", "EXPLAIN ANALYZE EXECUTE p", airlock.KindUnknown, airlock.LevelAdmin, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Command != "EXPLAIN" {
				t.Errorf("command %q, want EXPLAIN", st.Command)
			}
			if st.Kind != tt.kind || st.Level != tt.level || !slices.Equal(st.WriteTables, orEmpty(tt.writes)) {
				t.Errorf("kind %s level %s writes %q, want kind %s level %s writes %q", st.Kind, st.Level, st.WriteTables, tt.kind, tt.level, tt.writes)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestSetConfig(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		level   airlock.Level
		setting string
		value   string
	}{
		{"pg_dump search_path", "SELECT pg_catalog.set_config('search_path', '', false)", airlock.LevelRead, "search_path", ""},
		{"allowed", "SELECT set_config('application_name', 'x', false)", airlock.LevelRead, "application_name", "x"},
		{"allowed mixed case", "SELECT set_config('DateStyle', 'ISO', false)", airlock.LevelRead, "datestyle", "ISO"},
		{"user setting", "SELECT set_config('enable_seqscan', 'off', false)", airlock.LevelRead, "enable_seqscan", "off"},
		{"superuser setting", "SELECT set_config('session_replication_role', 'replica', false)", airlock.LevelAdmin, "session_replication_role", "replica"},
		{"custom placeholder", "SELECT set_config('app.tenant', '1', false)", airlock.LevelAdmin, "app.tenant", "1"},
		{"name from expression", "SELECT set_config('search_' || 'path', '', false)", airlock.LevelAdmin, "", ""},
		{"name from column", "SELECT set_config(n, 'x', false) FROM names", airlock.LevelAdmin, "", ""},
		{"name null", "SELECT set_config(NULL, 'x', false)", airlock.LevelAdmin, "", ""},
		{"pg_dump pg_settings form", "SELECT set_config(name, 'view', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'", airlock.LevelRead, "restrict_nonsystem_relation_kind", "view"},
		{"pg_settings form, qualified", "SELECT set_config(s.name, '0', false) FROM pg_catalog.pg_settings s WHERE s.name = 'statement_timeout'", airlock.LevelRead, "statement_timeout", "0"},
		{"pg_settings form, not allowed", "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'log_statement'", airlock.LevelAdmin, "log_statement", "off"},
		{"pg_settings form, no where", "SELECT set_config(name, 'off', false) FROM pg_settings", airlock.LevelAdmin, "", ""},
		{"pg_settings form, other qualifier", "SELECT set_config(o.name, 'x', false) FROM pg_settings WHERE name = 'search_path'", airlock.LevelAdmin, "", ""},
		{"pg_settings form, or", "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'search_path' OR true", airlock.LevelAdmin, "", ""},
		{"in update", "UPDATE t SET a = set_config('search_path', 'x', false)", airlock.LevelWrite, "search_path", "x"},
		{"other schema is unknown", "SELECT app.set_config('role', 'x', false)", airlock.LevelWrite, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Level != tt.level || st.Setting != tt.setting || st.Value != tt.value {
				t.Errorf("level %s setting %q value %q, want level %s setting %q value %q (why %q)", st.Level, st.Setting, st.Value, tt.level, tt.setting, tt.value, st.Why)
			}
		})
	}
}

func TestTables(t *testing.T) {
	tests := []struct {
		name   string
		sql    string
		tables []string
		writes []string
	}{
		{"folding and quoting", `SELECT * FROM Public."Users" JOIN ORDERS ON true`, []string{"public.Users", "orders"}, nil},
		{"cte is not a table", "WITH x AS (SELECT * FROM t) SELECT * FROM x", []string{"t"}, nil},
		{"qualified name is never a cte", "WITH t AS (SELECT 1) SELECT * FROM public.t, t", []string{"public.t"}, nil},
		{"cte scope ends with its query", "SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t) a, t", []string{"t"}, nil},
		{"cte does not see later sibling", "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b", []string{"b"}, nil},
		{"recursive cte sees itself", "WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM r) SELECT * FROM r", []string{}, nil},
		{"delete target named like cte", "WITH t AS (SELECT 1) DELETE FROM t", []string{"t"}, []string{"t"}},
		{"data-modifying cte targets", "WITH a AS (INSERT INTO x VALUES (1) RETURNING *), b AS (UPDATE y SET c = 1 WHERE d RETURNING *) SELECT * FROM a, b, z", []string{"x", "y", "z"}, []string{"x", "y"}},
		{"merge source", "MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id)", []string{"t", "s"}, []string{"t"}},
		{"delete using", "DELETE FROM a USING b WHERE a.id = b.id", []string{"a", "b"}, []string{"a"}},
		{"update from subquery", "UPDATE a SET x = s.x FROM (SELECT * FROM b) s WHERE a.id = s.id", []string{"a", "b"}, []string{"a"}},
		{"for update of alias", "SELECT * FROM a x JOIN b y ON true FOR UPDATE OF y", []string{"a", "b"}, []string{"b"}},
		{"for update all", "SELECT * FROM a, (SELECT * FROM b) s FOR SHARE", []string{"a", "b"}, []string{"a", "b"}},
		{"lock write mode", "LOCK a, s.b IN EXCLUSIVE MODE", []string{"a", "s.b"}, []string{"a", "s.b"}},
		{"lock access share", "LOCK a IN ACCESS SHARE MODE", []string{"a"}, nil},
		{"copy to", "COPY a TO STDOUT", []string{"a"}, nil},
		{"copy from", "COPY a FROM STDIN", []string{"a"}, []string{"a"}},
		{"truncate", "TRUNCATE a, b", []string{"a", "b"}, []string{"a", "b"}},
		{"drop", `DROP TABLE a, "S"."B"`, []string{"a", "S.B"}, []string{"a", "S.B"}},
		{"drop function names no table", "DROP FUNCTION f(int)", []string{}, nil},
		{"create index on", "CREATE INDEX i ON s.t (a)", []string{"s.t"}, []string{"s.t"}},
		{"alter table references", "ALTER TABLE a ADD FOREIGN KEY (x) REFERENCES b", []string{"a", "b"}, []string{"a"}},
		{"insert select", "INSERT INTO a SELECT * FROM b JOIN c USING (id)", []string{"a", "b", "c"}, []string{"a"}},
		{"subqueries everywhere", "SELECT (SELECT 1 FROM a), x FROM b WHERE EXISTS (SELECT 1 FROM c) AND y IN (SELECT y FROM d) ORDER BY (SELECT 1 FROM e)", []string{"a", "b", "c", "d", "e"}, nil},
		{"plain explain writes nothing", "EXPLAIN UPDATE a SET x = 1", []string{"a"}, nil},
		{"rule actions write nothing now", "CREATE RULE r AS ON UPDATE TO a DO INSTEAD DELETE FROM b", []string{"a", "b"}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if !slices.Equal(st.Tables, orEmpty(tt.tables)) || !slices.Equal(st.WriteTables, orEmpty(tt.writes)) {
				t.Errorf("tables %q writes %q, want tables %q writes %q", st.Tables, st.WriteTables, tt.tables, tt.writes)
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	tests := []struct {
		name  string
		sql   string
		level airlock.Level
		funcs []string
		why   string
	}{
		{"builtins", "SELECT lower(a), now(), pg_catalog.upper(b) FROM t", airlock.LevelRead, []string{"lower", "now", "pg_catalog.upper"}, "SELECT reads rows"},
		{"repeated once", "SELECT lower(a), lower(b) FROM t", airlock.LevelRead, []string{"lower"}, "SELECT reads rows"},
		{"unknown", "SELECT f()", airlock.LevelWrite, []string{"f"}, "calls function f, which may change data"},
		{"quoted builtin name is another function", `SELECT "NOW"()`, airlock.LevelWrite, []string{"NOW"}, "calls function NOW, which may change data"},
		{"schema other than pg_catalog", "SELECT public.lower('x')", airlock.LevelWrite, []string{"public.lower"}, "calls function public.lower, which may change data"},
		{"information_schema builtin", "SELECT information_schema._pg_truetypid(a, t) FROM x", airlock.LevelRead, []string{"information_schema._pg_truetypid"}, "SELECT reads rows"},
		{"admin wins over write", "SELECT nextval('s'), pg_terminate_backend(1)", airlock.LevelAdmin, []string{"nextval", "pg_terminate_backend"}, "pg_terminate_backend acts on other sessions"},
		{"first reason among equals", "SELECT setval('s', 1), nextval('s')", airlock.LevelWrite, []string{"setval", "nextval"}, "setval changes a sequence"},
		{"statement reason first", "DELETE FROM t WHERE id = nextval('s')", airlock.LevelWrite, []string{"nextval"}, "DELETE changes rows"},
		{"admin in subquery", "SELECT * FROM t WHERE EXISTS (SELECT pg_cancel_backend(pid) FROM pg_stat_activity)", airlock.LevelAdmin, []string{"pg_cancel_backend"}, "pg_cancel_backend acts on other sessions"},
		{"admin in cte", "WITH k AS (SELECT pg_terminate_backend(1)) SELECT 1", airlock.LevelAdmin, []string{"pg_terminate_backend"}, "pg_terminate_backend acts on other sessions"},
		{"call", "CALL p(1)", airlock.LevelWrite, []string{"p"}, "CALL runs procedure p, which may change data"},
		{"call with admin argument", "CALL p(pg_reload_conf())", airlock.LevelAdmin, []string{"p", "pg_reload_conf"}, "pg_reload_conf acts on the server"},
		{"dblink family any schema", "SELECT ext.dblink_connect('x')", airlock.LevelAdmin, []string{"ext.dblink_connect"}, "ext.dblink_connect connects to other servers"},
		{"replication slot pattern", "SELECT pg_copy_physical_replication_slot('a', 'b')", airlock.LevelAdmin, []string{"pg_copy_physical_replication_slot"}, "pg_copy_physical_replication_slot acts on replication"},
		{"custom operator", "SELECT a <~~> b FROM t", airlock.LevelWrite, []string{}, "uses operator <~~>, which may change data"},
		{"ts_rewrite query", "SELECT ts_rewrite('a'::tsquery, 'SELECT t, s FROM aliases')", airlock.LevelRead, []string{"ts_rewrite"}, "SELECT reads rows"},
		{"query_to_xml write", "SELECT query_to_xml('SELECT nextval(''s'')', true, false, '')", airlock.LevelWrite, []string{"query_to_xml", "nextval"}, "query_to_xml runs a query: nextval changes a sequence"},
		{"query_to_xml bad query", "SELECT query_to_xml('not sql', true, false, '')", airlock.LevelWrite, []string{"query_to_xml"}, "query_to_xml runs a query given at run time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Level != tt.level || !slices.Equal(st.Functions, tt.funcs) || st.Why != tt.why {
				t.Errorf("level %s functions %q why %q, want level %s functions %q why %q", st.Level, st.Functions, st.Why, tt.level, tt.funcs, tt.why)
			}
		})
	}
}

func TestStatementText(t *testing.T) {
	text := "  SELECT 1;\n-- comment\nUPDATE t SET a = ';' WHERE b = $$;$$ ;; /* c */ DELETE FROM t -- tail\n"
	sts, err := New().Classify(text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range sts {
		got = append(got, st.Text)
	}
	want := []string{"SELECT 1", "-- comment\nUPDATE t SET a = ';' WHERE b = $$;$$", "/* c */ DELETE FROM t -- tail"}
	if !slices.Equal(got, want) {
		t.Errorf("texts %q, want %q", got, want)
	}
	if sts[2].Kind != airlock.KindDelete || sts[2].HasWhere {
		t.Errorf("third statement %s has_where %v, want an unbounded delete", sts[2].Kind, sts[2].HasWhere)
	}
}

func TestEmpty(t *testing.T) {
	for _, text := range []string{"", "  \n\t", "-- x", "/* a /* b */ */", ";", " ; ;; "} {
		sts, err := New().Classify(text)
		if err != nil {
			t.Fatalf("Classify(%q): %v", text, err)
		}
		if len(sts) != 1 || sts[0].Kind != airlock.KindEmpty || sts[0].Level != airlock.LevelRead {
			t.Errorf("Classify(%q) = %+v, want one empty statement at level read", text, sts)
		}
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name     string
		sql      string
		message  string
		position int
	}{
		{"typo", "SELEC 1", `syntax error at or near "SELEC"`, 1},
		{"second statement", "SELECT 1; SELEC 2", `syntax error at or near "SELEC"`, 11},
		{"position counts characters", "SELECT 'é', 'ü' FROMM t", `syntax error at or near "t"`, 23},
		{"unterminated string", "SELECT 'x", "unterminated quoted string", 8},
		{"zero byte", "SELECT 1;\x00DROP TABLE t", "query text contains a zero byte", 10},
		{"too deep", "SELECT " + strings.Repeat("(", 20000) + "1" + strings.Repeat(")", 20000), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts, err := New().Classify(tt.sql)
			var pe *sqlclass.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *sqlclass.ParseError", err)
			}
			if sts != nil {
				t.Errorf("statements %v with a parse error, want none", sts)
			}
			if tt.message != "" && !strings.HasPrefix(pe.Message, tt.message) {
				t.Errorf("message %q, want prefix %q", pe.Message, tt.message)
			}
			if tt.position != 0 && pe.Position != tt.position {
				t.Errorf("position %d, want %d", pe.Position, tt.position)
			}
			if !strings.Contains(err.Error(), pe.Message) {
				t.Errorf("Error() %q does not hold the message", err.Error())
			}
		})
	}
}

func TestCommands(t *testing.T) {
	tests := []struct{ sql, command, name string }{
		{"DISCARD ALL", "DISCARD ALL", ""},
		{"DISCARD SEQUENCES", "DISCARD SEQUENCES", ""},
		{"DEALLOCATE p1", "DEALLOCATE", "p1"},
		{"DEALLOCATE ALL", "DEALLOCATE ALL", ""},
		{`PREPARE "P1" AS SELECT 1`, "PREPARE", "P1"},
		{"EXECUTE p1", "EXECUTE", "p1"},
		{"DECLARE c CURSOR FOR SELECT 1", "DECLARE CURSOR", "c"},
		{"FETCH 10 c", "FETCH", "c"},
		{"MOVE NEXT IN c", "MOVE", "c"},
		{"CLOSE c", "CLOSE CURSOR", "c"},
		{"CLOSE ALL", "CLOSE CURSOR ALL", ""},
		{"LISTEN ch", "LISTEN", "ch"},
		{"UNLISTEN ch", "UNLISTEN", "ch"},
		{"NOTIFY ch", "NOTIFY", "ch"},
		{"ALTER MATERIALIZED VIEW mv RENAME TO mv2", "ALTER MATERIALIZED VIEW", ""},
		{"ALTER TABLE t RENAME COLUMN a TO b", "ALTER TABLE", ""},
		{"ALTER FOREIGN TABLE f RENAME COLUMN a TO b", "ALTER FOREIGN TABLE", ""},
		{"DROP MATERIALIZED VIEW mv", "DROP MATERIALIZED VIEW", ""},
		{"DROP TEXT SEARCH CONFIGURATION c", "DROP TEXT SEARCH CONFIGURATION", ""},
		{"CREATE MATERIALIZED VIEW mv AS SELECT 1", "CREATE MATERIALIZED VIEW", ""},
		{"VACUUM", "VACUUM", ""},
		{"ANALYZE", "ANALYZE", ""},
		{"END", "COMMIT", ""},
		{"ABORT", "ROLLBACK", ""},
		{"ROLLBACK TO s", "ROLLBACK", "s"},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			st := classifyOne(t, tt.sql)
			if st.Command != tt.command || st.Name != tt.name {
				t.Errorf("command %q name %q, want %q %q", st.Command, st.Name, tt.command, tt.name)
			}
		})
	}
}

// TestEveryStatementType builds each statement node type of the parser
// (empty, as no text would) and checks that the classifier knows it, does
// not panic on missing fields, and fails closed on the few it leaves
// unknown.
func TestEveryStatementType(t *testing.T) {
	notStatements := map[protoreflect.Name]bool{
		"RawStmt": true, "SetOperationStmt": true, "ReplicaIdentityStmt": true, // parts or analysed forms
	}
	unknownOK := map[protoreflect.Name]bool{
		"ReturnStmt": true, "PLAssignStmt": true, // only inside function bodies and PL/pgSQL
		"ExecuteStmt": true, // facts recorded at PREPARE
		// empty, these wrap no statement or name no transaction command
		"PrepareStmt": true, "DeclareCursorStmt": true, "TransactionStmt": true,
	}
	oneof := (&pg.Node{}).ProtoReflect().Descriptor().Oneofs().ByName("node")
	n := 0
	for i := 0; i < oneof.Fields().Len(); i++ {
		fd := oneof.Fields().Get(i)
		if fd.Message() == nil || !strings.HasSuffix(string(fd.Message().Name()), "Stmt") || notStatements[fd.Message().Name()] {
			continue
		}
		n++
		name := fd.Message().Name()
		t.Run(string(name), func(t *testing.T) {
			node := &pg.Node{}
			m := node.ProtoReflect()
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
			st := classifyPGStmt(node)
			if msg := corpus.CheckInvariants(st); msg != "" {
				t.Error(msg)
			}
			if st.Kind == airlock.KindUnknown && !unknownOK[name] {
				t.Errorf("kind unknown (%s): add the statement to the classifier", st.Why)
			}
		})
	}
	if n < 100 {
		t.Errorf("found only %d statement types", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	p := New()
	queries := []string{"SELECT * FROM a WHERE id = 1", "DELETE FROM b", "SET ROLE x", "WITH d AS (DELETE FROM c RETURNING *) SELECT * FROM d"}
	want := make([]airlock.Statement, len(queries))
	for i, q := range queries {
		want[i] = classifyOne(t, q)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				q := i % len(queries)
				sts, err := p.Classify(queries[q])
				if err != nil || len(sts) != 1 || sts[0].Kind != want[q].Kind || sts[0].Level != want[q].Level || sts[0].Escape != want[q].Escape {
					t.Errorf("concurrent Classify(%q) = %+v, %v", queries[q], sts, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPGParseBool(t *testing.T) {
	tests := []struct {
		in        string
		value, ok bool
	}{
		{"on", true, true}, {"ON", true, true}, {"off", false, true}, {"of", false, true}, {"o", false, false},
		{"true", true, true}, {"t", true, true}, {"tr", true, true}, {"truex", false, false},
		{"yes", true, true}, {"y", true, true}, {"no", false, true}, {"n", false, true},
		{"1", true, true}, {"0", false, true}, {"2", false, false}, {"", false, false}, {" on", false, false},
	}
	for _, tt := range tests {
		v, ok := pgParseBool(tt.in)
		if v != tt.value || ok != tt.ok {
			t.Errorf("pgParseBool(%q) = %v, %v, want %v, %v", tt.in, v, ok, tt.value, tt.ok)
		}
	}
}

// TestCommentsAreWhitespace: a comment where the parser looks one token
// ahead (after NOT, NULLS, WITH, WITHOUT) parses as PostgreSQL parses it,
// as whitespace: the same facts as the text without it, and the statement
// text keeps the comment.
func TestCommentsAreWhitespace(t *testing.T) {
	for _, q := range []string{
		"SELECT 1 WHERE 1 NOT/**/IN (2)",
		"SELECT 1 WHERE 1 NOT -- why\n BETWEEN 0 AND 2",
		"SELECT a FROM t WHERE a NOT/* x */LIKE 'x%'",
		"SELECT a FROM t ORDER BY a NULLS/* x */FIRST",
		"SELECT * FROM generate_series(1, 2) WITH/**/ORDINALITY",
		"CREATE TABLE t (a timestamp WITHOUT/**/TIME ZONE)",
		"DELETE FROM victim WHERE id NOT/**/IN (1)",
		"SELECT 'NOT/**/IN' /* é */ WHERE 1 NOT/**/IN (2)",
	} {
		plain := commentRE.ReplaceAllStringFunc(q, func(c string) string { return strings.Repeat(" ", len(c)) })
		got, want := classifyOne(t, q), classifyOne(t, plain)
		if got.Kind != want.Kind || got.Level != want.Level || !slices.Equal(got.Tables, want.Tables) || got.Why != want.Why {
			t.Errorf("%q: %s %s %v %q, want as %q: %s %s %v %q", q, got.Kind, got.Level, got.Tables, got.Why, plain, want.Kind, want.Level, want.Tables, want.Why)
		}
		if got.Text != strings.TrimSpace(q) {
			t.Errorf("%q: statement text %q", q, got.Text)
		}
	}
	// A text the lexer cannot take apart exactly (a nested comment) goes
	// to the parser as it is: denied as a parse error, never guessed.
	if _, err := New().Classify("SELECT 1 WHERE 1 NOT/* /* nested */ */IN (2)"); err == nil {
		t.Error("a nested comment at a lookahead was parsed")
	}
}

// commentRE finds the comments of TestCommentsAreWhitespace's texts (none
// nested, none inside a literal but the one string it skips).
var commentRE = regexp.MustCompile(`/\*[^*]*\*/|--[^\n]*`)
