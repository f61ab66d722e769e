package gateway

import (
	"fmt"
	"slices"
	"strings"

	"airlock"
	"airlock/internal/policy"
	"airlock/internal/undo"
)

// Guard is how the adapter must run an allowed write so that its real
// effect is known before anything can commit: inside a transaction or a
// savepoint, with the rows it changed counted (and, for undo, captured)
// before airlock lets it stand.
type Guard struct {
	// Limit is max_rows_changed when the blast-radius rule is on, else 0.
	Limit int64
	// Unbounded, when not 0, is how many rows the check may change
	// because it holds an UPDATE or DELETE without WHERE (the
	// unbounded-write rule, judged on the rows really changed).
	Unbounded int64
	// unboundedWhat names that statement, for the denial.
	unboundedWhat string
	// Capture asks the adapter to capture the changed rows for undo,
	// naming them UndoID.
	Capture bool
	UndoID  string
}

// guardedKinds are the statement kinds whose changed rows are counted.
// DDL kinds are not: several cannot run inside a transaction block, and
// DROP / TRUNCATE have their own rule.
var guardedKinds = []airlock.Kind{
	airlock.KindInsert, airlock.KindUpdate, airlock.KindDelete, airlock.KindMerge,
	airlock.KindCopyFrom, airlock.KindCall, airlock.KindDo,
}

func guarded(st *airlock.Statement) bool {
	if slices.Contains(guardedKinds, st.Kind) {
		return true
	}
	// A SELECT that calls functions which may change data.
	return st.Kind == airlock.KindSelect && st.Level >= airlock.LevelWrite
}

// guard decides whether an allowed check must run guarded, and denies a
// multi-statement query that mixes guarded writes with transaction
// control: airlock could not tell which rows each part changed.
func (s *Session) guard(c *Check) {
	blast, capture := s.Database().RuleEnabled(airlock.RuleBlastRadius), s.Database().Undo != airlock.UndoOff
	if !c.Decision.Allowed || (!blast && !capture) {
		return
	}
	var writes, txn bool
	for i := range c.Stmts {
		st := &c.Stmts[i]
		writes = writes || guarded(st)
		txn = txn || st.Txn != airlock.TxnNone
		if s.Database().Undo == airlock.UndoRequired && (st.Kind == airlock.KindDDL || st.Kind == airlock.KindDrop || st.Kind == airlock.KindTruncate) {
			c.Decision = airlock.Decision{Rule: airlock.RuleUndo, Need: c.Decision.Need,
				Reason: fmt.Sprintf("%s cannot be undone, and undo is required on %s", cmdName(st), s.Database().Name)}
			return
		}
	}
	if !writes {
		return
	}
	if txn && len(c.Stmts) > 1 {
		c.Decision = BlastRadius(c.Decision.Need,
			"a write sent in one query with transaction control (BEGIN, COMMIT...) cannot be checked for the rows it changes; send them as separate statements")
		return
	}
	c.Guard = &Guard{Capture: capture}
	if blast {
		c.Guard.Limit = s.Database().MaxRowsChanged
	}
	if s.Database().RuleEnabled(airlock.RuleUnboundedWrite) {
		for i := range c.Stmts {
			if st := &c.Stmts[i]; policy.Unbounded(st) {
				c.Guard.Unbounded = max(s.Database().UnboundedWriteMaxRows, 1)
				c.Guard.unboundedWhat = fmt.Sprintf("%s without WHERE on %s", strings.ToUpper(string(st.Kind)), strings.Join(st.WriteTables, ", "))
				break
			}
		}
	}
	if capture {
		c.Guard.UndoID = airlock.NewID("u_")
	}
}

// countsRows reports whether allowed writes run guarded, their changed
// rows counted before anything can commit.
func (s *Session) countsRows() bool {
	return s.Database().RuleEnabled(airlock.RuleBlastRadius) || s.Database().Undo != airlock.UndoOff
}

func cmdName(st *airlock.Statement) string {
	if st.Command != "" {
		return st.Command
	}
	return strings.ToUpper(string(st.Kind))
}

// Captured takes the rows a guarded statement changed, as the capture
// triggers saw them (prepared says whether the database has them), and
// changed, the rows it changed by the row counters. When the capture is
// complete and reversible, the undo record is stored, durably, before the
// adapter lets the statement commit. Otherwise, with undo required, the
// statement is denied (the adapter rolls it back); with best_effort, it
// stands and its audit event says it is not reversible.
func (s *Session) Captured(c *Check, images []airlock.UndoImage, changed int64, prepared bool) *airlock.Decision {
	if c.Guard == nil || !c.Guard.Capture {
		return nil
	}
	why := ""
	switch {
	case !prepared:
		why = fmt.Sprintf("database %s is not prepared for undo (run airlock databases prepare %s)", s.Database().Name, s.Database().Name)
	case int64(len(images)) != changed:
		why = fmt.Sprintf("%d rows changed but %d were captured (a table without the capture trigger? run airlock databases prepare %s again)", changed, len(images), s.Database().Name)
	default:
		why = undo.Irreversible(images)
	}
	if why == "" && len(images) > 0 {
		rec := &airlock.UndoRecord{ID: c.Guard.UndoID, SessionID: s.info.ID, User: s.User().Name, Database: s.Database().Name,
			Statement: c.Text, State: airlock.UndoPending, CreatedAt: s.g.now().UTC(), Images: images,
			Size: undo.Size(images), Hash: undo.Hash(images)}
		if err := s.g.store.SaveUndo(s.ctx(), rec); err != nil {
			s.g.log.Error("store undo data", "session", s.info.ID, "err", err)
			why = "its undo data could not be stored"
			if s.Database().Undo != airlock.UndoRequired {
				why = ""
				c.undoWhy = "its undo data could not be stored"
				return nil
			}
		} else {
			c.undo = rec
			s.pendingUndo = append(s.pendingUndo, rec.ID)
			s.undoBytes += rec.Size
			return nil
		}
	}
	if why == "" {
		return nil // nothing changed
	}
	if s.Database().Undo != airlock.UndoRequired {
		c.undoWhy = why
		return nil
	}
	d := airlock.Decision{Rule: airlock.RuleUndo, Need: c.Decision.Need, Reason: why + "; undo is required here, so the statement was rolled back"}
	c.Decision = d
	s.Denied(c)
	return &d
}

