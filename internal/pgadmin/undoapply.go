package pgadmin

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"airlock"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5"
)

// undoSettings fix how rows are written as text, as the capture trigger does.
const undoSettings = `SET LOCAL timezone = 'UTC'; SET LOCAL datestyle = 'ISO, YMD'; SET LOCAL intervalstyle = 'postgres';
SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'`

// columns lists a table's columns that a reversal writes: not dropped, not
// generated; alwaysIdentity reports GENERATED ALWAYS identity columns.
type columns struct {
	all            []string
	alwaysIdentity map[string]bool
}

func tableColumns(ctx context.Context, tx pgx.Tx, table string) (*columns, error) {
	rows, err := tx.Query(ctx, `SELECT quote_ident(attname), attidentity FROM pg_catalog.pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c := &columns{alwaysIdentity: map[string]bool{}}
	for rows.Next() {
		var name, ident string
		if err := rows.Scan(&name, &ident); err != nil {
			return nil, err
		}
		c.all = append(c.all, name)
		if ident == "a" {
			c.alwaysIdentity[name] = true
		}
	}
	return c, rows.Err()
}

func fields(cols []string, param string, table string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "(r)." + c
	}
	return "SELECT " + strings.Join(parts, ", ") + " FROM (SELECT " + param + "::" + table + " AS r) s"
}

// undoPlan returns the steps that reverse records, newest record first and,
// within a record, last image first. Tables' columns are read through tx.
func undoPlan(ctx context.Context, tx pgx.Tx, recs []*airlock.UndoRecord) ([]undo.Step, error) {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].CreatedAt.After(recs[j].CreatedAt) })
	cache := map[string]*columns{}
	var steps []undo.Step
	for _, r := range recs {
		for i := len(r.Images) - 1; i >= 0; i-- {
			im := r.Images[i]
			if len(im.PK) == 0 {
				return nil, fmt.Errorf("table %s has no primary key: its rows cannot be found again", im.Table)
			}
			cols := cache[im.Table]
			if cols == nil {
				c, err := tableColumns(ctx, tx, im.Table)
				if err != nil {
					return nil, fmt.Errorf("columns of %s: %w", im.Table, err)
				}
				cache[im.Table], cols = c, c
			}
			pk := "(" + strings.Join(im.PK, ", ") + ")"
			s := undo.Step{Record: r.ID, Image: im}
			switch im.Op {
			case "I":
				s.SQL = fmt.Sprintf("DELETE FROM %s WHERE %s = (%s)", im.Table, pk, fields(im.PK, "$1", im.Table))
				s.Args = []any{*im.New}
			case "D":
				s.SQL = fmt.Sprintf("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE %s", im.Table, strings.Join(cols.all, ", "), fields(cols.all, "$1", im.Table))
				s.Args = []any{*im.Old}
			case "U":
				var set []string
				for _, c := range cols.all {
					if !cols.alwaysIdentity[c] {
						set = append(set, c)
					}
				}
				s.SQL = fmt.Sprintf("UPDATE %s SET (%s) = (%s) WHERE %s = (%s)", im.Table, strings.Join(set, ", "), fields(set, "$1", im.Table), pk, fields(im.PK, "$2", im.Table))
				if len(set) == 1 {
					// A one-column row: SET (a) = (SELECT ...) needs ROW().
					s.SQL = fmt.Sprintf("UPDATE %s SET %s = (%s) WHERE %s = (%s)", im.Table, set[0], fields(set, "$1", im.Table), pk, fields(im.PK, "$2", im.Table))
				}
				s.Args = []any{*im.Old, *im.New}
			default:
				return nil, fmt.Errorf("unknown operation %q", im.Op)
			}
			steps = append(steps, s)
		}
	}
	return steps, nil
}

// undoCheck finds whether the row a step reverses is still as the statement
// left it.
func undoCheck(ctx context.Context, tx pgx.Tx, s undo.Step) (*undo.Conflict, error) {
	im := s.Image
	pk := "(" + strings.Join(im.PK, ", ") + ")"
	img := im.New
	if im.Op == "D" {
		img = im.Old
	}
	var current *string
	// The alias must not be a column name, or row::text would read it.
	q := fmt.Sprintf("SELECT airlock_undo_row::text FROM %s AS airlock_undo_row WHERE %s = (%s)", im.Table, pk, fields(im.PK, "$1", im.Table))
	err := tx.QueryRow(ctx, q, *img).Scan(&current)
	if err == pgx.ErrNoRows {
		current = nil
	} else if err != nil {
		return nil, err
	}
	return undo.Judge(s.Record, &im, current), nil
}

// undoApply reverses steps in tx, in order, each after checking that its row
// still looks as the statement left it (earlier steps' effects included, so
// that a row changed by several statements is followed back through them).
// A conflicting step is reported and, unless force is set, not run; the
// caller then rolls tx back, so that nothing is applied. With force, a
// conflicting row is overwritten where its operation allows, else skipped.
func undoApply(ctx context.Context, tx pgx.Tx, steps []undo.Step, force bool) ([]undo.Conflict, error) {
	if _, err := tx.Exec(ctx, undoSettings); err != nil {
		return nil, err
	}
	var conflicts []undo.Conflict
	for _, s := range steps {
		c, err := undoCheck(ctx, tx, s)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", s.Image.Table, err)
		}
		if c != nil {
			conflicts = append(conflicts, *c)
			if !force {
				continue
			}
		}
		if _, err := tx.Exec(ctx, "SAVEPOINT airlock_undo_step"); err != nil {
			return conflicts, err
		}
		if _, err := tx.Exec(ctx, s.SQL, s.Args...); err != nil {
			if !force {
				return conflicts, fmt.Errorf("reverse a row of %s: %w", s.Image.Table, err)
			}
			// Forced: a row that cannot be put back (its key exists
			// again) is reported and skipped.
			if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT airlock_undo_step"); rerr != nil {
				return conflicts, rerr
			}
			conflicts = append(conflicts, undo.Conflict{Record: s.Record, Table: s.Image.Table, Op: s.Image.Op, Reason: "skipped: " + err.Error()})
		}
		if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT airlock_undo_step"); err != nil {
			return conflicts, err
		}
	}
	return conflicts, nil
}
