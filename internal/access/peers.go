package access

import (
	"context"

	"airlock"
)

// The methods below bring a gateway up to date with what another gateway
// sharing the store did (SPEC §10); the server calls them on the store's
// notifications. Each reacts as this gateway reacts to its own changes.

// TokenRevokedElsewhere ends this gateway's sessions that use token id,
// if it is revoked.
func (s *Service) TokenRevokedElsewhere(ctx context.Context, id string) {
	t, err := s.store.GetToken(ctx, id)
	if err != nil || t.RevokedAt == nil {
		return
	}
	if s.OnTokenRevoked != nil {
		s.OnTokenRevoked(id)
	}
}

// GrantChangedElsewhere re-evaluates the sessions of the grant's user
// now, and again when the grant ends if it is active.
func (s *Service) GrantChangedElsewhere(ctx context.Context, id string) {
	g, err := s.store.GetGrant(ctx, id)
	if err != nil {
		return
	}
	s.accessChanged(g.User)
	if g.Active(s.now()) {
		s.schedule("peer:"+g.ID, g.ExpiresAt, func() { s.accessChanged(g.User) })
	}
}

// RequestChangedElsewhere schedules the expiry of a pending request here
// too, so that it expires even if the gateway that took it is gone (the
// request's version lets only one gateway record the expiry).
func (s *Service) RequestChangedElsewhere(ctx context.Context, id string) {
	r, err := s.store.GetRequest(ctx, id)
	if err != nil || r.State != airlock.RequestPending {
		return
	}
	s.scheduleRequestExpiry(r)
}

// UserChangedElsewhere re-evaluates the sessions of user (groups and
// roles decide standing levels and grants).
func (s *Service) UserChangedElsewhere(user string) { s.accessChanged(user) }

// Resync catches up with changes whose notifications may have been
// missed: revoked tokens and changed grants of the users in use (users
// maps each user with a live session to its token IDs).
func (s *Service) Resync(ctx context.Context, users map[string][]string) {
	for user, tokens := range users {
		for _, id := range tokens {
			s.TokenRevokedElsewhere(ctx, id)
		}
		s.accessChanged(user)
	}
	if grants, err := s.store.ListGrants(ctx, airlock.GrantFilter{ActiveAt: s.now()}); err == nil {
		for _, g := range grants {
			s.schedule("peer:"+g.ID, g.ExpiresAt, func() { s.accessChanged(g.User) })
		}
	}
	s.expireDue(ctx)
}
