package pgwire

import (
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

	"github.com/jackc/pgx/v5/pgproto3"
)

const (
	clientBuf = 16 << 10
	upBuf     = 32 << 10
	// outBuf is the buffer of what goes to the client: large, so that
	// large results (COPY TO, wide SELECTs) take few write calls.
	outBuf = 64 << 10
	// idleBuf is what a client connection reads into while nothing is
	// buffered (see msgReader): most queries fit.
	idleBuf = 1 << 10
	// drainAfter bounds how much the relay forwards before it reads the
	// answers, so that a long pipeline cannot fill both directions.
	drainAfter = 1 << 20
)

// The connections' big buffers, taken while they work (see msgReader).
var (
	clientBufs = newBufPool(clientBuf)
	upBufs     = newBufPool(upBuf)
	outBufs    = newBufPool(outBuf)
)

// Kinds of queued response entries besides the client's message types.
const kindDeny = '!'

// pending is a forwarded message whose response has not fully arrived.
type pending struct {
	kind   byte   // the message type sent upstream, or kindDeny
	code   string // SQLSTATE of a denial, when not 42501
	check  *gateway.Check
	idx    int   // Query: index of the statement running
	rows   int64 // rows seen for the running statement
	failed bool  // Query: a statement failed, the rest did not run
	deny   airlock.Decision
	// undo reverts what forwarding the message recorded (a prepared
	// statement or portal), for when the upstream fails or skips it.
	undo func()
}

// portal is a bound statement ready to execute: the statement as it was
// when bound (a later Parse of its name does not change it), its text
// and the parameters.
type portal struct {
	stmt   *gateway.Prepared
	text   string
	params []string
}

// conn serves one client connection.
type conn struct {
	srv    *Server
	log    *slog.Logger
	client net.Conn
	remote net.Addr
	tls    bool
	cr     *msgReader
	cw     *msgWriter

	upMu sync.Mutex // guards up for cancel and interrupt from other goroutines
	up   *upstream
	ur   *msgReader
	uw   *msgWriter
	// planned: the own plans (ownPlan.bit) parsed on the upstream
	// connection. capturing: its last captured write found the database
	// prepared for undo.
	planned   uint64
	capturing bool

	sess      *gateway.Session
	keyPID    uint32
	keySecret []byte
	// backendPID and backendOwner are guarded by srv.mu (Server.setBackend).
	backendPID   uint32
	backendOwner string

	queue      queue
	free       []*pending // popped entries, for entry
	answerable int        // entries at the head of queue the upstream will answer now
	skip       bool       // dropping client messages until Sync
	midBatch   bool       // extended-protocol messages forwarded since the last Sync
	// owned is set while airlock holds a transaction block it opened for
	// a guarded Execute; it is committed or rolled back at the Sync.
	owned    bool
	txStatus byte // of the last ReadyForQuery
	// upFailed says that the upstream answered an error since the last
	// ReadyForQuery: an implicit transaction then ended rolled back.
	upFailed bool
	// idle is set while the connection waits for the client at a
	// transaction boundary with nothing in flight (read by LevelDropped).
	idle        atomic.Bool
	runtimeBase map[string]string // upstream startup parameters, without the level's
	forwarded   int
	listening   bool
	midWrite    bool // a message is half written to the client
	portals     map[string]*portal
	appName     string
	ctx         context.Context

	// lim is the statement size limit and what this connection holds of
	// the gateway's statement memory (limits.go).
	lim     stmtLimit
	ddlInTx bool // DDL ran since the last transaction end (views.go)
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, client: nc, remote: nc.RemoteAddr(), portals: map[string]*portal{}, ctx: context.Background(), txStatus: 'I'}
	c.log = s.log.With("client", c.remote.String())
	c.setClientConn(nc)
	return c
}

func (c *conn) setClientConn(nc net.Conn) {
	c.client = nc
	c.cr = newMsgReader(nc, clientBufs, idleBuf)
	c.cw = newMsgWriter(nc, outBufs)
}

func (c *conn) send(b []byte) { c.cw.Write(b) }
func (c *conn) flush() error  { return c.cw.Flush() }

var errEnded = errors.New("session ended")

