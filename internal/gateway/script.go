package gateway

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/undo"
)

// ScriptTimeout bounds one run of a change script (its dry-run or its
// real run).
const ScriptTimeout = 5 * time.Minute

// ScriptAdmin runs a reviewed change script on one engine (pgadmin,
// myadmin). RunScript runs stmts in order, in one transaction, with the
// credential of level and the undo capture named capture; it records per
// statement the rows changed, a sample of them (at most airlock.ScriptSampleRows) and
// the error, stopping at the first error, and the side effects a rollback
// cannot take back. Statements the engine cannot run in a transaction
// that rolls back (MySQL DDL, non-transactional tables) are refused: the
// run's Refused says why and nothing runs. At the end, decide receives
// the run and every captured row: true commits, false rolls back. An
// error is returned only when the database could not be used at all.
type ScriptAdmin interface {
	RunScript(ctx context.Context, db *config.Database, level airlock.Level, stmts []airlock.Statement, capture string,
		decide func(run *airlock.ScriptRun, images []airlock.UndoImage) (bool, error)) (*airlock.ScriptRun, error)
}

func (g *Gateway) scriptAdmin(db *config.Database) (ScriptAdmin, error) {
	a, ok := g.admins[db.Engine].(ScriptAdmin)
	if !ok {
		return nil, airlock.Errorf(airlock.EINVALID, "change scripts are not available for %s databases", db.Engine)
	}
	return a, nil
}

// ScriptLevel classifies script for db and returns the level it needs:
// write or ddl. A script that does not parse, has no statement, controls
// the transaction itself or needs admin is refused (EINVALID).
func (g *Gateway) ScriptLevel(db *config.Database, script string) (airlock.Level, error) {
	stmts, err := g.scriptStatements(db, script)
	if err != nil {
		return 0, err
	}
	level := airlock.LevelWrite
	for _, st := range stmts {
		if st.Level > level {
			level = st.Level
		}
	}
	if level > airlock.LevelDDL {
		return 0, airlock.Errorf(airlock.EINVALID, "the script needs admin access (%s); a change script may write or change the schema only", whyOf(stmts, airlock.LevelAdmin))
	}
	return level, nil
}

func whyOf(stmts []airlock.Statement, l airlock.Level) string {
	for _, st := range stmts {
		if st.Level >= l {
			return st.Why
		}
	}
	return ""
}

func (g *Gateway) scriptStatements(db *config.Database, script string) ([]airlock.Statement, error) {
	cl := g.classifiers[db.Engine]
	if cl == nil {
		return nil, airlock.Errorf(airlock.EINVALID, "change scripts are not available for %s databases", db.Engine)
	}
	all, err := cl.Classify(script)
	if err != nil {
		return nil, airlock.Errorf(airlock.EINVALID, "the script does not parse: %v", err)
	}
	var stmts []airlock.Statement
	for _, st := range all {
		switch {
		case st.Kind == airlock.KindEmpty:
			continue
		case st.Txn != airlock.TxnNone || st.Kind == airlock.KindTransaction:
			return nil, airlock.Errorf(airlock.EINVALID, "the script controls its transaction (%s): airlock runs it in one transaction of its own; leave out BEGIN, COMMIT, ROLLBACK and savepoints", st.Command)
		case db.SoftDrop != nil && (st.Command == "DROP TABLE" || st.Kind == airlock.KindTruncate):
			return nil, airlock.Errorf(airlock.EINVALID, "%s on %s keeps what it removes in the trash only when run in a session under a ddl grant; a change script cannot keep it, so it may not contain %s", st.Command, db.Name, st.Command)
		}
		stmts = append(stmts, st)
	}
	if len(stmts) == 0 {
		return nil, airlock.Errorf(airlock.EINVALID, "the script has no statement")
	}
	return stmts, nil
}

// decideScript decides stmts for u at level exactly as a session would,
// and returns the denial, if any, and the blast-radius limit.
func (g *Gateway) decideScript(u *airlock.User, db *config.Database, level airlock.Level, script string) (*airlock.Decision, int64) {
	p := PreviewDecision(g.config(), g.policyEngine(), g.classifiers[db.Engine], u, db, level, script, g.now())
	if !p.Decision.Allowed {
		return &p.Decision, 0
	}
	return nil, p.Limit
}

