package gateway

import (
	"context"

	"airlock"
	"airlock/internal/access"
)

// Peers reaches the other gateways sharing the store (SPEC §10).
type Peers interface {
	// Kill asks the gateway that owns the open session id to end it,
	// killed by admin. ENOTFOUND when no open session has the ID.
	Kill(ctx context.Context, id, admin string) error
}

// SetPeers lets KillSession reach sessions of other gateways.
func (g *Gateway) SetPeers(p Peers) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peers = p
}

func (g *Gateway) getPeers() Peers {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peers
}

// killElsewhere audits the kill of a session another gateway serves and
// asks that gateway to end it.
func (g *Gateway) killElsewhere(ctx context.Context, p Peers, a *access.Actor, st *airlock.Session) error {
	if err := g.audit.Record(ctx, &airlock.Event{Type: airlock.EventSession, Action: "killed", User: st.User,
		Database: st.Database, SessionID: st.ID, Actor: a.User.Name}); err != nil {
		return err
	}
	if err := p.Kill(ctx, st.ID, a.User.Name); err != nil {
		if airlock.ErrorCode(err) == airlock.ENOTFOUND {
			return airlock.Errorf(airlock.ECONFLICT, "session %s has already ended", st.ID)
		}
		return err
	}
	return nil
}

// EndKilled ends the live session id, killed by admin through another
// gateway, and reports whether it lives here.
func (g *Gateway) EndKilled(id, admin string) bool {
	s := g.Session(id)
	if s == nil {
		return false
	}
	s.End("killed by " + admin)
	return true
}

// LiveTokens returns, for each user with a live session here, the IDs of
// the tokens their sessions use.
func (g *Gateway) LiveTokens() map[string][]string {
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, s := range g.Sessions() {
		u := s.User().Name
		if _, ok := out[u]; !ok {
			out[u] = nil
		}
		if s.token != nil && !seen[s.token.ID] {
			seen[s.token.ID] = true
			out[u] = append(out[u], s.token.ID)
		}
	}
	return out
}
