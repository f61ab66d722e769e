package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"airlock"
	"airlock/internal/access"
)

// requestView is a request with what the viewer may do with it.
type requestView struct {
	*airlock.Request
	CanDecide  bool // approve and deny
	CanApprove bool // CanDecide and not approved by the viewer yet
	CanCancel  bool
}

func viewRequest(a *access.Actor, r *airlock.Request) requestView {
	v := requestView{Request: r}
	if r.State == airlock.RequestPending {
		v.CanDecide = access.CanDecide(a, r) == nil
		v.CanApprove = v.CanDecide && !r.ApprovedBy(a.User.Name)
		v.CanCancel = r.User == a.User.Name || a.IsAdmin()
	}
	return v
}

// requests lists pending requests (with approve and deny for those who
// may decide them), the history, and a form to ask for access.
func (h *Handler) requests(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	pend, err := h.o.Access.ListRequests(r.Context(), rc.actor, airlock.RequestFilter{State: airlock.RequestPending})
	if err != nil {
		return err
	}
	all, err := h.o.Access.ListRequests(r.Context(), rc.actor, airlock.RequestFilter{Limit: 100})
	if err != nil {
		return err
	}
	var pending, history []requestView
	for _, req := range pend {
		pending = append(pending, viewRequest(rc.actor, req))
	}
	for _, req := range all {
		if req.State != airlock.RequestPending {
			history = append(history, viewRequest(rc.actor, req))
		}
	}
	h.render(w, r, rc, http.StatusOK, "requests.html", "Requests", "requests", map[string]any{
		"Pending": pending, "History": history, "DBs": h.o.Config.Databases,
		"Levels": []string{"write", "ddl", "admin", "read"},
	})
	return nil
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	req, err := h.o.Access.GetRequest(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(w, r, rc, http.StatusOK, "request.html", "Request "+req.ID, "requests", map[string]any{"R": viewRequest(rc.actor, req),
		"DryRun": viewRun("Dry-run", req.DryRun), "Run": viewRun("Run on approval", req.Run)})
	return nil
}

func (h *Handler) createRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if strings.TrimSpace(r.PostFormValue("sql")) != "" {
		return h.createScriptRequest(w, r, rc)
	}
	lvl, err := airlock.ParseLevel(r.PostFormValue("level"))
	if err != nil || lvl == airlock.LevelNone {
		return airlock.Errorf(airlock.EINVALID, "level must be read, write, ddl or admin")
	}
	var dur time.Duration
	if v := strings.TrimSpace(r.PostFormValue("duration")); v != "" {
		if dur, err = time.ParseDuration(v); err != nil || dur < time.Second {
			return airlock.Errorf(airlock.EINVALID, "duration must be a duration of at least 1s, such as 30m")
		}
	}
	tables := strings.FieldsFunc(r.PostFormValue("tables"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' })
	req, err := h.o.Access.CreateRequest(r.Context(), rc.actor, access.RequestInput{
		Database: r.PostFormValue("database"), Level: lvl, Duration: dur, Reason: r.PostFormValue("reason"), Tables: tables,
	})
	if err != nil {
		return err
	}
	rc.sess.setFlash(fmt.Sprintf("Request %s filed: %s on %s for %s. An approver decides it.", req.ID, req.Level, req.Database, fmtDuration(req.Duration)))
	http.Redirect(w, r, "/requests/"+req.ID, http.StatusSeeOther)
	return nil
}

func (h *Handler) approveRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	req, err := h.o.Access.ApproveRequest(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	if req.Script != "" && req.Run != nil {
		msg := fmt.Sprintf("Approved request %s: the script ran and was committed.", req.ID)
		if req.State == airlock.RequestPending {
			msg = fmt.Sprintf("Request %s is back to review: %s", req.ID, req.DecisionReason)
		}
		return h.done(w, r, rc, "/requests/"+req.ID, msg)
	}
	msg := fmt.Sprintf("Approved request %s: %s has %s access to %s until %s.", req.ID, req.User, req.Level, req.Database,
		fmtTime(req.DecidedAt.Add(req.Duration)))
	if req.State == airlock.RequestPending {
		msg = fmt.Sprintf("Your approval of request %s is recorded (%d of %d).", req.ID, len(req.Approvals), req.ApprovalsNeeded)
	}
	return h.done(w, r, rc, "/requests/"+req.ID, msg)
}

func (h *Handler) denyRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	req, err := h.o.Access.DenyRequest(r.Context(), rc.actor, r.PathValue("id"), r.PostFormValue("reason"))
	if err != nil {
		return err
	}
	return h.done(w, r, rc, "/requests/"+req.ID, fmt.Sprintf("Denied request %s of %s.", req.ID, req.User))
}

func (h *Handler) cancelRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	req, err := h.o.Access.CancelRequest(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.done(w, r, rc, "/requests/"+req.ID, fmt.Sprintf("Cancelled request %s.", req.ID))
}

// grantView is a grant with its state now and what the viewer may do.
type grantView struct {
	*airlock.Grant
	State     string
	CanRevoke bool
}

// grants lists the active grants and the recent ones, with revoke.
func (h *Handler) grants(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	now := h.o.Now()
	act, err := h.o.Access.ListGrants(r.Context(), rc.actor, airlock.GrantFilter{ActiveAt: now})
	if err != nil {
		return err
	}
	all, err := h.o.Access.ListGrants(r.Context(), rc.actor, airlock.GrantFilter{Limit: 100})
	if err != nil {
		return err
	}
	view := func(g *airlock.Grant) grantView {
		st := g.State(now)
		return grantView{Grant: g, State: st, CanRevoke: st == "active" && (g.User == rc.actor.User.Name || rc.actor.IsAdmin())}
	}
	var active, past []grantView
	for _, g := range act {
		active = append(active, view(g))
	}
	for _, g := range all {
		if !g.Active(now) {
			past = append(past, view(g))
		}
	}
	h.render(w, r, rc, http.StatusOK, "grants.html", "Grants", "grants", map[string]any{"Active": active, "Past": past})
	return nil
}

func (h *Handler) revokeGrant(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	g, err := h.o.Access.RevokeGrant(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.done(w, r, rc, "/grants", fmt.Sprintf("Revoked grant %s: %s no longer has %s access to %s.", g.ID, g.User, g.Level, g.Database))
}
