package gateway_test

import (
	"testing"

	"airlock"
	"airlock/internal/gateway"
)

type fakeAdapter struct {
	gateway.NoAdapter
	interrupts int
	veto       *airlock.Decision
	vetoed     int
}

func (a *fakeAdapter) Veto(*gateway.Check) (*airlock.Decision, error) {
	a.vetoed++
	return a.veto, nil
}

func (a *fakeAdapter) Interrupt() { a.interrupts++ }

// TestAdapter: the adapter given at login vetoes allowed checks and is
// interrupted once when the session ends; an Armed adapter is not
// interrupted before it is armed.
func TestAdapter(t *testing.T) {
	ad := &fakeAdapter{}
	sess, _, _ := newSessionWith(t, "alice", ad)
	if ch := sess.Check(t.Context(), "SELECT 1"); !ch.Decision.Allowed || ad.vetoed != 1 {
		t.Fatalf("allowed check: %+v, vetoed %d times", ch.Decision, ad.vetoed)
	}
	if ch := sess.Check(t.Context(), "DELETE FROM items WHERE id = 1"); ch.Decision.Allowed || ad.vetoed != 1 {
		t.Fatalf("denied check: %+v, vetoed %d times (want no veto asked)", ch.Decision, ad.vetoed)
	}
	d := gateway.BlastRadius(airlock.LevelRead, "no")
	ad.veto = &d
	if ch := sess.Check(t.Context(), "SELECT 1"); ch.Decision.Allowed || ch.Decision.Rule != airlock.RuleBlastRadius {
		t.Fatalf("vetoed check: %+v", ch.Decision)
	}
	sess.End("test")
	sess.End("again")
	if ad.interrupts != 1 {
		t.Fatalf("interrupted %d times, want 1", ad.interrupts)
	}

	inner := &fakeAdapter{}
	armed := gateway.Arming(inner)
	sess2, _, _ := newSessionWith(t, "alice", armed)
	sess2.End("before armed")
	armed.Arm()
	sess2.End("after armed") // ended already: End is idempotent
	if inner.interrupts != 0 {
		t.Fatalf("interrupted %d times before armed, want 0", inner.interrupts)
	}
	sess3, _, _ := newSessionWith(t, "alice", armed)
	if ch := sess3.Check(t.Context(), "SELECT 1"); inner.vetoed != 1 {
		t.Fatalf("armed adapter's veto asked %d times, want 1 (%+v)", inner.vetoed, ch.Decision)
	}
	sess3.End("armed")
	if inner.interrupts != 1 {
		t.Fatalf("armed: interrupted %d times, want 1", inner.interrupts)
	}
}
