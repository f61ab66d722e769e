package pgwire

import (
	"sync"
	"time"
)

// copyAhead reports whether the client's next message, already buffered,
// is COPY data (CopyData, CopyDone, CopyFail) sent right behind a
// statement still in flight, as pgx's CopyFrom sends it without waiting
// for CopyInResponse. PostgreSQL reads such messages only once the
// statement has entered COPY (or ignores them when it does not), so they
// must not be read as the next message now: everything in flight is made
// answerable, flushed, and the exchange runs, where a CopyInResponse hands the
// client's COPY data to copyIn in order.
func (c *conn) copyAhead() bool {
	if c.queue.len() == 0 || c.cr.buffered() == 0 {
		return false
	}
	switch c.cr.buf[c.cr.r] {
	case 'd', 'c', 'f':
		// A Flush makes the server send what it holds of the extended
		// protocol's answers too (it has no answer of its own).
		c.toUpstream('H', nil)
		c.answerAll()
		return true
	}
	return false
}

// copyWait waits, during COPY FROM STDIN, until the client sends more or
// the server says something (an error that ends the COPY, a notice): the
// COPY data read so far is flushed upstream first. serverFirst is set when
// the server spoke first.
func (c *conn) copyWait() (serverFirst bool, err error) {
	if err := c.uw.Flush(); err != nil {
		return false, c.upstreamErr(err)
	}
	if c.ur.buffered() > 0 {
		return true, nil
	}
	var (
		mu       sync.Mutex
		stopping bool
		upErr    error
		upReady  bool
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := c.ur.peek1()
		mu.Lock()
		defer mu.Unlock()
		if stopping {
			return
		}
		if err != nil {
			upErr = err
		} else {
			upReady = true
		}
		c.client.SetReadDeadline(time.Now()) // wake the client side
	}()
	cerr := c.cr.peek1()
	mu.Lock()
	stopping = true
	if !upReady && upErr == nil {
		c.up.conn.SetReadDeadline(time.Now())
	}
	mu.Unlock()
	<-done
	c.up.conn.SetReadDeadline(time.Time{})
	c.client.SetReadDeadline(time.Time{})
	switch {
	case c.ended():
		return false, errEnded
	case upReady || c.ur.buffered() > 0:
		return true, nil
	case upErr != nil:
		return false, c.upstreamErr(upErr)
	case cerr != nil:
		return false, cerr
	}
	return false, nil
}