// serve runs the connection from startup to close.
func (c *conn) serve() {
	c.srv.track(c, true)
	defer c.srv.track(c, false)
	defer c.client.Close()
	defer func() {
		// One client must not take the gateway down with it: a panic
		// ends this connection (and its session) and is logged loudly.
		if r := recover(); r != nil {
			c.log.Error("panic in connection; closing it", "panic", r, "stack", string(debug.Stack()))
		}
	}()

	c.client.SetDeadline(time.Now().Add(c.srv.authTO))
	params, user, tok, err := c.startup(c.ctx)
	if err != nil {
		c.startupFailed(err)
		return
	}
	dbName := params["database"]
	if dbName == "" {
		dbName = params["user"]
	}
	db, err := c.srv.gw.Database(dbName, airlock.EnginePostgres)
	if err != nil {
		c.startupFailed(fatal("3D000", "database %q does not exist", dbName))
		return
	}
	c.appName = params["application_name"]
	// The session may interrupt the connection and tell it of a level
	// drop once its upstream is connected (armed below).
	adapter := gateway.Arming(c)
	sess, err := c.srv.gw.Open(c.ctx, gateway.Login{User: user, Token: tok, Database: db, ClientAddr: hostOf(c.remote), Application: c.appName, Adapter: adapter})
	switch {
	case errors.Is(err, gateway.ErrNoAccess):
		c.startupFailed(fatal("28000", "airlock: user %q has no access to database %q", user.Name, db.Name))
		return
	case errors.Is(err, gateway.ErrShuttingDown):
		c.startupFailed(fatal("57P03", "airlock is shutting down"))
		return
	case err != nil:
		c.startupFailed(&startupError{code: "57P03", msg: "airlock: cannot open a session now; try again shortly", err: err})
		return
	}
	c.sess = sess
	c.log = c.log.With("session", sess.ID(), "user", user.Name, "database", db.Name)
	defer sess.Close()

	settings, err := c.startupSettings(params)
	if err != nil {
		c.startupFailed(err)
		return
	}
	if err := c.connectUpstream(settings); err != nil {
		c.startupFailed(err)
		return
	}
	defer c.closeUpstream()
	c.srv.newKey(c, c.up.pid)
	c.srv.setBackend(c, c.owner(), c.up.pid)
	c.client.SetDeadline(time.Time{})
	adapter.Arm()
	c.greet()
	if err := c.flush(); err != nil {
		return
	}
	c.log.Debug("session started", "level", sess.Level())

	err = c.loop()
	c.finish(err)
}

func hostOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	return a.String()
}

// connectUpstream opens the upstream connection at the session's level.
func (c *conn) connectUpstream(settings []startupSetting) error {
	lvl := c.sess.Level()
	cred, ok := c.sess.Credential(lvl)
	if !ok {
		return fatal("28000", "airlock: database %q has no credential for level %s", c.sess.Database().Name, lvl)
	}
	runtime := map[string]string{}
	for _, s := range settings {
		runtime[s.name] = s.value
	}
	// client_encoding is pinned to UTF8: what the client asked for is
	// replaced, and the ParameterStatus tells it so (libpq, JDBC and the
	// other drivers follow it).
	runtime["client_encoding"] = "UTF8"
	runtime["application_name"] = fmt.Sprintf("airlock:%s:%s", c.sess.User().Name, c.sess.ID())
	if sp, ok := runtime["search_path"]; ok {
		c.sess.SetSearchPath(sp)
	}
	c.defaultTimeout(runtime)
	c.runtimeBase = runtime
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.dialTO)
	defer cancel()
	up, err := dialUpstream(ctx, c.sess.Database(), cred, lvl, c.runtime(lvl), nil)
	if err != nil {
		c.sess.UpstreamFailed()
		return &startupError{code: "08001", msg: fmt.Sprintf("airlock: cannot connect to database %q", c.sess.Database().Name), err: err}
	}
	c.upMu.Lock()
	c.up = up
	c.upMu.Unlock()
	c.ur = newMsgReader(c.watch(up.conn), upBufs, 0)
	c.uw = newMsgWriter(up.conn, clientBufs)
	return nil
}

// greet finishes the client's startup: AuthenticationOk, the upstream's
// parameters, airlock's cancel key, ReadyForQuery.
func (c *conn) greet() {
	b := encode(nil, &pgproto3.AuthenticationOk{})
	for k, v := range c.up.params {
		if k == "application_name" {
			v = c.appName
		}
		b = encode(b, &pgproto3.ParameterStatus{Name: k, Value: v})
	}
	b = encode(b, &pgproto3.BackendKeyData{ProcessID: c.keyPID, SecretKey: c.keySecret})
	b = encode(b, &pgproto3.ReadyForQuery{TxStatus: 'I'})
	c.send(b)
}

func (c *conn) startupFailed(err error) {
	var se *startupError
	switch {
	case errors.As(err, &se):
		c.send(encode(nil, &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: se.code, Message: se.msg}))
		c.flush()
		if se.err != nil {
			c.log.Warn("connection refused", "reason", se.msg, "err", se.err)
		} else {
			c.log.Info("connection refused", "reason", se.msg)
		}
	case errors.Is(err, errCancelHandled):
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		c.log.Debug("connection closed during startup")
	default:
		c.log.Debug("startup failed", "err", err)
	}
}

// Interrupt is called by the gateway (gateway.Adapter), from another
// goroutine, when the session is ended: it cancels the running statement
// and wakes the connection goroutine.
func (c *conn) Interrupt() {
	go c.cancelUpstream()
	c.client.SetReadDeadline(time.Now())
	c.upMu.Lock()
	if c.up != nil {
		// A backstop in case the cancel is slow: the relay gives up
		// reading upstream well within the promised second.
		c.up.conn.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	}
	c.upMu.Unlock()
}

func (c *conn) cancelUpstream() {
	c.upMu.Lock()
	up := c.up
	c.upMu.Unlock()
	if up == nil {
		return
	}
	if err := up.cancel(); err != nil {
		c.log.Warn("cancel upstream statement", "err", err)
	}
}

