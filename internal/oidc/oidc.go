// Package oidc signs people in through the company's OpenID Connect
// identity provider (auth.oidc in the config) and hands them an ordinary
// airlock token.
//
// Three flows end in the same place, Service.finish: the ID token is
// verified (signature, issuer, audience, expiry and, where the flow sent
// one, the nonce), the user is created or updated from its claims
// (access.Service.SignInExternal) and a token is minted for auth.oidc's
// token_ttl.
//
//   - The web console: GET /auth/oidc/login sends the browser to the
//     provider with a state, a nonce and a PKCE challenge whose verifier
//     stays on the server; the callback (internal/web) calls Finish.
//   - `airlock login --server URL`: the CLI listens on a loopback port,
//     keeps the PKCE verifier itself and asks POST /api/v1/auth/oidc/start
//     for the provider's URL (state and nonce are the server's); the
//     provider redirects the browser to the loopback port, and the CLI
//     sends code, state and verifier to POST /api/v1/auth/oidc/token.
//   - `airlock login --device`: POST /api/v1/auth/oidc/device starts the
//     provider's device authorization; the server polls the provider and
//     the CLI polls GET /api/v1/auth/oidc/device/{id} until the person
//     has approved it on another machine.
//
// The server holds the client secret; the CLI never sees it. A state is
// used once and lives ten minutes; pending sign-ins and device flows are
// bounded, so an unauthenticated peer holds little. Every refusal is
// audited (user event "sign_in_failed") and returned as a clear error;
// nothing of a refused sign-in is created.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/config"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Bounds on what unauthenticated peers can make the server hold.
const (
	stateTTL      = 10 * time.Minute
	maxPending    = 1024
	maxDevices    = 64
	maxDeviceLife = 15 * time.Minute
)

// Options wire the service.
type Options struct {
	Config *config.OIDC
	Access *access.Service
	Logger *slog.Logger
	Now    func() time.Time
	// HTTPClient reaches the provider (default: one with a 15s timeout).
	HTTPClient *http.Client
}

// Service runs OIDC sign-ins.
type Service struct {
	cfg    *config.OIDC
	access *access.Service
	log    *slog.Logger
	now    func() time.Time
	client *http.Client

	provMu   sync.Mutex
	provider *gooidc.Provider

	mu      sync.Mutex
	pending map[string]*pending
	devices map[string]*device
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// pending is a browser sign-in between the redirect to the provider and
// its callback.
type pending struct {
	nonce       string
	redirectURI string
	// verifier is the PKCE verifier when the server holds it (the web
	// console); empty when the CLI holds it.
	verifier string
	expires  time.Time
	next     string
}

// New returns the service. It does not reach the provider: discovery
// happens at the first sign-in, and again after a failure, so that a
// provider that is down does not keep airlock from starting.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{cfg: o.Config, access: o.Access, log: o.Logger, now: o.Now, client: o.HTTPClient,
		pending: map[string]*pending{}, devices: map[string]*device{}, ctx: ctx, cancel: cancel}
}

// Name is the provider's name for people ("Sign in with <Name>").
func (s *Service) Name() string { return s.cfg.DisplayName() }

// Close stops the device flows in progress.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Result is a finished sign-in.
type Result struct {
	Secret string
	Token  *airlock.Token
	User   *airlock.User
	// Next is the local path the web console goes to afterwards.
	Next string
}

var errProviderDown = airlock.Errorf(airlock.EUNAVAILABLE, "the identity provider cannot be reached; try again shortly")

// providerFor returns the discovered provider, discovering it if needed.
func (s *Service) providerFor(ctx context.Context) (*gooidc.Provider, error) {
	s.provMu.Lock()
	defer s.provMu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, s.client), s.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery at %s: %w", s.cfg.Issuer, err)
	}
	s.provider = p
	return p, nil
}

func (s *Service) oauth(p *gooidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: s.cfg.Scopes}
}

