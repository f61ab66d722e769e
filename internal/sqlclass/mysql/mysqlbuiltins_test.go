package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// myTestDSN is the MariaDB server the tests compare with (SPEC §12).
const myTestDSN = "root@tcp(127.0.0.1:3306)/?timeout=10s"

const myBuiltinsFile = "mysqlbuiltins.go"

// myProbeDB is the empty schema the probe calls functions in, so that a
// name that is not a builtin is reported as a missing stored function.
const myProbeDB = "airlock_sqlclass_builtins_probe"

// myExtraFunctionCandidates are names to probe besides those the server
// and the TiDB parser list: builtins of MariaDB or MySQL that the server's
// own lists may lack.
var myExtraFunctionCandidates = []string{
	"json_detailed", "json_pretty", "json_loose", "json_compact", "json_normalize", "json_equals",
	"json_overlaps", "json_table", "json_schema_valid", "json_key_value", "json_array_intersect",
	"column_create", "column_add", "column_delete", "column_get", "column_exists", "column_list",
	"column_check", "column_json", "sformat", "natural_sort_key", "random_bytes", "to_char",
	"sys_guid", "uuid_short", "uuid_v4", "uuid_v7", "kdf", "convert_tz", "nvl", "nvl2", "decode",
	"decode_oracle", "lastval", "nextval", "setval", "regexp_like", "format_bytes", "format_pico_time",
	"ps_current_thread_id", "ps_thread_id", "source_pos_wait", "wsrep_last_seen_gtid",
	"st_distance", "st_distance_sphere", "st_union", "st_intersection", "st_difference",
	"st_symdifference", "st_isvalid", "st_simplify", "st_geohash", "st_latfromgeohash",
	"st_longfromgeohash", "st_pointfromgeohash", "st_validate", "st_collect", "st_asgeojson",
	"st_geomfromgeojson", "st_relate", "st_x", "st_y", "st_srid",
}

// myFunctionSamples are calls of builtins written with their own syntax,
// which a plain name(...) call cannot probe.
var myFunctionSamples = map[string]string{
	"cast":          "CAST(1 AS CHAR)",
	"convert":       "CONVERT('a' USING utf8mb4)",
	"position":      "POSITION('a' IN 'b')",
	"extract":       "EXTRACT(YEAR FROM '2020-01-01')",
	"get_format":    "GET_FORMAT(DATE, 'USA')",
	"timestampdiff": "TIMESTAMPDIFF(DAY, '2020-01-01', '2020-01-02')",
	"timestampadd":  "TIMESTAMPADD(DAY, 1, '2020-01-01')",
	"date_add":      "DATE_ADD('2020-01-01', INTERVAL 1 DAY)",
	"date_sub":      "DATE_SUB('2020-01-01', INTERVAL 1 DAY)",
	"trim":          "TRIM(LEADING 'x' FROM 'xa')",
	"substring":     "SUBSTRING('abc' FROM 1 FOR 2)",
	"nextval":       "NEXTVAL(airlock_no_such_sequence)",
	"lastval":       "LASTVAL(airlock_no_such_sequence)",
	"setval":        "SETVAL(airlock_no_such_sequence, 1)",
	"char":          "CHAR(65 USING utf8mb4)",
	"interval":      "INTERVAL(1, 2)",
	// Window functions parse only with OVER.
	"row_number":      "ROW_NUMBER() OVER ()",
	"rank":            "RANK() OVER ()",
	"dense_rank":      "DENSE_RANK() OVER ()",
	"percent_rank":    "PERCENT_RANK() OVER ()",
	"cume_dist":       "CUME_DIST() OVER ()",
	"ntile":           "NTILE(2) OVER ()",
	"lag":             "LAG(1) OVER ()",
	"lead":            "LEAD(1) OVER ()",
	"first_value":     "FIRST_VALUE(1) OVER ()",
	"last_value":      "LAST_VALUE(1) OVER ()",
	"nth_value":       "NTH_VALUE(1, 1) OVER ()",
	"median":          "MEDIAN(1) OVER ()",
	"percentile_cont": "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY 1) OVER ()",
	"percentile_disc": "PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY 1) OVER ()",
}

