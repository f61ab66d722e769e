package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/policy"
)

// readyz answers 200 "ready" while the store accepts writes and the audit
// log takes events, 503 with the reason otherwise. Load balancers and
// Kubernetes take an instance out of rotation on 503: its sessions would
// be denied every statement meanwhile.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}

// ready returns why the server cannot take statements now, or nil. The
// reasons are fixed texts: nothing internal reaches the unauthenticated
// caller.
func (s *Server) ready(ctx context.Context) error {
	if err := s.Audit.Err(); err != nil {
		s.log.Warn("readyz: audit log", "err", err)
		return errors.New("the audit log cannot record events")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Store.CheckWritable(ctx); err != nil {
		s.log.Warn("readyz: store", "err", err)
		return errors.New("the store does not accept writes")
	}
	return nil
}

// metricsHandler serves /metrics, behind the bearer token of
// metrics.bearer_token_file when one is configured.
func (s *Server) metricsHandler(token string) http.Handler {
	h := s.Metrics.Handler()
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="airlock metrics"`)
			http.Error(w, "a bearer token is required\n", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// fixed lists the parts of the config that a reload cannot change: they
// are bound when airlock starts (sockets, the store, the audit pipeline
// and its sinks, background workers). A reload that changes one is
// refused as a whole; restart airlock to change them.
var fixed = []struct {
	name string
	get  func(*config.Config) any
}{
	{"listen", func(c *config.Config) any { return c.Listen }},
	{"tls", func(c *config.Config) any { return c.TLS }},
	{"store", func(c *config.Config) any { return c.StorePath() + "|" + c.Store }},
	{"audit", func(c *config.Config) any { return c.Audit }},
	{"notifications", func(c *config.Config) any { return c.Notifications }},
	{"alerts", func(c *config.Config) any { return c.Alerts }},
	{"shutdown", func(c *config.Config) any { return c.Shutdown }},
	{"log", func(c *config.Config) any { return c.Log }},
	{"metrics", func(c *config.Config) any { return c.Metrics }},
	{"auth", func(c *config.Config) any { return c.Auth }},
	{"mcp", func(c *config.Config) any { return c.MCP }},
	{"agents", func(c *config.Config) any { return c.Agents }},
	{"limits.statement_memory", func(c *config.Config) any { return c.Limits.StatementMemory }},
}

// ConfigNow returns the configuration in force: the one Start was given,
// or the last one Reload applied.
func (s *Server) ConfigNow() *config.Config { return s.cur.Load() }

// Reload reads the config file again and applies it without dropping
// sessions: users, databases (their guardrails, limits, undo mode and
// credentials), policies, custom guardrails, token and request lifetimes
// take effect at once, and every live session is decided again against
// them (gateway.Reload): a level no longer allowed ends the elevation as a
// revocation does. A file that does not load or validate, or that changes
// a part that only a restart can change (see fixed), is refused: the old
// configuration stays in force, and the reason is logged and returned.
// Reloads are serialized. The outcome is audited as a system event.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.cur.Load()
	err := s.reload(ctx, old)
	ev := &airlock.Event{Type: airlock.EventSystem, Action: "config_reloaded", Detail: map[string]string{"file": old.Path}}
	if err != nil {
		ev.Action, ev.Reason = "config_refused", err.Error()
		s.log.Error("config reload refused; the previous configuration stays in force", "file", old.Path, "err", err)
	} else {
		s.log.Info("config reloaded", "file", old.Path)
	}
	if aerr := s.Audit.Record(ctx, ev); aerr != nil {
		s.log.Error("audit config reload", "err", aerr)
	}
	return err
}

func (s *Server) reload(ctx context.Context, old *config.Config) error {
	cfg, err := config.Load(old.Path)
	if err != nil {
		return err
	}
	for _, f := range fixed {
		if !reflect.DeepEqual(f.get(old), f.get(cfg)) {
			return fmt.Errorf("%s: %s cannot change while airlock runs; restart it to apply this change", cfg.Path, f.name)
		}
	}
	pol, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Path, err)
	}
	s.Access.SetConfig(cfg)
	if err := s.Access.SyncConfigUsers(ctx); err != nil {
		// The store refused; the users stay as they were, so keep the
		// old configuration everywhere.
		s.Access.SetConfig(old)
		return fmt.Errorf("sync users from config: %w", err)
	}
	s.cur.Store(cfg)
	s.Gateway.Reload(ctx, cfg, pol)
	return nil
}
