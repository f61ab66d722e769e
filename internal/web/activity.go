package web

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"airlock"
)

// activityRows is how many recent events the activity page starts with.
const activityRows = 100

// activity shows the newest events and follows new ones live (app.js
// opens /activity/stream after the newest event shown). Admins see
// everyone's; others their own, as in the API.
func (h *Handler) activity(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f := airlock.EventFilter{Limit: activityRows}
	if !rc.actor.IsAdmin() {
		f.User = rc.actor.User.Name
	}
	evs, err := h.o.Store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	var last int64
	rows := make([]eventView, 0, len(evs))
	for _, ev := range evs {
		last = max(last, ev.ID)
		if hiddenInActivity(ev) {
			continue
		}
		rows = append(rows, describe(ev))
	}
	h.render(w, r, rc, http.StatusOK, "activity.html", "Activity", "activity", map[string]any{
		"Events": rows, "Stream": "/activity/stream?after_id=" + strconv.FormatInt(last, 10),
	})
	return nil
}

// hiddenInActivity: a write's "started" event is followed by its
// "executed" event, which says everything the first one does.
func hiddenInActivity(ev *airlock.Event) bool {
	return ev.Type == airlock.EventStatement && ev.Action == airlock.ActionStarted
}

// activityStream serves the API's audit stream (Server-Sent Events,
// Last-Event-ID) to the signed-in user, with their token.
func (h *Handler) activityStream(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	q := url.Values{}
	if v := r.URL.Query().Get("after_id"); v != "" {
		q.Set("after_id", v)
	}
	h.proxyAPI(w, r, rc, "/api/v1/audit/stream", q)
	return nil
}

// proxyAPI serves the JSON API's path with query q, as the signed-in user.
func (h *Handler) proxyAPI(w http.ResponseWriter, r *http.Request, rc *reqCtx, path string, q url.Values) {
	r2 := r.Clone(r.Context())
	r2.URL = &url.URL{Path: path, RawQuery: q.Encode()}
	r2.RequestURI = r2.URL.RequestURI()
	r2.Header.Del("Cookie")
	r2.Header.Set("Authorization", "Bearer "+rc.sess.secret)
	h.o.API.ServeHTTP(w, r2)
}

// auditFilters are the search fields of the audit page, in order; they
// are the CLI's filters and the API's query parameters.
var auditFilters = []string{"user", "database", "session", "kind", "statement_kind", "decision", "rule", "contains", "since", "until"}

const auditPageSize = 50

// auditFilter reads the search form. Users who are not admins search
// their own events only.
func (h *Handler) auditFilter(r *http.Request, rc *reqCtx) (airlock.EventFilter, error) {
	q := r.URL.Query()
	f := airlock.EventFilter{
		User: q.Get("user"), Database: q.Get("database"), SessionID: q.Get("session"), Type: q.Get("kind"),
		StatementKind: q.Get("statement_kind"), Decision: q.Get("decision"), Rule: q.Get("rule"), Contains: q.Get("contains"),
	}
	now := h.o.Now()
	var err error
	if f.Since, err = parseWhen(q.Get("since"), now, "since"); err != nil {
		return f, err
	}
	if f.Until, err = parseWhen(q.Get("until"), now, "until"); err != nil {
		return f, err
	}
	if v := q.Get("before_id"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID < 0 {
			return f, airlock.Errorf(airlock.EINVALID, "before_id must be an event id")
		}
	}
	if f.Decision != "" && f.Decision != airlock.DecisionAllowed && f.Decision != airlock.DecisionDenied {
		return f, airlock.Errorf(airlock.EINVALID, "decision must be allowed or denied")
	}
	if !rc.actor.IsAdmin() {
		if f.User != "" && f.User != rc.actor.User.Name {
			return f, airlock.Errorf(airlock.EFORBIDDEN, "only admins see other users' events")
		}
		f.User = rc.actor.User.Name
	}
	return f, nil
}

// parseWhen reads a duration back from now (90m) or an RFC 3339 time.
func parseWhen(v string, now time.Time, name string) (time.Time, error) {
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

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	f, err := h.auditFilter(r, rc)
	if err != nil {
		return err
	}
	f.Limit = auditPageSize + 1
	evs, err := h.o.Store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	more := len(evs) > auditPageSize
	if more {
		evs = evs[:auditPageSize]
	}
	rows := make([]eventView, 0, len(evs))
	for _, ev := range evs {
		rows = append(rows, describe(ev))
	}
	// The form's values, and the same search as a query string for the
	// export and the next page.
	q := r.URL.Query()
	form := map[string]string{}
	search := url.Values{}
	for _, k := range auditFilters {
		if v := q.Get(k); v != "" {
			form[k] = v
			search.Set(k, v)
		}
	}
	older := ""
	if more {
		n := url.Values{}
		for k, v := range search {
			n[k] = v
		}
		n.Set("before_id", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		older = "/audit?" + n.Encode()
	}
	newest := ""
	if f.BeforeID != 0 {
		newest = "/audit?" + search.Encode()
	}
	h.render(w, r, rc, http.StatusOK, "audit.html", "Audit", "audit", map[string]any{
		"Form": form, "Events": rows, "Older": older, "Newest": newest,
		"Export": "/audit/export?" + search.Encode(),
		"Kinds":  []string{airlock.EventStatement, airlock.EventSession, airlock.EventRequest, airlock.EventGrant, airlock.EventAlert, airlock.EventToken, airlock.EventUser, airlock.EventUndo, airlock.EventSystem},
		"Users":  h.userNames(r, rc),
		"DBs":    h.o.Config.Databases,
	})
	return nil
}

// userNames lists user names for the search form (admins only; others
// search their own events).
func (h *Handler) userNames(r *http.Request, rc *reqCtx) []string {
	if !rc.actor.IsAdmin() {
		return nil
	}
	us, err := h.o.Access.ListUsers(r.Context(), rc.actor)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

// auditExport downloads the search as JSON lines, through the API.
func (h *Handler) auditExport(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if _, err := h.auditFilter(r, rc); err != nil {
		return err
	}
	q := url.Values{}
	for _, k := range auditFilters {
		if v := r.URL.Query().Get(k); v != "" {
			q.Set(k, v)
		}
	}
	w.Header().Set("Content-Disposition", `attachment; filename="airlock-audit.jsonl"`)
	h.proxyAPI(w, r, rc, "/api/v1/audit/export", q)
	return nil
}
