package gateway

import (
	"context"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/policy"
)

// live is the configuration the gateway decides with; Reload replaces it
// as a whole, so a decision never mixes an old policy with a new database.
type live struct {
	cfg    *config.Config
	policy *policy.Engine
}

func (g *Gateway) config() *config.Config       { return g.live.Load().cfg }
func (g *Gateway) policyEngine() *policy.Engine { return g.live.Load().policy }

// Reload makes cfg and pol the gateway's configuration (the caller has
// validated cfg and compiled pol from it, and has synced the config's users
// to the store). New logins use them at once, and every live session is
// decided again:
//
//   - its database's settings (guardrails, protected tables, undo,
//     credentials for the next upstream connection) are replaced by the new
//     ones; a database that is gone, or whose engine, address or upstream
//     database changed, ends the session (its connection is to the old
//     place);
//   - its user is read again from the store (groups and roles from the
//     new config); a user that is gone ends the session;
//   - its level is computed again from the new policies and the active
//     grants: a level that is no longer allowed ends the elevation as a
//     revocation does (the level hook runs), and a session left with no
//     access at all is ended.
//
// Sessions that keep their access are untouched: nothing is dropped.
func (g *Gateway) Reload(ctx context.Context, cfg *config.Config, pol *policy.Engine) {
	g.live.Store(&live{cfg: cfg, policy: pol})
	for _, s := range g.Sessions() {
		old := s.Database()
		db := cfg.DB(old.Name)
		if db == nil || db.Engine != old.Engine {
			s.End("the database was removed from airlock's configuration")
			continue
		}
		if db.Address != old.Address || db.Database != old.Database {
			// The session's upstream connection is to the old place.
			s.End("the database's address changed in airlock's configuration; reconnect")
			continue
		}
		s.db.Store(db)
		u, err := g.store.GetUser(ctx, s.User().Name)
		switch {
		case airlock.ErrorCode(err) == airlock.ENOTFOUND:
			s.End("the user was removed from airlock's configuration")
			continue
		case err != nil:
			// Keep the user as it was; the level below is still
			// computed against the new policies.
			g.log.Error("reload: read session user", "session", s.ID(), "err", err)
		default:
			s.user.Store(u)
		}
		s.refresh()
		if airlock.Level(s.level.Load()) == airlock.LevelNone {
			s.End("the configuration no longer gives access to this database")
		}
	}
}
