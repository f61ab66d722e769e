// Package trash writes the SQL of soft DROP and TRUNCATE (a database's
// `soft_drop` setting): instead of destroying a table, DROP TABLE moves it
// into the quarantine schema airlock_trash, with its indexes, constraints,
// triggers, owned sequences and grants (which move with it), its dependent
// views (under CASCADE) and the definitions of other tables' foreign keys
// to it (dropped under CASCADE, re-created on restore); TRUNCATE first
// copies the rows there. Each kept table is one row of
// airlock_trash.items, written in the same transaction as the statement,
// so that a rollback keeps nothing. Restore puts everything back; purge
// drops it for good.
//
// On PostgreSQL the statement runs as a DO block, in the client's
// transaction, with the names the client gave as literals resolved by the
// database itself. On MySQL and MariaDB (mysql.go) it is a few statements
// run on the session's connection: a RENAME TABLE into the database
// airlock_trash, the table's triggers kept as text.
package trash

import (
	"fmt"
	"strings"
	"time"

	"airlock/internal/undo"
)

// Schema is the quarantine schema.
const Schema = "airlock_trash"

// itemsDDL creates the trash and its list.
const itemsDDL = `CREATE SCHEMA IF NOT EXISTS airlock_trash;
	CREATE TABLE IF NOT EXISTS airlock_trash.items (
		id text PRIMARY KEY, kind text NOT NULL, schema_name text NOT NULL, table_name text NOT NULL,
		trash_name text NOT NULL, dropped_by text NOT NULL, dropped_at timestamptz NOT NULL,
		renamed jsonb NOT NULL DEFAULT '[]', fkeys jsonb NOT NULL DEFAULT '[]');`

// Drop is the statement that soft-drops tables (as the client named them,
// resolved with the session's search_path), recording them as items id_1,
// id_2... by user at time at. ifExists and cascade are DROP TABLE's
// options; without CASCADE, dependent views and foreign keys make it
// fail as DROP TABLE would.
func Drop(tables []string, ifExists, cascade bool, id, user string, at time.Time) (string, error) {
	return doBlock(id, fmt.Sprintf(`DO $airlock_trash$
DECLARE
	names text[] := %s;
	if_exists bool := %t;
	do_cascade bool := %t;
	base text := %s;
	who text := %s;
	at timestamptz := %s;
	n text; t regclass; k int := 0; j int; r record; item text; renamed jsonb; fkeys jsonb; sch text; rel text;
BEGIN
	%s
	FOREACH n IN ARRAY names LOOP
		t := pg_catalog.to_regclass(n);
		IF t IS NULL THEN
			IF if_exists THEN
				RAISE NOTICE 'table "%%" does not exist, skipping', n;
				CONTINUE;
			END IF;
			RAISE EXCEPTION 'table "%%" does not exist', n USING ERRCODE = '42P01';
		END IF;
		IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t) NOT IN ('r', 'p') THEN
			RAISE EXCEPTION '"%%" is not a table', n USING ERRCODE = '42809';
		END IF;
		k := k + 1;
		item := base || '_' || k;
		SELECT nspname, relname INTO sch, rel FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.oid = t;
		renamed := '[]';
		fkeys := '[]';
		-- Views that depend on the table, directly or through other views.
		j := 0;
		FOR r IN WITH RECURSIVE deps(oid, depth) AS (
				SELECT DISTINCT rw.ev_class, 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
				WHERE d.refobjid = t AND rw.ev_class <> t
				UNION
				SELECT rw.ev_class, deps.depth + 1 FROM deps JOIN pg_catalog.pg_depend d ON d.refobjid = deps.oid
				JOIN pg_catalog.pg_rewrite rw ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid WHERE rw.ev_class <> deps.oid AND deps.depth < 20)
			SELECT c.oid, c.relkind, s.nspname, c.relname, max(deps.depth) AS depth FROM deps JOIN pg_catalog.pg_class c ON c.oid = deps.oid
			JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace GROUP BY 1, 2, 3, 4 ORDER BY depth DESC, 4
		LOOP
			IF NOT do_cascade THEN
				RAISE EXCEPTION 'cannot drop table %%.%% because other objects depend on it', sch, rel USING ERRCODE = '2BP01',
					DETAIL = format('view %%I.%%I depends on table %%I.%%I', r.nspname, r.relname, sch, rel), HINT = 'Use DROP ... CASCADE to drop the dependent objects too.';
			END IF;
			j := j + 1;
			EXECUTE format('ALTER %%s %%I.%%I RENAME TO %%I', CASE r.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, r.nspname, r.relname, item || '_v' || j);
			EXECUTE format('ALTER %%s %%I.%%I SET SCHEMA airlock_trash', CASE r.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, r.nspname, item || '_v' || j);
			renamed := renamed || jsonb_build_object('kind', CASE r.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END, 'schema', r.nspname, 'name', r.relname, 'trash', item || '_v' || j);
		END LOOP;
		-- Other tables' foreign keys to it.
		FOR r IN SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_catalog.pg_get_constraintdef(c.oid) AS def
			FROM pg_catalog.pg_constraint c WHERE c.confrelid = t AND c.contype = 'f' AND c.conrelid <> t ORDER BY 1, 2
		LOOP
			IF NOT do_cascade THEN
				RAISE EXCEPTION 'cannot drop table %%.%% because other objects depend on it', sch, rel USING ERRCODE = '2BP01',
					DETAIL = format('constraint %%s on table %%s depends on table %%I.%%I', r.conname, r.tbl, sch, rel), HINT = 'Use DROP ... CASCADE to drop the dependent objects too.';
			END IF;
			EXECUTE format('ALTER TABLE %%s DROP CONSTRAINT %%I', r.tbl, r.conname);
			fkeys := fkeys || jsonb_build_object('table', r.tbl, 'name', r.conname, 'def', r.def);
		END LOOP;
		-- Its indexes and owned sequences move with it: names that could
		-- meet others in the trash are renamed there, and back on restore.
		j := 0;
		FOR r IN SELECT c.relname, 'INDEX' AS kind FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = t
			UNION ALL
			SELECT c.relname, 'SEQUENCE' FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
			WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refobjid = t AND c.relkind = 'S' AND d.deptype IN ('a', 'i')
			ORDER BY 2, 1
		LOOP
			j := j + 1;
			EXECUTE format('ALTER %%s %%I.%%I RENAME TO %%I', r.kind, sch, r.relname, item || '_' || lower(left(r.kind, 1)) || j);
			renamed := renamed || jsonb_build_object('kind', r.kind, 'name', r.relname, 'trash', item || '_' || lower(left(r.kind, 1)) || j);
		END LOOP;
		EXECUTE format('ALTER TABLE %%I.%%I RENAME TO %%I', sch, rel, item);
		EXECUTE format('ALTER TABLE %%I.%%I SET SCHEMA airlock_trash', sch, item);
		INSERT INTO airlock_trash.items (id, kind, schema_name, table_name, trash_name, dropped_by, dropped_at, renamed, fkeys)
			VALUES (item, 'drop', sch, rel, item, who, at, renamed, fkeys);
	END LOOP;
END
$airlock_trash$`, textArray(tables), ifExists, cascade, undo.QuoteLiteral(id), undo.QuoteLiteral(user), undo.QuoteLiteral(at.UTC().Format(time.RFC3339Nano)), itemsDDL))
}

