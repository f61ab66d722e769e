package access

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"airlock"
	"airlock/internal/auth"
)

// ExternalSignIn is a person an identity provider vouched for.
type ExternalSignIn struct {
	// Provider names the identity provider in the audit ("oidc:" + issuer).
	Provider string
	// Subject is the provider's stable id of the person (audited).
	Subject string
	// Name is the airlock user name (from the configured claim).
	Name   string
	Groups []string
	Roles  []string
	// TTL is the lifetime of the minted token.
	TTL        time.Duration
	ClientAddr string
}

// externalNameRE is nameRE with '@' and '+', so that an email address can
// name a user.
var externalNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,62}$`)

// SignInExternal creates or updates the user an identity provider vouched
// for and issues them an ordinary token (hashed, revocable, expiring after
// in.TTL). The provider is the source of truth for such users: their
// groups and roles are replaced by in's at each sign-in, and a change
// re-evaluates their live sessions at once, as a grant change does.
//
// Users declared in the config file, and the bootstrap admin, are never
// signed in this way (ECONFLICT): the config stays their only source of
// truth, and a provider account that happens to carry the same name cannot
// take them over. A user created through the API becomes provider-managed
// at its first sign-in. Nothing is left half-done: when the token cannot
// be issued, a user created for this sign-in is removed again.
func (s *Service) SignInExternal(ctx context.Context, in ExternalSignIn) (secret string, tok *airlock.Token, u *airlock.User, err error) {
	if !externalNameRE.MatchString(in.Name) {
		return "", nil, nil, airlock.Errorf(airlock.EINVALID, "the identity provider's user name %q is not a valid airlock user name (1 to 63 letters, digits, _ . - @ +)", in.Name)
	}
	if s.configUser(in.Name) != nil || in.Name == BootstrapUser {
		return "", nil, nil, airlock.Errorf(airlock.ECONFLICT, "user %q is managed by the airlock config file and signs in with a token, not through the identity provider", in.Name)
	}
	groups, roles := sortedSet(in.Groups), sortedSet(in.Roles)
	for _, r := range roles {
		if r != airlock.RoleAdmin && r != airlock.RoleApprover {
			return "", nil, nil, airlock.Errorf(airlock.EINVALID, "unknown role %q", r)
		}
	}
	created, changed := false, false
	u, err = s.store.GetUser(ctx, in.Name)
	switch {
	case airlock.ErrorCode(err) == airlock.ENOTFOUND:
		u = &airlock.User{Name: in.Name, Groups: groups, Roles: roles, ScramSalt: auth.NewSalt(), CreatedAt: s.now().UTC()}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return "", nil, nil, fmt.Errorf("create user %s: %w", in.Name, err)
		}
		created = true
	case err != nil:
		return "", nil, nil, err
	case u.FromConfig:
		return "", nil, nil, airlock.Errorf(airlock.ECONFLICT, "user %q is managed by the airlock config file and signs in with a token, not through the identity provider", in.Name)
	case !slices.Equal(sortedSet(u.Groups), groups) || !slices.Equal(sortedSet(u.Roles), roles):
		old := *u
		u.Groups, u.Roles = groups, roles
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return "", nil, nil, fmt.Errorf("update user %s: %w", in.Name, err)
		}
		changed = true
		if err := s.audit.Record(ctx, &airlock.Event{Type: airlock.EventUser, Action: "updated", User: u.Name, Actor: in.Provider, ClientAddr: in.ClientAddr,
			Detail: map[string]string{"groups": fmt.Sprint(groups), "roles": fmt.Sprint(roles), "old_groups": fmt.Sprint(old.Groups), "old_roles": fmt.Sprint(old.Roles)}}); err != nil {
			return "", nil, nil, err
		}
	}
	if created {
		if err := s.audit.Record(ctx, &airlock.Event{Type: airlock.EventUser, Action: "created", User: u.Name, Actor: in.Provider, ClientAddr: in.ClientAddr,
			Detail: map[string]string{"groups": fmt.Sprint(groups), "roles": fmt.Sprint(roles)}}); err != nil {
			s.undoCreate(ctx, u.Name)
			return "", nil, nil, err
		}
	}
	if changed {
		// Live sessions follow at once: a group removed lowers them now,
		// not at their next statement's grant check.
		s.accessChanged(u.Name)
	}
	exp := s.now().Add(in.TTL)
	secret, tok, err = s.issue(ctx, u.Name, &exp, in.Provider, "signed in with "+strings.TrimPrefix(in.Provider, "oidc:"))
	if err != nil {
		if created {
			s.undoCreate(ctx, u.Name)
		}
		return "", nil, nil, err
	}
	if err := s.audit.Record(ctx, &airlock.Event{Type: airlock.EventUser, Action: "signed_in", User: u.Name, Actor: in.Provider, ClientAddr: in.ClientAddr, Ref: tok.ID,
		Detail: map[string]string{"subject": in.Subject, "groups": fmt.Sprint(groups), "roles": fmt.Sprint(roles)}}); err != nil {
		s.revoke(context.WithoutCancel(ctx), tok, in.Provider)
		return "", nil, nil, err
	}
	return secret, tok, u, nil
}

// undoCreate removes a user created by a sign-in that could not finish.
func (s *Service) undoCreate(ctx context.Context, name string) {
	if err := s.store.DeleteUser(context.WithoutCancel(ctx), name); err != nil {
		s.log.Error("remove the user of a failed sign-in", "user", name, "err", err)
	}
}

// RecordSignInFailure audits a refused sign-in: who it claimed to be (if
// known), from where, through which provider, and why.
func (s *Service) RecordSignInFailure(ctx context.Context, provider, user, clientAddr, reason string) error {
	return s.audit.Record(ctx, &airlock.Event{Type: airlock.EventUser, Action: "sign_in_failed", User: user, Actor: provider, ClientAddr: clientAddr, Reason: reason})
}

func sortedSet(v []string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}