// scriptEffects are the side effects a rollback cannot take back that the
// statements' facts show.
func scriptEffects(stmts []airlock.Statement) []string {
	var out []string
	for i, st := range stmts {
		if st.Command == "NOTIFY" || slices.Contains(st.Functions, "pg_notify") {
			out = append(out, fmt.Sprintf("statement %d sends a notification: once committed it cannot be taken back", i+1))
		}
		for _, f := range st.Functions {
			if f == "nextval" || f == "setval" {
				out = append(out, fmt.Sprintf("statement %d calls %s: sequence values are not rolled back", i+1, f))
			}
		}
	}
	return out
}

// DryRunScript runs script on db once for review, as user u at level, and
// rolls it back: the statements are decided by the same policy as any
// session's (guardrails apply) and run with the undo capture on.
func (g *Gateway) DryRunScript(ctx context.Context, u *airlock.User, db *config.Database, level airlock.Level, script string) (*airlock.ScriptRun, error) {
	ctx, cancel := context.WithTimeout(ctx, ScriptTimeout)
	defer cancel()
	stmts, err := g.scriptStatements(db, script)
	if err != nil {
		return nil, err
	}
	if d, _ := g.decideScript(u, db, level, script); d != nil {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "%s", d.Message())
	}
	a, err := g.scriptAdmin(db)
	if err != nil {
		return nil, err
	}
	_, limit := g.decideScript(u, db, level, script)
	run, err := a.RunScript(ctx, db, level, stmts, airlock.NewID("dry_"), func(run *airlock.ScriptRun, _ []airlock.UndoImage) (bool, error) {
		overLimit(run, limit)
		return false, nil
	})
	if err != nil {
		return nil, airlock.Errorf(airlock.EUNAVAILABLE, "dry-run the script on %s: %v", db.Name, err)
	}
	run.At = g.now().UTC()
	run.SideEffects = append(scriptEffects(stmts), run.SideEffects...)
	if run.Outcome == "" {
		run.Outcome = airlock.ScriptDryRun
	}
	return run, nil
}

// overLimit marks run failed when a statement changed more rows than the
// blast-radius limit.
func overLimit(run *airlock.ScriptRun, limit int64) bool {
	if limit <= 0 {
		return false
	}
	for i := range run.Statements {
		st := &run.Statements[i]
		if st.RowsChanged > limit {
			st.Error = fmt.Sprintf("airlock: denied: blast-radius: %d rows > limit %d", st.RowsChanged, limit)
			if run.Error == "" {
				run.Error = fmt.Sprintf("statement %d: %s", i+1, st.Error)
			}
			run.Outcome = airlock.ScriptFailed
			return true
		}
	}
	return false
}

// compareRuns lists where real differs from dry by more than tolerance rows
// in any statement.
func compareRuns(dry, real *airlock.ScriptRun, tolerance int64) []string {
	var out []string
	if len(dry.Statements) != len(real.Statements) {
		return []string{fmt.Sprintf("the dry-run had %d statements, the run %d", len(dry.Statements), len(real.Statements))}
	}
	for i := range dry.Statements {
		d, r := dry.Statements[i].RowsChanged, real.Statements[i].RowsChanged
		if diff := r - d; diff > tolerance || -diff > tolerance {
			out = append(out, fmt.Sprintf("statement %d changed %d rows; the dry-run changed %d", i+1, r, d))
		}
	}
	return out
}

