// Package access manages who may do what: users, tokens and (with grants)
// the level a user holds on a database now. Every method that acts for a
// caller takes the caller's Actor and checks the caller's right before it
// touches anything; every change is audited.
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/auth"
	"airlock/internal/config"
)

// Actor is the authenticated caller of an action.
type Actor struct {
	User  *airlock.User
	Token *airlock.Token
}

// IsAdmin reports whether the actor holds the admin role.
func (a *Actor) IsAdmin() bool { return a != nil && a.User.HasRole(airlock.RoleAdmin) }

// Store is what the service keeps its state in.
type Store = airlock.Store

// Service implements users, tokens, requests and grants.
type Service struct {
	store Store
	audit *audit.Log
	cfg   atomic.Pointer[config.Config] // SetConfig replaces it on reload
	log   *slog.Logger
	now   func() time.Time

	// OnTokenRevoked is called after a token is revoked, so that the
	// gateway can end the sessions that use it.
	OnTokenRevoked func(tokenID string)
	// Grants is told when a user's grants change.
	Grants Grants
	// Scripts dry-runs and runs change scripts.
	Scripts Scripts

	timersMu sync.Mutex
	timers   map[string]*time.Timer
	stopped  bool
}

// New returns the service.
func New(store Store, log *audit.Log, cfg *config.Config, logger *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, audit: log, log: logger, now: now}
	s.cfg.Store(cfg)
	return s
}

var errUnauthorized = airlock.Errorf(airlock.EUNAUTHORIZED, "invalid, expired or revoked token")

// Authenticate resolves a bearer secret to its actor. Bad, expired and
// revoked tokens all get the same EUNAUTHORIZED error.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Actor, error) {
	if len(secret) < 32 || len(secret) > 256 {
		return nil, errUnauthorized
	}
	t, err := s.store.TokenByHash(ctx, auth.Hash(secret))
	if airlock.ErrorCode(err) == airlock.ENOTFOUND {
		return nil, errUnauthorized
	} else if err != nil {
		return nil, err
	}
	if !t.Live(s.now()) {
		return nil, errUnauthorized
	}
	u, err := s.store.GetUser(ctx, t.User)
	if airlock.ErrorCode(err) == airlock.ENOTFOUND {
		return nil, errUnauthorized
	} else if err != nil {
		return nil, err
	}
	return &Actor{User: u, Token: t}, nil
}

// LoginVerifiers returns user and its live tokens, for a database login
// (SCRAM checks the client's proof against each token's verifier). An
// unknown user gets ENOTFOUND.
func (s *Service) LoginVerifiers(ctx context.Context, user string) (*airlock.User, []*airlock.Token, error) {
	u, err := s.store.GetUser(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	toks, err := s.store.ListTokens(ctx, airlock.TokenFilter{User: user, LiveAt: s.now()})
	if err != nil {
		return nil, nil, err
	}
	return u, toks, nil
}

// IssueRequest asks for a token.
type IssueRequest struct {
	User string
	TTL  time.Duration // 0: the configured default
	Note string
}

// IssueToken issues a token. Admins issue for anyone; others only for
// themselves, and a token never outlives the token that issued it.
func (s *Service) IssueToken(ctx context.Context, a *Actor, req IssueRequest) (string, *airlock.Token, error) {
	if req.User == "" {
		req.User = a.User.Name
	}
	if req.User != a.User.Name && !a.IsAdmin() {
		return "", nil, airlock.Errorf(airlock.EFORBIDDEN, "only admins issue tokens for other users")
	}
	ttl, err := s.ttl(req.TTL)
	if err != nil {
		return "", nil, err
	}
	exp := s.now().Add(ttl)
	if req.User == a.User.Name && a.Token.ExpiresAt != nil && a.Token.ExpiresAt.Before(exp) {
		exp = *a.Token.ExpiresAt
	}
	return s.issue(ctx, req.User, &exp, a.User.Name, req.Note)
}

func (s *Service) ttl(ttl time.Duration) (time.Duration, error) {
	if ttl == 0 {
		ttl = s.config().Tokens.DefaultTTL.D()
	}
	if ttl < time.Second {
		return 0, airlock.Errorf(airlock.EINVALID, "ttl must be at least 1s")
	}
	if maxTTL := s.config().Tokens.MaxTTL.D(); ttl > maxTTL {
		return 0, airlock.Errorf(airlock.EINVALID, "ttl %s is longer than the maximum %s", ttl, maxTTL)
	}
	return ttl, nil
}

// IssueTokenDirect issues a token without a caller: the break-glass path of
// `airlock tokens issue --config`, which works on the store itself.
func (s *Service) IssueTokenDirect(ctx context.Context, user string, ttl time.Duration, by string) (string, *airlock.Token, error) {
	ttl, err := s.ttl(ttl)
	if err != nil {
		return "", nil, err
	}
	exp := s.now().Add(ttl)
	return s.issue(ctx, user, &exp, by, "break-glass")
}

func (s *Service) issue(ctx context.Context, user string, exp *time.Time, by, note string) (string, *airlock.Token, error) {
	return s.issueSecret(ctx, auth.NewSecret(), user, exp, by, note)
}

func (s *Service) issueSecret(ctx context.Context, secret, user string, exp *time.Time, by, note string) (string, *airlock.Token, error) {
	u, err := s.store.GetUser(ctx, user)
	if airlock.ErrorCode(err) == airlock.ENOTFOUND {
		return "", nil, airlock.Errorf(airlock.ENOTFOUND, "no user %q", user)
	} else if err != nil {
		return "", nil, err
	}
	stored, server := auth.Verifier(secret, u.ScramSalt, auth.Iterations)
	t := &airlock.Token{
		ID: airlock.NewID("tok_"), User: user, CreatedBy: by, CreatedAt: s.now().UTC(), ExpiresAt: exp,
		Note: note, Hash: auth.Hash(secret), StoredKey: stored, ServerKey: server, Iterations: auth.Iterations,
		MySQLNative: auth.MySQLNativeHash(secret), MySQLSHA2: auth.MySQLSHA2Hash(secret),
	}
	if exp != nil {
		e := exp.UTC()
		t.ExpiresAt = &e
	}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", nil, fmt.Errorf("store token: %w", err)
	}
	detail := map[string]string{"expires_at": "never"}
	if t.ExpiresAt != nil {
		detail["expires_at"] = t.ExpiresAt.Format(time.RFC3339)
	}
	if err := s.audit.Record(ctx, &airlock.Event{Type: airlock.EventToken, Action: "issued", User: user, Actor: by, Ref: t.ID, Detail: detail}); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// RevokeToken revokes a token: admins any, others their own.
func (s *Service) RevokeToken(ctx context.Context, a *Actor, id string) error {
	t, err := s.store.GetToken(ctx, id)
	if err != nil {
		return err
	}
	if t.User != a.User.Name && !a.IsAdmin() {
		return airlock.Errorf(airlock.EFORBIDDEN, "only admins revoke other users' tokens")
	}
	return s.revoke(ctx, t, a.User.Name)
}

func (s *Service) revoke(ctx context.Context, t *airlock.Token, by string) error {
	if err := s.store.RevokeToken(ctx, t.ID, s.now().UTC(), by); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, &airlock.Event{Type: airlock.EventToken, Action: "revoked", User: t.User, Actor: by, Ref: t.ID}); err != nil {
		return err
	}
	if s.OnTokenRevoked != nil {
		s.OnTokenRevoked(t.ID)
	}
	return nil
}

