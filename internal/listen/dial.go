package listen

import (
	"net"
	"time"
)

// Upstream TCP keepalive: a peer that vanished (a host down, a cable cut,
// a firewall that dropped the flow) is noticed after about a minute of
// silence instead of the system's two hours.
const (
	keepIdle     = 30 * time.Second
	keepInterval = 10 * time.Second
	keepCount    = 3
)

// Dialer returns the dialer for connections to upstream databases: connect
// timeout and TCP keepalive.
func Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout:         timeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepIdle, Interval: keepInterval, Count: keepCount},
	}
}
