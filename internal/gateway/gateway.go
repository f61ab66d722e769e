// Package gateway is airlock's protocol-agnostic core. A protocol adapter
// (pgwire, mysqlwire) authenticates a client through the gateway, opens a
// Session, and for everything the client sends that can run SQL or change
// session state it asks the Session for a decision *before* forwarding
// anything; it then reports the outcome so that the statement is audited.
//
// The gateway owns the session registry: it ends sessions when their token
// expires or is revoked, or when an admin kills them, by calling the
// interrupt function the adapter registered. Nothing here knows a wire
// format or a SQL grammar: classification comes from a Classifier chosen by
// the database's engine, decisions from the policy package.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/limit"
	"airlock/internal/policy"
)

// Classifier turns SQL text of one dialect into statement facts.
type Classifier interface {
	// Classify returns the facts of each statement in text, or an error
	// whose message may be shown to the client when text does not parse.
	Classify(text string) ([]airlock.Statement, error)
}

// Options wires a Gateway.
type Options struct {
	Config      *config.Config
	Store       airlock.Store
	Audit       *audit.Log
	Policy      *policy.Engine
	Access      *access.Service
	Classifiers map[airlock.Engine]Classifier // by engine
	Admins      map[airlock.Engine]DBAdmin    // by engine
	Logger      *slog.Logger
	Now         func() time.Time
	// Observer, when set, receives measurements (see Observer).
	Observer Observer
}

// Gateway is the core shared by all protocol adapters.
type Gateway struct {
	live        atomic.Pointer[live] // the config and policy now; Reload replaces them
	store       airlock.Store
	audit       *audit.Log
	access      *access.Service
	classifiers map[airlock.Engine]Classifier
	admins      map[airlock.Engine]DBAdmin
	log         *slog.Logger
	now         func() time.Time
	observe     Observer

	mu       sync.Mutex
	peers    Peers // nil: no other gateway shares the store
	sessions map[string]*Session
	draining bool
	idle     chan struct{} // closed when draining and the last session ends

	memOnce sync.Once
	mem     *limit.Budget
	// instance names this gateway process's home (SetInstance).
	instance string
}

// New returns a gateway.
func New(o Options) *Gateway {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		store: o.Store, audit: o.Audit, access: o.Access,
		classifiers: o.Classifiers, admins: o.Admins, log: o.Logger, now: o.Now, observe: o.Observer,
		sessions: map[string]*Session{},
	}
	g.live.Store(&live{cfg: o.Config, policy: o.Policy})
	if g.access != nil {
		g.access.OnTokenRevoked = func(id string) { g.EndTokenSessions(id, "the token was revoked") }
		g.access.Grants = g
		g.access.Scripts = g
	}
	return g
}

// AccessChanged re-evaluates the level of every live session of user (a
// grant started or ended, or the user's groups or roles changed: the user
// is read again from the store first). A session whose level drops is told
// through its level hook, so that its adapter can make sure no connection
// stays elevated.
func (g *Gateway) AccessChanged(user string) {
	var fresh *airlock.User
	for _, s := range g.Sessions() {
		if s.User().Name != user {
			continue
		}
		if fresh == nil {
			u, err := g.store.GetUser(context.Background(), user)
			if err != nil {
				// Removed, or the store cannot say: the user's sessions
				// keep their record; removal ends them through token
				// revocation.
				g.log.Error("re-read the user of live sessions", "user", user, "err", err)
				u = s.User()
			}
			fresh = u
		}
		s.user.Store(fresh)
		s.refresh()
	}
}

// Login errors. Adapters map them to their protocol's codes.
var (
	// ErrBadCredentials: unknown user, or a password that is no live token.
	ErrBadCredentials = errors.New("password authentication failed")
	// ErrUnknownDatabase: the database name is not configured for this engine.
	ErrUnknownDatabase = errors.New("database does not exist")
	// ErrNoAccess: the user holds no level on the database.
	ErrNoAccess = errors.New("no access to database")
	// ErrShuttingDown: the gateway no longer accepts sessions.
	ErrShuttingDown = errors.New("airlock is shutting down")
)

// Database returns the configured database called name for engine, or
// ErrUnknownDatabase.
func (g *Gateway) Database(name string, engine airlock.Engine) (*config.Database, error) {
	db := g.config().DB(name)
	if db == nil || db.Engine != engine {
		return nil, ErrUnknownDatabase
	}
	return db, nil
}

// Verifiers returns the user and the live tokens whose verifiers a login
// may match. An unknown user gets ErrBadCredentials.
func (g *Gateway) Verifiers(ctx context.Context, user string) (*airlock.User, []*airlock.Token, error) {
	u, toks, err := g.access.LoginVerifiers(ctx, user)
	if airlock.ErrorCode(err) == airlock.ENOTFOUND {
		return nil, nil, ErrBadCredentials
	}
	return u, toks, err
}

// CheckSecret authenticates a cleartext password: it must be a live token
// of user.
func (g *Gateway) CheckSecret(ctx context.Context, user, secret string) (*airlock.User, *airlock.Token, error) {
	a, err := g.access.Authenticate(ctx, secret)
	if airlock.ErrorCode(err) == airlock.EUNAUTHORIZED || (err == nil && a.User.Name != user) {
		return nil, nil, ErrBadCredentials
	}
	if err != nil {
		return nil, nil, err
	}
	return a.User, a.Token, nil
}

