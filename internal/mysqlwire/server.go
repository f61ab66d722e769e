// Package mysqlwire is airlock's MySQL/MariaDB adapter. It speaks the
// MySQL client/server protocol (4.1) to clients and to the upstream
// server, and asks the gateway core for a decision before it forwards
// anything that can run SQL or change session state.
//
// # Connection lifecycle
//
// airlock greets the client (HandshakeV10) with a connection id of its
// own and the upstream server's version string (learned from the last
// upstream connection; first by reading the greeting of the first MySQL
// database in the config), switches to TLS when the client sends an SSL
// request and a certificate is configured, and reads the handshake
// response: user = airlock user, password = token, database = airlock
// database name (none: the only MySQL database configured, as the mysql
// client's Ctrl-C connection sends none).
//
// Authentication (startup.go) proposes caching_sha2_password and accepts
// a mysql_native_password scramble too; a scramble is checked against
// the verifiers of each live token of the user. When none matches, the
// client is asked for full authentication and sends the token itself: in
// cleartext over TLS, or encrypted with airlock's RSA key (made at first
// use) without TLS; the token is then checked like an API bearer token.
// With `auth: cleartext` on the listener, airlock asks for
// mysql_clear_password, over TLS or from loopback only. Unknown users go
// through the same exchange and get the same ERR 1045 (28000).
//
// The gateway opens a session at the user's level, and the adapter
// connects upstream with that level's credential to the database's schema
// (upstream.go), asking for exactly the client's choice of the
// capabilities that change what packets mean (CLIENT_DEPRECATE_EOF,
// CLIENT_SESSION_TRACK, multi-statements and multi-results, found rows,
// MariaDB's extended metadata), so that answers relay byte for byte. It
// never offers compression, LOAD DATA LOCAL, query attributes, bulk
// execution or progress reports. On the upstream it pins the connection
// character set (utf8mb4, in the client's collation when it is one of
// utf8mb4's) and an sql_mode without the flags that change how text lexes
// (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, ANSI, IGNORE_SPACE, ORACLE...), and
// a read session runs SET SESSION TRANSACTION READ ONLY (on an account
// that cannot write anyway). COM_RESET_CONNECTION re-applies all of it
// before the client hears OK.
//
// # Commands
//
// One goroutine serves a connection, one command at a time (pipelined
// commands wait in the buffer). COM_QUERY is decided as a whole: all the
// statements of a multi-statement query are decided first, and one denial
// denies the query. COM_STMT_PREPARE is classified and decided when
// prepared; each COM_STMT_EXECUTE is decided again at the session's level
// at that moment and audited with its parameters (long data included, the
// first 4 KiB of each). Statement ids are airlock's own, mapped to the
// upstream's, so that prepared statements survive a change of upstream
// connection. Result sets stream through packet by packet, split packets
// (16 MiB and more) too, so memory stays bounded whatever their size.
// COM_SET_OPTION is forwarded: the classifier checks every statement of a
// query whether multi-statements are on or not, and the upstream's option
// is always the client's. COM_INIT_DB may only name the database's schema
// (by its airlock name or its schema name), and USE only the schema;
// COM_CHANGE_USER is refused and closes the connection; commands airlock
// does not relay (shutdown, replication, debug, process kill...) are
// denied.
//
// # Denials
//
// A denied command gets ERR 1227, SQLSTATE 42000, "airlock: denied:
// <rule>: <why>"; nothing of it reaches the database, and the connection
// stays usable. MySQL keeps a transaction open after an error, and so
// does a denial. Writes to tables of non-transactional engines (MyISAM,
// Aria, MEMORY...) and through views are denied before they are forwarded
// (rule non-transactional).
//
// # Guarded writes
//
// See guard.go: a write the gateway marks guarded runs in a transaction or
// savepoint airlock opens, its changed rows are counted from the session's
// handler counters before anything can commit, and it is rolled back and
// denied over the limit.
//
// # Access changes, cancellation and ending
//
// When a grant starts or ends, the session moves to a connection with the
// new level's credential between transactions, carrying settings, user
// variables and prepared statements over (switch.go); state that cannot
// move (temporary tables, table or named locks) ends the session with a
// message. `KILL QUERY <id>` from another connection of the same user,
// with the connection id airlock gave or the upstream thread id, kills
// the statement of that session upstream (kill.go). When the gateway ends
// a session, airlock kills the statement running upstream, the client
// gets ERR 1927 (SQLSTATE 70100) "airlock: session ended: <reason>", and
// both connections close.
//
// # Debugging
//
// Run with log.level: debug to see each connection's startup (with how
// it authenticated and its upstream thread id) and errors; tokens,
// passwords and parameter values are never logged.
package mysqlwire

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/listen"
)

