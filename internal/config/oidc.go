package config

import (
	"net/url"
	"os"
	"slices"
	"time"

	"airlock"
)

// Auth configures sign-in methods beside tokens.
type Auth struct {
	OIDC *OIDC `yaml:"oidc"`
}

// OIDC is sign-in through an OpenID Connect identity provider. Users who
// sign in are created or updated from the ID token's claims and receive
// an ordinary airlock token; tokens issued by hand stay valid beside it.
type OIDC struct {
	Line int `yaml:"-"`
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer + "/.well-known/openid-configuration".
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecretEnv names the environment variable holding the client
	// secret; absent for a public client (PKCE only). Load resolves it
	// into ClientSecret.
	ClientSecretEnv string `yaml:"client_secret_env"`
	ClientSecret    string `yaml:"-"`
	// UsernameClaim is the claim that names the airlock user (default
	// preferred_username); when the ID token lacks it, email is used.
	UsernameClaim string `yaml:"username_claim"`
	// GroupsClaim is the claim listing the user's groups (default groups);
	// an ID token without it is refused.
	GroupsClaim string `yaml:"groups_claim"`
	// Roles maps a role (approver, admin) to the IdP groups that carry it.
	Roles map[string][]string `yaml:"roles"`
	// TokenTTL is the lifetime of the token minted at sign-in (default
	// tokens.default_ttl, at most tokens.max_ttl).
	TokenTTL Duration `yaml:"token_ttl"`
	// Name is shown on the console's "Sign in with" button (default: the
	// issuer's host).
	Name string `yaml:"name"`
	// Scopes asked for (default openid, profile, email, groups).
	Scopes []string `yaml:"scopes"`
}

// DisplayName is the provider's name for people.
func (o *OIDC) DisplayName() string {
	if o.Name != "" {
		return o.Name
	}
	if u, err := url.Parse(o.Issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return "your identity provider"
}

// RolesOf returns the roles that groups carry, in a stable order.
func (o *OIDC) RolesOf(groups []string) []string {
	roles := []string{}
	for _, r := range []string{airlock.RoleAdmin, airlock.RoleApprover} {
		for _, g := range o.Roles[r] {
			if slices.Contains(groups, g) {
				roles = append(roles, r)
				break
			}
		}
	}
	return roles
}

func (c *Config) oidcDefaults() {
	o := c.Auth.OIDC
	if o == nil {
		return
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = "preferred_username"
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = "groups"
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = c.Tokens.DefaultTTL
	}
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "profile", "email", "groups"}
	}
}

// validateOIDC checks auth.oidc and resolves its client secret.
func (c *Config) validateOIDC(at func(line int, path, format string, args ...any), secrets bool) {
	o := c.Auth.OIDC
	if o == nil {
		return
	}
	c.oidcDefaults()
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		at(o.Line, "auth.oidc.issuer", "want the provider's https URL, got %q", o.Issuer)
	}
	if o.ClientID == "" {
		at(o.Line, "auth.oidc.client_id", "missing")
	}
	for role := range o.Roles {
		if role != airlock.RoleAdmin && role != airlock.RoleApprover {
			at(o.Line, "auth.oidc.roles."+role, "unknown role %q (want admin or approver)", role)
		}
	}
	if o.TokenTTL.D() > c.Tokens.MaxTTL.D() {
		at(o.Line, "auth.oidc.token_ttl", "%s is longer than tokens.max_ttl %s", o.TokenTTL.D(), c.Tokens.MaxTTL.D())
	}
	if o.TokenTTL.D() < time.Minute {
		at(o.Line, "auth.oidc.token_ttl", "%s is shorter than a minute", o.TokenTTL.D())
	}
	if !slices.Contains(o.Scopes, "openid") {
		at(o.Line, "auth.oidc.scopes", "must include openid")
	}
	if o.ClientSecretEnv != "" && secrets {
		v, ok := os.LookupEnv(o.ClientSecretEnv)
		if !ok || v == "" {
			at(o.Line, "auth.oidc.client_secret_env", "environment variable %s is not set", o.ClientSecretEnv)
		}
		o.ClientSecret = v
	}
}
