package web

import (
	"fmt"
	"net/http"
	"strings"

	"airlock"
)

// sessionView is a session with its level now (for a live one).
type sessionView struct {
	*airlock.Session
	State string
	Level string
	Live  bool
}

func (h *Handler) viewSession(s *airlock.Session) sessionView {
	v := sessionView{Session: s, State: s.State(), Level: s.Level.String()}
	if live := h.o.Gateway.Session(s.ID); live != nil && s.EndedAt == nil {
		v.Level, v.Live = live.Level().String(), true
	}
	return v
}

// sessionsPage lists active sessions (with kill, for admins) and recent
// ones. Admins see everyone's; others their own, as in the API.
func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f := airlock.SessionFilter{Active: true, Limit: 200}
	if !rc.actor.IsAdmin() {
		f.User = rc.actor.User.Name
	}
	act, err := h.o.Store.ListSessions(r.Context(), f)
	if err != nil {
		return err
	}
	f.Active, f.Limit = false, 100
	all, err := h.o.Store.ListSessions(r.Context(), f)
	if err != nil {
		return err
	}
	var active, past []sessionView
	for _, s := range act {
		active = append(active, h.viewSession(s))
	}
	for _, s := range all {
		if s.EndedAt != nil {
			past = append(past, h.viewSession(s))
		}
	}
	h.render(w, r, rc, http.StatusOK, "sessions.html", "Sessions", "sessions", map[string]any{"Active": active, "Past": past})
	return nil
}

// sessionEvents caps the statements shown on a session's page.
const sessionEvents = 2000

// session shows one session and everything it did, oldest first, with
// links to undo a statement or the whole session.
func (h *Handler) session(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	s, err := h.o.Store.GetSession(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !rc.actor.IsAdmin() && s.User != rc.actor.User.Name {
		return airlock.Errorf(airlock.EFORBIDDEN, "only admins see other users' sessions")
	}
	evs, err := h.o.Store.ListEvents(r.Context(), airlock.EventFilter{SessionID: s.ID, Ascending: true, Limit: sessionEvents + 1})
	if err != nil {
		return err
	}
	more := len(evs) > sessionEvents
	if more {
		evs = evs[:sessionEvents]
	}
	type row struct {
		eventView
		Undo string // what to pass to /undo/ for this statement
	}
	rows := make([]row, 0, len(evs))
	undoable := false
	for _, ev := range evs {
		if hiddenInActivity(ev) {
			continue
		}
		rw := row{eventView: describe(ev)}
		if strings.HasPrefix(ev.Detail["undo"], "u_") {
			rw.Undo = fmt.Sprint(ev.ID)
			undoable = true
		}
		rows = append(rows, rw)
	}
	h.render(w, r, rc, http.StatusOK, "session.html", "Session "+s.ID, "sessions", map[string]any{
		"S": h.viewSession(s), "Events": rows, "More": more, "Undoable": undoable,
	})
	return nil
}

func (h *Handler) killSession(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id := r.PathValue("id")
	if err := h.o.Gateway.KillSession(r.Context(), rc.actor, id); err != nil {
		return err
	}
	return h.done(w, r, rc, "/sessions/"+id, fmt.Sprintf("Killed session %s: its client was disconnected and its open transaction rolled back.", id))
}

// undoShow shows the SQL that reverses a statement (its event id or undo
// record) or a whole session, and the form to apply it.
func (h *Handler) undoShow(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id := r.PathValue("id")
	sql, recs, err := h.o.Gateway.UndoShow(r.Context(), rc.actor, id)
	if err != nil {
		return err
	}
	back := ""
	if len(recs) > 0 && recs[0].SessionID != "" {
		back = "/sessions/" + recs[0].SessionID
	}
	h.render(w, r, rc, http.StatusOK, "undo.html", "Undo "+id, "sessions", map[string]any{
		"ID": id, "SQL": sql, "Records": recs, "Back": back,
	})
	return nil
}

func (h *Handler) undoApply(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id := r.PathValue("id")
	res, err := h.o.Gateway.UndoApply(r.Context(), rc.actor, id, r.PostFormValue("force") == "on")
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !res.Applied {
		status = http.StatusConflict
	}
	h.render(w, r, rc, status, "undo_result.html", "Undo "+id, "sessions", map[string]any{"ID": id, "Res": res})
	return nil
}
