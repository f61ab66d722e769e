// Package alert raises alerts over recent audit events: many denials of one
// user in a window, many rows read in one session, a session opened outside
// working hours, a user's first access to a table, a write from a client
// address the user never wrote from. An alert is itself an audit event
// (type "alert", action "raised", rule = the alert's name), so it reaches
// the webhooks, the live stream and `airlock audit list --kind alert`.
//
// The engine follows the audit log through a subscription of its own and
// keeps its windows in memory; what must survive a restart ("first" table,
// address) is kept in the store.
package alert

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/config"
)

// Engine evaluates the alert rules.
type Engine struct {
	rules []config.Alert
	audit *audit.Log
	seen  airlock.SeenStore
	log   *slog.Logger
	now   func() time.Time

	sub  *audit.Subscription
	quit chan struct{}
	done chan struct{}

	mu       sync.Mutex
	denials  map[string][]time.Time // rule|user -> recent denials
	quietTo  map[string]time.Time   // rule|user -> no new alert before
	rowsRead map[string]int64       // rule|session -> rows
	raised   map[string]bool        // rule|session alerts already raised
	agents   agentState
}

// Start follows log and raises alerts for rules. With no rules it does
// nothing.
func Start(rules []config.Alert, log *audit.Log, seen airlock.SeenStore, logger *slog.Logger, now func() time.Time) *Engine {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{rules: rules, audit: log, seen: seen, log: logger, now: now, quit: make(chan struct{}), done: make(chan struct{}),
		denials: map[string][]time.Time{}, quietTo: map[string]time.Time{}, rowsRead: map[string]int64{}, raised: map[string]bool{}}
	if len(rules) == 0 {
		close(e.done)
		return e
	}
	e.sub = log.Subscribe(16384, relevant)
	go e.run()
	return e
}

func relevant(ev *airlock.Event) bool {
	return ev.Type == airlock.EventStatement || (ev.Type == airlock.EventSession && (ev.Action == "opened" || ev.Action == "closed"))
}

// Close stops the engine.
func (e *Engine) Close() {
	if len(e.rules) == 0 {
		return
	}
	close(e.quit)
	e.sub.Close()
	<-e.done
}

func (e *Engine) run() {
	defer close(e.done)
	for {
		select {
		case ev, ok := <-e.sub.C:
			if !ok {
				select {
				case <-e.quit:
					return
				default:
				}
				e.log.Warn("alert rules fell behind the audit log; some events were not evaluated")
				e.sub = e.audit.Subscribe(16384, relevant)
				continue
			}
			e.Observe(ev)
		case <-e.quit:
			return
		}
	}
}

// Observe evaluates one event against every rule (exported for tests).
func (e *Engine) Observe(ev *airlock.Event) {
	for i := range e.rules {
		r := &e.rules[i]
		if len(r.Databases) > 0 && !slices.Contains(r.Databases, ev.Database) {
			continue
		}
		switch r.Type {
		case "denials":
			e.denialsRule(r, ev)
		case "rows_read":
			e.rowsRule(r, ev)
		case "outside_hours":
			if ev.Type == airlock.EventSession && ev.Action == "opened" && !r.Working(ev.Time) {
				e.raise(r, ev, fmt.Sprintf("%s opened a session on %s outside working hours (%s %s)", ev.User, ev.Database, r.Hours, zone(r)), nil)
			}
		case "first_table_access":
			if ev.Type == airlock.EventStatement && ev.Decision == airlock.DecisionAllowed && ev.Action != airlock.ActionStarted {
				for _, t := range ev.Tables {
					if strings.HasPrefix(t, "pg_catalog.") || strings.HasPrefix(t, "information_schema.") {
						continue
					}
					if e.first(r, ev.User+"|"+ev.Database+"|"+t) {
						e.raise(r, ev, fmt.Sprintf("%s accessed %s on %s for the first time", ev.User, t, ev.Database), map[string]string{"table": t})
					}
				}
			}
		case "agent_denials":
			e.agentDenialsRule(r, ev)
		case "agent_enumeration":
			e.agentTablesRule(r, ev)
		case "new_client_address":
			if ev.Type == airlock.EventStatement && ev.Decision == airlock.DecisionAllowed && isWrite(ev.Level) && ev.ClientAddr != "" {
				if e.first(r, ev.User+"|"+ev.Database+"|"+ev.ClientAddr) {
					e.raise(r, ev, fmt.Sprintf("%s wrote to %s from %s, an address they never wrote from", ev.User, ev.Database, ev.ClientAddr), map[string]string{"client_addr": ev.ClientAddr})
				}
			}
		}
	}
}

