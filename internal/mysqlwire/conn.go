package mysqlwire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/myadmin"
)

// conn serves one client connection.
type conn struct {
	srv    *Server
	log    *slog.Logger
	client net.Conn
	remote net.Addr
	tls    bool
	id     uint32 // the connection id the client knows
	cr     *pktReader
	cw     *bufio.Writer
	cseq   byte   // sequence number of the next packet to the client
	caps   uint32 // negotiated with the client
	ext    uint32 // MariaDB extended capabilities negotiated with the client
	auth   string // how the client authenticated, for the log
	coll   byte   // the client's collation id

	upMu sync.Mutex // guards up for interrupt and KILL from other goroutines
	up   *upstream

	sessMu sync.Mutex
	sess   *gateway.Session

	// busy is set while a command runs (read by Interrupt); idle while the
	// connection waits for a command outside a transaction (read by
	// LevelDropped).
	busy     atomic.Bool
	idle     atomic.Bool
	midWrite bool // a packet is half written to the client

	stmts    map[uint32]*stmt // prepared statements by client id
	lastStmt uint32
	lastKey  uint64 // the last key a COM_STMT_PREPARE was recorded under
	// checkPins is set when a statement changed a setting airlock pins
	// (its value may have come from a parameter): the upstream is checked
	// once the command is answered.
	checkPins bool
	tables    map[string]tableInfo // storage engines of written tables
	views     map[string]string    // view definitions by schema.name, lower-case (views.go)
	viewsAt   time.Time            // when views was read
	viewsGen  uint64               // viewsGen when views was read
	schema    string               // the current schema when not the database's own ("" then)
	undoReady bool                 // the database has the undo capture table
	state     sessionState         // what the upstream session holds
	// warnings are the messages of the airlock warnings (warn rules) of
	// the last statement, which SHOW WARNINGS lists after the server's
	// own until another statement runs; warnAdd is how many the answer
	// being relayed adds to its warning count, and inject the messages
	// the SHOW WARNINGS being relayed adds to its rows.
	warnings []string
	warnAdd  uint16
	inject   []string
	// binaryRows is set while a COM_STMT_EXECUTE is answered: its rows
	// are in the binary protocol.
	binaryRows bool
	ctx        context.Context

	// lim is the statement size limit, the statement memory held and the
	// upstream read deadline (limits.go).
	lim stmtLimit

	// veto and track are reused for each statement, so that deciding and
	// relaying one allocates neither (Veto, response).
	veto  myadmin.Veto
	track tracker
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, remote: nc.RemoteAddr(), stmts: map[uint32]*stmt{}, tables: map[string]tableInfo{}, ctx: context.Background()}
	c.log = s.log.With("client", c.remote.String())
	c.setClientConn(nc)
	return c
}

func (c *conn) setClientConn(nc net.Conn) {
	c.client = nc
	c.cr = newPktReader(nc, clientReadBuf)
	c.cw = bufio.NewWriterSize(nc, clientWriteBuf)
}

func (c *conn) flush() error { return c.cw.Flush() }

func (c *conn) session() *gateway.Session {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.sess
}

func (c *conn) upThread() uint32 {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if c.up == nil {
		return 0
	}
	return c.up.threadID
}

var (
	errEnded = errors.New("session ended")
	errQuit  = errors.New("client quit")
)

