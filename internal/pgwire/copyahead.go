package pgwire

// copyAhead reports whether the client's next message, already buffered,
// is COPY data (CopyData, CopyDone, CopyFail) sent right behind a
// statement still in flight, as pgx's CopyFrom sends it without waiting
// for CopyInResponse. PostgreSQL reads such messages only once the
// statement has entered COPY (or ignores them when it does not), so they
// must not be read as the next message now: everything in flight is made
// answerable and the exchange runs, where a CopyInResponse hands the
// client's COPY data to copyIn in order.
func (c *conn) copyAhead() bool {
	if c.queue.len() == 0 || c.cr.buffered() == 0 {
		return false
	}
	switch c.cr.buf[c.cr.r] {
	case 'd', 'c', 'f':
		c.answerAll()
		return true
	}
	return false
}
