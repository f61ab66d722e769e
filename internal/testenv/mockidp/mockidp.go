// Package mockidp runs an in-process OpenID Connect provider for tests:
// github.com/oauth2-proxy/mockoidc for discovery, the authorization code
// flow with PKCE, the token endpoint and the signing keys, wrapped with
// what mockoidc lacks and tests need:
//
//   - device authorization (RFC 8628): mockoidc does not implement it, so
//     this package adds a device_authorization_endpoint to the discovery
//     document, hands out device and user codes, and answers the device
//     grant at the token endpoint with ID tokens signed by mockoidc's key;
//   - a hook to change the claims of the next ID token (another issuer or
//     audience, an expired token, a foreign nonce, no groups claim),
//     re-signed with the provider's key so that only the claim is wrong;
//   - switching the provider off and on (every endpoint answers 503).
package mockidp

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// User is who the provider signs in next.
type User struct {
	Subject  string
	Username string // preferred_username; empty: the claim is absent
	Email    string
	// Groups; nil leaves the groups claim out of the ID token.
	Groups []string
}

// IdP is a running provider.
type IdP struct {
	m   *mockoidc.MockOIDC
	srv *http.Server
	t   testing.TB

	mu      sync.Mutex
	down    bool
	tamper  func(claims map[string]any)
	devices map[string]*deviceCode // by device code
	queue   []User
}

type deviceCode struct {
	userCode string
	user     *User // set when approved
	denied   bool
}

// Start runs a provider on a loopback port until the test ends.
func Start(t testing.TB) *IdP {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &IdP{m: m, t: t, devices: map[string]*deviceCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc(mockoidc.DiscoveryEndpoint, p.discovery)
	mux.HandleFunc(mockoidc.AuthorizationEndpoint, p.authorize)
	mux.HandleFunc(mockoidc.TokenEndpoint, p.token)
	mux.HandleFunc(mockoidc.JWKSEndpoint, m.JWKS)
	mux.HandleFunc(mockoidc.UserinfoEndpoint, m.Userinfo)
	mux.HandleFunc("/oidc/device", p.deviceAuth)
	mux.HandleFunc("/oidc/device/verify", p.deviceVerify)
	p.srv = &http.Server{Addr: ln.Addr().String(), Handler: p.gate(mux), ReadHeaderTimeout: 5 * time.Second}
	m.Server = p.srv // mockoidc derives its issuer from Server.Addr
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

// Issuer is the provider's issuer URL.
func (p *IdP) Issuer() string { return p.m.Issuer() }

// ClientID and ClientSecret of the one registered client.
func (p *IdP) ClientID() string { return p.m.ClientID }

// ClientSecret of the registered client.
func (p *IdP) ClientSecret() string { return p.m.ClientSecret }

// Next sets who the next authorization (or device approval) signs in.
func (p *IdP) Next(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, u)
}

func (p *IdP) pop() User {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return User{Subject: "default", Username: "jane.doe", Email: "jane.doe@example.com", Groups: []string{"eng"}}
	}
	u := p.queue[0]
	p.queue = p.queue[1:]
	return u
}

// Tamper makes fn change the claims of the next ID token issued.
func (p *IdP) Tamper(fn func(claims map[string]any)) {
	p.mu.Lock()
	p.tamper = fn
	p.mu.Unlock()
}

// SetDown makes every endpoint answer 503 (down) or work again.
func (p *IdP) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

func (p *IdP) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (p *IdP) base() string { return p.m.Addr() }

