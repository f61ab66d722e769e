package server

import (
	"context"
	"net/http"
	"time"
)

// pinger is a store that can tell whether it is reachable.
type pinger interface {
	Ping(ctx context.Context) error
}

// ready serves /readyz: 200 while the store answers and the audit log can
// record events, 503 with the reason otherwise (SPEC §9). A load balancer
// takes a gateway that is not ready out of rotation; its sessions are
// denied statements meanwhile (fail closed).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.Store.(pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := p.Ping(ctx)
		cancel()
		if err != nil {
			http.Error(w, "not ready: the store is unreachable; statements are denied until it is back", http.StatusServiceUnavailable)
			return
		}
	}
	if err := s.Audit.Err(); err != nil {
		http.Error(w, "not ready: the audit log cannot record events; statements are denied until it can", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}