// Begin starts a browser sign-in that returns to redirectURI. With
// challenge empty the server makes and keeps the PKCE verifier (the web
// console); otherwise challenge is the S256 challenge of a verifier the
// caller keeps (the CLI). It returns the provider's URL to open and the
// state that identifies this sign-in.
func (s *Service) Begin(ctx context.Context, redirectURI, challenge, next, clientAddr string) (authURL, state string, err error) {
	p, err := s.providerFor(ctx)
	if err != nil {
		s.fail(ctx, "", clientAddr, err.Error())
		return "", "", errProviderDown
	}
	pd := &pending{nonce: randomString(), redirectURI: redirectURI, expires: s.now().Add(stateTTL), next: next}
	if challenge == "" {
		pd.verifier = oauth2.GenerateVerifier()
		challenge = s256(pd.verifier)
	}
	state = randomString()
	s.mu.Lock()
	s.sweep()
	if len(s.pending) >= maxPending {
		s.mu.Unlock()
		return "", "", airlock.Errorf(airlock.EUNAVAILABLE, "too many sign-ins in progress; try again in a few minutes")
	}
	s.pending[state] = pd
	s.mu.Unlock()
	authURL = s.oauth(p, redirectURI).AuthCodeURL(state, gooidc.Nonce(pd.nonce),
		oauth2.SetAuthURLParam("code_challenge", challenge), oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	return authURL, state, nil
}

// sweep drops expired pending sign-ins; s.mu is held.
func (s *Service) sweep() {
	now := s.now()
	for k, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, k)
		}
	}
}

var errState = airlock.Errorf(airlock.EUNAUTHORIZED, "this sign-in is unknown, was already used or has expired (it lives 10 minutes); start again")

// Finish completes a browser sign-in: state must be one Begin returned
// and not used yet, code the provider's answer, and verifier the PKCE
// verifier when the caller holds it.
func (s *Service) Finish(ctx context.Context, state, code, verifier, clientAddr string) (*Result, error) {
	s.mu.Lock()
	pd := s.pending[state]
	delete(s.pending, state) // used once, whatever happens next
	s.mu.Unlock()
	if pd == nil || state == "" {
		s.fail(ctx, "", clientAddr, "unknown or already used state")
		return nil, errState
	}
	if !s.now().Before(pd.expires) {
		s.fail(ctx, "", clientAddr, "expired state")
		return nil, errState
	}
	if pd.verifier != "" {
		verifier = pd.verifier
	}
	if code == "" || verifier == "" {
		s.fail(ctx, "", clientAddr, "no code or no PKCE verifier")
		return nil, airlock.Errorf(airlock.EINVALID, "the sign-in came back without a code or PKCE verifier")
	}
	p, err := s.providerFor(ctx)
	if err != nil {
		s.fail(ctx, "", clientAddr, err.Error())
		return nil, errProviderDown
	}
	tok, err := s.oauth(p, pd.redirectURI).Exchange(gooidc.ClientContext(ctx, s.client), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			s.fail(ctx, "", clientAddr, fmt.Sprintf("the provider refused the code: %s %s", re.ErrorCode, re.ErrorDescription))
			return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "the identity provider refused the sign-in (%s); start again", firstNonEmpty(re.ErrorCode, "error"))
		}
		s.fail(ctx, "", clientAddr, "code exchange: "+err.Error())
		return nil, errProviderDown
	}
	res, err := s.finish(ctx, p, tok, pd.nonce, clientAddr)
	if err != nil {
		return nil, err
	}
	res.Next = pd.next
	return res, nil
}

// Abandon spends state without signing anyone in (the provider answered
// with an error, or the callback came to another browser) and audits why.
func (s *Service) Abandon(ctx context.Context, state, reason, clientAddr string) {
	s.mu.Lock()
	delete(s.pending, state)
	s.mu.Unlock()
	s.fail(ctx, "", clientAddr, reason)
}

