package mysql

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"

	"airlock"
)

// myAllowedSettings may be changed for the session at any level (SPEC §2:
// time_zone, sql_select_limit, max_execution_time, autocommit and the
// transaction isolation level), with the ones standard clients and tools
// send and that only change the session's own view or limits:
// max_statement_time (MariaDB's max_execution_time), wait_timeout (sent by
// mysqldump), interactive_timeout, net_read_timeout and net_write_timeout
// (Connector/J, mysqldump), sql_quote_show_create and optimizer_switch
// (mysqldump), group_concat_max_len, sql_auto_is_null (Rails),
// lc_time_names, div_precision_increment, lock_wait_timeout and
// innodb_lock_wait_timeout (like PostgreSQL's lock_timeout), sql_notes,
// sql_warnings, sql_safe_updates, sql_big_selects, max_join_size, profiling
// and session_track_schema (MariaDB Connector/J).
var myAllowedSettings = map[string]bool{
	"time_zone":                true,
	"sql_select_limit":         true,
	"max_execution_time":       true,
	"max_statement_time":       true,
	"autocommit":               true,
	"transaction_isolation":    true,
	"wait_timeout":             true,
	"interactive_timeout":      true,
	"net_read_timeout":         true,
	"net_write_timeout":        true,
	"sql_quote_show_create":    true,
	"optimizer_switch":         true,
	"group_concat_max_len":     true,
	"sql_auto_is_null":         true,
	"lc_time_names":            true,
	"div_precision_increment":  true,
	"lock_wait_timeout":        true,
	"innodb_lock_wait_timeout": true,
	"sql_notes":                true,
	"sql_warnings":             true,
	"sql_safe_updates":         true,
	"sql_big_selects":          true,
	"max_join_size":            true,
	"profiling":                true,
	"session_track_schema":     true,
}

// mySettingAliases are the older names of settings, and the names the
// TiDB parser gives the settings of SET TRANSACTION.
var mySettingAliases = map[string]string{
	"tx_isolation":          "transaction_isolation",
	"tx_isolation_one_shot": "transaction_isolation",
	"tx_read_only":          "transaction_read_only",
}

// myPinnedCharsetSettings change how the server reads the text it is sent
// (the connection charset is pinned to utf8mb4).
var myPinnedCharsetSettings = map[string]bool{
	"character_set_client":     true,
	"character_set_connection": true,
	"collation_connection":     true,
	"names":                    true, // SET NAMES
	"character set":            true, // SET CHARACTER SET
}

// myPinnedSQLModes are the sql_mode flags that change how text is lexed
// (ANSI_QUOTES makes "x" an identifier, NO_BACKSLASH_ESCAPES makes '\' a
// plain character), and the combination modes that include ANSI_QUOTES.
// ORACLE also switches MariaDB to another grammar.
var myPinnedSQLModes = map[string]bool{
	"ANSI_QUOTES": true, "NO_BACKSLASH_ESCAPES": true,
	"ANSI": true, "DB2": true, "MAXDB": true, "MSSQL": true, "ORACLE": true, "POSTGRESQL": true,
}

// mySetting is one change of a setting by SET (or SET STATEMENT).
type mySetting struct {
	Verb   string // "SET", "SET STATEMENT"
	Name   string // lower-case; "@x" for a user variable
	Value  string // as written for a literal; the expression otherwise
	Global bool   // SET GLOBAL, @@global.
	Reset  bool   // = DEFAULT
	Known  bool   // Value is a literal (true for Reset)
	Null   bool   // = NULL
	// Collate is the COLLATE of SET NAMES.
	Collate string
	// expr is the value expression, for the sql_mode check.
	expr ast.ExprNode
}

