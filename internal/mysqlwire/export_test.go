package mysqlwire

import (
	"context"
	"time"

	"airlock/internal/config"
)

// RawConn is a bare MySQL client for the tests (airlock's own upstream
// client), to send commands no driver sends at will.
type RawConn struct{ u *upstream }

// RawDial connects and authenticates to addr; caps adds client
// capabilities to the base ones (CapDeprecateEOF, CapMultiStatements...).
func RawDial(addr, user, password, db string, caps uint32) (*RawConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := dialUpstream(ctx, dialOptions{db: &config.Database{Spec: config.Spec{Address: addr, Database: db, TLSMode: "disable"}},
		cred: config.Credential{User: user, Password: password}, caps: caps, collation: 45})
	if err != nil {
		return nil, err
	}
	return &RawConn{u: u}, nil
}

// Capabilities for RawDial.
const (
	CapDeprecateEOF    = capDeprecateEOF
	CapMultiStatements = capMultiStatements
	CapMultiResults    = capMultiResults
)

// ID is the connection id of the greeting.
func (r *RawConn) ID() uint32 { return r.u.threadID }

// Query runs SQL and returns the rows of its last result set.
func (r *RawConn) Query(sql string) ([][]string, error) {
	res, err := r.u.query(sql)
	if err != nil {
		return nil, err
	}
	return res.rows, nil
}

// Send sends a command packet.
func (r *RawConn) Send(p []byte) error {
	r.u.seq = 0
	writePacket(r.u.w, &r.u.seq, p)
	return r.u.w.Flush()
}

// Read reads one packet of the answer (waiting up to 10s).
func (r *RawConn) Read() ([]byte, error) { return r.ReadWithin(10 * time.Second) }

// ReadWithin reads one packet of the answer, waiting up to d.
func (r *RawConn) ReadWithin(d time.Duration) ([]byte, error) {
	r.u.conn.SetReadDeadline(time.Now().Add(d))
	p, _, err := r.u.r.next(1 << 30)
	return append([]byte(nil), p...), err
}

// ERR decodes an ERR packet: code, SQLSTATE, message.
func ERR(p []byte) (uint16, string, string) {
	e := parseERR(p)
	return e.Code, e.State, e.Message
}

// Close hangs up.
func (r *RawConn) Close() { r.u.quit() }

// SendSeq sends a command packet with sequence number seq.
func (r *RawConn) SendSeq(p []byte, seq byte) error {
	r.u.seq = seq
	writePacket(r.u.w, &r.u.seq, p)
	return r.u.w.Flush()
}
