// Package api serves airlock's JSON API under /api/v1/ and the health
// check at /healthz. Every API request carries a bearer token; the handler
// authenticates it and passes the caller (an access.Actor) to the service,
// which checks the caller's right. Errors are airlock.Error values mapped to
// HTTP status codes in one place (writeError).
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/gateway"
)

// Options wire the API.
type Options struct {
	Config  *config.Config
	Store   airlock.Store
	Access  *access.Service
	Gateway *gateway.Gateway
	Audit   *audit.Log
	Logger  *slog.Logger
	Now     func() time.Time
	// Listeners are the addresses clients reach each engine's listener
	// at ("postgres", "mysql"), shown in the database list.
	Listeners map[string]string
}

type handler struct {
	Options
	mux    *http.ServeMux
	routes []string // every API pattern registered, for Routes
}

// New returns the API's http.Handler.
func New(o Options) http.Handler { return newHandler(o).mux }

func newHandler(o Options) *handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{Options: o, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := o.Audit.Err(); err != nil {
			http.Error(w, "audit log unavailable\n", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	h.public("GET /api/v1/openapi.json", serveOpenAPI)
	h.route("GET /api/v1/whoami", h.whoami)
	h.route("GET /api/v1/users", h.listUsers)
	h.route("POST /api/v1/users", h.createUser)
	h.route("GET /api/v1/tokens", h.listTokens)
	h.route("POST /api/v1/tokens", h.issueToken)
	h.route("POST /api/v1/tokens/{id}/revoke", h.revokeToken)
	h.route("DELETE /api/v1/tokens/{id}", h.revokeToken)
	h.route("GET /api/v1/audit", h.listAudit)
	h.route("GET /api/v1/audit/verify", h.verifyAudit)
	h.route("GET /api/v1/audit/stream", h.streamAudit)
	h.route("GET /api/v1/audit/export", h.exportAudit)
	h.route("GET /api/v1/sessions", h.listSessions)
	h.route("POST /api/v1/sessions/{id}/kill", h.killSession)
	h.route("GET /api/v1/databases", h.listDatabases)
	h.route("GET /api/v1/databases/{name}/check", h.checkDatabase)
	h.route("POST /api/v1/databases/{name}/prepare", h.prepareDatabase)
	h.route("GET /api/v1/undo/{id}", h.showUndo)
	h.route("POST /api/v1/undo/{id}/apply", h.applyUndo)
	h.route("POST /api/v1/requests", h.createRequest)
	h.route("GET /api/v1/requests", h.listRequests)
	h.route("GET /api/v1/requests/{id}", h.getRequest)
	h.route("POST /api/v1/requests/{id}/approve", h.approveRequest)
	h.route("POST /api/v1/requests/{id}/deny", h.denyRequest)
	h.route("POST /api/v1/requests/{id}/cancel", h.cancelRequest)
	h.route("GET /api/v1/trash", h.listTrash)
	h.route("POST /api/v1/trash/{id}/restore", h.restoreTrash)
	h.route("POST /api/v1/trash/{id}/purge", h.purgeTrash)
	h.route("GET /api/v1/grants", h.listGrants)
	h.route("POST /api/v1/grants/{id}/revoke", h.revokeGrant)
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, airlock.Errorf(airlock.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return h
}

// route registers an endpoint that needs a valid bearer token.
func (h *handler) route(pattern string, fn func(w http.ResponseWriter, r *http.Request, a *access.Actor) error) {
	h.routes = append(h.routes, pattern)
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a, err := h.authenticate(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if err := fn(w, r, a); err != nil {
			if airlock.ErrorCode(err) == airlock.EINTERNAL {
				h.Logger.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	})
}

func (h *handler) authenticate(r *http.Request) (*access.Actor, error) {
	v := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(v, "Bearer ")
	if !ok || secret == "" {
		return nil, airlock.Errorf(airlock.EUNAUTHORIZED, "missing bearer token")
	}
	a, err := h.Access.Authenticate(r.Context(), strings.TrimSpace(secret))
	if airlock.ErrorCode(err) == airlock.EUNAUTHORIZED {
		h.Access.Logins().Failed(r.Context(), access.RemoteHost(r.RemoteAddr), "", "api", "invalid, expired or revoked token")
	}
	return a, err
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

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	code := airlock.ErrorCode(err)
	if errors.Is(err, audit.ErrUnavailable) {
		code = airlock.EUNAVAILABLE
		err = airlock.Errorf(code, "the audit log cannot record events right now; try again shortly")
	}
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, airlock.ErrorMessage(err)
	if code == airlock.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="airlock"`)
	}
	writeJSON(w, statusOf[code], b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return airlock.Errorf(airlock.EINVALID, "invalid JSON body: %v", err)
	}
	return nil
}

func requireAdmin(a *access.Actor, what string) error {
	if !a.IsAdmin() {
		return airlock.Errorf(airlock.EFORBIDDEN, "only admins %s", what)
	}
	return nil
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, airlock.Errorf(airlock.EINVALID, "%s must be a non-negative whole number", name)
	}
	return n, nil
}

func queryTime(r *http.Request, name string, now time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, airlock.Errorf(airlock.EINVALID, "%s must be a duration (90m) or an RFC 3339 time", name)
	}
	return t, nil
}