// discovery is mockoidc's document plus the device endpoint.
func (p *IdP) discovery(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.m.Discovery(rec, r)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	doc["device_authorization_endpoint"] = p.base() + "/oidc/device"
	doc["grant_types_supported"] = append(toStrings(doc["grant_types_supported"]), "urn:ietf:params:oauth:grant-type:device_code")
	writeJSON(w, http.StatusOK, doc)
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// mockUser adapts User to mockoidc's user, leaving out absent claims.
type mockUser struct{ u User }

func (m mockUser) ID() string { return m.u.Subject }

func (m mockUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": m.u.Subject, "email": m.u.Email})
}

func (m mockUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	c := jwt.MapClaims{}
	b, _ := json.Marshal(base)
	json.Unmarshal(b, &c)
	addUserClaims(c, m.u)
	return c, nil
}

func addUserClaims(c jwt.MapClaims, u User) {
	if u.Username != "" {
		c["preferred_username"] = u.Username
	}
	if u.Email != "" {
		c["email"] = u.Email
	}
	if u.Groups != nil {
		c["groups"] = u.Groups
	}
}

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	p.m.QueueUser(mockUser{p.pop()})
	p.m.Authorize(w, r)
}

// token answers the device grant itself and passes the rest to mockoidc,
// applying the tamper hook to the ID token it returns.
func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Form.Get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code" {
		p.deviceToken(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.m.Token(rec, r)
	if rec.Code != http.StatusOK {
		copyResponse(w, rec)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		copyResponse(w, rec)
		return
	}
	if raw, _ := body["id_token"].(string); raw != "" {
		signed, err := p.retamper(raw)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body["id_token"] = signed
	}
	writeJSON(w, http.StatusOK, body)
}

// retamper applies the tamper hook (once) to raw and signs it again.
func (p *IdP) retamper(raw string) (string, error) {
	p.mu.Lock()
	fn := p.tamper
	p.tamper = nil
	p.mu.Unlock()
	if fn == nil {
		return raw, nil
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("malformed id token")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	c := jwt.MapClaims{}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", err
	}
	fn(c)
	return p.m.Keypair.SignJWT(c)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// deviceAuth is the device authorization endpoint.
func (p *IdP) deviceAuth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	r.ParseForm()
	if r.Form.Get("client_id") != p.m.ClientID {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	dc, uc := randomHex(16), strings.ToUpper(randomHex(4))
	p.mu.Lock()
	p.devices[dc] = &deviceCode{userCode: uc}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": dc, "user_code": uc, "verification_uri": p.base() + "/oidc/device/verify",
		"verification_uri_complete": p.base() + "/oidc/device/verify?user_code=" + uc, "expires_in": 600, "interval": 1,
	})
}

// deviceVerify approves (or, with deny=1, refuses) the device code named
// by user_code for the next user: what the person does in a browser.
func (p *IdP) deviceVerify(w http.ResponseWriter, r *http.Request) {
	uc := r.URL.Query().Get("user_code")
	deny := r.URL.Query().Get("deny") == "1"
	u := p.pop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.devices {
		if d.userCode == uc {
			d.user, d.denied = &u, deny
			fmt.Fprintln(w, "approved; you can close this window")
			return
		}
	}
	http.Error(w, "unknown code", http.StatusNotFound)
}

func (p *IdP) deviceToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	if id != p.m.ClientID || secret != p.m.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	d := p.devices[r.Form.Get("device_code")]
	p.mu.Unlock()
	switch {
	case d == nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "expired_token"})
		return
	case d.user == nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "authorization_pending"})
		return
	case d.denied:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "access_denied"})
		return
	}
	p.mu.Lock()
	delete(p.devices, r.Form.Get("device_code"))
	p.mu.Unlock()
	now := time.Now()
	c := jwt.MapClaims{"iss": p.Issuer(), "aud": p.m.ClientID, "sub": d.user.Subject, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	addUserClaims(c, *d.user)
	raw, err := p.m.Keypair.SignJWT(c)
	if err == nil {
		raw, err = p.retamper(raw)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomHex(16), "token_type": "Bearer", "expires_in": 600, "id_token": raw})
}

// Config is the auth.oidc YAML block for a server using this provider
// (the client secret in environment variable secretEnv).
func (p *IdP) Config(secretEnv, extra string) string {
	return fmt.Sprintf("auth:\n  oidc:\n    issuer: %q\n    client_id: %q\n    client_secret_env: %s\n    roles: {approver: [sre], admin: [platform]}\n    token_ttl: 2h\n%s",
		p.Issuer(), p.m.ClientID, secretEnv, extra)
}
