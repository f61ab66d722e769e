package pgwire

import (
	"net"

	"github.com/jackc/pgx/v5/pgproto3"
)

// SetMaxConns caps the connections this listener holds at once (0: no
// cap); a client above the cap gets FATAL 53300, as PostgreSQL answers
// past max_connections, and is closed. Call it before Serve.
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
	nc.Write(encode(nil, &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "53300",
		Message: "airlock: too many connections on this listener; try again shortly"}))
}

// errTLSRequired refuses a client that did not switch to TLS on a
// listener with tls.require: true.
var errTLSRequired = fatal("28000", "airlock: this server requires TLS (tls.require: true); connect with sslmode=require")
