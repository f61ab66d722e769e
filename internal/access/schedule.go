package access

import (
	"context"
	"time"

	"airlock"
)

// Start schedules what time ends: pending requests that expire and grants
// that end. Active grants and pending requests of a previous run are
// scheduled again; stop with Stop.
func (s *Service) Start(ctx context.Context) error {
	grants, err := s.store.ListGrants(ctx, airlock.GrantFilter{ActiveAt: s.now()})
	if err != nil {
		return err
	}
	for _, g := range grants {
		s.scheduleGrantEnd(g)
	}
	s.expireDue(ctx)
	reqs, err := s.store.ListRequests(ctx, airlock.RequestFilter{State: airlock.RequestPending})
	if err != nil {
		return err
	}
	for _, r := range reqs {
		s.scheduleRequestExpiry(r)
	}
	return nil
}

// Stop cancels the scheduled timers.
func (s *Service) Stop() {
	if s.logins != nil {
		s.logins.flushAll()
	}
	s.timersMu.Lock()
	defer s.timersMu.Unlock()
	s.stopped = true
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
}

func (s *Service) schedule(id string, at time.Time, fn func()) {
	s.timersMu.Lock()
	defer s.timersMu.Unlock()
	if s.stopped {
		return
	}
	if s.timers == nil {
		s.timers = map[string]*time.Timer{}
	}
	if old := s.timers[id]; old != nil {
		old.Stop()
	}
	s.timers[id] = time.AfterFunc(at.Sub(s.now()), func() {
		s.timersMu.Lock()
		delete(s.timers, id)
		s.timersMu.Unlock()
		fn()
	})
}

// scheduleGrantEnd records the end of g when its time comes and lets the
// gateway lower the user's sessions at that moment.
func (s *Service) scheduleGrantEnd(g *airlock.Grant) {
	s.schedule(g.ID, g.ExpiresAt, func() {
		ctx := context.Background()
		cur, err := s.store.GetGrant(ctx, g.ID)
		if err != nil || cur.RevokedAt != nil {
			return // revoked meanwhile: that was audited and announced
		}
		// Gateways sharing the store each schedule the end: one records it.
		if first, err := s.store.MarkSeen(ctx, "grant-ended:"+g.ID, s.now().UTC()); err == nil && !first {
			s.accessChanged(g.User)
			return
		}
		if err := s.audit.Record(ctx, grantEvent(cur, "ended", "")); err != nil {
			s.log.Error("audit grant end", "grant", g.ID, "err", err)
		}
		s.accessChanged(g.User)
	})
}

func (s *Service) scheduleRequestExpiry(r *airlock.Request) {
	s.schedule(r.ID, r.ExpiresAt, func() { s.expireRequest(context.Background(), r.ID) })
}

// expireRequest marks a pending request expired if its time has come.
func (s *Service) expireRequest(ctx context.Context, id string) {
	for attempt := 0; attempt < 5; attempt++ {
		r, err := s.store.GetRequest(ctx, id)
		if err != nil || r.State != airlock.RequestPending || s.now().Before(r.ExpiresAt) {
			return
		}
		now := s.now().UTC()
		r.State, r.DecidedAt = airlock.RequestExpired, &now
		err = s.store.UpdateRequest(ctx, r)
		if airlock.ErrorCode(err) == airlock.ECONFLICT {
			continue
		}
		if err != nil {
			s.log.Error("expire request", "request", id, "err", err)
			return
		}
		if err := s.audit.Record(ctx, requestEvent(r, "expired", "")); err != nil {
			s.log.Error("audit request expiry", "request", id, "err", err)
		}
		return
	}
}

// expireDue expires every pending request whose time has passed (timers
// may lag behind after a restart or a suspended machine).
func (s *Service) expireDue(ctx context.Context) {
	reqs, err := s.store.ListRequests(ctx, airlock.RequestFilter{State: airlock.RequestPending})
	if err != nil {
		return
	}
	for _, r := range reqs {
		if !s.now().Before(r.ExpiresAt) {
			s.expireRequest(ctx, r.ID)
		}
	}
}
