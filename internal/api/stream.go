package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"airlock"
	"airlock/internal/access"
)

// matches reports whether ev passes the filter (the live side of the same
// filters the store applies).
func matches(f airlock.EventFilter, ev *airlock.Event) bool {
	switch {
	case f.User != "" && ev.User != f.User,
		f.Database != "" && ev.Database != f.Database,
		f.SessionID != "" && ev.SessionID != f.SessionID,
		f.Type != "" && ev.Type != f.Type,
		f.StatementKind != "" && ev.StatementKind != f.StatementKind,
		f.Decision != "" && ev.Decision != f.Decision,
		f.Rule != "" && ev.Rule != f.Rule,
		f.Contains != "" && !strings.Contains(strings.ToLower(ev.Text), strings.ToLower(f.Contains)),
		!f.Since.IsZero() && ev.Time.Before(f.Since),
		!f.Until.IsZero() && !ev.Time.Before(f.Until):
		return false
	}
	return true
}

// streamAudit serves Server-Sent Events: the stored events after the
// client's Last-Event-ID (or after_id), then new ones as they become
// durable, with the filters of the list. A client that falls behind is
// disconnected and resumes from its last id.
func (h *handler) streamAudit(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	f, err := h.eventFilter(r, a)
	if err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return airlock.Errorf(airlock.EINTERNAL, "streaming unsupported")
	}
	last := f.AfterID
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if last, err = strconv.ParseInt(v, 10, 64); err != nil || last < 0 {
			return airlock.Errorf(airlock.EINVALID, "Last-Event-ID must be an event id")
		}
	}
	if last == 0 && r.URL.Query().Get("after_id") == "" && r.Header.Get("Last-Event-ID") == "" {
		// A new follower starts from now, as tail -f does.
		if ev, err := h.Store.LastEvent(r.Context()); err == nil && ev != nil {
			last = ev.ID
		}
	}
	// Subscribe before reading the backlog, so that nothing falls between.
	sub := h.Audit.Subscribe(4096, func(ev *airlock.Event) bool { return matches(f, ev) })
	defer sub.Close()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(200)
	send := func(ev *airlock.Event) error {
		if ev.ID <= last {
			return nil
		}
		b, err := json.Marshal(EventJSON{Event: ev, CreatedAt: ev.Time})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b); err != nil {
			return err
		}
		last = ev.ID
		return nil
	}
	backlog := f
	backlog.AfterID, backlog.Ascending, backlog.Limit = last, true, 0
	if err := h.Store.ScanEvents(r.Context(), backlog, send); err != nil {
		return nil // the response has started; the client reconnects
	}
	fl.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				return nil // fell behind: the client resumes from its last id
			}
			if err := send(ev); err != nil {
				return nil
			}
			// Send what else is ready in one write.
			for more := true; more; {
				select {
				case ev, ok := <-sub.C:
					if !ok {
						fl.Flush()
						return nil
					}
					if err := send(ev); err != nil {
						return nil
					}
				default:
					more = false
				}
			}
			fl.Flush()
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			fl.Flush()
		case <-r.Context().Done():
			return nil
		}
	}
}

// exportAudit streams the matching events as JSON lines, oldest first,
// without holding them in memory.
func (h *handler) exportAudit(w http.ResponseWriter, r *http.Request, a *access.Actor) error {
	f, err := h.eventFilter(r, a)
	if err != nil {
		return err
	}
	if err := h.Audit.Sync(r.Context()); err != nil {
		return err
	}
	f.Ascending, f.Limit = true, 0
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	started := false
	err = h.Store.ScanEvents(r.Context(), f, func(ev *airlock.Event) error {
		started = true
		return enc.Encode(ev)
	})
	if err != nil && !started {
		return err
	}
	return nil
}