// judgeMySetting returns the level a setting change needs, why, and the
// escape it is (SPEC §2 allow-list, §5 escape rule).
func judgeMySetting(c mySetting) (airlock.Level, string, airlock.Escape) {
	subject := c.Verb + " " + c.Name
	if strings.HasPrefix(c.Name, "@") {
		return airlock.LevelRead, subject + " sets a user variable", airlock.EscapeNone
	}
	if c.Global {
		return airlock.LevelAdmin, subject + " changes the server's configuration (GLOBAL)", airlock.EscapeNone
	}
	switch {
	case c.Name == "transaction_read_only":
		if !c.Reset && c.Known {
			if b, ok := myParseBool(c.Value); ok && b {
				return airlock.LevelRead, subject + " keeps the transaction read-only", airlock.EscapeNone
			}
		}
		return airlock.LevelRead, subject + " would turn read-only off", airlock.EscapeReadOnly
	case myPinnedCharsetSettings[c.Name]:
		if fam := myCharsetFamily(c.Name, c.Value); !c.Reset && c.Known && fam != "" && (c.Collate == "" || myCharsetFamily("collation", c.Collate) == fam) {
			return airlock.LevelRead, subject + " keeps a charset airlock reads", airlock.EscapeNone
		}
		return airlock.LevelRead, subject + " changes how text is read (airlock reads utf8mb4, utf8mb3 and latin1; multibyte charsets such as gbk, sjis and big5 can hide a quote inside a character)", airlock.EscapePinned
	case c.Name == "character_set_results":
		// How results are sent, not how text is read: utf8mb4, or no
		// conversion at all (mysqldump sends binary, Connector/J NULL).
		v := strings.ToLower(c.Value)
		if !c.Reset && c.Known && (c.Null || myCharsetFamily(c.Name, v) != "" || v == "binary") {
			return airlock.LevelRead, subject + " changes a session setting", airlock.EscapeNone
		}
		return airlock.LevelRead, subject + " changes the connection charset (pinned to utf8mb4)", airlock.EscapePinned
	case c.Name == "sql_mode":
		if why := mySQLModeProblem(c); why != "" {
			return airlock.LevelRead, subject + " " + why, airlock.EscapePinned
		}
		return airlock.LevelRead, subject + " changes a session setting", airlock.EscapeNone
	case myAllowedSettings[c.Name]:
		return airlock.LevelRead, subject + " changes a session setting", airlock.EscapeNone
	}
	return airlock.LevelAdmin, subject + " is not an allow-listed setting", airlock.EscapeNone
}

// myReadsAsUTF8 reports whether a charset (or, for collations, a
// collation) name is one whose text airlock reads as it reads utf8mb4's:
// utf8mb4 itself, or utf8mb3 (also called utf8), the same encoding
// without the 4-byte sequences, whose bytes never hide a quote or a
// backslash. Django and other clients ask for utf8.
func myReadsAsUTF8(name, v string) bool {
	if myIsUTF8MB4(name, v) {
		return true
	}
	v = strings.ToLower(v)
	if name == "collation_connection" || name == "collation" {
		return strings.HasPrefix(v, "utf8_") || strings.HasPrefix(v, "utf8mb3_")
	}
	return v == "utf8" || v == "utf8mb3"
}

// myCharsetFamily returns, for a charset (or, for collations, a
// collation) name whose text airlock reads, "utf8" (utf8mb4, utf8mb3) or
// "latin1" (the adapter transcodes it before classifying); "" for any
// other.
func myCharsetFamily(name, v string) string {
	if myReadsAsUTF8(name, v) {
		return "utf8"
	}
	v = strings.ToLower(v)
	if name == "collation_connection" || name == "collation" {
		if strings.HasPrefix(v, "latin1_") {
			return "latin1"
		}
		return ""
	}
	if v == "latin1" {
		return "latin1"
	}
	return ""
}

// myIsUTF8MB4 reports whether a charset (or, for collations, a collation)
// name is utf8mb4's.
func myIsUTF8MB4(name, v string) bool {
	v = strings.ToLower(v)
	if name == "collation_connection" || name == "collation" {
		return strings.HasPrefix(v, "utf8mb4_")
	}
	return v == "utf8mb4"
}

// mySQLModeProblem says why an sql_mode value may turn a pinned flag on,
// or "" when it cannot. The value is a literal list of modes, or CONCAT of
// the session's own @@sql_mode (whose pinned flags are off, since every
// change is checked) and literals, as ORMs send
// (CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')).
func mySQLModeProblem(c mySetting) string {
	if c.Reset {
		return "resets sql_mode to the server's default (pinned flags ANSI_QUOTES, NO_BACKSLASH_ESCAPES)"
	}
	value, ok := c.Value, c.Known
	if !ok {
		value, ok = mySQLModeConcat(c.expr)
	}
	if !ok {
		return "sets sql_mode to a value known only at run time (pinned flags ANSI_QUOTES, NO_BACKSLASH_ESCAPES)"
	}
	if n, err := strconv.ParseUint(value, 10, 64); err == nil {
		if n == 0 {
			return ""
		}
		return "sets sql_mode by number (pinned flags ANSI_QUOTES, NO_BACKSLASH_ESCAPES)"
	}
	for _, m := range strings.Split(value, ",") {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "\x00" {
			continue // the session's own modes
		}
		if strings.Contains(m, "\x00") {
			return "adds to sql_mode in a way airlock cannot follow (pinned flags ANSI_QUOTES, NO_BACKSLASH_ESCAPES)"
		}
		if myPinnedSQLModes[m] {
			return "turns on " + m + ", which changes how text is read (pinned)"
		}
	}
	return ""
}

