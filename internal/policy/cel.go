package policy

import (
	"fmt"
	"slices"
	"time"

	"airlock"
)

// Rule is a compiled custom guardrail.
type Rule struct {
	name      string
	databases []string
	warn      bool
	message   string
	prog      func(vars map[string]any) (bool, error)
}

func (r *Rule) appliesTo(db string) bool {
	return len(r.databases) == 0 || slices.Contains(r.databases, db)
}

func (r *Rule) eval(s *Subject, st *airlock.Statement, now time.Time) (bool, error) {
	return r.prog(Facts(s, st, now))
}

// Facts returns the variables a rule sees (SPEC §5).
func Facts(s *Subject, st *airlock.Statement, now time.Time) map[string]any {
	return map[string]any{
		"stmt.kind":      string(st.Kind),
		"stmt.level":     st.Level.String(),
		"stmt.tables":    nonNil(st.Tables),
		"stmt.functions": nonNil(st.Functions),
		"stmt.has_where": st.HasWhere,
		"stmt.has_limit": st.HasLimit,
		"stmt.text":      st.Text,
		"user.name":      s.User.Name,
		"user.groups":    nonNil(s.User.Groups),
		"db.name":        s.Database.Name,
		"db.engine":      string(s.Database.Engine),
		"session.level":  s.Level.String(),
		"now":            now,

		// What the MCP server adds: whether the user is an agent, and
		// the person it said it acts for.
		"session.agent":        s.Agent || s.User.IsAgent(),
		"session.on_behalf_of": s.OnBehalfOf,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func compileRule(g *airlock.Guardrail) (*Rule, error) {
	prog, err := compileCEL(g.When)
	if err != nil {
		return nil, fmt.Errorf("guardrail %q (line %d): %w", g.Name, g.Line, err)
	}
	msg := g.Message
	if msg == "" {
		msg = "denied by rule " + g.Name
	}
	return &Rule{name: g.Name, databases: g.Databases, warn: g.Action == airlock.GuardrailWarn, message: msg, prog: prog}, nil
}
