package pgwire

import (
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// negotiate answers a StartupMessage as PostgreSQL 15 does: a client asking
// for a newer minor version of protocol 3 (libpq 18 and pgx ask for 3.2),
// or sending protocol options ("_pq_." parameters), gets a
// NegotiateProtocolVersion naming 3.0 and the options not understood, and
// the connection goes on at 3.0. The options are removed from params.
func (c *conn) negotiate(minor uint32, params map[string]string) {
	var unknown []string
	for k := range params {
		if strings.HasPrefix(k, "_pq_.") {
			unknown = append(unknown, k)
			delete(params, k)
		}
	}
	if minor == 0 && len(unknown) == 0 {
		return
	}
	slices.Sort(unknown)
	// PostgreSQL sends the whole version code (3.0), not only its minor part.
	c.send(encode(nil, &pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: codeProtocol3, UnrecognizedOptions: unknown}))
}

// errUnencryptedAfter is PostgreSQL's answer to bytes a client sent after an
// SSLRequest or GSSENCRequest without waiting for the answer: they were not
// encrypted and may have been injected by a man in the middle
// (CVE-2021-23214), so they are never read as the next message.
func errUnencryptedAfter(what string) error {
	return fatal("08P01", "received unencrypted data after %s request", what)
}
