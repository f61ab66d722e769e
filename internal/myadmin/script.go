package myadmin

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/undo"
)

// RunScript runs a reviewed change script (gateway.ScriptAdmin): stmts in
// order in one transaction with the credential of level, each under the
// undo capture named capture when the schema is prepared. A script that
// MySQL could not roll back is refused before anything runs: DDL (MySQL
// commits implicitly before and after it) and writes to tables of a
// non-transactional engine. Inserts that take AUTO_INCREMENT values are
// flagged (a rollback does not give them back), as are changed rows the
// capture did not see. decide says whether to commit.
func (Admin) RunScript(ctx context.Context, db *config.Database, level airlock.Level, stmts []airlock.Statement, capture string,
	decide func(run *airlock.ScriptRun, images []airlock.UndoImage) (bool, error)) (*airlock.ScriptRun, error) {
	run := &airlock.ScriptRun{Statements: []airlock.ScriptStatement{}, SideEffects: []string{}}
	for i, st := range stmts {
		run.Statements = append(run.Statements, airlock.ScriptStatement{SQL: st.Text, Kind: st.Kind, Level: st.Level, RowsChanged: -1, Sample: []airlock.RowChange{}})
		if st.Level >= airlock.LevelDDL || st.Kind == airlock.KindDDL || st.Kind == airlock.KindDrop || st.Kind == airlock.KindTruncate {
			run.Refused = fmt.Sprintf("statement %d (%s) is DDL, which MySQL commits implicitly: it cannot run in a transaction that rolls back, so airlock neither dry-runs nor runs it; request ddl access instead", i+1, st.Command)
		}
	}
	if run.Refused != "" {
		run.Outcome = airlock.ScriptFailed
		_, err := decide(run, nil)
		return run, err
	}
	c, err := Connect(ctx, db, level)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	engines, err := tableEngines(ctx, c, db.Database)
	if err != nil {
		return nil, err
	}
	for i, st := range stmts {
		for _, t := range st.WriteTables {
			e, ok := engines[strings.ToLower(myTableName(db.Database, t))]
			if ok && !strings.EqualFold(e.engine, "InnoDB") {
				run.Refused = fmt.Sprintf("statement %d writes to %s, whose engine %s does not roll back: airlock neither dry-runs nor runs it", i+1, t, e.engine)
				run.Outcome = airlock.ScriptFailed
				_, err := decide(run, nil)
				return run, err
			}
		}
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var prepared int
	if err := tx.QueryRowContext(ctx, undo.MyPrepared(db.Database)).Scan(&prepared); err != nil {
		return nil, err
	}
	var images []airlock.UndoImage
	for i, st := range stmts {
		ss := &run.Statements[i]
		if run.Error != "" {
			continue
		}
		if prepared > 0 {
			if _, err := tx.ExecContext(ctx, undo.MyStartCapture(capture)); err != nil {
				return nil, err
			}
		}
		res, err := tx.ExecContext(ctx, st.Text)
		if err != nil {
			ss.Error = err.Error()
			run.Error = fmt.Sprintf("statement %d: %v", i+1, err)
			continue
		}
		n, _ := res.RowsAffected()
		ss.RowsChanged = n
		if prepared > 0 {
			capt, err := readCaptured(ctx, tx, db.Database, capture)
			if err != nil {
				return nil, fmt.Errorf("read the capture of statement %d: %w", i+1, err)
			}
			for _, s := range append(undo.MyClearCaptured(db.Database, capt.IDs), undo.MyStopCapture) {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return nil, err
				}
			}
			ss.Captured = len(capt.Images)
			for _, im := range capt.Images {
				if len(ss.Sample) < airlock.ScriptSampleRows {
					ss.Sample = append(ss.Sample, myRowChange(im))
				}
				im.Seq = len(images) + 1
				images = append(images, im)
			}
		}
		if st.Kind == airlock.KindInsert && n > 0 {
			for _, t := range st.WriteTables {
				if e := engines[strings.ToLower(myTableName(db.Database, t))]; e.autoIncrement {
					run.SideEffects = append(run.SideEffects, fmt.Sprintf("statement %d takes AUTO_INCREMENT values of %s: a rollback does not give them back", i+1, t))
				}
			}
		}
		if st.Kind != airlock.KindInsert && st.Kind != airlock.KindUpdate && st.Kind != airlock.KindDelete {
			continue
		}
		if int64(ss.Captured) < ss.RowsChanged {
			run.SideEffects = append(run.SideEffects, fmt.Sprintf("statement %d changed %d rows the undo capture did not see (run airlock databases prepare): they cannot be undone", i+1, ss.RowsChanged-int64(ss.Captured)))
		}
	}
	commit, err := decide(run, images)
	if err != nil {
		return nil, err
	}
	if !commit {
		return run, tx.Rollback()
	}
	return run, tx.Commit()
}

type tableFacts struct {
	engine        string
	autoIncrement bool
}

// tableEngines returns the engine of every base table of schema, and
// whether it has an AUTO_INCREMENT column, by schema.table.
func tableEngines(ctx context.Context, c *sql.DB, schema string) (map[string]tableFacts, error) {
	rows, err := c.QueryContext(ctx, `SELECT t.TABLE_SCHEMA, t.TABLE_NAME, COALESCE(t.ENGINE, ''),
		EXISTS (SELECT 1 FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.EXTRA LIKE '%auto_increment%')
		FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE'`, schema)
	if err != nil {
		return nil, fmt.Errorf("read table engines: %w", err)
	}
	defer rows.Close()
	out := map[string]tableFacts{}
	for rows.Next() {
		var s, t, e string
		var ai bool
		if err := rows.Scan(&s, &t, &e, &ai); err != nil {
			return nil, err
		}
		out[strings.ToLower(s+"."+t)] = tableFacts{engine: e, autoIncrement: ai}
	}
	return out, rows.Err()
}

// myTableName qualifies t with schema when it is not.
func myTableName(schema, t string) string {
	t = strings.ReplaceAll(t, "`", "")
	if strings.Contains(t, ".") {
		return t
	}
	return schema + "." + t
}

// myRowChange turns a captured image into named columns, values as the
// SQL literals the capture wrote (simple strings unquoted).
func myRowChange(im airlock.UndoImage) airlock.RowChange {
	rc := airlock.RowChange{Table: im.Table, Op: im.Op, Columns: []string{}}
	cols := func(text *string) []*string {
		if text == nil {
			return nil
		}
		fields, err := undo.ParseMyRow(*text)
		if err != nil {
			v := *text
			return []*string{&v}
		}
		var names []string
		vals := make([]*string, 0, len(fields))
		for _, f := range fields {
			names = append(names, f.Name)
			if strings.EqualFold(f.Value, "NULL") {
				vals = append(vals, nil)
				continue
			}
			v := f.Value
			if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' && !strings.ContainsAny(v[1:len(v)-1], `'\`) {
				v = v[1 : len(v)-1]
			}
			vals = append(vals, &v)
		}
		if len(rc.Columns) == 0 {
			rc.Columns = names
		}
		return vals
	}
	rc.Before, rc.After = cols(im.Old), cols(im.New)
	return rc
}
