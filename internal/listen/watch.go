package listen

import (
	"net"
	"time"
)

// IdleWatch is an upstream connection whose reads fail when nothing has
// arrived for D while it is armed: the deadline moves forward as bytes
// arrive, so that it means "nothing for D", not "all within D". Ended is
// the session's end: once it is closed the session owns the deadline (it
// sets one to interrupt a read) and the watch leaves it alone. Arm,
// Disarm and Read are called from the connection's goroutine only.
type IdleWatch struct {
	net.Conn
	D     time.Duration
	Ended <-chan struct{}
	armed bool
	set   time.Time
}

// Arm starts the watch (an answer is due).
func (w *IdleWatch) Arm() {
	w.armed, w.set = true, time.Now()
	w.Conn.SetReadDeadline(w.set.Add(w.D))
}

// Disarm stops it (nothing is due).
func (w *IdleWatch) Disarm() {
	w.armed = false
	select {
	case <-w.Ended: // the session's end owns the deadline now
	default:
		w.Conn.SetReadDeadline(time.Time{})
	}
}

// Read reads from the connection, moving the deadline forward (at most
// every D/4, to spare system calls) while armed.
func (w *IdleWatch) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if n > 0 && w.armed {
		if now := time.Now(); now.Sub(w.set) > w.D/4 {
			select {
			case <-w.Ended:
			default:
				w.set = now
				w.Conn.SetReadDeadline(now.Add(w.D))
			}
		}
	}
	return n, err
}