func zone(r *config.Alert) string {
	if r.Timezone == "" {
		return "UTC"
	}
	return r.Timezone
}

func isWrite(level string) bool { return level == "write" || level == "ddl" || level == "admin" }

func (e *Engine) denialsRule(r *config.Alert, ev *airlock.Event) {
	if ev.Type != airlock.EventStatement || ev.Decision != airlock.DecisionDenied {
		return
	}
	key := r.Name + "|" + ev.User
	e.mu.Lock()
	window := r.Window.D()
	recent := e.denials[key]
	cut := ev.Time.Add(-window)
	for len(recent) > 0 && recent[0].Before(cut) {
		recent = recent[1:]
	}
	recent = append(recent, ev.Time)
	e.denials[key] = recent
	fire := int64(len(recent)) > r.Count && !ev.Time.Before(e.quietTo[key])
	if fire {
		e.quietTo[key] = ev.Time.Add(window)
		e.denials[key] = nil
	}
	e.mu.Unlock()
	if fire {
		e.raise(r, ev, fmt.Sprintf("%s had more than %d denials within %s", ev.User, r.Count, window), map[string]string{"count": fmt.Sprint(len(recent))})
	}
}

func (e *Engine) rowsRule(r *config.Alert, ev *airlock.Event) {
	key := r.Name + "|" + ev.SessionID
	e.mu.Lock()
	if ev.Type == airlock.EventSession && ev.Action == "closed" {
		delete(e.rowsRead, key)
		delete(e.raised, key)
		e.mu.Unlock()
		return
	}
	if ev.Type != airlock.EventStatement || ev.Decision != airlock.DecisionAllowed || ev.Action != airlock.ActionExecuted || isWrite(ev.Level) {
		e.mu.Unlock()
		return
	}
	e.rowsRead[key] += ev.Rows
	total := e.rowsRead[key]
	fire := total > r.Count && !e.raised[key]
	if fire {
		e.raised[key] = true
	}
	e.mu.Unlock()
	if fire {
		e.raise(r, ev, fmt.Sprintf("%s read more than %d rows in session %s", ev.User, r.Count, ev.SessionID), map[string]string{"rows": fmt.Sprint(total)})
	}
}

// first reports whether key is new for rule r (kept in the store).
func (e *Engine) first(r *config.Alert, key string) bool {
	if e.seen == nil {
		return false
	}
	ok, err := e.seen.MarkSeen(context.Background(), r.Type+"|"+key, e.now())
	if err != nil {
		e.log.Warn("alert state", "rule", r.Name, "err", err)
		return false
	}
	return ok
}

func (e *Engine) raise(r *config.Alert, cause *airlock.Event, reason string, detail map[string]string) {
	if detail == nil {
		detail = map[string]string{}
	}
	detail["type"] = r.Type
	detail["cause"] = fmt.Sprint(cause.ID)
	e.log.Warn("alert", "rule", r.Name, "user", cause.User, "reason", reason)
	e.audit.Append(&airlock.Event{Type: airlock.EventAlert, Action: "raised", Rule: r.Name, Reason: reason, User: cause.User,
		Database: cause.Database, SessionID: cause.SessionID, ClientAddr: cause.ClientAddr, Ref: fmt.Sprint(cause.ID), Detail: detail})
}
