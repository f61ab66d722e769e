package web

import (
	"net"
	"net/http"
	"net/url"

	"airlock"
)

// oidcCookie binds a sign-in at the identity provider to the browser that
// started it: the callback is accepted only with the state this cookie
// holds, so nobody can sign a victim's browser in as themselves.
const oidcCookie = "airlock_oidc"

// oidcCallbackPath is the console's redirect URI path; register
// http(s)://HOST/auth/oidc/callback with the provider.
const oidcCallbackPath = "/auth/oidc/callback"

func (h *Handler) oidcRoutes() {
	if h.o.OIDC == nil {
		return
	}
	h.mux.HandleFunc("GET /auth/oidc/login", h.oidcLogin)
	h.mux.HandleFunc("GET "+oidcCallbackPath, h.oidcCallback)
}

// oidcLogin sends the browser to the identity provider.
func (h *Handler) oidcLogin(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if secure(r) {
		scheme = "https"
	}
	redirect := scheme + "://" + r.Host + oidcCallbackPath
	to, state, err := h.o.OIDC.Begin(r.Context(), redirect, "", nextPath(r), remoteIP(r))
	if err != nil {
		h.renderLogin(w, r, statusOf[airlock.ErrorCode(err)], airlock.ErrorMessage(err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state, Path: oidcCallbackPath, MaxAge: 600, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

// oidcCallback finishes the sign-in and opens a console session with the
// minted token, as the token form does.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: oidcCallbackPath, MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		// The provider refused (the person cancelled, or the client is
		// not allowed): the state is spent all the same.
		h.o.OIDC.Abandon(r.Context(), state, "the provider answered "+e+": "+q.Get("error_description"), remoteIP(r))
		h.renderLogin(w, r, http.StatusUnauthorized, "The identity provider did not sign you in ("+e+").")
		return
	}
	c, err := r.Cookie(oidcCookie)
	if err != nil || c.Value == "" || c.Value != state {
		h.o.OIDC.Abandon(r.Context(), state, "the callback came to a browser that did not start this sign-in", remoteIP(r))
		h.renderLogin(w, r, http.StatusForbidden, "This sign-in was not started in this browser (or it expired); start again.")
		return
	}
	res, err := h.o.OIDC.Finish(r.Context(), state, q.Get("code"), "", remoteIP(r))
	if err != nil {
		code := airlock.ErrorCode(err)
		if code == airlock.EINTERNAL {
			h.fail(w, r, nil, err)
			return
		}
		h.renderLogin(w, r, statusOf[code], airlock.ErrorMessage(err))
		return
	}
	now := h.o.Now()
	exp := now.Add(h.o.Config.Tokens.MaxTTL.D())
	if res.Token.ExpiresAt != nil && res.Token.ExpiresAt.Before(exp) {
		exp = *res.Token.ExpiresAt
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.remove(old.Value)
	}
	s := &session{id: randomID(), secret: res.Secret, user: res.User.Name, csrf: randomID(), expires: exp}
	h.sessions.add(s, now)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.id, Path: "/", Expires: exp, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	h.o.Logger.Info("web sign-in through the identity provider", "user", res.User.Name, "token", res.Token.ID)
	to := localPath(res.Next)
	if to == "" || to == "/login" {
		to = "/"
	}
	if u, err := url.Parse(to); err != nil || u.Host != "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func remoteIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}
