package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"airlock"
)

// Cookie names. The session cookie carries only a random session id; the
// login cookie carries the login form's CSRF value (double submit), since
// there is no session yet to hold it.
const (
	sessionCookie = "airlock_session"
	loginCookie   = "airlock_login"
)

// session is one signed-in browser. The token secret stays in this map,
// in memory; the session ends with the token (or after the longest token
// lifetime, for a token without expiry), at logout, or at restart.
type session struct {
	id      string
	secret  string
	user    string
	csrf    string
	expires time.Time

	mu    sync.Mutex
	flash string
}

func (s *session) checkCSRF(v string) bool {
	return v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(s.csrf)) == 1
}

func (s *session) setFlash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

func (s *session) takeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[string]*session{}} }

func (st *sessionStore) add(s *session, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, old := range st.m { // sweep: logins are rare, the map is small
		if !now.Before(old.expires) {
			delete(st.m, id)
		}
	}
	st.m[s.id] = s
}

func (st *sessionStore) get(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[id]
	if s != nil && !now.Before(s.expires) {
		delete(st.m, id)
		return nil
	}
	return s
}

func (st *sessionStore) remove(id string) {
	st.mu.Lock()
	delete(st.m, id)
	st.mu.Unlock()
}

// randomID returns 32 random bytes, base64url.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var (
	errNoSession    = airlock.Errorf(airlock.EUNAUTHORIZED, "you are not signed in (or your session ended); sign in again")
	errSessionEnded = errors.New("the console session ended")
)

// authenticate finds the request's session and authenticates its token
// again, so that a revoked or expired token, or a removed user, ends the
// console session at once and the roles are always the current ones.
func (h *Handler) authenticate(r *http.Request) (*reqCtx, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoSession
	}
	s := h.sessions.get(c.Value, h.o.Now())
	if s == nil {
		return nil, errors.Join(errNoSession, errSessionEnded)
	}
	a, err := h.o.Access.Authenticate(r.Context(), s.secret)
	if airlock.ErrorCode(err) == airlock.EUNAUTHORIZED {
		h.sessions.remove(s.id)
		return nil, errors.Join(errNoSession, errSessionEnded)
	}
	if err != nil {
		return nil, err
	}
	return &reqCtx{actor: a, sess: s}, nil
}

func secure(r *http.Request) bool { return r.TLS != nil }

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if rc, err := h.authenticate(r); err == nil && rc != nil {
		http.Redirect(w, r, nextPath(r), http.StatusSeeOther)
		return
	}
	h.renderLogin(w, r, http.StatusOK, "")
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, problem string) {
	v := ""
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 40 {
		v = c.Value
	} else {
		v = randomID()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v, Path: "/login", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	}
	w.Header().Set("Cache-Control", "no-store")
	notice := ""
	if r.URL.Query().Get("ended") == "1" && problem == "" {
		notice = "Your console session ended (signed out, token expired or revoked). Sign in again."
	}
	if r.URL.Query().Get("out") == "1" && problem == "" {
		notice = "You are signed out."
	}
	provider := ""
	if h.o.OIDC != nil {
		provider = h.o.OIDC.Name()
	}
	h.render(w, r, nil, status, "login.html", "Sign in", "", map[string]any{
		"CSRF": v, "Next": nextPath(r), "Problem": problem, "Notice": notice, "Provider": provider,
	})
}

// nextPath is where to go after signing in.
func nextPath(r *http.Request) string {
	n := r.FormValue("next")
	if p := localPath(n); p != "" && !strings.HasPrefix(p, "/login") {
		return p
	}
	return "/"
}

// login checks the form's CSRF value against the login cookie, then the
// token; on success the browser gets a new session cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(form), []byte(c.Value)) != 1 {
		h.fail(w, r, nil, airlock.Errorf(airlock.EFORBIDDEN, "the sign-in form has no valid CSRF token; reload the sign-in page and try again"))
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	a, err := h.o.Access.Authenticate(r.Context(), secret)
	if airlock.ErrorCode(err) == airlock.EUNAUTHORIZED {
		h.renderLogin(w, r, http.StatusUnauthorized, "That token is not valid: it is wrong, expired or revoked.")
		return
	}
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	now := h.o.Now()
	exp := now.Add(h.o.Config.Tokens.MaxTTL.D())
	if a.Token.ExpiresAt != nil && a.Token.ExpiresAt.Before(exp) {
		exp = *a.Token.ExpiresAt
	}
	// A session id left by an earlier sign-in in this browser is dropped.
	if old, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.remove(old.Value)
	}
	s := &session{id: randomID(), secret: secret, user: a.User.Name, csrf: randomID(), expires: exp}
	h.sessions.add(s, now)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.id, Path: "/", Expires: exp, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	h.o.Logger.Info("web sign-in", "user", a.User.Name, "token", a.Token.ID)
	http.Redirect(w, r, nextPath(r), http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	h.sessions.remove(rc.sess.id)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login?out=1", http.StatusSeeOther)
	return nil
}
