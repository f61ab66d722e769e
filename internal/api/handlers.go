package api

import (
	"context"
	"net/http"
	"time"

	"airlock"
	"airlock/internal/access"
	audit "airlock/internal/audit"
)

// UserJSON is a user as the API shows it.
type UserJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Groups     []string  `json:"groups"`
	Roles      []string  `json:"roles"`
	FromConfig bool      `json:"from_config"`
	CreatedAt  time.Time `json:"created_at"`

	// Kind is "agent" for agents, "person" otherwise.
	Kind string `json:"kind"`
}

func userJSON(u *airlock.User) UserJSON {
	kind := "person"
	if u.IsAgent() {
		kind = airlock.KindAgent
	}
	return UserJSON{ID: u.Name, Name: u.Name, Groups: nonNil(u.Groups), Roles: nonNil(u.Roles), FromConfig: u.FromConfig, Kind: kind, CreatedAt: u.CreatedAt}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WhoamiJSON answers /whoami.
type WhoamiJSON struct {
	UserJSON
	TokenID        string     `json:"token_id"`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
}

func (h *handler) whoami(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	writeJSON(w, 200, WhoamiJSON{UserJSON: userJSON(a.User), TokenID: a.Token.ID, TokenExpiresAt: a.Token.ExpiresAt})
	return nil
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	users, err := h.Access.ListUsers(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]UserJSON, 0, len(users))
	for _, u := range users {
		out = append(out, userJSON(u))
	}
	writeJSON(w, 200, out)
	return nil
}

// CreateUserRequest is the body of POST /users.
type CreateUserRequest struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
	Roles  []string `json:"roles"`
	// Agent makes the user an agent (airlock.KindAgent).
	Agent bool `json:"agent,omitempty"`
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	if err := requireAdmin(a, "add users"); err != nil {
		return err
	}
	var req CreateUserRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	u := &airlock.User{Name: req.Name, Groups: req.Groups, Roles: req.Roles}
	if req.Agent {
		u.Kind = airlock.KindAgent
	}
	if err := h.Access.CreateUser(r.Context(), a, u); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, userJSON(u))
	return nil
}

