package gateway

import (
	"context"
	"fmt"
	"time"

	"airlock"
	"airlock/internal/audit"
)

// Statement actions recorded after the fact (SPEC §7).
const (
	// ActionRolledBack: the write's transaction ended without commit.
	ActionRolledBack = "rolled_back"
	// ActionUnknown: the write's result never arrived.
	ActionUnknown = "unknown"
)

// pendingWrite is an executed guarded write whose transaction is still
// open: its event, and the ticket that tells when the event has its id.
type pendingWrite struct {
	ev     *airlock.Event
	ticket audit.Ticket
}

// notePending remembers a write that succeeded and whose transaction is
// still open, so that a rollback can be recorded against it: a guarded
// write (airlock commits the transactions it opens for one only after its
// event, so the commit comes after Done and settles it), and any write
// inside an explicit transaction block (BEGIN ... COMMIT or ROLLBACK) or
// an implicit one the adapter saw open after it (Outcome.InTxn).
// Unguarded writes outside any commit on their own.
func (s *Session) notePending(c *Check, st *airlock.Statement, ev *airlock.Event, tk audit.Ticket, out Outcome) {
	if out.Err != "" || out.NotRun {
		return
	}
	if c.Guard == nil && !((s.explicitTxn || out.InTxn) && st.Level >= airlock.LevelWrite && st.Txn == airlock.TxnNone) {
		return
	}
	s.pendingWrites = append(s.pendingWrites, pendingWrite{ev: ev, ticket: tk})
}

// writesEnded settles the first n pending writes: committed ones are
// forgotten; each rolled-back one gets a rolled_back event whose ref is
// its executed event's id.
func (s *Session) writesEnded(n int, committed bool) {
	if n == 0 {
		return
	}
	ended := s.pendingWrites[:n]
	s.pendingWrites = append([]pendingWrite(nil), s.pendingWrites[n:]...)
	if committed {
		return
	}
	for _, w := range ended {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.g.audit.Wait(ctx, w.ticket) // the event has its id once written
		cancel()
		if err != nil {
			s.g.log.Error("record a rolled-back write", "session", s.info.ID, "err", err)
			continue
		}
		s.g.appendEvent(RolledBack(w.ev, "its transaction ended without commit"))
	}
}

// rollbackWritesTo records the pending writes after the first n rolled
// back (ROLLBACK TO SAVEPOINT).
func (s *Session) rollbackWritesTo(n int) {
	if n >= len(s.pendingWrites) {
		return
	}
	later := append([]pendingWrite(nil), s.pendingWrites[n:]...)
	s.pendingWrites = s.pendingWrites[:n]
	keep := s.pendingWrites
	s.pendingWrites = later
	s.writesEnded(len(later), false)
	s.pendingWrites = keep
}

// RolledBack returns the rolled_back event of the write event ev.
func RolledBack(ev *airlock.Event, reason string) *airlock.Event {
	return afterFact(ev, ActionRolledBack, reason)
}

// Unknown returns the unknown event of the write event ev.
func Unknown(ev *airlock.Event, reason string) *airlock.Event {
	return afterFact(ev, ActionUnknown, reason)
}

func afterFact(ev *airlock.Event, action, reason string) *airlock.Event {
	out := &airlock.Event{
		Type: airlock.EventStatement, Action: action, User: ev.User, Database: ev.Database, SessionID: ev.SessionID,
		ClientAddr: ev.ClientAddr, Application: ev.Application, Ref: fmt.Sprint(ev.ID),
		Text: ev.Text, StatementKind: ev.StatementKind, Level: ev.Level, Tables: ev.Tables, Decision: ev.Decision, Reason: reason,
	}
	if u := ev.Detail["undo"]; u != "" {
		out.Detail = map[string]string{"undo": u}
	}
	return out
}

// SetInstance names this gateway (stable across its restarts, distinct
// from other gateways sharing the store); each session's opened event
// carries it as detail.instance, so that a restart closes only the
// sessions this gateway owned. Call it before sessions open.
func (g *Gateway) SetInstance(id string) { g.instance = id }

// recordOpened audits a session's opening. With an instance set, the
// event is durable before the session goes on: a restart after a crash
// finds in it which gateway owned the session.
func (g *Gateway) recordOpened(ctx context.Context, s *Session, d map[string]string) error {
	if g.instance != "" {
		d["instance"] = g.instance
	}
	tk, err := g.audit.Append(s.event(airlock.EventSession, "opened", d))
	if err == nil && g.instance != "" {
		err = g.audit.Wait(ctx, tk)
	}
	if err != nil {
		if err := g.store.EndSession(context.Background(), s.info.ID, g.now().UTC(), "the audit log could not record its opening"); err != nil {
			g.log.Error("record session end", "session", s.info.ID, "err", err)
		}
		return fmt.Errorf("record session opening: %w", err)
	}
	return nil
}

// settled forgets a started event whose outcome is recorded.
func (s *Session) settled(ev *airlock.Event) {
	if ev == nil {
		return
	}
	for i, x := range s.inflight {
		if x == ev {
			s.inflight = append(s.inflight[:i], s.inflight[i+1:]...)
			return
		}
	}
}

// settleStarted forgets the started events of a check whose outcome is
// recorded at once for all its statements (a guarded check denied after
// it ran), and returns the id of the first, for the outcome's ref.
func (s *Session) settleStarted(c *Check) string {
	ref := ""
	for _, ev := range c.started {
		if ev == nil {
			continue
		}
		s.settled(ev)
		if ref == "" && ev.ID != 0 {
			ref = fmt.Sprint(ev.ID)
		}
	}
	c.started = nil
	return ref
}

// unknownWrites records, when the session closes, each write forwarded
// whose result never arrived (the upstream was lost, or the session was
// ended while it ran) as unknown, ref its started event (durable, so its
// id is set).
func (s *Session) unknownWrites() {
	for _, ev := range s.inflight {
		s.g.appendEvent(Unknown(ev, "the write's result never arrived: "+s.closeCause()))
	}
	s.inflight = nil
}

func (s *Session) closeCause() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endReason != "" {
		return "the session ended (" + s.endReason + ")"
	}
	return "the client disconnected"
}
