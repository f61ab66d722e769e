package pgwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"airlock"
	"airlock/internal/listen"

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

// Statement size and memory (limits.max_statement_bytes,
// limits.statement_memory).
const (
	// memFrom is the smallest message that takes from the gateway's
	// statement memory; smaller ones fit the pooled buffers.
	memFrom = 64 << 10
	// memWait is how long a large statement waits for memory before it
	// is refused.
	memWait = 30 * time.Second
	// prefixKeep is how much of a refused statement is kept for the audit.
	prefixKeep = 1024
)

// stmtLimit is a connection's statement size limit and memory held.
type stmtLimit struct {
	max   int   // 0 until the session is known
	held  int64 // reserved from the gateway's budget for the message in hand
	watch *listen.IdleWatch
	// clientTimeout is set when the client's startup packet set its own
	// statement_timeout.
	clientTimeout bool
}

// carriesSQL reports whether a client message type carries statement
// text or values: Query, Parse, Bind, FunctionCall.
func carriesSQL(typ byte) bool { return typ == 'Q' || typ == 'P' || typ == 'B' || typ == 'F' }

// nextClient reads the client's next message. One that carries SQL and is
// longer than max_statement_bytes is refused without being held: its body
// is read through and dropped (the first bytes kept for the audit), the
// denial is audited and answered (54000), and nextClient returns type 0. A
// large message first reserves its size from the gateway's statement
// memory, waiting for room; it is given back at the next read.
func (c *conn) nextClient() (byte, []byte, error) {
	c.releaseMem()
	typ, n, err := c.cr.header()
	if err != nil {
		return 0, nil, err
	}
	if c.lim.max == 0 {
		c.lim.max = int(c.srv.gw.Limits(c.sess.Database()).MaxStatementBytes)
	}
	if !carriesSQL(typ) {
		if c.lim.max > 0 && n > c.lim.max {
			// No other message is that long (COPY data streams through
			// copyIn): not worth holding.
			return 0, nil, violation("message %q of %d bytes is longer than limits.max_statement_bytes (%d)", typ, n, c.lim.max)
		}
		b, err := c.cr.body(n)
		return typ, b, err
	}
	if c.lim.max > 0 && n > c.lim.max {
		prefix, err := c.cr.skip(n, prefixKeep)
		if err != nil {
			return 0, nil, err
		}
		c.cr.release()
		c.refuseStatement(typ, "54000", c.sess.StatementTooLarge(n, c.lim.max), prefix)
		return 0, nil, nil
	}
	if n >= memFrom {
		ctx, cancel := context.WithTimeout(c.ctx, memWait)
		err := c.srv.gw.Memory().Reserve(ctx, int64(n))
		cancel()
		if err != nil {
			prefix, serr := c.cr.skip(n, prefixKeep)
			if serr != nil {
				return 0, nil, serr
			}
			c.cr.release()
			c.refuseStatement(typ, "53200", c.sess.OutOfStatementMemory(), prefix)
			return 0, nil, nil
		}
		c.lim.held = int64(n)
	}
	b, err := c.cr.body(n)
	return typ, b, err
}

// releaseMem gives back the statement memory the last message held.
func (c *conn) releaseMem() {
	if c.lim.held > 0 {
		c.srv.gw.Memory().Release(c.lim.held)
		c.lim.held = 0
	}
}

// refuseStatement audits and answers a statement refused before it was
// read: with code instead of 42501, and, as for any denial, the upstream
// fails the batch so that the transaction state stays PostgreSQL's.
func (c *conn) refuseStatement(typ byte, code string, d airlock.Decision, prefix []byte) {
	if c.skip {
		return // dropped until Sync, as every message now is
	}
	c.sess.Deny(strings.ToValidUTF8(string(prefix), "?"), d)
	switch typ {
	case 'P', 'B':
		c.midBatch = true
		c.denyMarker(d)
		c.queue.items[len(c.queue.items)-1].code = code
		c.skip = true
	default:
		c.midBatch = false
		c.skip = false
		c.denyMarker(d)
		c.queue.items[len(c.queue.items)-1].code = code
		c.toUpstream('S', nil)
		c.push(c.entry('S', nil))
		c.answerAll()
	}
}

