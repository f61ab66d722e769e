package mysqlwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"airlock"
	"airlock/internal/listen"
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

// Statement size and memory (limits.max_statement_bytes,
// limits.statement_memory), statement timeout and the upstream read
// deadline.
const (
	// memFrom is the smallest packet that takes from the gateway's
	// statement memory.
	memFrom = 64 << 10
	// memWait is how long a large statement waits for memory before it
	// is refused.
	memWait = 30 * time.Second
	// prefixKeep is how much of a refused statement is kept for the audit.
	prefixKeep = 1024
	// hungGrace is how long past the statement timeout airlock waits for
	// an upstream that sends nothing before it gives the statement up.
	hungGrace = 10 * time.Second
	// erOutOfResources is ER_OUT_OF_RESOURCES.
	erOutOfResources = 1041
)

// errRefused is returned by nextCommand for a command it refused and
// answered itself.
var errRefused = errors.New("command refused")

// stmtLimit is a connection's statement size limit and memory held.
type stmtLimit struct {
	max   int   // 0 until read from the session's database
	held  int64 // reserved from the gateway's budget for the packet in hand
	watch *listen.IdleWatch
}

// nextCommand reads the client's next command packet. One longer than
// max_statement_bytes is skipped without being held (the first bytes kept
// for the audit), audited as denied and answered with ERR 1153
// (ER_NET_PACKET_TOO_LARGE); the session stays usable, and nextCommand
// returns errRefused. A large packet first reserves its size from the
// gateway's statement memory, waiting for room; it is given back at the
// next read.
func (c *conn) nextCommand() ([]byte, byte, error) {
	c.releaseMem()
	if c.lim.max == 0 {
		c.lim.max = int(c.srv.gw.Limits(c.sess.Database()).MaxStatementBytes)
	}
	max, ours := c.up.maxPacket+1024, false
	if c.lim.max > 0 && c.lim.max < max {
		max, ours = c.lim.max, true
	}
	h, err := c.cr.r.Peek(4)
	if err != nil {
		return c.cr.next(max) // reports the error as next does
	}
	if h[3] != 0 {
		return nil, h[3], errOutOfOrder // a command starts at sequence 0
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if n < memFrom && (n <= max || !ours) {
		return c.cr.next(max)
	}
	// A large packet (or the first part of a split one): keep its start
	// for the audit in case it is refused.
	pre, _ := c.cr.r.Peek(4 + min(n, prefixKeep+1))
	prefix := bytes.Clone(pre[min(len(pre), 5):]) // after the command byte
	var cmd byte
	if len(pre) > 4 {
		cmd = pre[4]
	}
	need := int64(n)
	if n >= maxPayload {
		need = int64(max) // a split packet is held up to the limit
	}
	var refused *airlock.Decision
	code, state := uint16(erNetPacketTooLarge), "08S01"
	switch {
	case n > max && !ours:
		return c.cr.next(max) // over max_allowed_packet: as before
	case n > max:
		refused = c.tooLarge()
	default:
		ctx, cancel := context.WithTimeout(c.ctx, memWait)
		err := c.srv.gw.Memory().Reserve(ctx, need)
		cancel()
		if err != nil {
			d := c.sess.OutOfStatementMemory()
			refused = &d
			code, state = erOutOfResources, "HY000"
			max = 0 // skip it
		} else {
			c.lim.held = need
		}
	}
	if refused != nil {
		_, seq, err := c.cr.next(0)
		if !errors.Is(err, errTooLarge) {
			return nil, 0, err
		}
		if cmd == comStmtSendLongData {
			return nil, 0, c.refuseLongData(code, state, *refused, prefix)
		}
		return nil, 0, c.refuseCommand(seq, code, state, *refused, prefix)
	}
	p, seq, err := c.cr.next(max)
	if errors.Is(err, errTooLarge) && ours {
		if cmd == comStmtSendLongData {
			return nil, 0, c.refuseLongData(code, state, *c.tooLarge(), prefix)
		}
		return nil, 0, c.refuseCommand(seq, code, state, *c.tooLarge(), prefix)
	}
	return p, seq, err
}

// refuseLongData refuses a COM_STMT_SEND_LONG_DATA packet before it was
// read, as the server does long data it cannot take: with no answer (the
// client waits for none), the statement's next execution failing with
// the error, and the long data sent for it dropped. prefix starts with
// the statement id; the denial is audited with the statement's text, once
// for the packets of one execution.
func (c *conn) refuseLongData(code uint16, state string, d airlock.Decision, prefix []byte) error {
	text := "COM_STMT_SEND_LONG_DATA"
	if len(prefix) >= 4 {
		if st := c.stmts[binary.LittleEndian.Uint32(prefix)]; st != nil {
			if st.longErr != nil {
				return errRefused // audited at its first packet
			}
			text = st.text
			st.longErr = &sqlError{Code: code, State: state, Message: d.Message()}
		}
	}
	c.sess.Deny(text, d)
	return errRefused
}

func (c *conn) tooLarge() *airlock.Decision {
	d := c.sess.StatementTooLarge(0, c.lim.max)
	return &d
}

// refuseCommand audits and answers a command refused before it was read.
func (c *conn) refuseCommand(seq byte, code uint16, state string, d airlock.Decision, prefix []byte) error {
	c.sess.Deny(strings.ToValidUTF8(string(prefix), "?"), d)
	c.cseq = seq + 1
	c.warnings = nil
	writePacket(c.cw, &c.cseq, appendERR(nil, code, state, d.Message()))
	if err := c.flush(); err != nil {
		return err
	}
	return errRefused
}

// releaseMem gives back the statement memory the last packet held.
func (c *conn) releaseMem() {
	if c.lim.held > 0 {
		c.srv.gw.Memory().Release(c.lim.held)
		c.lim.held = 0
	}
}

// timeoutSQL sets the upstream session's statement timeout: MariaDB's
// max_statement_time (seconds), MySQL's max_execution_time (milliseconds,
// SELECT only).
func (u *upstream) timeoutSQL() []string {
	if u.stmtTimeout <= 0 {
		return nil
	}
	if strings.Contains(u.version, "MariaDB") {
		return []string{fmt.Sprintf("SET SESSION max_statement_time = %d", int64(u.stmtTimeout/time.Second))}
	}
	return []string{fmt.Sprintf("SET SESSION max_execution_time = %d", u.stmtTimeout.Milliseconds())}
}

// commandWatched runs a command with a read deadline on the upstream: an
// upstream that sends nothing for the statement timeout and a grace is
// given up; the statement's outcome is unknown, so the client gets ERR
// 1927 saying so and the session ends (its upstream query killed, its
// connection closed).
func (c *conn) commandWatched(p []byte) error {
	w := c.watchUpstream()
	if w == nil {
		return c.command(p)
	}
	w.Arm()
	err := c.command(p)
	w.Disarm()
	if errors.Is(err, os.ErrDeadlineExceeded) && !c.ended() {
		reason := fmt.Sprintf("the database sent nothing for %s (limits.statement_timeout and %s); the statement's outcome is unknown", w.D.Round(time.Second), hungGrace)
		c.log.Warn("upstream sent nothing within the statement timeout; ending the session", "waited", w.D)
		if !c.midWrite {
			c.client.SetWriteDeadline(time.Now().Add(time.Second))
			writePacket(c.cw, &c.cseq, appendERR(nil, erConnectionKilled, "70100", "airlock: session ended: "+reason))
			c.flush()
			c.midWrite = true // answered: finish sends nothing more
		}
		c.sess.End(reason)
		return errEnded
	}
	return err
}

// watchUpstream puts the upstream connection's reads behind an upWatch,
// once per upstream connection; nil without a statement timeout.
func (c *conn) watchUpstream() *listen.IdleWatch {
	d := c.up.stmtTimeout
	if d <= 0 {
		return nil
	}
	if w := c.lim.watch; w != nil && w.Conn == c.up.conn {
		return w
	}
	if c.up.r.r.Buffered() > 0 {
		return nil // not between answers; watched from the next command
	}
	// Keep: only the watch and the session's interrupt set this
	// connection's read deadline, so one statement after another need
	// not set and clear it each time.
	w := &listen.IdleWatch{Conn: c.up.conn, D: d + hungGrace, Ended: c.sess.Ended(), Keep: true}
	c.up.r.r.Reset(w)
	c.lim.watch = w
	return w
}

// publicVersion is the version string an unauthenticated client sees in
// the greeting: the upstream's family (MariaDB or MySQL) and major.minor,
// which clients need to pick their dialect, marked as airlock's, without
// the upstream's patch level and build, which would tell an attacker what
// to try. SELECT VERSION() in a session still answers the upstream's own.
func publicVersion(v string) string {
	maria := strings.Contains(v, "MariaDB")
	core := strings.TrimPrefix(v, "5.5.5-") // MariaDB's replication-era prefix
	parts := strings.SplitN(core, ".", 3)
	mm := "8.0"
	if len(parts) >= 2 && isDigits(parts[0]) && isDigits(parts[1]) {
		mm = parts[0] + "." + parts[1]
	}
	if maria {
		return "5.5.5-" + mm + ".0-MariaDB-airlock"
	}
	return mm + ".0-airlock"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// upstreamError is a failure of the upstream connection (read, write, or
// the database closing it).
type upstreamError struct{ err error }

func (e *upstreamError) Error() string { return "upstream: " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// reasonUpstreamClosed ends a session whose upstream connection failed or
// was closed by the database (whose own error, when it sent one, was
// relayed to the client before).
const reasonUpstreamClosed = "upstream closed"

// upstreamClosed ends the session with reason "upstream closed" when the
// connection's relay stopped on an upstream failure, so that the client is
// told and the audit says so (not "client disconnected").
func (c *conn) upstreamClosed(err error) {
	var ue *upstreamError
	if errors.As(err, &ue) && c.sess.EndReason() == "" {
		c.log.Info("upstream connection lost", "err", ue.err)
		c.sess.End(reasonUpstreamClosed)
	}
}