func (c *conn) closeUpstream() {
	c.srv.setBackend(c, "", 0)
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if c.up == nil {
		return
	}
	c.up.conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.up.conn.Write([]byte{'X', 0, 0, 0, 4})
	c.up.conn.Close()
	c.up = nil
}

// finish ends the connection after the relay loop returned err.
func (c *conn) finish(err error) {
	c.upstreamClosed(err)
	if reason := c.sess.EndReason(); reason != "" {
		if !c.midWrite {
			c.client.SetWriteDeadline(time.Now().Add(time.Second))
			c.send(encode(nil, &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01",
				Message: "airlock: session ended: " + reason}))
			c.flush()
		}
		c.log.Info("session ended", "reason", reason)
		return
	}
	var fe *frontendError
	switch {
	case err == nil, errors.Is(err, errTerminate):
	case errors.As(err, &fe):
		c.send(encode(nil, &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "08P01", Message: fe.msg}))
		c.flush()
		c.log.Info("protocol violation", "err", fe.msg)
	case errors.As(err, new(*upstreamLost)):
		c.relayFatal()
		c.log.Info("connection closed", "err", err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("connection closed")
	default:
		c.log.Info("connection closed", "err", err)
	}
}

var errTerminate = errors.New("client terminated")

// frontendError is a protocol violation by the client.
type frontendError struct{ msg string }

func (e *frontendError) Error() string { return e.msg }

func violation(format string, args ...any) error {
	return &frontendError{msg: fmt.Sprintf(format, args...)}
}

// loop relays until the client leaves, the upstream fails or the session
// is ended.
func (c *conn) loop() error {
	defer c.releaseMem()
	for {
		if c.cr.buffered() == 0 || c.forwarded > drainAfter || c.copyAhead() {
			if err := c.exchange(); err != nil {
				return err
			}
			if c.listening && c.queue.len() == 0 && c.cr.buffered() == 0 {
				if err := c.waitIdle(); err != nil {
					return err
				}
			}
		}
		if c.ended() {
			return errEnded
		}
		c.idle.Store(c.queue.len() == 0 && !c.midBatch && !c.skip && c.txStatus == 'I')
		typ, body, err := c.nextClient()
		c.idle.Store(false)
		if err == nil && c.ended() {
			return errEnded
		}
		if err == nil {
			err = c.maybeSwitch()
		}
		if err != nil {
			if c.ended() {
				return errEnded
			}
			if errors.Is(err, errTooLong) || strings.HasPrefix(err.Error(), "invalid length") {
				return violation("invalid message: %v", err)
			}
			return err
		}
		if typ == 0 {
			continue // refused by nextClient
		}
		if err := c.fromClient(typ, body); err != nil {
			return err
		}
		c.cr.release()
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

// exchange sends what was forwarded and relays the answers.
func (c *conn) exchange() error {
	c.forwarded = 0
	if err := c.uw.Flush(); err != nil {
		return c.upstreamErr(err)
	}
	if err := c.drainWatched(); err != nil {
		return err
	}
	c.ur.release()
	return c.flush()
}

func (c *conn) upstreamErr(err error) error {
	if c.ended() {
		return errEnded
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return &upstreamLost{err: err}
}

// toUpstream queues a message for the upstream.
func (c *conn) toUpstream(typ byte, body []byte) {
	c.uw.header(typ, len(body)+4)
	c.uw.Write(body)
	c.forwarded += len(body) + 5
}

// queue is a FIFO of pending entries that reuses its array.
type queue struct {
	items []*pending
	h     int
}

func (q *queue) push(p *pending) { q.items = append(q.items, p) }
func (q *queue) len() int        { return len(q.items) - q.h }

func (q *queue) head() *pending {
	if q.h == len(q.items) {
		return nil
	}
	return q.items[q.h]
}

func (q *queue) pop() {
	q.items[q.h] = nil
	q.h++
	if q.h == len(q.items) {
		q.items, q.h = q.items[:0], 0
	}
}

func (c *conn) push(p *pending) { c.queue.push(p) }
func (c *conn) head() *pending  { return c.queue.head() }

// pop drops the head entry, which must not be used afterwards: it is kept
// for entry to hand out again.
func (c *conn) pop() {
	if h := c.queue.head(); h != nil && len(c.free) < maxFree {
		*h = pending{}
		c.free = append(c.free, h)
	}
	c.queue.pop()
	if c.answerable > 0 {
		c.answerable--
	}
}

// maxFree bounds the entries a connection keeps for reuse.
const maxFree = 16

// entry returns a new queue entry for a message of type kind, reusing one
// that pop dropped: one fewer allocation per message.
func (c *conn) entry(kind byte, ch *gateway.Check) *pending {
	var e *pending
	if n := len(c.free); n > 0 {
		e, c.free = c.free[n-1], c.free[:n-1]
	} else {
		e = new(pending)
	}
	e.kind, e.check = kind, ch
	return e
}

// answerAll marks every queued entry as one the upstream will answer.
func (c *conn) answerAll() { c.answerable = c.queue.len() }