// RunApprovedScript runs the reviewed script of the approved request r
// once, in one transaction, as its requester at its level, with the undo
// capture on. When every statement changed as many rows as in the dry-run
// (within r.Tolerance), the run is stored as one undo record, audited and
// committed; otherwise it is rolled back and its Outcome says why
// (ScriptMismatch or ScriptFailed).
func (g *Gateway) RunApprovedScript(ctx context.Context, r *airlock.Request, approver string) (*airlock.ScriptRun, error) {
	ctx, cancel := context.WithTimeout(ctx, ScriptTimeout)
	defer cancel()
	if airlock.ScriptHash(r.Script) != r.ScriptSHA256 {
		return nil, airlock.Errorf(airlock.ECONFLICT, "the script of request %s is not the one reviewed (its sha256 differs); nothing was run", r.ID)
	}
	if r.DryRun == nil {
		return nil, airlock.Errorf(airlock.ECONFLICT, "request %s has no dry-run to compare with; nothing was run", r.ID)
	}
	db := g.config().DB(r.Database)
	if db == nil {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "database %s is no longer configured", r.Database)
	}
	u, err := g.store.GetUser(ctx, r.User)
	if err != nil {
		return nil, err
	}
	stmts, err := g.scriptStatements(db, r.Script)
	if err != nil {
		return nil, err
	}
	now := g.now().UTC()
	if d, _ := g.decideScript(u, db, r.Level, r.Script); d != nil {
		return &airlock.ScriptRun{Outcome: airlock.ScriptFailed, At: now, Error: d.Message(), Statements: []airlock.ScriptStatement{}, SideEffects: []string{}}, nil
	}
	_, limit := g.decideScript(u, db, r.Level, r.Script)
	a, err := g.scriptAdmin(db)
	if err != nil {
		return nil, err
	}
	undoID := airlock.NewID("u_")
	var saved bool
	run, err := a.RunScript(ctx, db, r.Level, stmts, undoID, func(run *airlock.ScriptRun, images []airlock.UndoImage) (bool, error) {
		if run.Error != "" || run.Refused != "" || overLimit(run, limit) {
			run.Outcome = airlock.ScriptFailed
			return false, nil
		}
		if diffs := compareRuns(r.DryRun, run, r.Tolerance); len(diffs) > 0 {
			run.Outcome, run.Differences = airlock.ScriptMismatch, diffs
			return false, nil
		}
		d := map[string]string{"request": r.ID, "approver": approver, "script_sha256": r.ScriptSHA256}
		if len(images) > 0 {
			rec := &airlock.UndoRecord{ID: undoID, User: r.User, Database: db.Name, Statement: r.Script,
				State: airlock.UndoPending, CreatedAt: now, Images: images, Size: undo.Size(images), Hash: undo.Hash(images)}
			if err := g.store.SaveUndo(ctx, rec); err != nil {
				return false, err
			}
			saved = true
			run.UndoID = undoID
			d["undo"], d["undo_sha256"] = undoID, rec.Hash
		} else {
			d["undo"] = "it changed nothing that was captured"
		}
		var rows int64
		for _, st := range run.Statements {
			rows += max(st.RowsChanged, 0)
		}
		d["statements"] = strconv.Itoa(len(run.Statements))
		ev := &airlock.Event{Type: airlock.EventStatement, Action: "script", User: r.User, Actor: approver, Database: db.Name,
			Ref: r.ID, Text: r.Script, Level: r.Level.String(), Tables: scriptTables(stmts), Decision: airlock.DecisionAllowed,
			Rows: rows, Detail: d}
		if err := g.audit.Record(ctx, ev); err != nil {
			return false, err
		}
		run.EventID = ev.ID
		run.Outcome = airlock.ScriptCommitted
		return true, nil
	})
	if err != nil {
		if saved {
			g.setUndoState(ctx, []string{undoID}, airlock.UndoVoid)
		}
		return nil, airlock.Errorf(airlock.EUNAVAILABLE, "run the script on %s: %v", db.Name, err)
	}
	run.At = now
	run.SideEffects = append(scriptEffects(stmts), run.SideEffects...)
	if run.Outcome == airlock.ScriptCommitted {
		if saved {
			g.setUndoState(ctx, []string{undoID}, airlock.UndoCommitted)
		}
	} else {
		if run.Outcome == "" {
			run.Outcome = airlock.ScriptFailed
		}
		run.UndoID = ""
		g.appendEvent(&airlock.Event{Type: airlock.EventStatement, Action: "script", User: r.User, Actor: approver, Database: db.Name,
			Ref: r.ID, Text: r.Script, Level: r.Level.String(), Tables: scriptTables(stmts), Decision: airlock.DecisionDenied,
			Rule: airlock.RuleScript, Reason: scriptWhy(run), Error: run.Error})
	}
	return run, nil
}

// scriptWhy says why a run was rolled back.
func scriptWhy(run *airlock.ScriptRun) string {
	switch {
	case run.Refused != "":
		return run.Refused
	case len(run.Differences) > 0:
		return "the run differs from its dry-run: " + strings.Join(run.Differences, "; ")
	case run.Error != "":
		return run.Error
	}
	return run.Outcome
}

func scriptTables(stmts []airlock.Statement) []string {
	var out []string
	for _, st := range stmts {
		for _, t := range st.Tables {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}
