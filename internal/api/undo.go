package api

import (
	"net/http"

	"airlock"
	"airlock/internal/access"
)

// UndoRecordJSON summarises an undo record.
type UndoRecordJSON struct {
	ID        string `json:"id"`
	User      string `json:"user"`
	Database  string `json:"database"`
	SessionID string `json:"session_id"`
	Statement string `json:"statement"`
	State     string `json:"state"`
	Rows      int    `json:"rows"`
	CreatedAt string `json:"created_at"`
}

// UndoShowJSON answers GET /undo/{id}.
type UndoShowJSON struct {
	SQL     string           `json:"sql"`
	Records []UndoRecordJSON `json:"records"`
}

func (h *handler) showUndo(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	sql, recs, err := h.Gateway.UndoShow(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := UndoShowJSON{SQL: sql, Records: []UndoRecordJSON{}}
	for _, rec := range recs {
		out.Records = append(out.Records, UndoRecordJSON{ID: rec.ID, User: rec.User, Database: rec.Database, SessionID: rec.SessionID,
			Statement: rec.Statement, State: rec.State, Rows: len(rec.Images), CreatedAt: rec.CreatedAt.Format("2006-01-02T15:04:05.000Z07:00")})
	}
	writeJSON(w, 200, out)
	return nil
}

// UndoApplyBody is the body of POST /undo/{id}/apply.
type UndoApplyBody struct {
	Force bool `json:"force"`
}

func (h *handler) applyUndo(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	var body UndoApplyBody
	if r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil {
			return err
		}
	}
	res, err := h.Gateway.UndoApply(r.Context(), a, r.PathValue("id"), body.Force)
	if err != nil {
		return err
	}
	writeJSON(w, 200, res)
	return nil
}

func (h *handler) checkDatabase(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	if err := requireAdmin(a, "check databases"); err != nil {
		return err
	}
	f, err := h.Gateway.CheckDatabase(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if f == nil {
		f = []airlock.Finding{}
	}
	writeJSON(w, 200, f)
	return nil
}

func (h *handler) prepareDatabase(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	n, err := h.Gateway.PrepareDatabase(r.Context(), a, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, map[string]any{"database": r.PathValue("name"), "tables": n})
	return nil
}
