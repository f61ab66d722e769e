package undo

// MySQL and MariaDB capture.
//
// The design is PostgreSQL's: `airlock databases prepare` installs, on
// every base table of the database's schema, row triggers that write each
// changed row as it was and as it became into the table airlock_capture
// of that schema, in the statement's own transaction, but only while the
// session's user variable @airlock_stmt names the statement. MySQL has no
// row-to-text cast, so each table's triggers are generated from its
// columns (information_schema) and write the row as an assignment list of
// SQL literals,
//
//	`id`=7, `name`='it\'s', `data`=X'00FF', `at`=FROM_UNIXTIME(1709267400.123456), `gone`=NULL
//
// which is exact for every supported type (see myValue) and is, as it
// stands, the SET clause that puts the row back. Generated columns are left
// out (the database computes them). A BEFORE INSERT trigger also counts
// insert attempts in @airlock_tries, so that the attempts INSERT IGNORE and
// ON DUPLICATE KEY UPDATE make on existing keys (which the handler counters
// count as writes) can be told from rows that went uncaptured.
//
// The triggers and the check of `airlock undo apply` render rows with the
// same expression (MyRowExpr) under the same sql_mode (MySQLMode), so that
// a row still as the statement left it renders to the same text.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"airlock"
)

const (
	// MyCaptureTable is the capture table, in the database's schema.
	MyCaptureTable = "airlock_capture"
	// MyTriggerPrefix starts the name of every trigger airlock installs.
	MyTriggerPrefix = "airlock_capture_"
	// MySQLMode is the sql_mode of the sessions that prepare a database
	// (a trigger runs with the sql_mode it was created under) and apply
	// undo plans: strict, so that nothing is silently truncated, and
	// NO_AUTO_VALUE_ON_ZERO, so that a row whose AUTO_INCREMENT key is 0
	// is put back with key 0. It has none of the flags that change how a
	// value is read or written as text (PAD_CHAR_TO_FULL_LENGTH,
	// NO_BACKSLASH_ESCAPES, ANSI_QUOTES...).
	MySQLMode = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"
	// MyTimeZone is the time zone of the apply session: FROM_UNIXTIME
	// literals of TIMESTAMP columns are read in it, without daylight
	// saving ambiguity.
	MyTimeZone = "+00:00"
)

// MyColumn is a column as information_schema.COLUMNS describes it.
type MyColumn struct {
	Name     string
	DataType string // DATA_TYPE, lower case
	Charset  string // CHARACTER_SET_NAME; "" when not a text type
}

// unicodeCharsets convert to utf8mb4 and back without loss, so their
// values are written as quoted text; other character sets are written as
// bytes (_charset X'...').
var unicodeCharsets = map[string]bool{
	"utf8mb4": true, "utf8mb3": true, "utf8": true, "ucs2": true, "utf16": true, "utf16le": true,
	"utf32": true, "ascii": true, "latin1": true,
}

