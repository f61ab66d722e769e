package gateway

import (
	"context"

	"airlock/internal/config"
	"airlock/internal/limit"
)

// Limits returns the limits in force on db (config limits, with db's own
// overrides).
func (g *Gateway) Limits(db *config.Database) config.Limits { return g.config().LimitsFor(db) }

// Memory returns the gateway-wide budget for statement text in flight
// (limits.statement_memory), shared by every adapter; nil (no limit)
// when the config sets none.
func (g *Gateway) Memory() *limit.Budget {
	g.memOnce.Do(func() {
		if n := g.config().Limits.StatementMemory; n > 0 {
			g.mem = limit.NewBudget(n)
		}
	})
	return g.mem
}

// LoginFailed records a failed database login of user from addr through
// via ("postgres", "mysql") and waits the delay the pair has earned (see
// access.Logins), so that the adapter answers late.
func (g *Gateway) LoginFailed(ctx context.Context, addr, user, via, reason string) {
	if g.access != nil {
		g.access.Logins().Failed(ctx, addr, user, via, reason)
	}
}

// loginSucceeded forgets the failures of an authenticated login's address
// and user.
func (g *Gateway) loginSucceeded(l Login) {
	if g.access != nil && l.User != nil {
		g.access.Logins().Succeeded(l.ClientAddr, l.User.Name)
	}
}