// TestMySQLBuiltins checks that mysqlbuiltins.go lists exactly the builtin
// functions of the test server, as found by calling each candidate name in
// an empty schema; with -update it rewrites the file. Candidates are the
// names the server lists (information_schema.SQL_FUNCTIONS and KEYWORDS,
// the help tables), the function names of the TiDB parser and
// myExtraFunctionCandidates.
func TestMySQLBuiltins(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", myTestDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close()
	var version string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	for _, q := range []string{
		"DROP DATABASE IF EXISTS " + myProbeDB, "CREATE DATABASE " + myProbeDB, "USE " + myProbeDB,
		"SET SESSION max_statement_time = 5",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+myProbeDB)

	udfs := map[string]bool{}
	for _, n := range myQueryStrings(ctx, t, conn, "SELECT name FROM mysql.func") {
		udfs[strings.ToLower(n)] = true
	}
	candidates := map[string]bool{}
	add := func(names ...string) {
		for _, n := range names {
			n = strings.ToLower(strings.TrimSpace(n))
			if myProbeName.MatchString(n) && !udfs[n] && !myNotFunctions[n] {
				candidates[n] = true
			}
		}
	}
	add(myQueryStrings(ctx, t, conn, "SELECT FUNCTION FROM information_schema.SQL_FUNCTIONS")...)
	add(myQueryStrings(ctx, t, conn, "SELECT WORD FROM information_schema.KEYWORDS")...)
	add(myQueryStrings(ctx, t, conn, "SELECT name FROM mysql.help_topic")...)
	add(myTiDBFunctionConstants(t)...)
	add(myExtraFunctionCandidates...)
	for n := range candidates {
		add("st_" + n) // the spatial functions' standard names
	}
	for n := range myFunctionSamples {
		add(n)
	}
	for n := range mysqlBuiltinFunctions {
		add(n)
	}
	for n := range myFunctionRules {
		add(n)
	}

	var builtins []string
	for n := range candidates {
		ok, err := myProbeBuiltin(ctx, conn, n)
		if err != nil {
			t.Fatalf("probe %s: %v", n, err)
		}
		if ok {
			builtins = append(builtins, n)
		}
	}
	slices.Sort(builtins)

	if *update {
		if err := os.WriteFile(myBuiltinsFile, myGenerateBuiltins(version, builtins), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := mySortedKeys(mysqlBuiltinFunctions); !slices.Equal(got, builtins) {
		var missing, extra []string
		for _, n := range builtins {
			if _, ok := mysqlBuiltinFunctions[n]; !ok {
				missing = append(missing, n)
			}
		}
		for _, n := range got {
			if !slices.Contains(builtins, n) {
				extra = append(extra, n)
			}
		}
		t.Errorf("%s is out of date with the server (%s): missing %q, not builtins %q; run go test -run TestMySQLBuiltins -update",
			myBuiltinsFile, version, missing, extra)
	}
	if len(builtins) < 300 {
		t.Errorf("suspiciously few builtins: %d", len(builtins))
	}
	// The rules must name builtins (a typo would make a rule dead), and
	// the builtins must include what the corpus relies on.
	for name := range myFunctionRules {
		if !slices.Contains(builtins, name) {
			t.Errorf("function rule %q names no builtin of %s", name, version)
		}
	}
	for _, name := range []string{"now", "count", "concat", "sleep", "get_lock", "load_file", "database", "version", "if", "char", "convert"} {
		if !slices.Contains(builtins, name) {
			t.Errorf("%q is not found as a builtin of %s", name, version)
		}
	}
}

var myProbeName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// myNotFunctions look like calls to the probe but are not: SELECT(1) is a
// subquery.
var myNotFunctions = map[string]bool{"select": true}

// myProbeBuiltin calls name in the probe schema: an unknown name is a
// missing stored function (1305, or 1630); a builtin runs, or fails for its
// arguments (1582 and any other error but a syntax error, 1064). Names that
// only parse with some number of arguments are tried with up to four.
func myProbeBuiltin(ctx context.Context, conn *sql.Conn, name string) (bool, error) {
	calls := []string{name + "()", name + "(1)", name + "(1,1)", name + "(1,1,1)", name + "(1,1,1,1)"}
	if s, ok := myFunctionSamples[name]; ok {
		calls = []string{s}
	}
	for _, call := range calls {
		// In an expression, so that SELECT's own words (ALL, DISTINCT,
		// SQL_NO_CACHE...) followed by a parenthesis are not taken for calls.
		rows, err := conn.QueryContext(ctx, "SELECT ("+call+") IS NULL")
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err == nil {
			return true, nil
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			return false, err
		}
		switch me.Number {
		case 1305, 1630: // FUNCTION x does not exist
			return false, nil
		case 1064: // syntax error: try more arguments
			continue
		}
		return true, nil
	}
	return false, nil
}

func myQueryStrings(ctx context.Context, t *testing.T, conn *sql.Conn, q string) []string {
	t.Helper()
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1109 || me.Number == 1146) {
			return nil // a list this server version does not have
		}
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// myTiDBFunctionConstants reads the function name constants of the TiDB
// parser's ast package (ast/functions.go) from the module's source.
func myTiDBFunctionConstants(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pingcap/tidb/pkg/parser").Output()
	if err != nil {
		t.Fatalf("find the TiDB parser's source: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "ast", "functions.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			for _, v := range s.(*ast.ValueSpec).Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						names = append(names, s)
					}
				}
			}
		}
	}
	if len(names) < 200 {
		t.Fatalf("%s: only %d function names", file, len(names))
	}
	return names
}

func mySortedKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func myGenerateBuiltins(version string, names []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by go test -run TestMySQLBuiltins -update; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package mysql\n\n")
	fmt.Fprintf(&b, "// mysqlBuiltinFunctions holds the names of the %d builtin functions of\n// %s, found by calling each candidate name in an empty schema.\n", len(names), version)
	fmt.Fprintf(&b, "var mysqlBuiltinFunctions = map[string]struct{}{\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t%q: {},\n", n)
	}
	fmt.Fprintf(&b, "}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		panic(err) // generated code is always valid Go
	}
	return src
}
