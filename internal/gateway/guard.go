package gateway

import (
	"fmt"
	"slices"

	"airlock"
)

// Guard is how the adapter must run an allowed write so that its real
// effect is known before anything can commit: inside a transaction or a
// savepoint, with the rows it changed counted (and, for undo, captured)
// before airlock lets it stand.
type Guard struct {
	// Limit is max_rows_changed when the blast-radius rule is on, else 0.
	Limit int64
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
	if !c.Decision.Allowed || !s.db.RuleEnabled("blast-radius") {
		return
	}
	var writes, txn bool
	for i := range c.Stmts {
		writes = writes || guarded(&c.Stmts[i])
		txn = txn || c.Stmts[i].Txn != airlock.TxnNone
	}
	if !writes {
		return
	}
	if txn && len(c.Stmts) > 1 {
		c.Decision = airlock.Decision{Rule: "blast-radius", Need: c.Decision.Need,
			Reason: "a write sent in one query with transaction control (BEGIN, COMMIT...) cannot be checked for the rows it changes; send them as separate statements"}
		return
	}
	c.Guard = &Guard{Limit: s.db.MaxRowsChanged}
}

// RowsChanged records what a guarded check changed, as counted by the
// adapter inside the transaction (rows of every table, triggers and
// cascades included), and returns nil when it may stand, or the denial
// when it changed more rows than the limit; the adapter then rolls the
// statement back. Either way the outcome is audited, the denial now, the
// success with Done.
func (s *Session) RowsChanged(c *Check, changed int64) *airlock.Decision {
	c.changed = changed
	if c.Guard == nil || c.Guard.Limit <= 0 || changed <= c.Guard.Limit {
		return nil
	}
	d := airlock.Decision{Rule: "blast-radius", Need: c.Decision.Need,
		Reason: fmt.Sprintf("%d rows > limit %d; the statement was rolled back, nothing changed", changed, c.Guard.Limit)}
	c.Decision = d
	ev := s.event(airlock.EventStatement, airlock.ActionDenied, nil)
	ev.Text, ev.Decision, ev.Rule, ev.Reason = c.Text, airlock.DecisionDenied, d.Rule, d.Reason
	ev.Level, ev.Params, ev.Rows = d.Need.String(), c.Params, changed
	if len(c.Stmts) > 0 {
		ev.StatementKind = string(strongest(c.Stmts).Kind)
		ev.Tables = unionTables(c.Stmts)
	}
	s.g.audit.Append(ev)
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
	return nil
}
