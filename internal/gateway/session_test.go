package gateway_test

import (
	"errors"
	"testing"

	"airlock"
	"airlock/internal/gateway"
)

// TestCommitWaitsForWrites: a COMMIT after a write is forwarded only once
// the write's events are durable (it is denied when they cannot be), while
// the COMMIT of a transaction that only read does not wait for the audit
// log, since it commits nothing.
func TestCommitWaitsForWrites(t *testing.T) {
	errDisk := errors.New("disk gone")
	for _, c := range []struct {
		name      string
		stmt      string
		wantAllow bool
	}{
		{"after a write", "UPDATE items SET qty = 1 WHERE id = 1", false},
		{"after reads only", "SELECT qty FROM items WHERE id = 1", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sess, al, st := newSession(t, "wanda")
			for _, q := range []string{"BEGIN", c.stmt} {
				ch := sess.Check(t.Context(), q)
				if !ch.Decision.Allowed {
					t.Fatalf("%s: denied: %+v", q, ch.Decision)
				}
				sess.Done(ch, 0, gateway.Outcome{Rows: 1, Tag: "OK"})
			}
			if c.wantAllow {
				// The reads' events are durable; what the store refuses
				// from now on is nothing the COMMIT needs.
				if err := al.Sync(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			st.SetFailWrites(errDisk)
			ch := sess.Check(t.Context(), "COMMIT")
			if ch.Decision.Allowed != c.wantAllow {
				t.Fatalf("COMMIT: allowed %v, want %v (%+v)", ch.Decision.Allowed, c.wantAllow, ch.Decision)
			}
			if !c.wantAllow && ch.Decision.Rule != airlock.RuleAudit {
				t.Fatalf("COMMIT denied by %q, want %q", ch.Decision.Rule, airlock.RuleAudit)
			}
		})
	}
}
