package mysqlwire

import (
	"errors"
)

// erOutOfOrder is ER_NET_PACKETS_OUT_OF_ORDER (SQLSTATE 08S01).
const erOutOfOrder = 1156

// errOutOfOrder is a client packet whose sequence number is not the one
// the protocol expects (a command starts at 0, each further packet of it
// or of the connection phase follows the last one by one). The server
// executes nothing of such a packet: it answers "Got packets out of
// order" and closes the connection, and so does airlock.
var errOutOfOrder = errors.New("packets out of order")

// nextFrom is next for a logical packet whose first physical packet must
// have sequence number want.
func (p *pktReader) nextFrom(max int, want byte) ([]byte, byte, error) {
	h, err := p.r.Peek(4)
	if err == nil && h[3] != want {
		return nil, h[3], errOutOfOrder
	}
	return p.next(max)
}

// outOfOrder answers a command packet out of order as the server does (an
// error with sequence 0) and ends the connection.
func (c *conn) outOfOrder() error {
	seq := byte(0)
	writePacket(c.cw, &seq, appendERR(nil, erOutOfOrder, "08S01", "Got packets out of order"))
	c.flush()
	c.log.Info("protocol violation", "err", "packets out of order")
	return errQuit
}
