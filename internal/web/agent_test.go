package web

import (
	"testing"

	"airlock"
)

// TestDescribeAgent: an agent's events say so in the console, and whom
// the agent acted for.
func TestDescribeAgent(t *testing.T) {
	cases := []struct {
		name   string
		detail map[string]string
		want   string
	}{
		{"person", nil, "1 row"},
		{"agent", map[string]string{"agent": "true"}, "1 row (agent)"},
		{"agent for alice", map[string]string{"agent": "true", "on_behalf_of": "alice"}, "1 row (agent, for alice)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := &airlock.Event{Type: airlock.EventStatement, Action: airlock.ActionExecuted, Decision: airlock.DecisionAllowed,
				User: "bot", Text: "SELECT 1", Rows: 1, Detail: tc.detail}
			if got := describe(ev).Note; got != tc.want {
				t.Fatalf("note = %q, want %q", got, tc.want)
			}
		})
	}
}
