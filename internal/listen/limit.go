package listen

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Listener is a net.Listener for a server that runs its own accept loop
// (net/http): it holds at most a limit of connections at once, closing
// those above it as soon as they are accepted, and reports whether the
// accept loop is healthy.
type Listener struct {
	net.Listener
	limit  int64
	refuse func(net.Conn)
	active atomic.Int64
	state  state
}

// Limit wraps ln. limit <= 0 means no limit; refuse, when set, answers a
// connection above the limit before it is closed.
func Limit(ln net.Listener, limit int, refuse func(net.Conn)) *Listener {
	l := &Listener{Listener: ln, limit: int64(limit), refuse: refuse}
	l.state.set(true)
	return l
}

// Accept returns the next connection under the limit. Its errors are the
// listener's; the caller backs off on temporary ones (net/http does).
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if Retryable(err) {
				l.state.set(false)
			}
			return nil, err
		}
		l.state.set(true)
		if l.limit > 0 && l.active.Load() >= l.limit {
			if l.refuse != nil {
				nc.SetDeadline(time.Now().Add(100 * time.Millisecond))
				l.refuse(nc)
			}
			nc.Close()
			continue
		}
		l.active.Add(1)
		return &countedConn{Conn: nc, release: func() { l.active.Add(-1) }}, nil
	}
}

// Active returns the number of connections open.
func (l *Listener) Active() int { return int(l.active.Load()) }

// Accepting reports whether the last accept succeeded.
func (l *Listener) Accepting() bool { return l.state.ok() }

type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