// myValue returns the SQL expression that renders ref (a column of type c)
// as an exact SQL literal, NULL when ref is NULL, or false when airlock
// does not know how to write the type exactly:
//
//   - integers and DECIMAL: the number (exact);
//   - FLOAT and DOUBLE: the value as a double, quoted: MariaDB writes a
//     double in the shortest form that reads back as the same double (a
//     FLOAT column alone writes only 6 digits, hence the cast);
//   - BIT: b'...';
//   - BINARY, VARBINARY and BLOBs (and text in the binary character set):
//     X'...' of the bytes;
//   - text, ENUM, SET and JSON in a Unicode character set or latin1:
//     QUOTE() of the text; in other character sets, _charset X'...' of
//     the bytes;
//   - DATE, DATETIME, TIME, YEAR, INET4, INET6, UUID: QUOTE() of the text,
//     which carries every fractional digit of the column;
//   - TIMESTAMP: FROM_UNIXTIME(<seconds since the epoch>), read from the
//     stored value, so that neither the session's time zone nor a
//     daylight-saving fold can change it (the zero timestamp is written
//     as such);
//   - spatial types: ST_GeomFromWKB(X'<WKB>', <SRID>).
func myValue(ref string, c MyColumn) (string, bool) {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric":
		return "CONCAT(" + ref + ")", true
	case "float", "double", "real", "double precision":
		return "QUOTE(CAST(" + ref + " AS DOUBLE))", true
	case "bit":
		return "CONCAT('b''', BIN(" + ref + "), '''')", true
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return myHex(ref), true
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json":
		cs := strings.ToLower(c.Charset)
		switch {
		case cs == "" && c.DataType == "json":
			return "QUOTE(" + ref + ")", true // MySQL's binary JSON
		case cs == "binary":
			return myHex(ref), true
		case unicodeCharsets[cs]:
			return "QUOTE(" + ref + ")", true
		case cs != "" && isWord(cs):
			return "CONCAT('_" + cs + " X''', HEX(" + ref + "), '''')", true
		}
		return "", false
	case "date", "datetime", "time", "year", "inet4", "inet6", "uuid":
		return "QUOTE(" + ref + ")", true
	case "timestamp":
		// UNIX_TIMESTAMP of an expression of type TIMESTAMP reads the
		// stored value (COALESCE makes a column and a trigger's NEW.col
		// take the same path); it is NULL for the zero timestamp.
		return "IF(" + ref + " IS NULL, NULL, IFNULL(CONCAT('FROM_UNIXTIME(', UNIX_TIMESTAMP(COALESCE(" + ref + ")), ')'), '''0000-00-00 00:00:00'''))", true
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection", "geomcollection":
		return "CONCAT('ST_GeomFromWKB(X''', HEX(ST_AsBinary(" + ref + ")), ''', ', ST_SRID(" + ref + "), ')')", true
	}
	return "", false
}

func myHex(ref string) string { return "CONCAT('X''', HEX(" + ref + "), '''')" }

func isWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}

// MyRowExpr is the expression that renders a row of cols as its text form;
// prefix qualifies the column references ("NEW.", "OLD." in a trigger, ""
// in a query of the table). It fails for a column of a type airlock cannot
// write exactly.
func MyRowExpr(prefix string, cols []MyColumn) (string, error) {
	if len(cols) == 0 {
		return "", fmt.Errorf("no columns")
	}
	parts := make([]string, 0, 2*len(cols))
	for i, c := range cols {
		v, ok := myValue(prefix+MyQuoteIdent(c.Name), c)
		if !ok {
			charset := ""
			if c.Charset != "" {
				charset = " in character set " + c.Charset
			}
			return "", fmt.Errorf("column %s has type %s%s, which airlock cannot capture exactly", MyQuoteIdent(c.Name), c.DataType, charset)
		}
		sep := ", "
		if i == 0 {
			sep = ""
		}
		parts = append(parts, MyQuoteLiteral(sep+MyQuoteIdent(c.Name)+"="),
			"CONVERT(IFNULL("+v+", 'NULL') USING utf8mb4)")
	}
	return "CONCAT(" + strings.Join(parts, ", ") + ")", nil
}

// MyCaptureTableSQL creates the capture table in schema.
func MyCaptureTableSQL(schema string) string {
	return "CREATE TABLE IF NOT EXISTS " + MyQuoteIdent(schema) + "." + MyQuoteIdent(MyCaptureTable) + ` (
	id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
	stmt varchar(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	rel varchar(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	op char(1) CHARACTER SET ascii NOT NULL,
	pk text CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	old_row longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	new_row longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	KEY stmt (stmt)
) ENGINE=InnoDB`
}

// MyTriggerName is the name of airlock's trigger for op (i, u, d: after
// insert, update, delete; t: before insert, counting attempts) on table.
// Trigger names share the schema's namespace and have at most 64
// characters: a long table name is cut and completed with a hash.
func MyTriggerName(op, table string) string {
	name := MyTriggerPrefix + op + "_" + table
	if len([]rune(name)) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(table))
	r := []rune(name)[:64-13]
	return string(r) + "_" + hex.EncodeToString(sum[:])[:12]
}

