package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The auth.oidc block of SPEC §9, as written there.
const specOIDC = `auth:
  oidc:                                                    # optional; tokens stay valid beside it
    issuer: "https://idp.example.com"
    client_id: airlock
    client_secret_env: AIRLOCK_OIDC_SECRET                 # absent for a public client (PKCE only)
    username_claim: preferred_username                     # claim -> airlock user name (default; else email)
    groups_claim: groups                                   # claim -> airlock groups
    roles: {approver: [sre], admin: [platform]}            # IdP groups that carry a role
    token_ttl: 8h                                          # the airlock token minted at login
`

func TestOIDCSpecExample(t *testing.T) {
	t.Setenv("AIRLOCK_OIDC_SECRET", "s3cret")
	c, err := Parse("c.yaml", []byte(specOIDC))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Auth.OIDC
	if o == nil {
		t.Fatal("auth.oidc not decoded")
	}
	if o.Issuer != "https://idp.example.com" || o.ClientID != "airlock" || o.ClientSecret != "s3cret" {
		t.Errorf("oidc = %+v", o)
	}
	if o.UsernameClaim != "preferred_username" || o.GroupsClaim != "groups" || o.TokenTTL.D() != 8*time.Hour {
		t.Errorf("oidc = %+v", o)
	}
	if got := o.RolesOf([]string{"eng", "platform", "sre"}); !slices.Equal(got, []string{"admin", "approver"}) {
		t.Errorf("roles of platform+sre = %v", got)
	}
	if got := o.RolesOf([]string{"eng"}); len(got) != 0 {
		t.Errorf("roles of eng = %v", got)
	}
	if o.DisplayName() != "idp.example.com" || !slices.Contains(o.Scopes, "groups") {
		t.Errorf("defaults: name %q scopes %v", o.DisplayName(), o.Scopes)
	}
}

func TestOIDCDefaults(t *testing.T) {
	c, err := Parse("c.yaml", []byte("auth:\n  oidc: {issuer: 'https://idp', client_id: x}\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Auth.OIDC
	if o.ClientSecret != "" || o.UsernameClaim != "preferred_username" || o.GroupsClaim != "groups" || o.TokenTTL != c.Tokens.DefaultTTL {
		t.Errorf("defaults = %+v", o)
	}
}

func TestOIDCErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "auth:\n  oidc:\n    issuer: 'https://idp'\n    client_id: x\n    colour: blue\n", "c.yaml:5: auth.oidc.colour: unknown key"},
		{"bad issuer", "auth:\n  oidc:\n    issuer: idp.example.com\n    client_id: x\n", `c.yaml:3: auth.oidc.issuer: want the provider's https URL`},
		{"no client", "auth:\n  oidc:\n    issuer: 'https://idp'\n", "c.yaml:3: auth.oidc.client_id: missing"},
		{"bad role", "auth:\n  oidc:\n    issuer: 'https://idp'\n    client_id: x\n    roles: {root: [ops]}\n", `c.yaml:5: auth.oidc.roles.root: unknown role "root"`},
		{"ttl over max", "auth:\n  oidc:\n    issuer: 'https://idp'\n    client_id: x\n    token_ttl: 24h\n", "c.yaml:5: auth.oidc.token_ttl: 24h0m0s is longer than tokens.max_ttl"},
		{"secret unset", "auth:\n  oidc:\n    issuer: 'https://idp'\n    client_id: x\n    client_secret_env: AIRLOCK_TEST_UNSET_SECRET\n", "c.yaml:5: auth.oidc.client_secret_env: environment variable AIRLOCK_TEST_UNSET_SECRET is not set"},
		{"no openid scope", "auth:\n  oidc:\n    issuer: 'https://idp'\n    client_id: x\n    scopes: [email]\n", "auth.oidc.scopes: must include openid"},
		{"oidc not a mapping", "auth:\n  oidc: yes\n", "c.yaml:2: auth.oidc: want a mapping"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
