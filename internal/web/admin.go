package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/config"
)

// levelCheck is the credential check of one level of a database.
type levelCheck struct {
	Level    string
	Status   string // ok, warning, problem
	Messages []string
}

// dbView is a configured database with, for admins, its check.
type dbView struct {
	*config.Database
	Levels    []string
	Checked   bool
	Reachable string // yes, no, or "" when not checked
	CheckErr  string
	Checks    []levelCheck
}

// checkTimeout bounds the credential checks of one database.
const checkTimeout = 10 * time.Second

// databases lists the configured databases; for admins it also checks
// each one now (gateway.CheckDatabase): can each credential connect, and
// does each hold no more than its level allows.
func (h *Handler) databases(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	dbs := make([]dbView, len(h.o.Config.Databases))
	var wg sync.WaitGroup
	for i := range h.o.Config.Databases {
		db := &h.o.Config.Databases[i]
		v := &dbs[i]
		v.Database = db
		for l := airlock.LevelRead; l <= airlock.LevelAdmin; l++ {
			if _, ok := db.Credentials[l]; ok {
				v.Levels = append(v.Levels, l.String())
			}
		}
		if !rc.actor.IsAdmin() {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			fs, err := h.o.Gateway.CheckDatabase(ctx, db.Name)
			h.checkView(v, fs, err)
		})
	}
	wg.Wait()
	h.render(w, r, rc, http.StatusOK, "databases.html", "Databases", "databases", map[string]any{"DBs": dbs})
	return nil
}

func (h *Handler) checkView(v *dbView, fs []airlock.Finding, err error) {
	v.Checked = true
	if err != nil {
		v.CheckErr = airlock.ErrorMessage(err)
		if airlock.ErrorCode(err) == airlock.EINTERNAL {
			h.o.Logger.Error("web: database check", "database", v.Name, "err", err)
			v.CheckErr = "the check could not finish; see the server log"
		}
		return
	}
	unreachable := 0
	for _, l := range v.Levels {
		c := levelCheck{Level: l, Status: "ok"}
		for _, f := range fs {
			if f.Level != l {
				continue
			}
			c.Messages = append(c.Messages, f.Message)
			switch {
			case f.Severity == "error":
				c.Status = "problem"
				if strings.HasPrefix(f.Message, "cannot connect") {
					unreachable++
				}
			case c.Status == "ok":
				c.Status = "warning"
			}
		}
		v.Checks = append(v.Checks, c)
	}
	v.Reachable = "yes"
	if unreachable == len(v.Levels) {
		v.Reachable = "no"
	}
}

// users shows, to admins, every user with a form to add one, and every
// token with revoke and a form to issue one; others see their own tokens.
func (h *Handler) users(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	h.renderUsers(w, r, rc, http.StatusOK, nil)
	return nil
}

// issued is a token secret shown once, right after it was issued.
type issued struct {
	Secret string
	Token  *airlock.Token
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, is *issued) {
	ctx := r.Context()
	var users []*airlock.User
	if rc.actor.IsAdmin() {
		var err error
		if users, err = h.o.Access.ListUsers(ctx, rc.actor); err != nil {
			h.fail(w, r, rc, err)
			return
		}
	}
	toks, err := h.o.Access.ListTokens(ctx, rc.actor, "")
	if err != nil {
		h.fail(w, r, rc, err)
		return
	}
	now := h.o.Now()
	type tokenView struct {
		*airlock.Token
		State string
	}
	var active, past []tokenView
	for _, t := range toks {
		v := tokenView{Token: t, State: t.State(now)}
		if v.State == "active" {
			active = append(active, v)
		} else if len(past) < 100 {
			past = append(past, v)
		}
	}
	title, nav := "Users & tokens", "users"
	if !rc.actor.IsAdmin() {
		title = "Tokens"
	}
	if is != nil {
		w.Header().Set("Cache-Control", "no-store")
	}
	h.render(w, r, rc, status, "users.html", title, nav, map[string]any{
		"Users": users, "Active": active, "Past": past, "Issued": is,
		"DefaultTTL": fmtDuration(h.o.Config.Tokens.DefaultTTL.D()), "MaxTTL": fmtDuration(h.o.Config.Tokens.MaxTTL.D()),
	})
}

// splitList reads "a, b c" as [a b c].
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' })
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if err := r.ParseForm(); err != nil {
		return airlock.Errorf(airlock.EINVALID, "unreadable form")
	}
	u := &airlock.User{Name: strings.TrimSpace(r.PostFormValue("name")), Groups: splitList(r.PostFormValue("groups")), Roles: r.PostForm["role"]}
	if err := h.o.Access.CreateUser(r.Context(), rc.actor, u); err != nil {
		return err
	}
	return h.done(w, r, rc, "/users", fmt.Sprintf("Added user %s. Issue a token below to let them sign in.", u.Name))
}

// issueToken shows the new secret on the page it answers with, once;
// it is not kept anywhere to be shown again.
func (h *Handler) issueToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	var ttl time.Duration
	if v := strings.TrimSpace(r.PostFormValue("ttl")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return airlock.Errorf(airlock.EINVALID, "ttl must be a duration such as 30m or 4h")
		}
		ttl = d
	}
	secret, t, err := h.o.Access.IssueToken(r.Context(), rc.actor, access.IssueRequest{
		User: strings.TrimSpace(r.PostFormValue("user")), TTL: ttl, Note: strings.TrimSpace(r.PostFormValue("note")),
	})
	if err != nil {
		return err
	}
	h.renderUsers(w, r, rc, http.StatusOK, &issued{Secret: secret, Token: t})
	return nil
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id := r.PathValue("id")
	if err := h.o.Access.RevokeToken(r.Context(), rc.actor, id); err != nil {
		return err
	}
	return h.done(w, r, rc, "/users", fmt.Sprintf("Revoked token %s; the sessions that used it were ended.", id))
}