// TokenJSON is a token as the API shows it (never its secret).
type TokenJSON struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	State     string     `json:"state"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Note      string     `json:"note,omitempty"`
}

func (h *handler) tokenJSON(t *airlock.Token) TokenJSON {
	return TokenJSON{ID: t.ID, User: t.User, State: t.State(h.Now()), CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
		ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, Note: t.Note}
}

func (h *handler) listTokens(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	toks, err := h.Access.ListTokens(r.Context(), a, r.URL.Query().Get("user"))
	if err != nil {
		return err
	}
	out := make([]TokenJSON, 0, len(toks))
	for _, t := range toks {
		out = append(out, h.tokenJSON(t))
	}
	writeJSON(w, 200, out)
	return nil
}

// IssueTokenRequest is the body of POST /tokens.
type IssueTokenRequest struct {
	User string `json:"user"`
	TTL  string `json:"ttl"` // Go duration; "" for the default
	Note string `json:"note"`
}

// IssuedTokenJSON answers POST /tokens; Token is the secret, shown once.
type IssuedTokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token"`
	User      string     `json:"user"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (h *handler) issueToken(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	var req IssueTokenRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return airlock.Errorf(airlock.EINVALID, "ttl must be a duration such as 30m or 4h")
		}
		ttl = d
	}
	secret, t, err := h.Access.IssueToken(r.Context(), a, access.IssueRequest{User: req.User, TTL: ttl, Note: req.Note})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, IssuedTokenJSON{ID: t.ID, Token: secret, User: t.User, ExpiresAt: t.ExpiresAt})
	return nil
}

func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	if err := h.Access.RevokeToken(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	t, err := h.Store.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, h.tokenJSON(t))
	return nil
}

// EventJSON is an audit event as the API shows it.
type EventJSON struct {
	*airlock.Event
	CreatedAt time.Time `json:"created_at"`
}

func (h *handler) eventFilter(r *http.Request, a *access.Actor) (airlock.EventFilter, error) {
	q := r.URL.Query()
	f := airlock.EventFilter{
		User: q.Get("user"), Database: q.Get("database"), SessionID: q.Get("session"), Type: q.Get("kind"),
		StatementKind: q.Get("statement_kind"), Decision: q.Get("decision"), Rule: q.Get("rule"), Contains: q.Get("contains"),
	}
	var err error
	now := h.Now()
	if f.Since, err = queryTime(r, "since", now); err != nil {
		return f, err
	}
	if f.Until, err = queryTime(r, "until", now); err != nil {
		return f, err
	}
	if f.AfterID, err = queryInt(r, "after_id"); err != nil {
		return f, err
	}
	if f.BeforeID, err = queryInt(r, "before_id"); err != nil {
		return f, err
	}
	if f.Decision != "" && f.Decision != airlock.DecisionAllowed && f.Decision != airlock.DecisionDenied {
		return f, airlock.Errorf(airlock.EINVALID, "decision must be allowed or denied")
	}
	if !a.IsAdmin() {
		// Users who are not admins see their own events only.
		if f.User != "" && f.User != a.User.Name {
			return f, airlock.Errorf(airlock.EFORBIDDEN, "only admins see other users' events")
		}
		f.User = a.User.Name
	}
	return f, nil
}

func (h *handler) listAudit(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	f, err := h.eventFilter(r, a)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	f.Limit = int(limit)
	f.Ascending = r.URL.Query().Get("order") == "asc"
	// What was queued before the listing is in it (a read's event lingers
	// in the writer's batch for a few milliseconds). Best effort: while
	// the store fails, the listing shows what it holds.
	sctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	h.Audit.Sync(sctx)
	cancel()
	evs, err := h.Store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]EventJSON, 0, len(evs))
	for _, ev := range evs {
		out = append(out, EventJSON{Event: ev, CreatedAt: ev.Time})
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *handler) verifyAudit(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	if err := requireAdmin(a, "verify the audit log"); err != nil {
		return err
	}
	if err := h.Audit.Sync(r.Context()); err != nil {
		return err
	}
	rep, err := audit.Verify(r.Context(), h.Store)
	if err != nil {
		return err
	}
	writeJSON(w, 200, rep)
	return nil
}

// SessionJSON is a session as the API shows it.
type SessionJSON struct {
	*airlock.Session
	State string `json:"state"`
	Level string `json:"level"`
	// UndoBytes is the undo data kept for the session.
	UndoBytes int64 `json:"undo_bytes"`
}

func (h *handler) listSessions(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	f := airlock.SessionFilter{User: r.URL.Query().Get("user"), Database: r.URL.Query().Get("database"), Active: r.URL.Query().Get("active") == "true"}
	if !a.IsAdmin() {
		if f.User != "" && f.User != a.User.Name {
			return airlock.Errorf(airlock.EFORBIDDEN, "only admins see other users' sessions")
		}
		f.User = a.User.Name
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	ss, err := h.Store.ListSessions(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]SessionJSON, 0, len(ss))
	for _, s := range ss {
		lvl := s.Level
		if live := h.Gateway.Session(s.ID); live != nil {
			lvl = live.Level()
		}
		ub, err := h.Store.UndoBytes(r.Context(), s.ID)
		if err != nil {
			return err
		}
		out = append(out, SessionJSON{Session: s, State: s.State(), Level: lvl.String(), UndoBytes: ub})
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *handler) killSession(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	id := r.PathValue("id")
	if err := h.Gateway.KillSession(r.Context(), a, id); err != nil {
		return err
	}
	writeJSON(w, 200, map[string]string{"id": id, "state": "ended"})
	return nil
}

// DatabaseJSON is a configured database.
type DatabaseJSON struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Engine          string   `json:"engine"`
	Address         string   `json:"address"`
	Database        string   `json:"database"`
	Levels          []string `json:"levels"`
	ProtectedTables []string `json:"protected_tables"`
	MaxRowsChanged  int64    `json:"max_rows_changed"`
	Undo            string   `json:"undo"`
	// Listen is the airlock address clients connect to for this
	// database (its engine's listener); empty when that listener is off.
	Listen string `json:"listen,omitempty"`
}

func (h *handler) listDatabases(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	out := []DatabaseJSON{}
	for _, db := range h.Config.Databases {
		var levels []string
		for l := airlock.LevelRead; l <= airlock.LevelAdmin; l++ {
			if _, ok := db.Credentials[l]; ok {
				levels = append(levels, l.String())
			}
		}
		out = append(out, DatabaseJSON{ID: db.Name, Name: db.Name, Engine: string(db.Engine), Address: db.Address, Database: db.Database,
			Levels: levels, ProtectedTables: nonNil(db.ProtectedTables), MaxRowsChanged: db.MaxRowsChanged, Undo: string(db.Undo), Listen: h.Listeners[string(db.Engine)]})
	}
	writeJSON(w, 200, out)
	return nil
}