// skip reads n bytes of body and drops them, holding no more than a
// pooled buffer; it returns a copy of the first keep bytes.
func (m *msgReader) skip(n, keep int) ([]byte, error) {
	var prefix []byte
	for n > 0 {
		if m.buffered() == 0 {
			m.grow()
			if err := m.ensure(1); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		k := min(n, m.buffered())
		if len(prefix) < keep {
			prefix = append(prefix, m.buf[m.r:m.r+min(k, keep-len(prefix))]...)
		}
		m.r += k
		n -= k
	}
	return prefix, nil
}

// hungGrace is how long past the statement timeout airlock waits for an
// upstream that sends nothing before it gives the statement up.
const hungGrace = 10 * time.Second

// defaultTimeout notes whether the client's startup packet set its own
// statement_timeout; levelTimeout uses it.
func (c *conn) defaultTimeout(runtime map[string]string) {
	_, c.lim.clientTimeout = runtime["statement_timeout"]
}

// levelTimeout sets the upstream statement_timeout of a connection at
// level to limits.statement_timeout for that level, unless the client's
// startup packet set one.
func (c *conn) levelTimeout(runtime map[string]string, level airlock.Level) {
	if c.lim.clientTimeout {
		return
	}
	if d := c.srv.gw.Limits(c.sess.Database()).StatementTimeout.For(level); d > 0 {
		runtime["statement_timeout"] = fmt.Sprint(d.Milliseconds())
	}
}

// watch wraps the upstream connection's reads with the hung-upstream
// deadline (drainWatched).
func (c *conn) watch(nc net.Conn) net.Conn {
	d := c.srv.gw.Limits(c.sess.Database()).StatementTimeout.For(c.up.level)
	if d <= 0 {
		return nc
	}
	c.lim.watch = &listen.IdleWatch{Conn: nc, D: d + hungGrace, Ended: c.sess.Ended()}
	return c.lim.watch
}

// drainWatched is drain with a read deadline on the upstream: while
// answers are awaited, an upstream that sends nothing for the statement
// timeout and a grace is given up: the statement's outcome is unknown, so
// the session ends (its upstream statement cancelled, its connection
// closed) with a reason saying so.
func (c *conn) drainWatched() error {
	w := c.lim.watch
	if w == nil || c.answerable == 0 {
		return c.drain()
	}
	w.Arm()
	err := c.drain()
	w.Disarm()
	if errors.Is(err, os.ErrDeadlineExceeded) && !c.ended() {
		c.log.Warn("upstream sent nothing within the statement timeout; ending the session", "waited", w.D)
		c.sess.End(fmt.Sprintf("the database sent nothing for %s (limits.statement_timeout and %s); the statement's outcome is unknown", w.D.Round(time.Second), hungGrace))
		return errEnded
	}
	return err
}

// loginFailed records a failed login (audited, folded, counted), waits
// the delay the client's address and user have earned, and returns the
// answer: PostgreSQL's own for a bad password.
func (c *conn) loginFailed(ctx context.Context, user, reason string) error {
	c.srv.gw.LoginFailed(ctx, hostOf(c.remote), user, "postgres", reason)
	return badPassword(user)
}

// reasonUpstreamClosed ends a session whose upstream connection failed or
// was closed by the database (whose own error, when it sent one, was
// relayed to the client before).
const reasonUpstreamClosed = "upstream closed"

// upstreamClosed ends the session with reason "upstream closed" when the
// connection's relay stopped on an upstream failure, so that the client is
// told and the audit says so (not "client disconnected").
func (c *conn) upstreamClosed(err error) {
	var ue *upstreamLost
	if errors.As(err, &ue) && c.sess.EndReason() == "" {
		c.log.Info("upstream connection lost", "err", ue.err)
		c.sess.End(reasonUpstreamClosed)
	}
}
