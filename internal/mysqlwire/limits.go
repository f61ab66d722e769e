package mysqlwire

import (
	"bufio"
	"net"
)

// erConCount is ER_CON_COUNT_ERROR, "Too many connections".
const erConCount = 1040

// SetMaxConns caps the connections this listener holds at once (0: no
// cap); a client above the cap gets ERR 1040, as MySQL answers past
// max_connections, instead of the greeting, and is closed. Call it
// before Serve.
func (s *Server) SetMaxConns(n int) {
	s.acc.Limit = n
	s.acc.Refuse = refuseBusy
	s.acc.OnError = func(err error) {
		s.log.Error("accepting connections failed; retrying", "err", err)
	}
}

// Accepting reports whether the accept loop is taking connections.
func (s *Server) Accepting() bool { return s.acc.Accepting() }

// refuseBusy answers a connection above the listener's cap.
func refuseBusy(nc net.Conn) {
	w := bufio.NewWriterSize(nc, 128)
	var seq byte
	writePacket(w, &seq, appendERR(nil, erConCount, "08004", "airlock: too many connections on this listener; try again shortly"))
	w.Flush()
}

// erSecureTransportRequired is ER_SECURE_TRANSPORT_REQUIRED, MySQL's
// answer under require_secure_transport.
const erSecureTransportRequired = 3159

// errTLSRequired refuses a client that did not ask for TLS on a listener
// with tls.require: true, before it sends anything secret.
var errTLSRequired = refuse(erSecureTransportRequired, "HY000", "airlock: this server requires TLS (tls.require: true); connect with --ssl")
