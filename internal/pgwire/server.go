// Package pgwire is airlock's PostgreSQL adapter. It speaks the PostgreSQL
// frontend/backend protocol (version 3.0) to clients and to the upstream
// server, and asks the gateway core for a decision before it forwards
// anything that can run SQL or change session state.
//
// # Connection lifecycle
//
// A client connects and may ask for TLS (SSLRequest: 'S' when a certificate
// is configured, else 'N') or GSS encryption (always 'N'); a connection
// that closes before its startup packet is a probe and is not logged as an
// error. The StartupMessage's parameters are allow-listed. The client then
// authenticates with its airlock token as the password: SCRAM-SHA-256 by
// default (the proof is checked against every live token of the user), or
// cleartext when the listener allows it, only over TLS or from loopback.
// The gateway opens a session at the user's level, and the adapter connects
// upstream with that level's credential; a read session's upstream also
// gets default_transaction_read_only=on in its startup packet, so that
// RESET ALL and DISCARD ALL cannot undo it. The client receives the
// upstream's ParameterStatus messages and a BackendKeyData with the
// upstream backend's PID and a secret of airlock's own; a CancelRequest
// carrying that key comes to airlock and is sent on to the upstream backend
// with the upstream's own key. The PID is the backend's, so that
// pg_terminate_backend and pg_cancel_backend name it (signal.go). After an
// upstream switch the client keeps the key it was given: cancels reach the
// new backend, while the PID names the former one.
//
// # The relay
//
// One goroutine serves a connection. It reads the client's messages; each
// message that runs SQL is decided first: a simple Query as a whole (denied
// whole if any statement is denied), a Parse when it is parsed, and an
// Execute again at the session's level at that moment. Allowed messages are
// forwarded, and an entry describing the response they will produce is
// queued. When the client has nothing more buffered, the goroutine flushes
// upstream and relays the responses until every answerable entry is
// answered, following them to audit each statement with its row count,
// error and duration. DataRow and CopyData bodies stream through without
// being held whole.
//
// # Denials
//
// A denied message is never forwarded. To keep client and upstream in the
// same transaction state, airlock instead sends the upstream a Describe of
// a statement name no client can use, which fails: the upstream aborts the
// implicit transaction of the batch (or fails the explicit transaction
// block) exactly as it would for an error in the denied statement, and
// skips to Sync. The relay replaces that error with airlock's own
// (SQLSTATE 42501, "airlock: denied: <rule>: <why>", and a HINT) and the
// client's following messages are dropped up to its Sync. After a denial in
// a simple Query, airlock sends its own Sync, whose ReadyForQuery answers
// the client's Query.
//
// # Ending a session
//
// When the gateway ends a session (token expired or revoked, killed,
// shutdown), the adapter cancels what runs upstream, wakes the connection
// goroutine with a read deadline, sends FATAL 57P01 with the reason and
// closes both connections; closing the upstream connection rolls back an
// open transaction.
//
// # Debugging
//
// Run with log.level: debug to see each connection's startup, the
// statements decided and the relay's errors; tokens, passwords and bind
// values are never logged.
package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"net"
	"sync"
	"time"

	"airlock/internal/gateway"
	"airlock/internal/listen"
)

// Options configure a Server.
type Options struct {
	Gateway *gateway.Gateway
	// TLS, when set, is offered to clients that ask with SSLRequest.
	TLS *tls.Config
	// Cleartext accepts the token as a cleartext password (only over TLS
	// or from loopback) instead of SCRAM-SHA-256.
	Cleartext bool
	Logger    *slog.Logger
	// DialTimeout bounds connecting upstream; default 10s.
	DialTimeout time.Duration
	// AuthTimeout bounds a connection until its session is open; default
	// 1m.
	AuthTimeout time.Duration
	// RequireTLS refuses clients that did not switch to TLS.
	RequireTLS bool
}

// Server accepts PostgreSQL clients.
type Server struct {
	gw      *gateway.Gateway
	tls     *tls.Config
	clear   bool
	log     *slog.Logger
	dialTO  time.Duration
	marker  string // name of the statement that denial markers describe
	fakeKey []byte // keys fake SCRAM salts of unknown users

	// authTO bounds a connection until its session is open; requireTLS
	// refuses clients that did not switch to TLS.
	authTO     time.Duration
	requireTLS bool

	mu    sync.Mutex
	conns map[*conn]struct{}
	keys  map[[8]byte]*conn // cancel keys: the upstream PID, then airlock's secret
	// backends are the connections by the PID of their upstream backend
	// now (several when databases live on different servers).
	backends map[uint32][]*conn
	// guessWarned is when a wrong cancel secret was last logged.
	guessWarned time.Time
	acc         listen.Acceptor
	// viewCats are the view catalogues, by database (views.go).
	viewCats map[string]*viewCatalog
}

