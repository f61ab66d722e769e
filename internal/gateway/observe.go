package gateway

import (
	"time"

	"airlock"
)

// Observer receives the gateway's measurements (internal/metrics implements
// it for Prometheus). Its methods are called on the hot path, from any
// goroutine, and must be cheap and safe for concurrent use. A nil Observer
// in Options measures nothing.
type Observer interface {
	// Checked reports one check of a unit of SQL on engine: decision is
	// the time classification and the policy decision took; admitted is
	// the time from the check's start until the adapter may forward it
	// (the decision plus, for a write, making its "started" event durable)
	// — the latency airlock adds in front of the database.
	Checked(engine string, decision, admitted time.Duration)
	// UpstreamConnectFailed reports a failed connection to the database
	// called database of engine.
	UpstreamConnectFailed(engine, database string)
	// SessionOpened reports a session opened on engine at level.
	SessionOpened(engine string, level airlock.Level)
}

// UpstreamFailed counts a failed connection to the session's database; the
// adapter calls it when it cannot dial or authenticate upstream.
func (s *Session) UpstreamFailed() {
	if o := s.g.observe; o != nil {
		o.UpstreamConnectFailed(string(s.Database().Engine), s.Database().Name)
	}
}

// observeCheck reports c's decision and admission times.
func (s *Session) observeCheck(c *Check, decided time.Time) {
	o := s.g.observe
	if o == nil || c.start.IsZero() {
		return
	}
	now := s.g.now()
	o.Checked(string(s.Database().Engine), decided.Sub(c.start), now.Sub(c.start))
}
