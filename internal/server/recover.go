package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	"airlock"
	"airlock/internal/gateway"
)

// reasonRestarted ends the sessions a gateway owned when it died.
const reasonRestarted = "gateway restarted"

// instanceID names this gateway: the host and the config file, so that it
// is the same after a restart and differs between gateways sharing a
// store.
func instanceID(configPath string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + configPath))
	return hex.EncodeToString(sum[:8])
}

// recoverSessions closes the sessions this gateway owned before it
// stopped without closing them (a crash, a kill): each is ended with
// reason "gateway restarted" and a closed event; the writes of its open
// transaction (undo records still pending, guarded writes started
// without an executed event) are recorded rolled_back, and the other
// writes forwarded whose result never arrived (a started event without
// its executed event) are recorded unknown. Sessions of other
// gateways (another instance in their opened event) are left alone;
// sessions opened before instances were recorded count as this gateway's.
func (s *Server) recoverSessions(ctx context.Context, instance string, now time.Time) error {
	if _, shared := sharedStore(s.Store); shared {
		// Gateways sharing a store end each other's sessions when a
		// lease expires (cluster.go), whatever host they ran on.
		return nil
	}
	open, err := s.Store.ListSessions(ctx, airlock.SessionFilter{Active: true})
	if err != nil {
		return fmt.Errorf("list open sessions: %w", err)
	}
	n := 0
	for _, sess := range open {
		evs, err := s.cutEvents(ctx, sess.ID)
		if err != nil {
			return err
		}
		if owner := openedBy(evs); owner != "" && owner != instance {
			continue
		}
		if err := s.closeDead(ctx, sess, evs, now, reasonRestarted, true); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		if err := s.Audit.Sync(ctx); err != nil {
			return err
		}
		s.log.Info("closed the sessions of this gateway's previous run", "count", n, "reason", reasonRestarted)
	}
	return nil
}

// cutEvents reads what recovery needs of a session's events: the opened
// event, writes started or executed with undo data, and the refs of
// outcomes.
func (s *Server) cutEvents(ctx context.Context, id string) ([]*airlock.Event, error) {
	var evs []*airlock.Event
	err := s.Store.ScanEvents(ctx, airlock.EventFilter{SessionID: id, Ascending: true}, func(e *airlock.Event) error {
		if (e.Type == airlock.EventSession && e.Action == "opened") || (e.Type == airlock.EventStatement &&
			(e.Action == airlock.ActionStarted || e.Ref != "" || e.Detail["undo"] != "")) {
			evs = append(evs, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the events of session %s: %w", id, err)
	}
	return evs, nil
}

// openedBy returns the instance in a session's opened event, or "".
func openedBy(evs []*airlock.Event) string {
	for _, e := range evs {
		if e.Type == airlock.EventSession && e.Action == "opened" {
			return e.Detail["instance"]
		}
	}
	return ""
}

// closeDead records what a session cut by its gateway's death leaves: the
// writes of its open transaction rolled back (their undo records void),
// the writes whose result never arrived unknown, and the session closed
// for reason; end also ends it in the store (a shared store's lease loop
// has ended it already).
func (s *Server) closeDead(ctx context.Context, sess *airlock.Session, evs []*airlock.Event, now time.Time, reason string, end bool) error {
	pending, err := s.Store.ListUndo(ctx, airlock.UndoFilter{SessionID: sess.ID, States: []string{airlock.UndoPending}})
	if err != nil {
		return fmt.Errorf("read the undo records of session %s: %w", sess.ID, err)
	}
	rolled := map[string]bool{}
	for _, u := range pending {
		rolled[u.ID] = true
	}
	done := map[string]bool{} // refs of started events that got their outcome
	for _, e := range evs {
		if e.Type == airlock.EventStatement && e.Ref != "" {
			done[e.Ref] = true
		}
	}
	const cut = "the gateway stopped before its transaction committed; the database rolled it back"
	for _, e := range evs {
		if e.Type != airlock.EventStatement {
			continue
		}
		switch {
		case e.Action == airlock.ActionExecuted && e.Error == "" && rolled[e.Detail["undo"]] && !done[strconv.FormatInt(e.ID, 10)]:
			s.Audit.Append(gateway.RolledBack(e, cut))
			delete(rolled, e.Detail["undo"])
		case e.Action == airlock.ActionStarted && e.Detail["guarded"] != "" && !done[strconv.FormatInt(e.ID, 10)]:
			// A guarded write commits only once its executed event is
			// durable: without one, the crash cut its transaction.
			rb := gateway.RolledBack(e, cut)
			if u := e.Detail["undo_record"]; rolled[u] {
				rb.Detail = map[string]string{"undo": u}
				delete(rolled, u)
			}
			s.Audit.Append(rb)
		case e.Action == airlock.ActionStarted && !done[strconv.FormatInt(e.ID, 10)]:
			s.Audit.Append(gateway.Unknown(e, "the gateway stopped before the write's result arrived"))
		}
	}
	// A guarded write has a durable started event (naming its undo
	// record) before it is forwarded; an undo record left without one
	// comes from a gateway that did not write them, and is recorded from
	// the record (no ref: there is no event to refer to).
	for _, u := range pending {
		if rolled[u.ID] {
			s.Audit.Append(&airlock.Event{Type: airlock.EventStatement, Action: gateway.ActionRolledBack, User: sess.User, Database: sess.Database,
				SessionID: sess.ID, ClientAddr: sess.ClientAddr, Application: sess.Application, Text: u.Statement, Decision: airlock.DecisionAllowed,
				Reason: cut, Detail: map[string]string{"undo": u.ID}})
		}
	}
	if len(pending) > 0 {
		ids := make([]string, len(pending))
		for i, u := range pending {
			ids[i] = u.ID
		}
		if err := s.Store.SetUndoState(ctx, ids, airlock.UndoVoid, airlock.UndoPending); err != nil {
			return fmt.Errorf("void the undo records of session %s: %w", sess.ID, err)
		}
	}
	if end {
		if err := s.Store.EndSession(ctx, sess.ID, now, reason); err != nil {
			return fmt.Errorf("end session %s: %w", sess.ID, err)
		}
	}
	s.Audit.Append(&airlock.Event{Type: airlock.EventSession, Action: "closed", User: sess.User, Database: sess.Database, SessionID: sess.ID,
		ClientAddr: sess.ClientAddr, Application: sess.Application, Detail: map[string]string{"reason": reason}})
	return nil
}