// Options configure a Server.
type Options struct {
	Gateway *gateway.Gateway
	// Config names the databases; the first MySQL one gives the version
	// string of the greeting until an upstream connection tells.
	Config *config.Config
	// TLS, when set, is offered to clients (CLIENT_SSL).
	TLS *tls.Config
	// Cleartext asks clients for the token with mysql_clear_password
	// (accepted only over TLS or from loopback).
	Cleartext bool
	Logger    *slog.Logger
	// DialTimeout bounds connecting upstream; default 10s.
	DialTimeout time.Duration
	// AuthTimeout bounds a connection until its session is open; default
	// 1m.
	AuthTimeout time.Duration
	// RequireTLS refuses clients that do not ask for TLS.
	RequireTLS bool
}

// Server accepts MySQL clients.
type Server struct {
	gw     *gateway.Gateway
	cfg    *config.Config
	tls    *tls.Config
	clear  bool
	log    *slog.Logger
	dialTO time.Duration
	authTO time.Duration
	// requireTLS refuses clients that do not ask for TLS.
	requireTLS bool

	keyOnce sync.Once
	key     *rsa.PrivateKey
	keyErr  error

	// viewsGen counts DDL statements that passed through; a session reads
	// view definitions again when it changed (views.go).
	viewsGen atomic.Uint64

	mu      sync.Mutex
	conns   map[uint32]*conn // by connection id
	version string           // announced server version
	acc     listen.Acceptor
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
	return &Server{gw: o.Gateway, cfg: o.Config, tls: o.TLS, clear: o.Cleartext, log: o.Logger, dialTO: o.DialTimeout, conns: map[uint32]*conn{},
		authTO: o.AuthTimeout, requireTLS: o.RequireTLS}
}

// Serve accepts connections on ln until StopAccepting.
func (s *Server) Serve(ln net.Listener) error {
	return s.acc.Serve(ln, func(nc net.Conn) { newConn(s, nc).serve() })
}

// StopAccepting closes the listeners; established sessions go on.
func (s *Server) StopAccepting() { s.acc.StopAccepting() }

// Wait blocks until every connection goroutine returned, or ctx is done.
func (s *Server) Wait(ctx context.Context) error { return s.acc.Wait(ctx) }

// register gives c a connection id no live connection has.
func (s *Server) register(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		var b [4]byte
		rand.Read(b[:])
		// Upstream thread ids count up from 1; airlock's stay far from
		// them so that KILL QUERY can tell the two apart.
		id := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		id = 1<<30 | id&(1<<30-1)
		if s.conns[id] == nil {
			c.id = id
			s.conns[id] = c
			return
		}
	}
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
	}
}

// target finds the connection that KILL QUERY id from a session of user
// on db means: the one airlock gave id to, or else the one whose upstream
// thread is id; nil when it belongs to no live session of theirs.
func (s *Server) target(id uint32, from *conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	same := func(o *conn) bool {
		sess := o.session()
		return o != from && sess != nil && sess.User().Name == from.sess.User().Name && sess.Database().Name == from.sess.Database().Name
	}
	if o := s.conns[id]; o != nil {
		if same(o) {
			return o
		}
		return nil
	}
	for _, o := range s.conns {
		if same(o) && o.upThread() == id {
			return o
		}
	}
	return nil
}

// rsaKey returns airlock's key for caching_sha2_password's RSA exchange,
// made at first use.
func (s *Server) rsaKey() (*rsa.PrivateKey, error) {
	s.keyOnce.Do(func() { s.key, s.keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	return s.key, s.keyErr
}

// serverVersion is the version string of the greeting: the upstream's, as
// learned from the last upstream connection (first from the first MySQL
// database in the config), so that clients adapt to the real server.
func (s *Server) serverVersion() string {
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	if v != "" {
		return v
	}
	for i := range s.databases() {
		db := &s.cfg.Databases[i]
		if db.Engine != airlock.EngineMySQL {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		v, err := probeVersion(ctx, db.Address)
		cancel()
		if err == nil {
			s.setVersion(v)
			return v
		}
		s.log.Warn("read the upstream server version", "database", db.Name, "err", err)
		break
	}
	return "8.0.0-airlock"
}

// mysqlDatabases names the configured MySQL databases.
func (s *Server) mysqlDatabases() []string {
	var out []string
	for _, db := range s.databases() {
		if db.Engine == airlock.EngineMySQL {
			out = append(out, db.Name)
		}
	}
	return out
}

func (s *Server) databases() []config.Database {
	if s.cfg == nil {
		return nil
	}
	return s.cfg.Databases
}

func (s *Server) setVersion(v string) {
	s.mu.Lock()
	s.version = v
	s.mu.Unlock()
}

// probeVersion reads a server's greeting and hangs up.
func probeVersion(ctx context.Context, addr string) (string, error) {
	d := net.Dialer{}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	p, _, err := newPktReader(nc, upReadBuf).next(maxHandshake)
	if err != nil {
		return "", err
	}
	g, err := parseGreeting(p)
	if err != nil {
		return "", err
	}
	return g.version, nil
}
