package api

import (
	"net/http"

	"airlock/internal/access"
)

// TrashRestoreBody is the body of POST /trash/{id}/restore.
type TrashRestoreBody struct {
	// As restores a dropped table under another name (same schema).
	As string `json:"as,omitempty"`
}

func (h *handler) listTrash(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	items, err := h.Gateway.TrashList(r.Context(), a, r.URL.Query().Get("database"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, items)
	return nil
}

func (h *handler) restoreTrash(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	var body TrashRestoreBody
	if r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil {
			return err
		}
	}
	it, err := h.Gateway.TrashRestore(r.Context(), a, r.PathValue("id"), body.As)
	if err != nil {
		return err
	}
	writeJSON(w, 200, it)
	return nil
}

func (h *handler) purgeTrash(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	it, err := h.Gateway.TrashPurge(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, it)
	return nil
}
