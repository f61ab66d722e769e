package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/config"
	"airlock/internal/undo"
)

// DBAdmin is what the gateway needs of a database engine outside client
// sessions (pgadmin for PostgreSQL).
type DBAdmin interface {
	Check(ctx context.Context, db *config.Database) ([]airlock.Finding, error)
	Prepare(ctx context.Context, db *config.Database) (int, error)
	ShowUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord) (string, error)
	ApplyUndo(ctx context.Context, db *config.Database, recs []*airlock.UndoRecord, force bool, newID string,
		beforeCommit func(images []airlock.UndoImage, sql string) error) ([]undo.Conflict, bool, error)
}

func (g *Gateway) admin(db *config.Database) (DBAdmin, error) {
	a := g.admins[db.Engine]
	if a == nil {
		return nil, airlock.Errorf(airlock.EINVALID, "this is not available for %s databases yet", db.Engine)
	}
	return a, nil
}

// CheckDatabase checks the credentials of the database called name.
func (g *Gateway) CheckDatabase(ctx context.Context, name string) ([]airlock.Finding, error) {
	db := g.config().DB(name)
	if db == nil {
		return nil, airlock.Errorf(airlock.ENOTFOUND, "no database %q", name)
	}
	a, err := g.admin(db)
	if err != nil {
		return nil, err
	}
	return a.Check(ctx, db)
}

// PrepareDatabase installs the undo capture on the database called name.
func (g *Gateway) PrepareDatabase(ctx context.Context, actor *access.Actor, name string) (int, error) {
	if !actor.IsAdmin() {
		return 0, airlock.Errorf(airlock.EFORBIDDEN, "only admins prepare databases")
	}
	db := g.config().DB(name)
	if db == nil {
		return 0, airlock.Errorf(airlock.ENOTFOUND, "no database %q", name)
	}
	a, err := g.admin(db)
	if err != nil {
		return 0, err
	}
	n, err := a.Prepare(ctx, db)
	if err != nil {
		return 0, airlock.Errorf(airlock.EUNAVAILABLE, "prepare %s: %v", name, err)
	}
	g.appendEvent(&airlock.Event{Type: airlock.EventSystem, Action: "prepared", User: actor.User.Name, Database: name,
		Detail: map[string]string{"tables": strconv.Itoa(n)}})
	return n, nil
}

// undoRecords resolves id to the undo records it names: an undo record
// (u_...), a statement's audit event id, or a session (s_...: every
// applicable record of the session). Only committed records are
// applicable.
func (g *Gateway) undoRecords(ctx context.Context, id string) ([]*airlock.UndoRecord, *config.Database, error) {
	var ids []string
	switch {
	case strings.HasPrefix(id, "u_"):
		ids = []string{id}
	case strings.HasPrefix(id, "s_"):
		recs, err := g.store.ListUndo(ctx, airlock.UndoFilter{SessionID: id, States: []string{airlock.UndoCommitted}})
		if err != nil {
			return nil, nil, err
		}
		for _, r := range recs {
			ids = append(ids, r.ID)
		}
		if len(ids) == 0 {
			return nil, nil, airlock.Errorf(airlock.ENOTFOUND, "session %s has nothing to undo", id)
		}
	default:
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, nil, airlock.Errorf(airlock.EINVALID, "%q is not an undo record (u_...), a statement's event id or a session (s_...)", id)
		}
		var ev *airlock.Event
		err = g.store.ScanEvents(ctx, airlock.EventFilter{AfterID: n - 1, Ascending: true, Limit: 1}, func(e *airlock.Event) error {
			ev = e
			return errStopScan
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return nil, nil, airlock.Errorf(airlock.EUNAVAILABLE, "find event %d: %v", n, err)
		}
		if ev == nil || ev.ID != n {
			return nil, nil, airlock.Errorf(airlock.ENOTFOUND, "no event %d", n)
		}
		u := ev.Detail["undo"]
		if !strings.HasPrefix(u, "u_") {
			if u == "" {
				u = "it changed nothing that was captured"
			}
			return nil, nil, airlock.Errorf(airlock.ENOTFOUND, "event %d has nothing to undo: %s", n, u)
		}
		ids = []string{u}
	}
	var recs []*airlock.UndoRecord
	var db *config.Database
	for _, rid := range ids {
		r, err := g.store.GetUndo(ctx, rid)
		if err != nil {
			return nil, nil, err
		}
		if r.State != airlock.UndoCommitted {
			return nil, nil, airlock.Errorf(airlock.ECONFLICT, "undo record %s is %s: %s", r.ID, r.State, undoStateWhy(r))
		}
		d := g.config().DB(r.Database)
		if d == nil {
			return nil, nil, airlock.Errorf(airlock.ENOTFOUND, "database %s is no longer configured", r.Database)
		}
		if db != nil && d != db {
			return nil, nil, airlock.Errorf(airlock.EINVALID, "the records are on different databases")
		}
		db = d
		recs = append(recs, r)
	}
	return recs, db, nil
}

func undoStateWhy(r *airlock.UndoRecord) string {
	switch r.State {
	case airlock.UndoVoid:
		return "its transaction was rolled back, so there is nothing to undo"
	case airlock.UndoPending:
		return "its transaction has not been seen to commit"
	case airlock.UndoApplied:
		return "it was already undone by " + r.AppliedBy
	}
	return ""
}