// Truncate is the statement that copies the rows of tables into the trash
// and then truncates them, recording items id_1, id_2...
func Truncate(tables []string, id, user string, at time.Time) (string, error) {
	return doBlock(id, fmt.Sprintf(`DO $airlock_trash$
DECLARE
	names text[] := %s;
	base text := %s;
	who text := %s;
	at timestamptz := %s;
	n text; t regclass; k int := 0; item text; sch text; rel text;
BEGIN
	%s
	FOREACH n IN ARRAY names LOOP
		t := pg_catalog.to_regclass(n);
		IF t IS NULL THEN
			RAISE EXCEPTION 'relation "%%" does not exist', n USING ERRCODE = '42P01';
		END IF;
		k := k + 1;
		item := base || '_' || k;
		SELECT nspname, relname INTO sch, rel FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.oid = t;
		EXECUTE format('CREATE TABLE airlock_trash.%%I AS SELECT * FROM %%I.%%I', item, sch, rel);
		EXECUTE format('TRUNCATE TABLE %%I.%%I', sch, rel);
		INSERT INTO airlock_trash.items (id, kind, schema_name, table_name, trash_name, dropped_by, dropped_at)
			VALUES (item, 'truncate', sch, rel, item, who, at);
	END LOOP;
END
$airlock_trash$`, textArray(tables), undo.QuoteLiteral(id), undo.QuoteLiteral(user), undo.QuoteLiteral(at.UTC().Format(time.RFC3339Nano)), itemsDDL))
}

// doBlock gives the DO block a dollar-quote tag of its own (from the
// item id, which nobody knows in advance) and refuses a block whose body
// contains that tag, so that no name written into it can end the quote.
func doBlock(id, sql string) (string, error) {
	tag := "$airlock_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(id)) + "$"
	body := strings.TrimPrefix(strings.TrimSuffix(sql, "$airlock_trash$"), "DO $airlock_trash$")
	if strings.Contains(body, "$") && strings.Contains(body, tag) {
		return "", fmt.Errorf("a name contains the block's quote %s", tag)
	}
	return "DO " + tag + body + tag, nil
}

func textArray(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = undo.QuoteLiteral(s)
	}
	return "ARRAY[" + strings.Join(q, ", ") + "]::text[]"
}
