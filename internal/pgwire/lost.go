package pgwire

import (
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// upstreamLost is the upstream connection failing (closed, reset, timed
// out) while a session used it.
type upstreamLost struct{ err error }

func (e *upstreamLost) Error() string { return "upstream: " + e.err.Error() }
func (e *upstreamLost) Unwrap() error { return e.err }

// relayFatal gives the client, when the upstream connection was lost, what
// PostgreSQL's own client would have read from it: the FATAL error the
// server sent before closing (57P01 when an administrator ended the
// backend, a shutdown, ...), which may still be unread, or already relayed
// but not yet flushed, because writing the next statement failed first.
// The connection is closed afterwards, so the client sees the FATAL and
// then the end, as from PostgreSQL.
func (c *conn) relayFatal() {
	if c.midWrite || c.up == nil {
		return // a message is half written: the client can only see the end
	}
	c.up.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		typ, body, err := c.ur.next()
		if err != nil {
			break
		}
		if typ != 'E' {
			continue
		}
		var e pgproto3.ErrorResponse
		if e.Decode(body) == nil && (e.SeverityUnlocalized == "FATAL" || e.SeverityUnlocalized == "PANIC" || e.Severity == "FATAL" || e.Severity == "PANIC") {
			c.relayMsg(typ, body)
			break
		}
	}
	c.client.SetWriteDeadline(time.Now().Add(time.Second))
	c.flush()
}
