package gateway

import (
	"context"

	"airlock"
)

// appendEvent queues ev on the audit log for a fact that has already
// happened (a level change, a session's end, a denial already sent, a write
// rolled back): there is nothing left to deny, so a log that refuses the
// event (it is closed at shutdown) is reported on the error log instead of
// passing unseen.
func (g *Gateway) appendEvent(ev *airlock.Event) {
	if _, err := g.audit.Append(ev); err != nil {
		g.log.Error("audit event not recorded", "type", ev.Type, "action", ev.Action, "session", ev.SessionID, "err", err)
	}
}

// setUndoState sets the state of the undo records ids after the statement
// that saved them ended, logging a store that refuses: the statement's
// outcome is already decided and audited.
func (g *Gateway) setUndoState(ctx context.Context, ids []string, state string) {
	if err := g.store.SetUndoState(ctx, ids, state); err != nil {
		g.log.Error("set undo record state", "state", state, "err", err)
	}
}
