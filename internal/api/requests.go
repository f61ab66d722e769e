package api

import (
	"net/http"

	"time"

	"airlock"
	"airlock/internal/access"
)

// RequestJSON is an access request as the API shows it.
type RequestJSON struct {
	*airlock.Request
	Level    string `json:"level"`
	Duration string `json:"duration"`
}

func requestJSON(r *airlock.Request) RequestJSON {
	if r.Tables == nil {
		r.Tables = []string{}
	}
	if r.Approvals == nil {
		r.Approvals = []airlock.Approval{}
	}
	return RequestJSON{Request: r, Level: r.Level.String(), Duration: r.Duration.String()}
}

// CreateRequestBody is the body of POST /requests.
type CreateRequestBody struct {
	Database string   `json:"database"`
	Level    string   `json:"level"`
	Duration string   `json:"duration"`
	Reason   string   `json:"reason"`
	Tables   []string `json:"tables"`
	// SQL is a change script: airlock dry-runs it now and runs it once
	// approved; the level is then the one it needs. Tolerance is how many
	// rows each statement's real run may differ from its dry-run.
	SQL       string `json:"sql,omitempty"`
	Tolerance int64  `json:"tolerance,omitempty"`
}

func (h *handler) createRequest(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	var body CreateRequestBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	var lvl airlock.Level
	var err error
	if body.SQL == "" || body.Level != "" {
		lvl, err = airlock.ParseLevel(body.Level)
		if err != nil || lvl == airlock.LevelNone {
			return airlock.Errorf(airlock.EINVALID, "level must be read, write, ddl or admin")
		}
	}
	var dur time.Duration
	if body.Duration != "" {
		if dur, err = time.ParseDuration(body.Duration); err != nil || dur < time.Second {
			return airlock.Errorf(airlock.EINVALID, "duration must be a duration of at least 1s, such as 30m")
		}
	}
	req, err := h.Access.CreateRequest(r.Context(), a, access.RequestInput{Database: body.Database, Level: lvl, Duration: dur, Reason: body.Reason, Tables: body.Tables,
		Script: body.SQL, Tolerance: body.Tolerance})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, requestJSON(req))
	return nil
}

func (h *handler) listRequests(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	q := r.URL.Query()
	f := airlock.RequestFilter{User: q.Get("user"), Database: q.Get("database"), State: q.Get("state")}
	if q.Get("pending") == "true" {
		f.State = airlock.RequestPending
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	reqs, err := h.Access.ListRequests(r.Context(), a, f)
	if err != nil {
		return err
	}
	out := make([]RequestJSON, 0, len(reqs))
	for _, req := range reqs {
		out = append(out, requestJSON(req))
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *handler) getRequest(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	req, err := h.Access.GetRequest(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, requestJSON(req))
	return nil
}

func (h *handler) approveRequest(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	req, err := h.Access.ApproveRequest(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, requestJSON(req))
	return nil
}

// DecisionBody is the body of deny.
type DecisionBody struct {
	Reason string `json:"reason"`
}

func (h *handler) denyRequest(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	var body DecisionBody
	if err := readJSON(r, &body); err != nil {
		return err
	}
	req, err := h.Access.DenyRequest(r.Context(), a, r.PathValue("id"), body.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, 200, requestJSON(req))
	return nil
}

func (h *handler) cancelRequest(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	req, err := h.Access.CancelRequest(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, requestJSON(req))
	return nil
}

// GrantJSON is a grant as the API shows it.
type GrantJSON struct {
	*airlock.Grant
	Level string `json:"level"`
	State string `json:"state"`
}

func (h *handler) grantJSON(g *airlock.Grant) GrantJSON {
	if g.Tables == nil {
		g.Tables = []string{}
	}
	return GrantJSON{Grant: g, Level: g.Level.String(), State: g.State(h.Now())}
}

func (h *handler) listGrants(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	q := r.URL.Query()
	f := airlock.GrantFilter{User: q.Get("user"), Database: q.Get("database")}
	if q.Get("active") == "true" {
		f.ActiveAt = h.Now()
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	gs, err := h.Access.ListGrants(r.Context(), a, f)
	if err != nil {
		return err
	}
	out := make([]GrantJSON, 0, len(gs))
	for _, g := range gs {
		out = append(out, h.grantJSON(g))
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *handler) revokeGrant(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	g, err := h.Access.RevokeGrant(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, h.grantJSON(g))
	return nil
}