// CaptureLost denies a captured write that the adapter rolled back
// because its captured rows could not be read: the database was prepared
// for undo at the session's previous write and is not now. It returns the
// denial for the adapter to send.
func (s *Session) CaptureLost(c *Check) *airlock.Decision {
	d := CaptureLost(c.Decision.Need)
	c.Decision = d
	s.Denied(c)
	return &d
}

// TxnEnded tells the session that its transaction ended: the undo records
// captured in it become applicable (committed) or void.
func (s *Session) TxnEnded(committed bool) {
	s.explicitTxn = false
	s.writesEnded(len(s.pendingWrites), committed)
	if len(s.pendingUndo) == 0 {
		s.savepoints = nil
		return
	}
	state := airlock.UndoVoid
	if committed {
		state = airlock.UndoCommitted
	}
	if err := s.g.store.SetUndoState(s.ctx(), s.pendingUndo, state, airlock.UndoPending); err != nil {
		s.g.log.Error("record undo state", "session", s.info.ID, "err", err)
	}
	s.pendingUndo, s.savepoints = nil, nil
}

// followTxn follows the transaction control a finished statement did, for
// the undo records captured in the transaction.
func (s *Session) followTxn(st *airlock.Statement, tag string) {
	switch st.Txn {
	case airlock.TxnBegin:
		s.savepoints = nil
		s.explicitTxn = true
	case airlock.TxnCommit:
		s.TxnEnded(strings.HasPrefix(tag, "COMMIT"))
	case airlock.TxnRollback:
		s.TxnEnded(false)
	case airlock.TxnSavepoint:
		s.savepoints = append(s.savepoints, savepoint{st.Name, len(s.pendingUndo), len(s.pendingWrites)})
	case airlock.TxnRollbackTo, airlock.TxnRelease:
		for i := len(s.savepoints) - 1; i >= 0; i-- {
			if s.savepoints[i].name != st.Name {
				continue
			}
			sp := s.savepoints[i]
			if st.Txn == airlock.TxnRollbackTo {
				if void := s.pendingUndo[sp.undo:]; len(void) > 0 {
					if err := s.g.store.SetUndoState(s.ctx(), void, airlock.UndoVoid, airlock.UndoPending); err != nil {
						s.g.log.Error("record undo state", "session", s.info.ID, "err", err)
					}
					s.pendingUndo = s.pendingUndo[:sp.undo]
				}
				s.rollbackWritesTo(sp.writes)
				s.savepoints = s.savepoints[:i+1]
			} else {
				s.savepoints = s.savepoints[:i]
			}
			break
		}
	}
}

// savepoint marks how many undo records were pending when it was set.
type savepoint struct {
	name   string
	undo   int
	writes int // len(pendingWrites) when it was set
}

// RowsChanged records what a guarded check changed, as counted by the
// adapter inside the transaction (rows of every table, triggers and
// cascades included), and returns nil when it may stand, or the denial
// when it changed more rows than the limit; the adapter then rolls the
// statement back. Either way the outcome is audited, the denial now, the
// success with Done.
func (s *Session) RowsChanged(c *Check, changed int64) *airlock.Decision {
	c.changed = changed
	var d airlock.Decision
	switch {
	case c.Guard == nil:
		return nil
	case c.Guard.Unbounded > 0 && changed > c.Guard.Unbounded:
		d = airlock.Decision{Rule: airlock.RuleUnboundedWrite, Need: c.Decision.Need,
			Reason: fmt.Sprintf("%s would have changed %d rows (more than %d without WHERE); the statement was rolled back, nothing changed", c.Guard.unboundedWhat, changed, c.Guard.Unbounded)}
	case c.Guard.Limit > 0 && changed > c.Guard.Limit:
		d = BlastRadius(c.Decision.Need, fmt.Sprintf("%d rows > limit %d; the statement was rolled back, nothing changed", changed, c.Guard.Limit))
	default:
		return nil
	}
	c.Decision = d
	ev := s.event(airlock.EventStatement, airlock.ActionDenied, nil)
	ev.Text, ev.Decision, ev.Rule, ev.Reason = c.Text, airlock.DecisionDenied, d.Rule, d.Reason
	ev.Level, ev.Params, ev.Rows = d.Need.String(), c.Params, changed
	ev.Ref = s.settleStarted(c)
	if len(c.Stmts) > 0 {
		ev.StatementKind = string(strongest(c.Stmts).Kind)
		ev.Tables = unionTables(c.Stmts)
	}
	s.g.appendEvent(ev)
	s.unsynced = true
	return &d
}

// commits reports whether any statement ends a transaction with COMMIT.
func commits(stmts []airlock.Statement) bool {
	for i := range stmts {
		if stmts[i].Txn == airlock.TxnCommit {
			return true
		}
	}
	return false
}

// SyncAudit waits until every event so far is durable: the adapter calls
// it before it commits a transaction airlock opened. An error means the
// commit must not happen.
func (s *Session) SyncAudit() error {
	if err := s.g.audit.Sync(s.ctx()); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	s.unsynced = false
	return nil
}
