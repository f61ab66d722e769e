package myadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"airlock"
	"airlock/internal/undo"
)

// undoPlan returns the statements that reverse recs on a MySQL database
// whose tables are in schema, newest record first and, within a record,
// last image first: an insert is deleted by its primary key, a deleted
// row is inserted again with every captured column, an updated row is set
// back to every captured column, found by its key after the update.
func undoPlan(schema string, recs []*airlock.UndoRecord) ([]undo.Step, error) {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].CreatedAt.After(recs[j].CreatedAt) })
	var steps []undo.Step
	for _, r := range recs {
		for i := len(r.Images) - 1; i >= 0; i-- {
			im := r.Images[i]
			if len(im.PK) == 0 {
				return nil, fmt.Errorf("table %s has no primary key: its rows cannot be found again", im.Table)
			}
			target, err := myTarget(schema, im.Table)
			if err != nil {
				return nil, err
			}
			s := undo.Step{Record: r.ID, Image: im}
			switch im.Op {
			case "I":
				where, err := myWhere(im.New, im.PK)
				if err != nil {
					return nil, err
				}
				s.SQL = "DELETE FROM " + target + " WHERE " + where
			case "D":
				set, err := mySet(im.Old)
				if err != nil {
					return nil, err
				}
				s.SQL = "INSERT INTO " + target + " SET " + set
			case "U":
				set, err := mySet(im.Old)
				if err != nil {
					return nil, err
				}
				where, err := myWhere(im.New, im.PK)
				if err != nil {
					return nil, err
				}
				s.SQL = "UPDATE " + target + " SET " + set + " WHERE " + where
			default:
				return nil, fmt.Errorf("unknown operation %q", im.Op)
			}
			steps = append(steps, s)
		}
	}
	return steps, nil
}

// undoShow renders steps as runnable SQL: the session's time zone first when
// a TIMESTAMP is put back (its FROM_UNIXTIME literal is read in it).
func undoShow(steps []undo.Step) string {
	for _, s := range steps {
		if strings.Contains(s.SQL, "FROM_UNIXTIME(") {
			return "SET time_zone = '" + undo.MyTimeZone + "';\n" + undo.Show(steps)
		}
	}
	return undo.Show(steps)
}

// myTarget is the quoted name of table (schema-qualified, as captured).
func myTarget(schema, table string) (string, error) {
	name, ok := strings.CutPrefix(table, schema+".")
	if !ok || name == "" {
		return "", fmt.Errorf("table %s is not in schema %s", table, schema)
	}
	return undo.MyQuoteIdent(schema) + "." + undo.MyQuoteIdent(name), nil
}

func mySet(row *string) (string, error) {
	if row == nil {
		return "", errors.New("an image lacks its row")
	}
	fields, err := undo.ParseMyRow(*row)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = undo.MyQuoteIdent(f.Name) + "=" + f.Value
	}
	return strings.Join(parts, ", "), nil
}

func myWhere(row *string, pk []string) (string, error) {
	if row == nil {
		return "", errors.New("an image lacks its row")
	}
	fields, err := undo.ParseMyRow(*row)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(pk))
	for _, k := range pk {
		v := ""
		for _, f := range fields {
			if strings.EqualFold(f.Name, k) {
				v = f.Value
				break
			}
		}
		if v == "" {
			return "", fmt.Errorf("the captured row lacks its key column %s", undo.MyQuoteIdent(k))
		}
		parts = append(parts, undo.MyQuoteIdent(k)+"="+v)
	}
	return strings.Join(parts, " AND "), nil
}

