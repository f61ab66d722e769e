package gateway

import (
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
