package server

import (
	"context"
	"time"

	"airlock/internal/store/postgres"
)

// Gateway leases in a shared store: each gateway renews its own every
// leaseRenew for leaseTTL; a gateway whose lease expired is taken for dead
// and another ends its sessions.
const (
	leaseRenew = time.Second
	leaseTTL   = 5 * time.Second
)

// reasonGatewayLost is the end reason of the sessions of a dead gateway.
const reasonGatewayLost = "gateway lost"

// peers implements gateway.Peers over the shared store.
type peers struct{ st *postgres.DB }

func (p peers) Kill(ctx context.Context, id, admin string) error {
	return p.st.RequestKill(ctx, id, admin)
}

// startCluster joins the gateways sharing st: it takes a lease and renews
// it, ends the sessions of gateways that died, and applies the changes
// other gateways make (revocations, grants, requests, users, kills) as
// this gateway applies its own, from the store's notifications, with a
// poll when the notification connection is down.
func (s *Server) startCluster(ctx context.Context, st *postgres.DB, now func() time.Time) error {
	if err := st.Heartbeat(ctx, now(), leaseTTL); err != nil {
		return err
	}
	s.log.Info("joined the gateways sharing the store", "gateway", s.GatewayID)
	s.Gateway.SetPeers(peers{st})
	cctx, cancel := context.WithCancel(context.Background())
	s.stopCluster = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.lease(cctx, st, now)
	}()
	go func() {
		defer s.wg.Done()
		st.Listen(cctx, s.log.With("component", "cluster"), s.applyChange, s.resync(st))
	}()
	return nil
}

// lease renews the gateway's lease and ends the sessions of lost gateways.
func (s *Server) lease(ctx context.Context, st *postgres.DB, now func() time.Time) {
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := st.Heartbeat(ctx, now(), leaseTTL); err != nil {
			if ctx.Err() == nil {
				s.log.Error("renew gateway lease", "err", err)
			}
			continue
		}
		lost, err := st.EndLostSessions(ctx, now(), reasonGatewayLost)
		if err != nil {
			s.log.Error("end sessions of lost gateways", "err", err)
			continue
		}
		for _, ss := range lost {
			s.log.Info("ended a session of a lost gateway", "session", ss.ID, "user", ss.User)
			evs, err := s.cutEvents(ctx, ss.ID)
			if err == nil {
				err = s.closeDead(ctx, ss, evs, now(), reasonGatewayLost, false)
			}
			if err != nil {
				s.log.Error("record what a lost gateway's session left", "session", ss.ID, "err", err)
			}
		}
	}
}

// applyChange reacts to one notification of another gateway's change.
func (s *Server) applyChange(topic, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch topic {
	case postgres.TopicToken:
		s.Access.TokenRevokedElsewhere(ctx, id)
	case postgres.TopicGrant:
		s.Access.GrantChangedElsewhere(ctx, id)
	case postgres.TopicRequest:
		s.Access.RequestChangedElsewhere(ctx, id)
	case postgres.TopicUser:
		s.Access.UserChangedElsewhere(id)
	case postgres.TopicKill:
		if ss, err := s.Store.GetSession(ctx, id); err == nil && ss.EndedAt == nil {
			s.endKilled(ctx, id)
		}
	}
}

// endKilled ends session id if it lives here and an admin asked to kill it.
func (s *Server) endKilled(ctx context.Context, id string) {
	st, ok := sharedStore(s.Store)
	if !ok {
		return
	}
	kills, err := st.KillRequests(ctx)
	if err != nil {
		return
	}
	if by, ok := kills[id]; ok {
		s.Gateway.EndKilled(id, by)
	}
}

// resync returns the poll that catches up with missed notifications.
func (s *Server) resync(st *postgres.DB) func(context.Context) {
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s.Access.Resync(ctx, s.Gateway.LiveTokens())
		if kills, err := st.KillRequests(ctx); err == nil {
			for id, by := range kills {
				s.Gateway.EndKilled(id, by)
			}
		}
	}
}