// serve runs the connection from greeting to close.
func (c *conn) serve() {
	c.srv.register(c)
	defer c.srv.unregister(c)
	defer c.client.Close()
	defer func() {
		// One client must not take the gateway down with it.
		if r := recover(); r != nil {
			c.log.Error("panic in connection; closing it", "panic", r, "stack", string(debug.Stack()))
		}
	}()

	c.client.SetDeadline(time.Now().Add(c.srv.authTO))
	resp, user, tok, err := c.handshake(c.ctx)
	if err != nil {
		c.startupFailed(err)
		return
	}
	c.coll = resp.collation
	if resp.db == "" {
		// The mysql client connects without one to send KILL QUERY
		// when Ctrl-C interrupts a statement: with one MySQL database
		// configured, it is that one.
		names := c.srv.mysqlDatabases()
		if len(names) != 1 {
			c.startupFailed(refuse(erBadDB, "42000", "airlock: no database given; connect to one of %s", strings.Join(names, ", ")))
			return
		}
		resp.db = names[0]
	}
	db, err := c.srv.gw.Database(resp.db, airlock.EngineMySQL)
	if err != nil {
		c.startupFailed(refuse(erBadDB, "42000", "Unknown database '%s'", resp.db))
		return
	}
	app := resp.attrs["program_name"]
	if app == "" {
		app = resp.attrs["_client_name"]
	}
	// The session may interrupt the connection and tell it of a level
	// drop once its upstream is connected (armed below).
	adapter := gateway.Arming(c)
	sess, err := c.srv.gw.Open(c.ctx, gateway.Login{User: user, Token: tok, Database: db, ClientAddr: hostOf(c.remote), Application: app, Adapter: adapter})
	switch {
	case errors.Is(err, gateway.ErrNoAccess):
		c.startupFailed(refuse(erDBAccessDenied, "42000", "airlock: user %q has no access to database %q", user.Name, db.Name))
		return
	case errors.Is(err, gateway.ErrShuttingDown):
		c.startupFailed(refuse(erServerShutdown, "08S01", "airlock is shutting down"))
		return
	case err != nil:
		c.startupFailed(&startupError{code: erUnknown, state: "HY000", msg: "airlock: cannot open a session now; try again shortly", err: err})
		return
	}
	c.sessMu.Lock()
	c.sess = sess
	c.sessMu.Unlock()
	c.log = c.log.With("session", sess.ID(), "user", user.Name, "database", db.Name)
	defer func() { c.session().Close() }() // COM_CHANGE_USER replaces it

	up, err := c.dial(sess.Level())
	if err != nil {
		c.startupFailed(err)
		return
	}
	c.setUpstream(up)
	defer c.closeUpstream()
	c.client.SetDeadline(time.Time{})
	adapter.Arm()
	writePacket(c.cw, &c.cseq, appendOK(nil, 0, 0, up.status, 0))
	if err := c.flush(); err != nil {
		return
	}
	c.log.Debug("session started", "level", sess.Level(), "auth", c.auth, "tls", c.tls, "upstream_thread", up.threadID)
	c.finish(c.loop())
}

// dial opens an upstream connection with the credential of level and
// pins its settings.
func (c *conn) dial(level airlock.Level) (*upstream, error) {
	db := c.sess.Database()
	cred, ok := c.sess.Credential(level)
	if !ok {
		return nil, refuse(erDBAccessDenied, "42000", "airlock: database %q has no credential for level %s", db.Name, level)
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.dialTO)
	defer cancel()
	up, err := dialUpstream(ctx, dialOptions{
		db: db, cred: cred, level: level, caps: c.caps, ext: c.ext, collation: c.coll,
		attrs: map[string]string{"program_name": fmt.Sprintf("airlock:%s:%s", c.sess.User().Name, c.sess.ID())},
	})
	if err == nil {
		if dl, ok := ctx.Deadline(); ok {
			up.conn.SetDeadline(dl)
		}
		up.stmtTimeout = c.srv.gw.Limits(db).StatementTimeout.For(level)
		err = up.setup(c.coll)
		up.conn.SetDeadline(time.Time{})
		if err != nil {
			up.quit()
		}
	}
	if err != nil {
		c.sess.UpstreamFailed()
		return nil, &startupError{code: erUnknown, state: "HY000", msg: fmt.Sprintf("airlock: cannot connect to database %q", db.Name), err: err}
	}
	c.srv.setVersion(up.version)
	return up, nil
}

func (c *conn) setUpstream(up *upstream) {
	c.upMu.Lock()
	c.up = up
	c.upMu.Unlock()
}

func (c *conn) startupFailed(err error) {
	var se *startupError
	switch {
	case errors.As(err, &se):
		if se.err != nil {
			c.log.Warn("connection refused", "reason", se.msg, "err", se.err)
		} else {
			c.log.Info("connection refused", "reason", se.msg)
		}
		c.client.SetWriteDeadline(time.Now().Add(time.Second))
		writePacket(c.cw, &c.cseq, appendERR(nil, se.code, se.state, se.msg))
		c.flush()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		c.log.Debug("connection closed during startup")
	default:
		c.log.Debug("startup failed", "err", err)
	}
}

// Interrupt is called by the gateway (gateway.Adapter), from another
// goroutine, when the session is ended: it kills the running statement
// and wakes the connection goroutine.
func (c *conn) Interrupt() {
	if c.busy.Load() {
		go c.killRunning()
	}
	c.client.SetReadDeadline(time.Now())
	// A client that does not read its results must not hold the
	// goroutine in a write.
	c.client.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	c.upMu.Lock()
	if c.up != nil {
		// A backstop in case the kill is slow.
		c.up.conn.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	}
	c.upMu.Unlock()
}

