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
	// Keep says that nothing but the watch and the session's end sets the
	// connection's read deadline, so that the watch may leave one in
	// place: Disarm does not clear it, and Arm keeps it while the watch
	// set it less than D/4 ago. It is then set D/4 further out, so that
	// a kept deadline still leaves D: a read fails when nothing has
	// arrived for between D and 5D/4. A connection that runs one short
	// statement after another sets its deadline every D/4 instead of
	// twice a statement. A read while disarmed clears a kept deadline
	// first.
	Keep  bool
	armed bool
	set   time.Time // when the watch last set the deadline; zero: none set
}

// span is how far ahead the watch sets the deadline.
func (w *IdleWatch) span() time.Duration {
	if w.Keep {
		return w.D + w.D/4
	}
	return w.D
}

// Arm starts the watch (an answer is due).
func (w *IdleWatch) Arm() {
	now := time.Now()
	w.armed = true
	if w.Keep && !w.set.IsZero() && now.Sub(w.set) <= w.D/4 {
		return
	}
	w.set = now
	w.Conn.SetReadDeadline(now.Add(w.span()))
}

// Disarm stops it (nothing is due).
func (w *IdleWatch) Disarm() {
	w.armed = false
	if !w.Keep {
		w.clear()
	}
}

// clear removes the deadline the watch set, unless the session's end owns
// it now.
func (w *IdleWatch) clear() {
	w.set = time.Time{}
	select {
	case <-w.Ended: // the session's end owns the deadline now
	default:
		w.Conn.SetReadDeadline(time.Time{})
	}
}

// Read reads from the connection, moving the deadline forward (at most
// every D/4, to spare system calls) while armed.
func (w *IdleWatch) Read(p []byte) (int, error) {
	if !w.armed && !w.set.IsZero() {
		w.clear() // a kept deadline must not bound a read nothing is due for
	}
	n, err := w.Conn.Read(p)
	if n > 0 && w.armed {
		if now := time.Now(); now.Sub(w.set) > w.D/4 {
			select {
			case <-w.Ended:
			default:
				w.set = now
				w.Conn.SetReadDeadline(now.Add(w.span()))
			}
		}
	}
	return n, err
}
