package web

import (
	"fmt"
	"net/http"
	"strings"
)

// trash lists what soft DROP and TRUNCATE kept, with restore (under
// another name when the old one is taken) and purge, for admins.
func (h *Handler) trash(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	items, err := h.o.Gateway.TrashList(r.Context(), rc.actor, "")
	if err != nil {
		return err
	}
	h.render(w, r, rc, http.StatusOK, "trash.html", "Trash", "trash", map[string]any{"Items": items})
	return nil
}

func (h *Handler) restoreTrash(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	as := strings.TrimSpace(r.PostFormValue("as"))
	it, err := h.o.Gateway.TrashRestore(r.Context(), rc.actor, r.PathValue("id"), as)
	if err != nil {
		return err
	}
	name := it.Table
	if as != "" {
		name = it.Table[:strings.LastIndex(it.Table, ".")+1] + as
	}
	return h.done(w, r, rc, "/trash", fmt.Sprintf("Restored %s: %s is back.", it.ID, name))
}

func (h *Handler) purgeTrash(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	it, err := h.o.Gateway.TrashPurge(r.Context(), rc.actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.done(w, r, rc, "/trash", fmt.Sprintf("Purged %s: what was kept of %s is gone for good.", it.ID, it.Table))
}