// claims are the ID token claims airlock reads, by their configured names.
type claims map[string]any

// finish verifies tok's ID token and signs its person in. nonce is what
// the ID token must carry ("" for the device flow, which sends none).
func (s *Service) finish(ctx context.Context, p *gooidc.Provider, tok *oauth2.Token, nonce, clientAddr string) (*Result, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.fail(ctx, "", clientAddr, "the provider answered without an ID token")
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "the identity provider sent no ID token (is the openid scope allowed for this client?)")
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: s.cfg.ClientID, Now: s.now}).Verify(gooidc.ClientContext(ctx, s.client), raw)
	if err != nil {
		reason := "the ID token is not valid"
		var exp *gooidc.TokenExpiredError
		switch {
		case errors.As(err, &exp):
			reason = "the ID token has expired"
		case strings.Contains(err.Error(), "issued by a different provider"):
			reason = "the ID token was issued by another issuer than " + s.cfg.Issuer
		case strings.Contains(err.Error(), "expected audience"):
			reason = "the ID token is for another client than " + s.cfg.ClientID
		}
		s.fail(ctx, "", clientAddr, reason+": "+err.Error())
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "sign-in refused: %s", reason)
	}
	if nonce != "" && idt.Nonce != nonce {
		s.fail(ctx, "", clientAddr, "the ID token's nonce does not match this sign-in")
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "sign-in refused: the ID token does not belong to this sign-in (nonce mismatch); start again")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		s.fail(ctx, "", clientAddr, "undecodable claims: "+err.Error())
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "sign-in refused: the ID token's claims cannot be read")
	}
	name, _ := c[s.cfg.UsernameClaim].(string)
	if name == "" {
		name, _ = c["email"].(string)
	}
	if name == "" {
		s.fail(ctx, "", clientAddr, fmt.Sprintf("no %s or email claim (subject %s)", s.cfg.UsernameClaim, idt.Subject))
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "sign-in refused: the ID token has neither a %s nor an email claim", s.cfg.UsernameClaim)
	}
	groups, ok := stringList(c[s.cfg.GroupsClaim])
	if !ok {
		s.fail(ctx, name, clientAddr, fmt.Sprintf("no %q claim of strings in the ID token", s.cfg.GroupsClaim))
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "sign-in refused: the ID token has no %q claim listing your groups; ask the identity provider's admin to add it", s.cfg.GroupsClaim)
	}
	secret, t, u, err := s.access.SignInExternal(ctx, access.ExternalSignIn{
		Provider: s.auditName(), Subject: idt.Subject, Name: name, Groups: groups, Roles: s.cfg.RolesOf(groups),
		TTL: s.cfg.TokenTTL.D(), ClientAddr: clientAddr,
	})
	if err != nil {
		s.fail(ctx, name, clientAddr, airlock.ErrorMessage(err))
		if airlock.ErrorCode(err) == airlock.EINTERNAL {
			return nil, fmt.Errorf("sign in %s: %w", name, err)
		}
		return nil, err
	}
	s.log.Info("oidc sign-in", "user", u.Name, "token", t.ID, "groups", u.Groups)
	return &Result{Secret: secret, Token: t, User: u}, nil
}

// auditName names the provider in audit events.
func (s *Service) auditName() string { return "oidc:" + s.cfg.Issuer }

// fail audits a refused sign-in; a failure to audit is logged (the
// sign-in is refused either way).
func (s *Service) fail(ctx context.Context, user, clientAddr, reason string) {
	s.log.Warn("oidc sign-in refused", "user", user, "client", clientAddr, "reason", reason)
	if err := s.access.RecordSignInFailure(context.WithoutCancel(ctx), s.auditName(), user, clientAddr, reason); err != nil {
		s.log.Error("audit a refused sign-in", "err", err)
	}
}

func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			str, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, str)
		}
		return out, true
	case string: // some providers send a single group as a string
		return []string{l}, true
	}
	return nil, false
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
