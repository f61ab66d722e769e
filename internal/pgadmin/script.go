package pgadmin

import (
	"context"
	"fmt"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5"
)

// RunScript runs a reviewed change script (gateway.ScriptAdmin): stmts in
// order in one transaction with the credential of level, each under the
// undo capture named capture when the database is prepared. It records
// per statement the rows changed, a sample of them with column names and
// the first error (after which nothing more runs), and, as side effects,
// the sequences a statement advanced (a rollback does not give their
// values back) and changed rows the capture did not see. decide says
// whether to commit.
func (Admin) RunScript(ctx context.Context, db *config.Database, level airlock.Level, stmts []airlock.Statement, capture string,
	decide func(run *airlock.ScriptRun, images []airlock.UndoImage) (bool, error)) (*airlock.ScriptRun, error) {
	c, err := Connect(ctx, db, level)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	var prepared bool
	if err := tx.QueryRow(ctx, undo.Prepared).Scan(&prepared); err != nil {
		return nil, err
	}
	seqs, err := sequences(ctx, tx)
	if err != nil {
		return nil, err
	}
	run := &airlock.ScriptRun{Statements: []airlock.ScriptStatement{}, SideEffects: []string{}}
	var images []airlock.UndoImage
	for i, st := range stmts {
		ss := airlock.ScriptStatement{SQL: st.Text, Kind: st.Kind, Level: st.Level, RowsChanged: -1, Sample: []airlock.RowChange{}}
		if run.Error != "" {
			run.Statements = append(run.Statements, ss)
			continue
		}
		if prepared {
			if _, err := tx.Exec(ctx, undo.StartCapture(capture)); err != nil {
				return nil, err
			}
		}
		tag, err := tx.Exec(ctx, st.Text)
		if err != nil {
			ss.Error = err.Error()
			run.Error = fmt.Sprintf("statement %d: %v", i+1, err)
			run.Statements = append(run.Statements, ss)
			continue
		}
		ss.RowsChanged = tag.RowsAffected()
		if !writes(st.Kind) {
			ss.RowsChanged = 0
		}
		if prepared {
			imgs, err := ReadCaptured(ctx, tx, capture)
			if err != nil {
				return nil, fmt.Errorf("read the capture of statement %d: %w", i+1, err)
			}
			ss.Captured = len(imgs)
			for _, im := range imgs {
				if len(ss.Sample) < airlock.ScriptSampleRows {
					rc, err := rowChange(ctx, tx, im)
					if err != nil {
						return nil, fmt.Errorf("sample of statement %d: %w", i+1, err)
					}
					ss.Sample = append(ss.Sample, rc)
				}
				im.Seq = len(images) + 1
				images = append(images, im)
			}
		}
		if writes(st.Kind) && int64(ss.Captured) < ss.RowsChanged {
			run.SideEffects = append(run.SideEffects, fmt.Sprintf("statement %d changed %d rows the undo capture did not see (run airlock databases prepare): they cannot be undone", i+1, ss.RowsChanged-int64(ss.Captured)))
		}
		after, err := sequences(ctx, tx)
		if err != nil {
			return nil, err
		}
		for name, v := range after {
			if old, ok := seqs[name]; !ok || old != v {
				was := "unused"
				if ok {
					was = old
				}
				run.SideEffects = append(run.SideEffects, fmt.Sprintf("statement %d advanced sequence %s from %s to %s: a rollback does not give these values back", i+1, name, was, v))
			}
		}
		seqs = after
		run.Statements = append(run.Statements, ss)
	}
	commit, err := decide(run, images)
	if err != nil {
		return nil, err
	}
	if !commit {
		return run, tx.Rollback(ctx)
	}
	return run, tx.Commit(ctx)
}

// writes reports whether a statement's command tag counts changed rows.
func writes(k airlock.Kind) bool {
	switch k {
	case airlock.KindInsert, airlock.KindUpdate, airlock.KindDelete, airlock.KindMerge, airlock.KindCopyFrom:
		return true
	}
	return false
}

// sequences returns the last value of every sequence the credential may
// see, by name.
func sequences(ctx context.Context, tx pgx.Tx) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value::text
		FROM pg_catalog.pg_sequences WHERE last_value IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read sequences: %w", err)
	}
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			rows.Close()
			return nil, err
		}
		out[n] = v
	}
	rows.Close()
	return out, rows.Err()
}

// rowChange turns a captured image into named columns: the row's text
// form is read back as the table's row type.
func rowChange(ctx context.Context, tx pgx.Tx, im airlock.UndoImage) (airlock.RowChange, error) {
	rc := airlock.RowChange{Table: im.Table, Op: im.Op, Columns: []string{}}
	cols := func(text *string) ([]*string, error) {
		if text == nil {
			return nil, nil
		}
		// im.Table is quote_ident(schema).quote_ident(table), written by
		// the capture trigger; to_regclass makes sure it names a table.
		var reg *string
		if err := tx.QueryRow(ctx, "SELECT pg_catalog.to_regclass($1)::text", im.Table).Scan(&reg); err != nil {
			return nil, err
		}
		if reg == nil {
			return nil, fmt.Errorf("table %s no longer exists", im.Table)
		}
		rows, err := tx.Query(ctx, "SELECT j.key, j.value FROM pg_catalog.json_each_text(pg_catalog.row_to_json(CAST($1::text AS "+*reg+"))) j", *text)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var names []string
		var vals []*string
		for rows.Next() {
			var k string
			var v *string
			if err := rows.Scan(&k, &v); err != nil {
				return nil, err
			}
			names, vals = append(names, k), append(vals, v)
		}
		if len(rc.Columns) == 0 {
			rc.Columns = names
		}
		return vals, rows.Err()
	}
	var err error
	if rc.Before, err = cols(im.Old); err != nil {
		return rc, err
	}
	if rc.After, err = cols(im.New); err != nil {
		return rc, err
	}
	return rc, nil
}