// mySQLModeConcat evaluates CONCAT(...) of @@sql_mode and string literals,
// with "\x00" standing for the session's current modes.
func mySQLModeConcat(e ast.ExprNode) (string, bool) {
	switch x := e.(type) {
	case *ast.VariableExpr:
		if x.IsSystem && !x.IsGlobal && !x.IsInstance && strings.EqualFold(x.Name, "sql_mode") && x.Value == nil {
			return "\x00", true
		}
	case ast.ValueExpr:
		if s, ok := x.GetValue().(string); ok {
			return s, true
		}
	case *ast.FuncCallExpr:
		if x.Schema.L != "" || x.FnName.L != "concat" {
			return "", false
		}
		var b strings.Builder
		for _, a := range x.Args {
			s, ok := mySQLModeConcat(a)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
		return b.String(), true
	}
	return "", false
}

// myParseBool parses a boolean setting value as MySQL does: ON, OFF, TRUE,
// FALSE, 1, 0, any case.
func myParseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "1", "on", "true":
		return true, true
	case "0", "off", "false":
		return false, true
	}
	return false, false
}

// myAssignment turns a TiDB variable assignment into a setting change.
func myAssignment(verb string, v *ast.VariableAssignment) mySetting {
	c := mySetting{Verb: verb, Global: v.IsGlobal || v.IsInstance, expr: v.Value}
	switch {
	case v.Name == ast.SetNames:
		c.Name = "names"
	case v.Name == ast.SetCharset:
		c.Name = "character set"
	case !v.IsSystem:
		c.Name = "@" + strings.ToLower(v.Name)
	default:
		c.Name = strings.ToLower(v.Name)
		if a, ok := mySettingAliases[c.Name]; ok {
			c.Name = a
		}
	}
	c.Value, c.Known, c.Null, c.Reset = myExprValue(v.Value)
	if v.ExtendValue != nil {
		c.Collate, _, _, _ = myExprValue(v.ExtendValue)
	}
	return c
}

// myRestoreFlags render an expression as SQL for the audit: keywords in
// upper case, names and strings without quotes or charset introducers
// that the text did not have.
const myRestoreFlags = format.RestoreStringSingleQuotes | format.RestoreKeyWordUppercase | format.RestoreStringWithoutCharset

// myExprValue renders a setting's value: literals as written (strings
// without quotes), identifiers (ON, utf8mb4, ANSI_QUOTES) by name, and any
// other expression in SQL, not known.
func myExprValue(e ast.ExprNode) (value string, known, null, reset bool) {
	switch x := e.(type) {
	case nil:
		return "", false, false, false
	case *ast.DefaultExpr:
		return "", true, false, true
	case ast.ParamMarkerExpr:
		// A prepared statement's parameter: its value is not known when
		// the statement is decided (it must not read as NULL).
		return "?", false, false, false
	case *ast.ColumnNameExpr:
		if x.Name.Table.O == "" {
			return x.Name.Name.O, true, false, false
		}
	case *ast.UnaryOperationExpr:
		if v, ok := x.V.(ast.ValueExpr); ok && x.Op == opcode.Minus {
			if s, known, _, _ := myExprValue(v); known {
				return "-" + s, true, false, false
			}
		}
	case ast.ValueExpr:
		switch v := x.GetValue().(type) {
		case nil:
			return "NULL", true, true, false
		case string:
			return v, true, false, false
		case []byte:
			return string(v), true, false, false
		}
		var b strings.Builder
		if err := x.Restore(format.NewRestoreCtx(format.RestoreStringSingleQuotes, &b)); err == nil {
			return b.String(), true, false, false
		}
	}
	var b strings.Builder
	if err := e.Restore(format.NewRestoreCtx(myRestoreFlags, &b)); err != nil {
		return "", false, false, false
	}
	return b.String(), false, false, false
}
