package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"airlock"
)

// pageData is what every template gets.
type pageData struct {
	Title   string
	Nav     string // the active navigation entry
	User    *airlock.User
	IsAdmin bool
	CSRF    string
	Flash   string
	Now     time.Time
	Data    any
}

var funcs = template.FuncMap{
	"ts":       fmtTime,
	"tsp":      func(t *time.Time) string { return fmtTimeP(t) },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":     strings.Join,
	"dur":      fmtDuration,
	"ago":      ago,
	"describe": describe,
	"timeval":  func(t *time.Time) time.Time { return *t },
	"str": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	// dict builds the argument of a sub-template: dict "K" v "K2" v2.
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func fmtTimeP(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return fmtTime(*t)
}

// fmtDuration writes 30m0s as 30m and 4h0m0s as 4h.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ago says how far t is from now, in words ("5m ago", "in 29m").
func ago(now, t time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if d < 0 {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" || name == "parts.html" {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// render writes page name with data; rc is nil on pages for visitors who
// are not signed in.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, name, title, nav string, data any) {
	pd := pageData{Title: title, Nav: nav, Data: data, Now: h.o.Now()}
	if rc != nil {
		pd.User = rc.actor.User
		pd.IsAdmin = rc.actor.IsAdmin()
		pd.CSRF = rc.sess.csrf
		pd.Flash = rc.sess.takeFlash()
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", pd); err != nil {
		h.o.Logger.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// eventView is an audit event as a row of the activity and audit tables.
type eventView struct {
	*airlock.Event
	What    string // statement text or a sentence
	Code    bool   // What is SQL
	Note    string // why denied, error, reason...
	Verdict string // allowed, denied, failed, alert or ""
}

// describe mirrors describe() in static/app.js, which renders the rows
// that arrive live.
func describe(ev *airlock.Event) eventView {
	v := eventView{Event: ev}
	d := ev.Detail
	switch ev.Type {
	case airlock.EventStatement:
		v.What, v.Code = ev.Text, true
		switch {
		case ev.Decision == airlock.DecisionDenied:
			v.Verdict = "denied"
			v.Note = ev.Rule + ": " + ev.Reason
		case ev.Error != "":
			v.Verdict = "failed"
			v.Note = ev.Error
		case ev.Action == airlock.ActionStarted:
			v.Verdict = "allowed"
			v.Note = "started"
		default:
			v.Verdict = "allowed"
			v.Note = rows(ev.Rows)
		}
		if len(ev.Warnings) > 0 {
			v.Note = strings.TrimSpace(v.Note + " warning: " + strings.Join(ev.Warnings, "; "))
		}
	case airlock.EventAlert:
		v.Verdict = "alert"
		v.What = "alert " + ev.Rule
		v.Note = ev.Reason
	case airlock.EventSession:
		switch ev.Action {
		case "opened":
			v.What = "session opened at " + d["level"] + " level"
		case "level":
			v.What = "session level " + d["from"] + " → " + d["to"]
		case "killed":
			v.What = "session killed by " + ev.Actor
		case "closed":
			v.What = "session closed"
			v.Note = d["reason"]
		default:
			v.What = "session " + ev.Action
		}
	case airlock.EventRequest:
		v.What = "request " + ev.Action + ": " + d["level"] + " for " + shortDuration(d["duration"])
		if ev.Actor != "" && ev.Actor != ev.User {
			v.What += " by " + ev.Actor
		}
		v.Note = d["reason"]
		if d["decision_reason"] != "" {
			v.Note = d["decision_reason"]
		}
	case airlock.EventGrant:
		v.What = "grant " + ev.Action + ": " + d["level"] + " until " + d["expires_at"]
		if ev.Actor != "" && ev.Actor != ev.User {
			v.What += " by " + ev.Actor
		}
	default:
		v.What = ev.Type + " " + ev.Action
		if ev.Actor != "" && ev.Actor != ev.User {
			v.What += " by " + ev.Actor
		}
		if ev.Ref != "" {
			v.Note = ev.Ref
		}
	}
	// An agent's events say so, and whom it acted for.
	switch {
	case d["on_behalf_of"] != "":
		v.Note = strings.TrimSpace(v.Note + " (agent, for " + d["on_behalf_of"] + ")")
	case d["agent"] == "true":
		v.Note = strings.TrimSpace(v.Note + " (agent)")
	}
	return v
}

func rows(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n == 1:
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// shortDuration writes a stored duration ("1h0m0s") as "1h".
func shortDuration(s string) string {
	d, err := time.ParseDuration(s)
	if err != nil {
		return s
	}
	return fmtDuration(d)
}