// killRunning kills what the upstream connection runs now.
func (c *conn) killRunning() {
	c.upMu.Lock()
	up := c.up
	c.upMu.Unlock()
	if up == nil {
		return
	}
	cred, ok := c.sess.Credential(up.level)
	if !ok {
		return
	}
	if err := killQuery(context.Background(), c.sess.Database(), cred, up.level, up.threadID); err != nil {
		c.log.Warn("kill upstream statement", "err", err)
	}
}

func (c *conn) closeUpstream() {
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if c.up == nil {
		return
	}
	c.up.quit()
	c.up = nil
}

// finish ends the connection after the command loop returned err.
func (c *conn) finish(err error) {
	c.upstreamClosed(err)
	if reason := c.sess.EndReason(); reason != "" {
		if !c.midWrite {
			// An unsolicited error (the client waits for no answer) has
			// sequence 0, as MySQL sends it when it closes an idle
			// connection.
			seq := byte(0)
			if c.busy.Load() {
				seq = c.cseq
			}
			c.client.SetWriteDeadline(time.Now().Add(time.Second))
			writePacket(c.cw, &seq, appendERR(nil, erConnectionKilled, "70100", "airlock: session ended: "+reason))
			c.flush()
		}
		c.log.Info("session ended", "reason", reason)
		return
	}
	var pe *protocolError
	switch {
	case err == nil, errors.Is(err, errQuit):
	case errors.As(err, &pe):
		writePacket(c.cw, &c.cseq, appendERR(nil, erMalformedPacket, "08S01", "airlock: "+pe.msg))
		c.flush()
		c.log.Info("protocol violation", "err", pe.msg)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("connection closed")
	default:
		c.log.Info("connection closed", "err", err)
	}
}

// loop serves commands until the client leaves, the upstream fails or
// the session is ended.
func (c *conn) loop() error {
	defer c.releaseMem()
	for {
		if c.ended() {
			return errEnded
		}
		c.idle.Store(c.up.status&statusInTrans == 0)
		p, seq, err := c.nextCommand()
		c.idle.Store(false)
		if err != nil {
			if c.ended() {
				return errEnded
			}
			if errors.Is(err, errRefused) {
				continue
			}
			if errors.Is(err, errOutOfOrder) {
				return c.outOfOrder()
			}
			if errors.Is(err, errTooLarge) {
				c.cseq = seq + 1
				writePacket(c.cw, &c.cseq, appendERR(nil, erNetPacketTooLarge, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"))
				c.flush()
				return errQuit
			}
			return err
		}
		if c.ended() {
			return errEnded
		}
		if len(p) == 0 {
			return violation("empty command packet")
		}
		// From here the client waits for an answer (a session ended now
		// gets it in the place of the answer).
		c.cseq = seq + 1
		c.busy.Store(true)
		if err := c.maybeSwitch(); err != nil {
			return err
		}
		err = c.commandWatched(p)
		c.busy.Store(false)
		if err != nil {
			return err
		}
		if err := c.checkPinned(); err != nil {
			return err
		}
		c.cr.release()
		c.up.r.release()
		if !c.cr.complete() {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
}

func (c *conn) ended() bool {
	select {
	case <-c.sess.Ended():
		return true
	default:
		return false
	}
}

func (c *conn) upstreamErr(err error) error {
	if c.ended() {
		return errEnded
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return &upstreamError{err: err}
}

// forward sends a command packet upstream as it came.
func (c *conn) forward(p []byte) error {
	c.up.seq = 0
	writePacket(c.up.w, &c.up.seq, p)
	if err := c.up.w.Flush(); err != nil {
		return c.upstreamErr(err)
	}
	return nil
}

// internal runs SQL of airlock's own upstream between client commands.
func (c *conn) internal(sql string) (*result, error) {
	r, err := c.up.query(sql)
	var se *sqlError
	if err != nil && !errors.As(err, &se) {
		return nil, c.upstreamErr(err)
	}
	return r, err
}

// sendDenied answers a denied command.
func (c *conn) sendDenied(d airlock.Decision) {
	c.warnings = nil // a denied statement leaves no airlock warning behind
	if se := d.Syntax; se != nil {
		// What the server's grammar rejects is answered as the server
		// would answer it; it was still never forwarded.
		writePacket(c.cw, &c.cseq, appendERR(nil, erParse, "42000", syntaxMessage(se, c.srv.serverVersion())))
		return
	}
	writePacket(c.cw, &c.cseq, appendERR(nil, erSpecificAccess, "42000", d.Message()))
}

func (c *conn) sendERR(code uint16, state, msg string) {
	writePacket(c.cw, &c.cseq, appendERR(nil, code, state, msg))
}