// ListTokens lists tokens: admins anyone's (user "" for all), others their own.
func (s *Service) ListTokens(ctx context.Context, a *Actor, user string) ([]*airlock.Token, error) {
	if !a.IsAdmin() {
		if user != "" && user != a.User.Name {
			return nil, airlock.Errorf(airlock.EFORBIDDEN, "only admins list other users' tokens")
		}
		user = a.User.Name
	}
	return s.store.ListTokens(ctx, airlock.TokenFilter{User: user})
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// CreateUser adds a user managed through the API (admins only).
func (s *Service) CreateUser(ctx context.Context, a *Actor, u *airlock.User) error {
	if !a.IsAdmin() {
		return airlock.Errorf(airlock.EFORBIDDEN, "only admins add users")
	}
	if !nameRE.MatchString(u.Name) {
		return airlock.Errorf(airlock.EINVALID, "a user name is 1 to 63 letters, digits, _ . - (got %q)", u.Name)
	}
	for _, r := range u.Roles {
		if r != airlock.RoleAdmin && r != airlock.RoleApprover {
			return airlock.Errorf(airlock.EINVALID, "unknown role %q (want admin or approver)", r)
		}
	}
	switch {
	case u.Kind != "" && u.Kind != airlock.KindAgent:
		return airlock.Errorf(airlock.EINVALID, "unknown user kind %q (want agent, or none for a person)", u.Kind)
	case u.IsAgent() && len(u.Roles) > 0:
		return airlock.Errorf(airlock.EINVALID, "an agent holds no role: it neither approves nor administers")
	}
	if s.configUser(u.Name) != nil {
		return airlock.Errorf(airlock.ECONFLICT, "user %q is declared in the config file; change it there", u.Name)
	}
	u.FromConfig = false
	u.ScramSalt = auth.NewSalt()
	u.CreatedAt = s.now().UTC()
	if u.Groups == nil {
		u.Groups = []string{}
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if airlock.ErrorCode(err) == airlock.ECONFLICT {
			return airlock.Errorf(airlock.ECONFLICT, "user %q exists", u.Name)
		}
		return err
	}
	return s.audit.Record(ctx, &airlock.Event{Type: airlock.EventUser, Action: "created", User: u.Name, Actor: a.User.Name,
		Detail: userDetail(u)})
}

func userDetail(u *airlock.User) map[string]string {
	d := map[string]string{"groups": fmt.Sprint(u.Groups), "roles": fmt.Sprint(u.Roles)}
	if u.Kind != "" {
		d["kind"] = u.Kind
	}
	return d
}

// ListUsers lists every user (admins only).
func (s *Service) ListUsers(ctx context.Context, a *Actor) ([]*airlock.User, error) {
	if !a.IsAdmin() {
		return nil, airlock.Errorf(airlock.EFORBIDDEN, "only admins list users")
	}
	return s.store.ListUsers(ctx)
}

func (s *Service) configUser(name string) *airlock.User {
	for _, u := range s.config().ConfigUsers() {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// SyncConfigUsers makes the store agree with the users of the config:
// declared users are created or updated; users that came from the config
// and are gone from it are removed, their tokens revoked first.
func (s *Service) SyncConfigUsers(ctx context.Context) error {
	existing, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*airlock.User{}
	for _, u := range existing {
		byName[u.Name] = u
	}
	for _, cu := range s.config().ConfigUsers() {
		u := byName[cu.Name]
		if u == nil {
			cu.ScramSalt, cu.CreatedAt = auth.NewSalt(), s.now().UTC()
			if err := s.store.CreateUser(ctx, cu); err != nil {
				return fmt.Errorf("create config user %s: %w", cu.Name, err)
			}
			continue
		}
		if !u.FromConfig || !slices.Equal(u.Groups, cu.Groups) || !slices.Equal(u.Roles, cu.Roles) || u.Kind != cu.Kind {
			u.FromConfig, u.Groups, u.Roles, u.Kind = true, cu.Groups, cu.Roles, cu.Kind
			if err := s.store.UpdateUser(ctx, u); err != nil {
				return fmt.Errorf("update config user %s: %w", cu.Name, err)
			}
		}
	}
	for _, u := range existing {
		if !u.FromConfig || s.configUser(u.Name) != nil {
			continue
		}
		toks, err := s.store.ListTokens(ctx, airlock.TokenFilter{User: u.Name, LiveAt: s.now()})
		if err != nil {
			return err
		}
		for _, t := range toks {
			if err := s.revoke(ctx, t, "config"); err != nil {
				return err
			}
		}
		if err := s.store.DeleteUser(ctx, u.Name); err != nil {
			return fmt.Errorf("remove user %s: %w", u.Name, err)
		}
		if err := s.audit.Record(ctx, &airlock.Event{Type: airlock.EventUser, Action: "removed", User: u.Name, Actor: "config"}); err != nil {
			return err
		}
	}
	return nil
}

// BootstrapUser is the name of the bootstrap admin.
const BootstrapUser = "admin"

// Bootstrap makes sure an admin can act. With envSecret (32+ characters),
// user "admin" exists with the admin role and envSecret is one of its
// tokens, without expiry. Without it, when no live admin token exists, it
// issues one and returns its secret (generated is then non-empty).
func (s *Service) Bootstrap(ctx context.Context, envSecret string) (generated string, err error) {
	if envSecret != "" && len(envSecret) < 32 {
		return "", errors.New("AIRLOCK_BOOTSTRAP_TOKEN must be at least 32 characters")
	}
	u, err := s.store.GetUser(ctx, BootstrapUser)
	switch {
	case airlock.ErrorCode(err) == airlock.ENOTFOUND:
		u = &airlock.User{Name: BootstrapUser, Groups: []string{}, Roles: []string{airlock.RoleAdmin}, ScramSalt: auth.NewSalt(), CreatedAt: s.now().UTC()}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return "", fmt.Errorf("create bootstrap admin: %w", err)
		}
	case err != nil:
		return "", err
	case !u.HasRole(airlock.RoleAdmin):
		u.Roles = append(u.Roles, airlock.RoleAdmin)
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return "", fmt.Errorf("make bootstrap user admin: %w", err)
		}
	}
	if envSecret != "" {
		t, err := s.store.TokenByHash(ctx, auth.Hash(envSecret))
		if err == nil && t.User == BootstrapUser && t.Live(s.now()) {
			return "", nil
		}
		if err != nil && airlock.ErrorCode(err) != airlock.ENOTFOUND {
			return "", err
		}
		if err == nil {
			return "", errors.New("AIRLOCK_BOOTSTRAP_TOKEN matches a token that is revoked or belongs to another user; choose another value")
		}
		_, _, err = s.issueSecret(ctx, envSecret, BootstrapUser, nil, "bootstrap", "bootstrap (AIRLOCK_BOOTSTRAP_TOKEN)")
		return "", err
	}
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	for _, au := range users {
		if !au.HasRole(airlock.RoleAdmin) {
			continue
		}
		toks, err := s.store.ListTokens(ctx, airlock.TokenFilter{User: au.Name, LiveAt: s.now()})
		if err != nil {
			return "", err
		}
		if len(toks) > 0 {
			return "", nil
		}
	}
	secret, _, err := s.issueSecret(ctx, auth.NewSecret(), BootstrapUser, nil, "bootstrap", "bootstrap (generated)")
	return secret, err
}