// Columns reads the columns of schema.table that capture writes (not
// generated), in table order, or none when there is no such table.
func Columns(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, schema, table string) ([]undo.MyColumn, error) {
	rows, err := q.QueryContext(ctx, `SELECT COLUMN_NAME, LOWER(DATA_TYPE), IFNULL(CHARACTER_SET_NAME, '') FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IFNULL(GENERATION_EXPRESSION, '') = ''
		AND EXTRA NOT LIKE '%VIRTUAL%' AND EXTRA NOT LIKE '%STORED%' AND EXTRA NOT LIKE '%PERSISTENT%'
		ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []undo.MyColumn
	for rows.Next() {
		var c undo.MyColumn
		if err := rows.Scan(&c.Name, &c.DataType, &c.Charset); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// myCheck finds whether the row a step reverses is still as the statement
// left it, rendering it now as the trigger rendered it then; it locks the
// row (or the gap where it would be) until the apply ends.
func myCheck(ctx context.Context, tx *sql.Tx, schema string, s undo.Step, cache map[string]map[string]undo.MyColumn) (*undo.Conflict, error) {
	im := s.Image
	img := im.New
	if im.Op == "D" {
		img = im.Old
	}
	fields, err := undo.ParseMyRow(*img)
	if err != nil {
		return nil, err
	}
	byName := cache[im.Table]
	if byName == nil {
		name := strings.TrimPrefix(im.Table, schema+".")
		cols, err := Columns(ctx, tx, schema, name)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", im.Table, err)
		}
		byName = map[string]undo.MyColumn{}
		for _, c := range cols {
			byName[strings.ToLower(c.Name)] = c
		}
		cache[im.Table] = byName
	}
	// The triggers write the columns the table had when it was prepared:
	// if they differ now, the image does not say what the row was.
	cols := make([]undo.MyColumn, len(fields))
	seen := map[string]bool{}
	var changed []string
	for i, f := range fields {
		c, ok := byName[strings.ToLower(f.Name)]
		if !ok {
			changed = append(changed, undo.MyQuoteIdent(f.Name)+" is gone")
		}
		cols[i], seen[strings.ToLower(f.Name)] = c, true
	}
	for name, c := range byName {
		if !seen[name] {
			changed = append(changed, undo.MyQuoteIdent(c.Name)+" is new")
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return &undo.Conflict{Record: s.Record, Table: im.Table, Op: im.Op, Want: img,
			Reason: "the table's columns changed since it was prepared for undo (" + strings.Join(changed, ", ") + "): the captured row does not cover them; run airlock databases prepare again for later changes"}, nil
	}
	expr, err := undo.MyRowExpr("", cols)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", im.Table, err)
	}
	target, _ := myTarget(schema, im.Table)
	where, err := myWhere(img, im.PK)
	if err != nil {
		return nil, err
	}
	var current *string
	err = tx.QueryRowContext(ctx, "SELECT "+expr+" FROM "+target+" WHERE "+where+" FOR UPDATE").Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		current = nil
	} else if err != nil {
		return nil, err
	}
	return undo.Judge(s.Record, &im, current), nil
}

// undoApply reverses steps in tx, in order, each after checking that its row
// still looks as the statement left it (earlier steps' effects included).
// tx's session must use MySQLMode and MyTimeZone. A conflicting step is
// reported and, unless force is set, not run; the caller then rolls tx
// back, so that nothing is applied. With force, a conflicting row is
// overwritten where its operation allows, else skipped.
func undoApply(ctx context.Context, tx *sql.Tx, schema string, steps []undo.Step, force bool) ([]undo.Conflict, error) {
	cache := map[string]map[string]undo.MyColumn{}
	var conflicts []undo.Conflict
	for _, s := range steps {
		c, err := myCheck(ctx, tx, schema, s, cache)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", s.Image.Table, err)
		}
		if c != nil {
			conflicts = append(conflicts, *c)
			if !force {
				continue
			}
		}
		if !force {
			if _, err := tx.ExecContext(ctx, s.SQL); err != nil {
				return conflicts, fmt.Errorf("reverse a row of %s: %w", s.Image.Table, err)
			}
			continue
		}
		// Forced: a row that cannot be put back (its key exists again)
		// is reported and skipped.
		if _, err := tx.ExecContext(ctx, "SAVEPOINT airlock_undo_step"); err != nil {
			return conflicts, err
		}
		if _, err := tx.ExecContext(ctx, s.SQL); err != nil {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT airlock_undo_step"); rerr != nil {
				return conflicts, rerr
			}
			conflicts = append(conflicts, undo.Conflict{Record: s.Record, Table: s.Image.Table, Op: s.Image.Op, Reason: "skipped: " + err.Error()})
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT airlock_undo_step"); err != nil {
			return conflicts, err
		}
	}
	return conflicts, nil
}
