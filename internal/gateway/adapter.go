package gateway

import (
	"sync/atomic"

	"airlock"
)

// Adapter is what a protocol adapter (pgwire, mysqlwire, the MCP server)
// gives the core for one session, in Login: the three things only the
// adapter can do. The core gives back, per statement, a Check (Check,
// Prepare, CheckPrepared, CheckCommand) to act on, and takes the outcome
// with Done.
type Adapter interface {
	// Veto is the adapter's last word on an allowed check, from what
	// only the adapter can read of its database (the view definitions of
	// the view-write rule, which it hands to Session.CheckViews; MySQL:
	// the storage engine of the tables a write changes). It runs after
	// the decision and the guard and before anything of the check is
	// audited as started or forwarded; a decision it returns (built by
	// the core) denies the check, audited as any denial. An error (the
	// adapter could not ask its database) denies the check too and is
	// kept in Check.VetoErr for the adapter to act on. It is called from
	// the session's own goroutine.
	Veto(*Check) (*airlock.Decision, error)
	// Interrupt is called by End, from any goroutine, to make the adapter
	// notice promptly: it should cancel what runs upstream and wake the
	// connection goroutine.
	Interrupt()
	// LevelDropped is called, from any goroutine, when the session's
	// level drops, with the old and the new level.
	LevelDropped(old, new airlock.Level)
}

// NoAdapter vetoes nothing and ignores interrupts and level drops: the
// Adapter of a session whose Login names none. An adapter embeds it to
// give only some of the three.
type NoAdapter struct{}

// Veto allows every check.
func (NoAdapter) Veto(*Check) (*airlock.Decision, error) { return nil, nil }

// Interrupt does nothing.
func (NoAdapter) Interrupt() {}

// LevelDropped does nothing.
func (NoAdapter) LevelDropped(old, new airlock.Level) {}

// Armed passes its adapter's Veto on always, and Interrupt and
// LevelDropped only once armed (Arm): for an adapter that can act on an
// ended session or a dropped level only from some point after Login (its
// upstream connected, its goroutine ready to be woken). What happens
// before is not passed on later.
type Armed struct {
	a     Adapter
	armed atomic.Bool
}

// Arming returns a, not armed yet.
func Arming(a Adapter) *Armed { return &Armed{a: a} }

// Arm passes Interrupt and LevelDropped on from now.
func (x *Armed) Arm() { x.armed.Store(true) }

// Veto asks the adapter.
func (x *Armed) Veto(c *Check) (*airlock.Decision, error) { return x.a.Veto(c) }

// Interrupt interrupts the adapter once armed.
func (x *Armed) Interrupt() {
	if x.armed.Load() {
		x.a.Interrupt()
	}
}

// LevelDropped tells the adapter once armed.
func (x *Armed) LevelDropped(old, new airlock.Level) {
	if x.armed.Load() {
		x.a.LevelDropped(old, new)
	}
}