// MyTriggers returns the statements that (re)install the capture triggers
// on schema.table, whose columns are cols (generated columns left out) and
// whose primary key columns are pk (none: no primary key). It fails when a
// column has a type airlock cannot capture exactly; the caller then drops
// the table's triggers (MyDropTriggers) and leaves it without capture.
func MyTriggers(schema, table string, cols []MyColumn, pk []string) ([]string, error) {
	oldRow, err := MyRowExpr("OLD.", cols)
	if err != nil {
		return nil, err
	}
	newRow, _ := MyRowExpr("NEW.", cols)
	pkLit := "NULL"
	if len(pk) > 0 {
		b, _ := json.Marshal(pk)
		pkLit = MyQuoteLiteral(string(b))
	}
	rel := MyQuoteLiteral(schema + "." + table)
	target := MyQuoteIdent(schema) + "." + MyQuoteIdent(table)
	capture := MyQuoteIdent(schema) + "." + MyQuoteIdent(MyCaptureTable)
	body := func(op, oldExpr, newExpr string) string {
		return fmt.Sprintf("IF @airlock_stmt IS NOT NULL THEN INSERT INTO %s (stmt, rel, op, pk, old_row, new_row) VALUES (@airlock_stmt, %s, '%s', %s, %s, %s); END IF",
			capture, rel, op, pkLit, oldExpr, newExpr)
	}
	out := MyDropTriggers(schema, table)
	out = append(out,
		fmt.Sprintf("CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW IF @airlock_stmt IS NOT NULL THEN SET @airlock_tries = @airlock_tries + 1; END IF",
			MyQuoteIdent(MyTriggerName("t", table)), target),
		fmt.Sprintf("CREATE TRIGGER %s AFTER INSERT ON %s FOR EACH ROW %s", MyQuoteIdent(MyTriggerName("i", table)), target, body("I", "NULL", newRow)),
		fmt.Sprintf("CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW %s", MyQuoteIdent(MyTriggerName("u", table)), target, body("U", oldRow, newRow)),
		fmt.Sprintf("CREATE TRIGGER %s AFTER DELETE ON %s FOR EACH ROW %s", MyQuoteIdent(MyTriggerName("d", table)), target, body("D", oldRow, "NULL")),
	)
	return out, nil
}

// MyDropTriggers returns the statements that drop airlock's triggers on
// schema.table.
func MyDropTriggers(schema, table string) []string {
	var out []string
	for _, op := range []string{"t", "i", "u", "d"} {
		out = append(out, "DROP TRIGGER IF EXISTS "+MyQuoteIdent(schema)+"."+MyQuoteIdent(MyTriggerName(op, table)))
	}
	return out
}

// MyPrepared is the query that says whether schema is prepared (1) or
// not (0).
func MyPrepared(schema string) string {
	return "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + MyQuoteLiteral(schema) +
		" AND TABLE_NAME = '" + MyCaptureTable + "'"
}

// MyStartCapture names the statement being captured.
func MyStartCapture(id string) string {
	return "SET @airlock_stmt = " + MyQuoteLiteral(id) + ", @airlock_tries = 0"
}

// MyStopCapture ends the capture; it must run after every statement that
// MyStartCapture named, whatever its outcome, or later writes of the
// session would be captured under its name.
const MyStopCapture = "SET @airlock_stmt = NULL"

// MyReadCaptured reads what statement id captured in schema, after the
// statement: one row per captured row (tries, id, rel, op, pk, old, new),
// or a single row of tries alone when nothing was captured.
func MyReadCaptured(schema, id string) string {
	return "SELECT t.tries, c.id, c.rel, c.op, c.pk, c.old_row, c.new_row FROM (SELECT @airlock_tries AS tries) t LEFT JOIN " +
		MyQuoteIdent(schema) + "." + MyQuoteIdent(MyCaptureTable) + " c ON c.stmt = " + MyQuoteLiteral(id) + " ORDER BY c.id"
}