// NewServer returns a server.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.AuthTimeout == 0 {
		o.AuthTimeout = time.Minute
	}
	var r [8]byte
	rand.Read(r[:])
	fk := make([]byte, 32)
	rand.Read(fk)
	return &Server{
		gw: o.Gateway, tls: o.TLS, clear: o.Cleartext, log: o.Logger, dialTO: o.DialTimeout,
		marker:  denyPrefix + hex.EncodeToString(r[:]),
		fakeKey: fk,
		authTO:  o.AuthTimeout, requireTLS: o.RequireTLS,
		conns: map[*conn]struct{}{},
		keys:  map[[8]byte]*conn{},

		backends: map[uint32][]*conn{},
	}
}

// denyPrefix starts the names of airlock's denial-marker statements;
// clients may not use statement names that start with it.
const denyPrefix = "airlock_denied_"

// Serve accepts connections on ln until StopAccepting.
func (s *Server) Serve(ln net.Listener) error {
	return s.acc.Serve(ln, func(nc net.Conn) { newConn(s, nc).serve() })
}

// StopAccepting closes the listeners; established sessions go on.
func (s *Server) StopAccepting() { s.acc.StopAccepting() }

// Wait blocks until every connection goroutine returned, or ctx is done.
func (s *Server) Wait(ctx context.Context) error { return s.acc.Wait(ctx) }

func (s *Server) track(c *conn, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
		if c.keySecret != nil && s.keys[c.cancelKey()] == c {
			delete(s.keys, c.cancelKey())
		}
		s.dropBackend(c)
	}
}

// newKey registers c under a fresh cancel key: the PID of its upstream
// backend, which the client may use to name that backend, and a random
// secret that no other key of this server has with the same PID (two
// databases on different servers may hand out the same PID). Like
// PostgreSQL's own keys under protocol 3.0, the key is as hard to guess as
// its 32-bit secret; every session has its own, and gateways do not share
// keys, so a cancel is answered by the gateway the client connected to.
func (s *Server) newKey(c *conn, pid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		var b [8]byte
		binary.BigEndian.PutUint32(b[:4], pid)
		rand.Read(b[4:])
		if s.keys[b] != nil {
			continue
		}
		c.keyPID, c.keySecret = pid, append([]byte(nil), b[4:]...)
		s.keys[b] = c
		return
	}
}

// cancel handles a CancelRequest: when the key matches a session, its
// running upstream statement is cancelled (on the upstream connection it
// has now, which after a switch is not the one the key's PID names).
func (s *Server) cancel(pid uint32, secret []byte) {
	var k [8]byte
	binary.BigEndian.PutUint32(k[:4], pid)
	if len(secret) != 4 {
		s.log.Debug("cancel request with an unknown key")
		return
	}
	copy(k[4:], secret)
	s.mu.Lock()
	c := s.keys[k]
	// A wrong secret for a live backend's PID may be someone guessing
	// keys (PIDs are not secret): said at most once a second.
	guess := c == nil && len(s.backends[pid]) > 0 && time.Since(s.guessWarned) >= time.Second
	if guess {
		s.guessWarned = time.Now()
	}
	s.mu.Unlock()
	if guess {
		s.log.Warn("cancel request with a wrong secret for a session's backend", "pid", pid)
	}
	if c == nil {
		s.log.Debug("cancel request with an unknown key")
		return
	}
	c.cancelUpstream()
}

// setBackend records that c's upstream backend is pid now (0: none), for
// ownBackend; owner is who may signal it, the session's user and database.
func (s *Server) setBackend(c *conn, owner string, pid uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropBackend(c)
	if pid == 0 {
		return
	}
	c.backendPID, c.backendOwner = pid, owner
	s.backends[pid] = append(s.backends[pid], c)
}

// dropBackend forgets c's upstream backend; s.mu is held.
func (s *Server) dropBackend(c *conn) {
	if c.backendPID == 0 {
		return
	}
	list := s.backends[c.backendPID]
	for i, o := range list {
		if o == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.backends, c.backendPID)
	} else {
		s.backends[c.backendPID] = list
	}
	c.backendPID = 0
}

// ownBackend reports whether pid is the upstream backend, now, of a
// session this server serves for owner (a user on a database).
func (s *Server) ownBackend(owner string, pid uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.backends[pid] {
		if o.backendOwner == owner {
			return true
		}
	}
	return false
}
