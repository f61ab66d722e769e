package trash

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"airlock/internal/undo"
)

// ErrNameTaken: a name a restore needs is used again.
var ErrNameTaken = errors.New("name taken")

// ErrNoItem: the trash has no such item.
var ErrNoItem = errors.New("no such trash item")

// MyDatabase is the quarantine database on MySQL and MariaDB (shared by
// the schemas of one server; items name their schema).
const MyDatabase = "airlock_trash"

// MyItemsDDL creates the quarantine database and its list.
var MyItemsDDL = []string{
	"CREATE DATABASE IF NOT EXISTS airlock_trash",
	`CREATE TABLE IF NOT EXISTS airlock_trash.items (id varchar(64) PRIMARY KEY, kind varchar(16) NOT NULL,
		schema_name varchar(64) NOT NULL, table_name varchar(64) NOT NULL, trash_name varchar(64) NOT NULL,
		dropped_by varchar(255) NOT NULL, dropped_at datetime(6) NOT NULL, triggers longtext NOT NULL) ENGINE=InnoDB`,
}

// MyTrigger is a trigger a dropped table had: MySQL cannot move a table
// with triggers to another database, so they are kept as text and
// re-created on restore.
type MyTrigger struct {
	Name    string `json:"name"`
	SQLMode string `json:"sql_mode"`
	SQL     string `json:"sql"`
}

// SQLError is an error to answer the client with, as the server would.
type SQLError struct {
	Code    uint16
	State   string
	Message string
}

func (e *SQLError) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.State, e.Message)
}

// Query runs one statement on the session's upstream connection and
// returns its rows (SQL NULL as "").
type Query func(sql string) ([][]string, error)

func lit(s string) string   { return undo.MyQuoteLiteral(s) }
func ident(s string) string { return undo.MyQuoteIdent(s) }

func splitName(schema, t string) (string, string) {
	t = strings.ReplaceAll(t, "`", "")
	if s, n, ok := strings.Cut(t, "."); ok {
		return s, n
	}
	return schema, t
}

func myTimestamp(at time.Time) string { return at.UTC().Format("2006-01-02 15:04:05.000000") }

// MyDrop soft-drops tables (as the classifier resolved them; schema for
// unqualified ones) through q: each is renamed into airlock_trash as item
// id_1, id_2..., its triggers kept as text. Like DROP TABLE it fails for a
// missing table (unless ifExists) and for one another table's foreign key
// refers to; MySQL commits DDL at once, and so does this.
func MyDrop(q Query, schema string, tables []string, ifExists bool, id, user string, at time.Time) error {
	type target struct{ s, t string }
	var todo []target
	for _, name := range tables {
		s, t := splitName(schema, name)
		rows, err := q("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + lit(s) + " AND TABLE_NAME = " + lit(t) + " AND TABLE_TYPE = 'BASE TABLE'")
		if err != nil {
			return err
		}
		if len(rows) == 0 || rows[0][0] == "0" {
			if ifExists {
				continue
			}
			return &SQLError{1051, "42S02", fmt.Sprintf("Unknown table '%s.%s'", s, t)}
		}
		rows, err = q("SELECT CONSTRAINT_NAME, TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE REFERENCED_TABLE_NAME = " + lit(t) +
			" AND UNIQUE_CONSTRAINT_SCHEMA = " + lit(s) + " AND NOT (CONSTRAINT_SCHEMA = " + lit(s) + " AND TABLE_NAME = " + lit(t) + ")")
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			return &SQLError{1451, "23000", fmt.Sprintf("Cannot drop table '%s': foreign key constraint '%s' of table '%s' refers to it", t, rows[0][0], rows[0][1])}
		}
		todo = append(todo, target{s, t})
	}
	if len(todo) == 0 {
		return nil
	}
	for _, s := range MyItemsDDL {
		if _, err := q(s); err != nil {
			return err
		}
	}
	for k, tg := range todo {
		item := fmt.Sprintf("%s_%d", id, k+1)
		names, err := q("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = " + lit(tg.s) + " AND EVENT_OBJECT_TABLE = " + lit(tg.t) + " ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER")
		if err != nil {
			return err
		}
		trigs := []MyTrigger{}
		for _, n := range names {
			rows, err := q("SHOW CREATE TRIGGER " + ident(tg.s) + "." + ident(n[0]))
			if err != nil {
				return err
			}
			if len(rows) != 1 || len(rows[0]) < 3 {
				return fmt.Errorf("SHOW CREATE TRIGGER %s: unexpected answer", n[0])
			}
			trigs = append(trigs, MyTrigger{Name: n[0], SQLMode: rows[0][1], SQL: rows[0][2]})
		}
		js, _ := json.Marshal(trigs)
		for _, tr := range trigs {
			if _, err := q("DROP TRIGGER " + ident(tg.s) + "." + ident(tr.Name)); err != nil {
				return err
			}
		}
		if _, err := q("RENAME TABLE " + ident(tg.s) + "." + ident(tg.t) + " TO airlock_trash." + ident(item)); err != nil {
			return err
		}
		if _, err := q("INSERT INTO airlock_trash.items VALUES (" + strings.Join([]string{lit(item), "'drop'", lit(tg.s), lit(tg.t), lit(item), lit(user), lit(myTimestamp(at)), lit(string(js))}, ", ") + ")"); err != nil {
			return err
		}
	}
	_, err := q("COMMIT")
	return err
}

// MyColumns returns the quoted columns of schema.table a row copy writes
// (not generated ones), in order.
func MyColumns(q Query, schema, table string) ([]string, error) {
	rows, err := q("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " + lit(schema) + " AND TABLE_NAME = " + lit(table) +
		" AND EXTRA NOT LIKE '%GENERATED%' ORDER BY ORDINAL_POSITION")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows {
		out = append(out, ident(r[0]))
	}
	return out, nil
}

// MyTruncate copies the rows of each table into airlock_trash (items
// id_1, id_2...) and then truncates it.
func MyTruncate(q Query, schema string, tables []string, id, user string, at time.Time) error {
	for _, s := range MyItemsDDL {
		if _, err := q(s); err != nil {
			return err
		}
	}
	for k, name := range tables {
		s, t := splitName(schema, name)
		item := fmt.Sprintf("%s_%d", id, k+1)
		cols, err := MyColumns(q, s, t)
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			return &SQLError{1146, "42S02", fmt.Sprintf("Table '%s.%s' doesn't exist", s, t)}
		}
		c := strings.Join(cols, ", ")
		for _, x := range []string{
			"CREATE TABLE airlock_trash." + ident(item) + " LIKE " + ident(s) + "." + ident(t),
			"INSERT INTO airlock_trash." + ident(item) + " (" + c + ") SELECT " + c + " FROM " + ident(s) + "." + ident(t),
			"TRUNCATE TABLE " + ident(s) + "." + ident(t),
			"INSERT INTO airlock_trash.items VALUES (" + strings.Join([]string{lit(item), "'truncate'", lit(s), lit(t), lit(item), lit(user), lit(myTimestamp(at)), "'[]'"}, ", ") + ")",
		} {
			if _, err := q(x); err != nil {
				return err
			}
		}
	}
	_, err := q("COMMIT")
	return err
}