// MyClearCaptured deletes captured rows by id, in statements of at most
// 1,000 ids. Deleting by primary key locks only those rows, so that other
// sessions' captures never wait for this one.
func MyClearCaptured(schema string, ids []string) []string {
	var out []string
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		out = append(out, "DELETE FROM "+MyQuoteIdent(schema)+"."+MyQuoteIdent(MyCaptureTable)+" WHERE id IN ("+strings.Join(ids[:n], ",")+")")
		ids = ids[n:]
	}
	return out
}

// MyCapture is what a statement's capture left, read with MyReadCaptured.
type MyCapture struct {
	// Images are the rows the statement changed: an UPDATE that left a
	// row as it was (MySQL fires the trigger, but changes nothing) is
	// not one. A row whose text could not be built (larger than
	// max_allowed_packet) is left out, so that the capture is incomplete.
	Images []airlock.UndoImage
	// Rows is how many rows the triggers wrote to the capture table (each
	// is a write the handler counters count), IDs their ids.
	Rows int
	IDs  []string
	// Tries is how many rows the statement tried to insert into prepared
	// tables.
	Tries int64
}

// MyCaptured reads the result of MyReadCaptured (SQL NULL as "": no
// captured row has an empty text).
func MyCaptured(rows [][]string) (*MyCapture, error) {
	c := &MyCapture{}
	for i, r := range rows {
		if len(r) != 7 {
			return nil, fmt.Errorf("captured rows: %d columns, want 7", len(r))
		}
		if i == 0 && r[0] != "" {
			n, err := strconv.ParseInt(r[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("captured rows: insert attempts %q", r[0])
			}
			c.Tries = n
		}
		if r[1] == "" {
			continue // nothing captured
		}
		c.Rows++
		c.IDs = append(c.IDs, r[1])
		im := airlock.UndoImage{Table: r[2], Op: r[3]}
		if r[4] != "" {
			if err := json.Unmarshal([]byte(r[4]), &im.PK); err != nil {
				return nil, fmt.Errorf("captured rows: primary key %q: %w", r[4], err)
			}
		}
		if r[5] != "" {
			im.Old = &r[5]
		}
		if r[6] != "" {
			im.New = &r[6]
		}
		if (im.Op != "I" && im.Old == nil) || (im.Op != "D" && im.New == nil) {
			continue
		}
		if im.Op == "U" && *im.Old == *im.New {
			continue
		}
		im.Seq = len(c.Images) + 1
		c.Images = append(c.Images, im)
	}
	return c, nil
}

// Changed is how many rows a statement really changed, from the session's
// handler counters (rows written, updated and deleted, as differences
// over the statement) and what its capture saw: the capture table's own
// writes are not rows the statement changed, nor are insert attempts that
// found their key taken (INSERT IGNORE, ON DUPLICATE KEY UPDATE: counted
// by the BEFORE INSERT trigger; REPLACE: one per row it deleted from
// replaced, the tables it replaces rows in). Compared with the images,
// this tells whether a changed row went uncaptured (a table without the
// triggers): the handler counters see every table.
func (c *MyCapture) Changed(written, updated, deleted int64, replaced []string) int64 {
	var inserts, replacedRows int64
	for _, im := range c.Images {
		switch {
		case im.Op == "I":
			inserts++
		case im.Op == "D" && containsFold(replaced, im.Table):
			replacedRows++
		}
	}
	failed := max(c.Tries-inserts, 0) + replacedRows
	return written - int64(c.Rows) - failed + updated + deleted
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// MyQuoteIdent quotes a MySQL name with backquotes.
func MyQuoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// MyQuoteLiteral quotes s as a MySQL string literal, for a session where
// backslashes escape (airlock's sessions and MySQLMode).
func MyQuoteLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`).Replace(s) + "'"
}