var errStopScan = fmt.Errorf("stop")

// mayUndo: admins, or the user who made every change while they hold
// write access to the database now.
func (g *Gateway) mayUndo(ctx context.Context, a *access.Actor, db *config.Database, recs []*airlock.UndoRecord) error {
	if a.IsAdmin() {
		return nil
	}
	for _, r := range recs {
		if r.User != a.User.Name {
			return airlock.Errorf(airlock.EFORBIDDEN, "only admins undo other users' changes")
		}
	}
	acc, err := g.accessFor(ctx, a.User, db)
	if err != nil {
		return err
	}
	if acc.level < airlock.LevelWrite {
		return airlock.Errorf(airlock.EFORBIDDEN, "undo needs write access to %s, which you do not hold now", db.Name)
	}
	return nil
}

// UndoShow returns the SQL that reverses what id names.
func (g *Gateway) UndoShow(ctx context.Context, a *access.Actor, id string) (string, []*airlock.UndoRecord, error) {
	recs, db, err := g.undoRecords(ctx, id)
	if err != nil {
		return "", nil, err
	}
	if !a.IsAdmin() {
		for _, r := range recs {
			if r.User != a.User.Name {
				return "", nil, airlock.Errorf(airlock.EFORBIDDEN, "only admins see other users' undo data")
			}
		}
	}
	ad, err := g.admin(db)
	if err != nil {
		return "", nil, err
	}
	sql, err := ad.ShowUndo(ctx, db, recs)
	if err != nil {
		return "", nil, airlock.Errorf(airlock.EUNAVAILABLE, "plan the undo: %v", err)
	}
	return sql, recs, nil
}

// UndoResult is the outcome of an apply.
type UndoResult struct {
	Applied   bool            `json:"applied"`
	Records   []string        `json:"records"`
	Rows      int             `json:"rows"`
	Conflicts []undo.Conflict `json:"conflicts"`
	// UndoID names the capture of the apply itself, to undo it in turn.
	UndoID string `json:"undo_id,omitempty"`
	SQL    string `json:"sql"`
}

// UndoApply reverses what id names in one transaction, after checking that
// every affected row still looks as the statement left it; with conflicts,
// nothing is applied unless force. The apply is audited and captured, so
// it can be undone in turn. The protected-table rule applies to it.
func (g *Gateway) UndoApply(ctx context.Context, a *access.Actor, id string, force bool) (*UndoResult, error) {
	recs, db, err := g.undoRecords(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := g.mayUndo(ctx, a, db, recs); err != nil {
		return nil, err
	}
	res := &UndoResult{Conflicts: []undo.Conflict{}}
	for _, r := range recs {
		res.Records = append(res.Records, r.ID)
		res.Rows += len(r.Images)
		for _, im := range r.Images {
			if db.RuleEnabled(airlock.RuleProtectedTable) && slices.ContainsFunc(db.ProtectedTables, func(p string) bool { return strings.EqualFold(p, im.Table) }) {
				return nil, airlock.Errorf(airlock.EFORBIDDEN, "airlock: denied: protected-table: %s is protected: nobody changes it through airlock", im.Table)
			}
		}
	}
	ad, err := g.admin(db)
	if err != nil {
		return nil, err
	}
	newID := airlock.NewID("u_")
	var saved bool
	conflicts, applied, err := ad.ApplyUndo(ctx, db, recs, force, newID, func(images []airlock.UndoImage, sql string) error {
		res.SQL = sql
		if len(images) > 0 {
			rec := &airlock.UndoRecord{ID: newID, User: a.User.Name, Database: db.Name, Statement: "airlock undo apply " + id,
				State: airlock.UndoPending, CreatedAt: g.now().UTC(), Images: images, Size: undo.Size(images), Hash: undo.Hash(images)}
			if err := g.store.SaveUndo(ctx, rec); err != nil {
				return err
			}
			saved = true
		}
		d := map[string]string{"records": strings.Join(res.Records, ","), "rows": strconv.Itoa(res.Rows), "forced": strconv.FormatBool(force)}
		if saved {
			d["undo"] = newID
			d["undo_sha256"] = undo.Hash(images)
		}
		return g.audit.Record(ctx, &airlock.Event{Type: airlock.EventUndo, Action: "applied", User: a.User.Name, Database: db.Name,
			Ref: id, Text: sql, Decision: airlock.DecisionAllowed, Rows: int64(res.Rows), Detail: d})
	})
	res.Conflicts = append(res.Conflicts, conflicts...)
	if err != nil {
		if saved {
			g.setUndoState(ctx, []string{newID}, airlock.UndoVoid)
		}
		return nil, airlock.Errorf(airlock.EUNAVAILABLE, "apply the undo: %v", err)
	}
	if !applied {
		g.appendEvent(&airlock.Event{Type: airlock.EventUndo, Action: "refused", User: a.User.Name, Database: db.Name, Ref: id,
			Detail: map[string]string{"conflicts": strconv.Itoa(len(conflicts))}})
		return res, nil
	}
	res.Applied = true
	if saved {
		res.UndoID = newID
		g.setUndoState(ctx, []string{newID}, airlock.UndoCommitted)
	}
	for _, r := range recs {
		if err := g.store.MarkApplied(ctx, r.ID, newID); err != nil {
			g.log.Error("mark undo applied", "record", r.ID, "err", err)
		}
	}
	return res, nil
}
