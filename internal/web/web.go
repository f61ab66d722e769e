// Package web serves airlock's web console at / on the HTTP listener, next
// to the JSON API (/api/, /healthz): live activity, access requests with
// approve and deny, sessions with their statements, kill and undo, audit
// search and export, grants, databases, users and tokens.
//
// Pages are rendered on the server with html/template; a little plain
// JavaScript (static/app.js) follows the audit stream with EventSource.
// Templates and assets are embedded, so the binary serves them alone.
//
// Sign-in takes a token (the same bearer token the CLI uses). The server
// keeps an in-memory map from a random session id, the only thing the
// HttpOnly cookie carries, to the token; the token never reaches a cookie
// or a page. Every request authenticates the token again through the
// access service, so a revoked or expired token ends the console session
// too, and every action goes through the same services as the API, which
// check the caller's rights whatever the page showed. Every POST carries a
// per-session CSRF token in a hidden field; a form without it gets 403.
package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/oidc"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options wire the console.
type Options struct {
	Config  *config.Config
	Store   airlock.Store
	Access  *access.Service
	Gateway *gateway.Gateway
	// API is the JSON API handler. The console serves the live audit
	// stream and the audit export through it, with the signed-in user's
	// token, so that both keep exactly the API's filters and rights.
	API http.Handler
	// OIDC, when set, offers "Sign in with <provider>" on the login page
	// (auth.oidc in the config).
	OIDC   *oidc.Service
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler is the web console.
type Handler struct {
	o        Options
	mux      *http.ServeMux
	sessions *sessionStore
	pages    map[string]*template.Template
}

// New returns the console's handler. It panics if the embedded templates
// do not parse (a build defect, caught by any test).
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, mux: http.NewServeMux(), sessions: newSessionStore(), pages: parsePages()}
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})))
	h.mux.HandleFunc("GET /login", h.loginPage)
	h.mux.HandleFunc("POST /login", h.login)
	h.action("POST /logout", h.logout)
	h.oidcRoutes()

	h.page("GET /{$}", h.activity)
	h.page("GET /activity/stream", h.activityStream)
	h.page("GET /requests", h.requests)
	h.action("POST /requests", h.createRequest)
	h.page("GET /requests/{id}", h.request)
	h.action("POST /requests/{id}/approve", h.approveRequest)
	h.action("POST /requests/{id}/deny", h.denyRequest)
	h.action("POST /requests/{id}/cancel", h.cancelRequest)
	h.page("GET /sessions", h.sessionsPage)
	h.page("GET /sessions/{id}", h.session)
	h.action("POST /sessions/{id}/kill", h.killSession)
	h.page("GET /undo/{id}", h.undoShow)
	h.action("POST /undo/{id}/apply", h.undoApply)
	h.page("GET /audit", h.auditPage)
	h.page("GET /audit/export", h.auditExport)
	h.page("GET /grants", h.grants)
	h.action("POST /grants/{id}/revoke", h.revokeGrant)
	h.page("GET /databases", h.databases)
	h.page("GET /trash", h.trash)
	h.action("POST /trash/{id}/restore", h.restoreTrash)
	h.action("POST /trash/{id}/purge", h.purgeTrash)
	h.page("GET /users", h.users)
	h.action("POST /users", h.createUser)
	h.action("POST /tokens", h.issueToken)
	h.action("POST /tokens/{id}/revoke", h.revokeToken)
	h.page("/", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return airlock.Errorf(airlock.ENOTFOUND, "there is no page at %s", r.URL.Path)
	})
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// reqCtx is what a page or an action knows about its caller.
type reqCtx struct {
	actor *access.Actor
	sess  *session
}

// page registers a handler for a signed-in user; a visitor without a
// session is sent to the login page.
func (h *Handler) page(pattern string, fn func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rc, err := h.authenticate(r)
		if err != nil {
			if airlock.ErrorCode(err) == airlock.EUNAUTHORIZED {
				h.toLogin(w, r, err)
				return
			}
			h.fail(w, r, nil, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := fn(w, r, rc); err != nil {
			h.fail(w, r, rc, err)
		}
	})
}

// action registers a form handler: it needs a session and the session's
// CSRF token in the form's "csrf" field (403 without it).
func (h *Handler) action(pattern string, fn func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		rc, err := h.authenticate(r)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if !rc.sess.checkCSRF(r.PostFormValue("csrf")) {
			h.fail(w, r, rc, airlock.Errorf(airlock.EFORBIDDEN, "this form has no valid CSRF token (it expired, or it did not come from this console); reload the page and try again"))
			return
		}
		if err := fn(w, r, rc); err != nil {
			h.fail(w, r, rc, err)
		}
	})
}

func (h *Handler) toLogin(w http.ResponseWriter, r *http.Request, err error) {
	q := url.Values{}
	if r.URL.Path != "/" {
		q.Set("next", r.URL.RequestURI())
	}
	if errors.Is(err, errSessionEnded) {
		q.Set("ended", "1")
	}
	to := "/login"
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

var statusOf = map[string]int{
	airlock.EINVALID:      http.StatusBadRequest,
	airlock.EUNAUTHORIZED: http.StatusUnauthorized,
	airlock.EFORBIDDEN:    http.StatusForbidden,
	airlock.ENOTFOUND:     http.StatusNotFound,
	airlock.ECONFLICT:     http.StatusConflict,
	airlock.EUNAVAILABLE:  http.StatusServiceUnavailable,
	airlock.EINTERNAL:     http.StatusInternalServerError,
}

var statusTitle = map[string]string{
	airlock.EINVALID:      "That did not work",
	airlock.EUNAUTHORIZED: "Please sign in",
	airlock.EFORBIDDEN:    "Not allowed",
	airlock.ENOTFOUND:     "Not found",
	airlock.ECONFLICT:     "That cannot be done now",
	airlock.EUNAVAILABLE:  "Unavailable",
	airlock.EINTERNAL:     "Something went wrong",
}

// fail renders err as an error page with the status its code maps to.
// Internal errors are logged and shown without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	code := airlock.ErrorCode(err)
	msg := airlock.ErrorMessage(err)
	if errors.Is(err, audit.ErrUnavailable) {
		code, msg = airlock.EUNAVAILABLE, "the audit log cannot record events right now; try again shortly"
	}
	if code == airlock.EINTERNAL {
		h.o.Logger.Error("web", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	h.render(w, r, rc, statusOf[code], "error.html", statusTitle[code], "", map[string]any{
		"Code": code, "Status": statusOf[code], "Message": msg, "Back": backPath(r),
	})
}

// backPath is where an error page's "back" link goes: the page the form
// was on, when it is one of ours.
func backPath(r *http.Request) string {
	if b := localPath(r.PostFormValue("back")); b != "" {
		return b
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
		if p := localPath(ref.RequestURI()); p != "" && p != r.URL.RequestURI() {
			return p
		}
	}
	return "/"
}

// localPath returns p when it is a path on this server, else "".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return ""
	}
	return p
}

// done finishes an action: the message is shown once on the next page,
// and the browser goes to the form's "back" field, or to fallback.
func (h *Handler) done(w http.ResponseWriter, r *http.Request, rc *reqCtx, fallback, msg string) error {
	rc.sess.setFlash(msg)
	to := localPath(r.PostFormValue("back"))
	if to == "" {
		to = fallback
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
