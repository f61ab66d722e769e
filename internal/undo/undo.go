// Package undo reverses what a statement changed. Capture happens in the
// statement's own transaction through row-level triggers that `airlock
// databases prepare` installs (so the captured rows are exactly the rows
// changed, under any concurrency, including cascades and trigger effects):
// each trigger writes the row as it was and as it became, in PostgreSQL's
// text form (exact for every type), to airlock.capture, but only while the
// session's setting airlock.stmt names the statement. The gateway reads
// those rows back before the transaction can commit and keeps them in its
// store as an airlock.UndoRecord.
//
// The reversal runs beside each engine's admin code (internal/pgadmin,
// internal/myadmin) in one transaction: it first checks that every affected
// row still looks as the statement left it, reports the rows changed since
// as a Conflict each, and changes nothing unless forced. This package holds
// only what needs no database driver: the capture SQL text, the image
// arithmetic and the Step and Conflict shapes both engines share, so the
// gateway, the API and the UI can use it without linking a driver.
//
// MySQL and MariaDB (the My... names, mysql.go) follow the same design
// with triggers generated for each table, since MySQL has no row-to-text
// cast.
package undo

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"airlock"
)

// CaptureSetting is the setting the triggers read.
const CaptureSetting = "airlock.stmt"

// Prepare is the SQL `airlock databases prepare` runs on a PostgreSQL
// database: the capture table, the trigger function (whose SET clauses fix
// how rows are written as text) and one trigger per table of the given
// schemas. writeRoles get what the gateway needs to read captured rows.
func Prepare(schemas, writeRoles []string) string {
	var b strings.Builder
	b.WriteString(`CREATE SCHEMA IF NOT EXISTS airlock;
CREATE TABLE IF NOT EXISTS airlock.capture (
	id bigserial PRIMARY KEY,
	stmt text NOT NULL,
	rel text NOT NULL,
	op "char" NOT NULL,
	old_row text,
	new_row text
);
CREATE INDEX IF NOT EXISTS capture_stmt ON airlock.capture (stmt);
-- Captured rows live inside the transaction that wrote them (airlock reads
-- and deletes them before it ends): writing them to the WAL bought nothing.
ALTER TABLE airlock.capture SET UNLOGGED;
CREATE OR REPLACE FUNCTION airlock.capture() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC' SET datestyle = 'ISO, YMD' SET intervalstyle = 'postgres'
SET extra_float_digits = 3 SET bytea_output = 'hex'
AS $f$
DECLARE s text := current_setting('airlock.stmt', true);
BEGIN
	IF s IS NULL OR s = '' THEN
		RETURN NULL;
	END IF;
	INSERT INTO airlock.capture (stmt, rel, op, old_row, new_row) VALUES (
		s, quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME), left(TG_OP, 1),
		CASE WHEN TG_OP <> 'INSERT' THEN OLD::text END,
		CASE WHEN TG_OP <> 'DELETE' THEN NEW::text END);
	RETURN NULL;
END
$f$;
REVOKE ALL ON FUNCTION airlock.capture() FROM PUBLIC;
`)
	for _, r := range writeRoles {
		fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA airlock TO %s;\nGRANT SELECT, DELETE ON airlock.capture TO %s;\n", quoteIdent(r), quoteIdent(r))
	}
	quoted := make([]string, len(schemas))
	for i, s := range schemas {
		quoted[i] = QuoteLiteral(s)
	}
	fmt.Fprintf(&b, `DO $d$
DECLARE t record;
BEGIN
	FOR t IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN (%s)
	LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS airlock_capture ON %%s', t.rel);
		EXECUTE format('CREATE TRIGGER airlock_capture AFTER INSERT OR UPDATE OR DELETE ON %%s FOR EACH ROW EXECUTE FUNCTION airlock.capture()', t.rel);
	END LOOP;
END
$d$;
`, strings.Join(quoted, ", "))
	return b.String()
}

// ChangedRows reads a PostgreSQL transaction's row counters: the rows
// inserted, updated or deleted in user tables so far, triggers, cascades
// and data-modifying CTEs included (what the blast-radius rule counts).
// It sums the counters of exactly the relations pg_stat_xact_user_tables
// lists (tables, TOAST tables, materialized views and partitioned tables
// outside pg_catalog, information_schema and the TOAST schemas), less
// airlock's own schema, but reads them straight from pg_class: the view
// also joins pg_index and groups by table for columns this sum does not
// use, which costs the upstream several times more to plan and run.
const ChangedRows = "SELECT coalesce(sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)), 0)" +
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" +
	" WHERE c.relkind IN ('r', 't', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'airlock') AND n.nspname !~ '^pg_toast'"

// Prepared is the query that says whether the database is prepared.
const Prepared = "SELECT pg_catalog.to_regclass('airlock.capture') IS NOT NULL"

