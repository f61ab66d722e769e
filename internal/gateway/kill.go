package gateway

import (
	"context"

	"airlock"
	"airlock/internal/access"
)

// KillSession ends the live session id for an admin: the kill is audited
// first (fail closed: no audit, no kill), then the session ends and its
// client is told "killed by <admin>". Errors: EFORBIDDEN for a caller who
// is not an admin, ENOTFOUND for an unknown session, ECONFLICT for a
// session that has already ended.
func (g *Gateway) KillSession(ctx context.Context, a *access.Actor, id string) error {
	if !a.IsAdmin() {
		return airlock.Errorf(airlock.EFORBIDDEN, "only admins kill sessions")
	}
	s := g.Session(id)
	if s == nil {
		st, err := g.store.GetSession(ctx, id)
		if err != nil {
			return err
		}
		if p := g.getPeers(); st.EndedAt == nil && p != nil {
			return g.killElsewhere(ctx, p, a, st)
		}
		return airlock.Errorf(airlock.ECONFLICT, "session %s has already ended", id)
	}
	if err := g.audit.Record(ctx, &airlock.Event{Type: airlock.EventSession, Action: "killed", User: s.User().Name,
		Database: s.Database().Name, SessionID: id, Actor: a.User.Name}); err != nil {
		return err
	}
	s.End("killed by " + a.User.Name)
	return nil
}