// Login describes an authenticated client asking for a session.
type Login struct {
	User        *airlock.User
	Token       *airlock.Token
	Database    *config.Database
	ClientAddr  string
	Application string
	// OnBehalfOf names the person an agent acts for (the MCP server),
	// shown in every event of the session.
	OnBehalfOf string
	// Adapter is what the protocol adapter gives the session (nil:
	// NoAdapter).
	Adapter Adapter
}

// Open starts a session for an authenticated login. The session's level is
// the highest level the user holds on the database now, capped by the
// credentials configured for it.
func (g *Gateway) Open(ctx context.Context, l Login) (*Session, error) {
	g.loginSucceeded(l)
	g.mu.Lock()
	draining := g.draining
	g.mu.Unlock()
	if draining {
		return nil, ErrShuttingDown
	}
	if err := g.audit.Err(); err != nil {
		return nil, err
	}
	s := &Session{
		g: g, token: l.Token, onBehalfOf: l.OnBehalfOf, adapter: l.Adapter,
		prepared: map[string]*Prepared{},
		ended:    make(chan struct{}),
	}
	if s.adapter == nil {
		s.adapter = NoAdapter{}
	}
	s.user.Store(l.User)
	s.db.Store(l.Database)
	acc, err := g.accessFor(ctx, l.User, l.Database)
	if err != nil {
		return nil, err
	}
	lvl := acc.level
	if lvl == airlock.LevelNone {
		return nil, ErrNoAccess
	}
	s.setAccess(acc)
	s.info = airlock.Session{
		ID: airlock.NewID("s_"), User: l.User.Name, Database: l.Database.Name, Engine: string(l.Database.Engine),
		ClientAddr: l.ClientAddr, Application: l.Application, Level: lvl, StartedAt: g.now().UTC(),
	}
	if err := g.store.CreateSession(ctx, &s.info); err != nil {
		return nil, fmt.Errorf("record session: %w", err)
	}
	if err := g.recordOpened(ctx, s, map[string]string{"level": lvl.String(), "token": l.Token.ID}); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.sessions[s.info.ID] = s
	g.mu.Unlock()
	if g.observe != nil {
		g.observe.SessionOpened(string(l.Database.Engine), lvl)
	}
	if exp := l.Token.ExpiresAt; exp != nil {
		s.expiry = time.AfterFunc(exp.Sub(g.now()), func() { s.End("the token expired") })
	}
	return s, nil
}

// grantAccess is what a user may do on a database now.
type grantAccess struct {
	level airlock.Level
	// writeTables, when not nil, are the only tables writes may touch
	// (every grant that allows writing names tables).
	writeTables []string
	// until is when this must be computed again (the first grant to
	// end); zero when no grant is involved.
	until time.Time
}

// accessFor computes what user may do on db now: the higher of the
// policies' standing level and the active grants, capped by the highest
// credential configured on db.
func (g *Gateway) accessFor(ctx context.Context, u *airlock.User, db *config.Database) (grantAccess, error) {
	a := grantAccess{level: g.policyEngine().StandingLevel(u, db.Name)}
	if u.IsAgent() && a.level > airlock.LevelRead {
		// Agents are read-only unless a grant says otherwise.
		a.level = airlock.LevelRead
	}
	grants, err := g.access.ActiveGrants(ctx, u.Name, db.Name)
	if err != nil {
		return a, fmt.Errorf("read grants: %w", err)
	}
	unrestricted := a.level >= airlock.LevelWrite
	for _, gr := range grants {
		if gr.Level > a.level {
			a.level = gr.Level
		}
		if a.until.IsZero() || gr.ExpiresAt.Before(a.until) {
			a.until = gr.ExpiresAt
		}
		if gr.Level >= airlock.LevelWrite {
			if len(gr.Tables) == 0 {
				unrestricted = true
			}
			for _, t := range gr.Tables {
				if !slices.Contains(a.writeTables, t) {
					a.writeTables = append(a.writeTables, t)
				}
			}
		}
	}
	if unrestricted || a.level < airlock.LevelWrite {
		a.writeTables = nil
	} else if a.writeTables == nil {
		a.writeTables = []string{}
	}
	for a.level > airlock.LevelNone {
		if _, ok := db.Credentials[a.level]; ok {
			break
		}
		a.level--
	}
	return a, nil
}

// Session returns the live session with id, or nil.
func (g *Gateway) Session(id string) *Session {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[id]
}

// Sessions returns the live sessions.
func (g *Gateway) Sessions() []*Session {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*Session, 0, len(g.sessions))
	for _, s := range g.sessions {
		out = append(out, s)
	}
	return out
}

// EndTokenSessions ends every session opened with token id.
func (g *Gateway) EndTokenSessions(id, reason string) {
	for _, s := range g.Sessions() {
		if s.token.ID == id {
			s.End(reason)
		}
	}
}

// Drain stops new sessions and returns a channel closed once no session is
// left.
func (g *Gateway) Drain() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	g.draining = true
	if len(g.sessions) == 0 {
		select {
		case <-g.idle:
		default:
			close(g.idle)
		}
	}
	return g.idle
}

// EndAll ends every live session with reason.
func (g *Gateway) EndAll(reason string) {
	for _, s := range g.Sessions() {
		s.End(reason)
	}
}

func (g *Gateway) forget(s *Session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.sessions, s.info.ID)
	if g.draining && len(g.sessions) == 0 && g.idle != nil {
		select {
		case <-g.idle:
		default:
			close(g.idle)
		}
	}
}
