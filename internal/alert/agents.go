package alert

import (
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
)

// agentState is what the agent rules remember, guarded by Engine.mu.
type agentState struct {
	denied map[string]int                  // rule|agent -> denials in a row
	tables map[string]map[string]time.Time // rule|agent -> table -> last touched
	quiet  map[string]time.Time            // rule|agent -> no new alert before
}

// isAgent reports whether a statement event is an agent's (the gateway
// marks every event of an agent's session).
func isAgent(ev *airlock.Event) bool {
	return ev.Type == airlock.EventStatement && ev.Detail["agent"] == "true"
}

// agentDenialsRule raises an alert when an agent is denied more than
// r.Count times in a row: a model probing what it may do.
func (e *Engine) agentDenialsRule(r *config.Alert, ev *airlock.Event) {
	if !isAgent(ev) || ev.Action == airlock.ActionStarted {
		return
	}
	key := r.Name + "|" + ev.User
	e.mu.Lock()
	if e.agents.denied == nil {
		e.agents.denied = map[string]int{}
	}
	if ev.Decision != airlock.DecisionDenied {
		delete(e.agents.denied, key)
		e.mu.Unlock()
		return
	}
	e.agents.denied[key]++
	n := e.agents.denied[key]
	fire := int64(n) > r.Count
	if fire {
		delete(e.agents.denied, key)
	}
	e.mu.Unlock()
	if fire {
		e.raise(r, ev, fmt.Sprintf("agent %s was denied %d times in a row on %s", ev.User, n, ev.Database), map[string]string{"count": fmt.Sprint(n)})
	}
}

// agentTablesRule raises an alert when an agent touches more than
// r.Count distinct tables within r.Window: a model enumerating the
// database.
func (e *Engine) agentTablesRule(r *config.Alert, ev *airlock.Event) {
	if !isAgent(ev) || ev.Action == airlock.ActionStarted || len(ev.Tables) == 0 {
		return
	}
	key := r.Name + "|" + ev.User
	e.mu.Lock()
	if e.agents.tables == nil {
		e.agents.tables, e.agents.quiet = map[string]map[string]time.Time{}, map[string]time.Time{}
	}
	seen := e.agents.tables[key]
	if seen == nil {
		seen = map[string]time.Time{}
		e.agents.tables[key] = seen
	}
	cut := ev.Time.Add(-r.Window.D())
	for t, at := range seen {
		if at.Before(cut) {
			delete(seen, t)
		}
	}
	for _, t := range ev.Tables {
		if strings.HasPrefix(t, "pg_catalog.") || strings.HasPrefix(t, "information_schema.") {
			continue
		}
		seen[ev.Database+"|"+t] = ev.Time
	}
	n := len(seen)
	fire := int64(n) > r.Count && !ev.Time.Before(e.agents.quiet[key])
	if fire {
		e.agents.quiet[key] = ev.Time.Add(r.Window.D())
	}
	e.mu.Unlock()
	if fire {
		e.raise(r, ev, fmt.Sprintf("agent %s touched %d tables within %s", ev.User, n, r.Window.D()), map[string]string{"tables": fmt.Sprint(n)})
	}
}
