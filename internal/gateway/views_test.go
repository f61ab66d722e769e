package gateway_test

import (
	"testing"

	"airlock"
	"airlock/internal/gateway"
)

// TestCheckViews: the view-write rule is decided in the core on the
// definitions an adapter reads, with the wording clients have always
// seen; the adapter is asked for them only when a read session reads.
func TestCheckViews(t *testing.T) {
	defs := map[string]string{
		"v":     "SELECT * FROM w",
		"w":     "DELETE FROM items",
		"plain": "SELECT 1",
		"bad":   "SELECT FROM WHERE (",
	}
	lookup := func() (gateway.ViewLookup, error) {
		return func(name string) (string, bool) { d, ok := defs[name]; return d, ok }, nil
	}
	sess, _, _ := newSession(t, "alice") // read
	for _, c := range []struct {
		sql, rule, reason string
	}{
		{"SELECT * FROM plain", "", ""},
		{"SELECT * FROM items", "", ""},
		{"SELECT * FROM w", airlock.RuleViewWrite, "view w is defined as a query that DELETE changes rows; it needs write access and this session has read"},
		{"SELECT * FROM v", airlock.RuleViewWrite, "view v (through view w) is defined as a query that DELETE changes rows; it needs write access and this session has read"},
		{"SELECT * FROM bad", airlock.RuleViewWrite, "view bad is defined as a query that airlock cannot parse; it needs admin access and this session has read"},
	} {
		ch := &gateway.Check{Text: c.sql, Stmts: []airlock.Statement{{Kind: airlock.KindSelect, Level: airlock.LevelRead, Tables: []string{c.sql[len("SELECT * FROM "):]}}}}
		d, err := sess.CheckViews(ch, lookup)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case c.rule == "" && d != nil:
			t.Errorf("%s: denied: %+v", c.sql, d)
		case c.rule != "" && (d == nil || d.Rule != c.rule || d.Reason != c.reason):
			t.Errorf("%s: got %+v, want rule %q reason %q", c.sql, d, c.rule, c.reason)
		}
	}

	writer, _, _ := newSession(t, "wanda") // write
	ch := &gateway.Check{Text: "SELECT * FROM w", Stmts: []airlock.Statement{{Kind: airlock.KindSelect, Level: airlock.LevelRead, Tables: []string{"w"}}}}
	d, err := writer.CheckViews(ch, func() (gateway.ViewLookup, error) {
		t.Fatal("views read for a write session")
		return nil, nil
	})
	if d != nil || err != nil {
		t.Fatalf("write session: %+v, %v", d, err)
	}
}

// TestPrepareDeferSignal: a statement signalling a backend bound at
// execution is decided as a read when prepared, and keeps its own facts
// for the executions; without the option it is decided as it is.
func TestPrepareDeferSignal(t *testing.T) {
	sess, _, _ := newSession(t, "alice") // read
	const q = "SELECT pg_cancel_backend($1)"
	if ch, _ := sess.Prepare("p", q, gateway.PrepareOptions{}); ch.Decision.Allowed {
		t.Fatalf("without DeferSignal: allowed %+v", ch.Stmts)
	}
	ch, _ := sess.Prepare("p", q, gateway.PrepareOptions{DeferSignal: true})
	if !ch.Decision.Allowed {
		t.Fatalf("with DeferSignal: denied %+v", ch.Decision)
	}
	if len(ch.Stmts) != 1 || ch.Stmts[0].Level <= airlock.LevelRead {
		t.Fatalf("facts kept: %+v, want the statement's own level", ch.Stmts)
	}
	if ch, _ := sess.Prepare("p", "SELECT 1; SELECT pg_cancel_backend($1)", gateway.PrepareOptions{DeferSignal: true}); ch.Decision.Allowed {
		t.Fatalf("several statements: allowed %+v", ch.Stmts)
	}
}