// ReadCapturedParam is ReadCaptured with the statement's ID as $1 (in the
// first query), for a prepared statement. The first deletes the captured
// rows and returns them (in no set order: Images sorts them), one
// statement where a read and a delete cost the database two.
var ReadCapturedParam = []string{
	`DELETE FROM airlock.capture c WHERE c.stmt = $1 RETURNING c.id, c.rel, c.op, c.old_row, c.new_row,
			(SELECT string_agg(quote_ident(a.attname), ',' ORDER BY array_position(i.indkey::int2[], a.attnum))
			 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			 WHERE i.indrelid = c.rel::regclass AND i.indisprimary)`,
	`SELECT pg_catalog.set_config('airlock.stmt', '', true)`,
}

// ReadCaptured returns the queries that read (and clear) what statement
// id captured, with each table's primary key columns.
func ReadCaptured(id string) []string {
	lit := QuoteLiteral(id)
	out := make([]string, len(ReadCapturedParam))
	for i, q := range ReadCapturedParam {
		out[i] = strings.ReplaceAll(q, "$1", lit)
	}
	return out
}

// StartCaptureParam is StartCapture with the statement's ID as $1.
const StartCaptureParam = "SELECT pg_catalog.set_config('airlock.stmt', $1, true)"

// StartCapture is the query that names the statement being captured.
func StartCapture(id string) string {
	return strings.ReplaceAll(StartCaptureParam, "$1", QuoteLiteral(id))
}

// Images turns the rows of ReadCaptured's first query into images, in the
// order they were captured (by id). Rows are id, rel, op, old, new, pk
// (nil for SQL NULL as "").
func Images(rows [][]*string) []airlock.UndoImage {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b []*string) int {
		x, _ := strconv.ParseInt(deref(a[0]), 10, 64)
		y, _ := strconv.ParseInt(deref(b[0]), 10, 64)
		return cmp.Compare(x, y)
	})
	out := make([]airlock.UndoImage, 0, len(rows))
	for i, r := range rows {
		img := airlock.UndoImage{Seq: i + 1, Table: deref(r[1]), Op: deref(r[2]), Old: r[3], New: r[4]}
		if pk := deref(r[5]); pk != "" {
			img.PK = strings.Split(pk, ",")
		}
		out = append(out, img)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Hash is sha256 over the JSON of the images, carried by the statement's
// audit event so that the hash chain covers the undo data.
func Hash(images []airlock.UndoImage) string {
	b, _ := json.Marshal(images)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Size is the bytes an undo record's images take.
func Size(images []airlock.UndoImage) int64 {
	var n int64
	for _, im := range images {
		n += int64(len(im.Table) + 8)
		if im.Old != nil {
			n += int64(len(*im.Old))
		}
		if im.New != nil {
			n += int64(len(*im.New))
		}
	}
	return n
}

// Irreversible says why images cannot be reversed, or "".
func Irreversible(images []airlock.UndoImage) string {
	for _, im := range images {
		if len(im.PK) == 0 {
			return fmt.Sprintf("table %s has no primary key", im.Table)
		}
	}
	return ""
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLiteral quotes s as a PostgreSQL string literal
// (standard_conforming_strings is pinned on).
func QuoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// Step reverses one image.
type Step struct {
	Record string // undo record id
	Image  airlock.UndoImage
	// SQL reverses the image; Args are its parameters.
	SQL  string
	Args []any
}

// Conflict is a row that no longer looks as the statement left it.
type Conflict struct {
	Record  string  `json:"record"`
	Table   string  `json:"table"`
	Op      string  `json:"op"`
	Reason  string  `json:"reason"`
	Current *string `json:"current,omitempty"`
	Want    *string `json:"want,omitempty"`
}

// Show renders steps as runnable SQL, literals inlined.
func Show(steps []Step) string {
	var b strings.Builder
	last := ""
	for _, s := range steps {
		if s.Record != last {
			fmt.Fprintf(&b, "-- undo %s\n", s.Record)
			last = s.Record
		}
		sql := s.SQL
		for i := len(s.Args); i >= 1; i-- {
			sql = strings.ReplaceAll(sql, fmt.Sprintf("$%d", i), QuoteLiteral(fmt.Sprint(s.Args[i-1])))
		}
		b.WriteString(sql + ";\n")
	}
	return b.String()
}

// Judge compares a row as it is now (current, its text form; nil when it
// is gone) with how the statement of record left it (im), and returns the
// conflict that forbids reversing im, or nil.
func Judge(record string, im *airlock.UndoImage, current *string) *Conflict {
	c := &Conflict{Record: record, Table: im.Table, Op: im.Op, Current: current}
	switch im.Op {
	case "I", "U":
		if current == nil {
			c.Reason, c.Want = "the row is gone", im.New
			return c
		}
		if *current != *im.New {
			c.Reason, c.Want = "the row was changed since", im.New
			return c
		}
	case "D":
		if current != nil {
			c.Reason = "a row with the same key exists again"
			return c
		}
	}
	return nil
}
