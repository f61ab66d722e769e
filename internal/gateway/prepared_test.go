package gateway_test

import (
	"testing"

	"airlock"
	"airlock/internal/gateway"
)

// TestPreparedRecord: an allowed Prepare records the statement under its
// name at once, and its Revert puts back what the name held before (an
// earlier statement, or none); a denied Prepare records nothing;
// ClosePrepared forgets the name and can be reverted too. An execution is
// decided on the facts recorded, at the session's level now.
func TestPreparedRecord(t *testing.T) {
	sess, _, _ := newSession(t, "wanda") // write
	const sel, upd = "SELECT qty FROM items WHERE id = $1", "UPDATE items SET qty = $2 WHERE id = $1"

	ch, _ := sess.Prepare("s", sel, gateway.PrepareOptions{})
	if !ch.Decision.Allowed {
		t.Fatalf("prepare %s: denied %+v", sel, ch.Decision)
	}
	first := sess.Prepared("s")
	if first == nil || first.Text() != sel {
		t.Fatalf("after Prepare: %v, want the statement %q", first, sel)
	}
	ch, revert := sess.Prepare("s", upd, gateway.PrepareOptions{})
	if !ch.Decision.Allowed {
		t.Fatalf("prepare %s: denied %+v", upd, ch.Decision)
	}
	if p := sess.Prepared("s"); p == nil || p.Text() != upd {
		t.Fatalf("after a second Prepare: %v, want the statement %q", p, upd)
	}
	revert()
	if p := sess.Prepared("s"); p != first {
		t.Fatalf("after Revert: %v, want the first statement back", p)
	}

	_, revert = sess.Prepare("new", sel, gateway.PrepareOptions{})
	revert()
	if p := sess.Prepared("new"); p != nil {
		t.Fatalf("a reverted first Prepare left %q", p.Text())
	}

	revert = sess.ClosePrepared("s")
	if p := sess.Prepared("s"); p != nil {
		t.Fatalf("after ClosePrepared: %q", p.Text())
	}
	revert()
	if p := sess.Prepared("s"); p != first {
		t.Fatalf("after reverting ClosePrepared: %v, want the statement back", p)
	}

	// Executions are decided on the recorded facts, with their parameters.
	ch = sess.CheckPrepared(t.Context(), first, first.Text(), []string{"1"})
	if !ch.Decision.Allowed || len(ch.Stmts) != 1 || ch.Stmts[0].Level != airlock.LevelRead {
		t.Fatalf("execution: %+v %+v", ch.Decision, ch.Stmts)
	}
	sess.Done(ch, 0, gateway.Outcome{Rows: 1})
}

// TestPrepareDeniedKeepsName: a denied Prepare leaves the name as it was.
func TestPrepareDeniedKeepsName(t *testing.T) {
	sess, _, _ := newSession(t, "alice") // read
	if ch, _ := sess.Prepare("s", "SELECT qty FROM items", gateway.PrepareOptions{}); !ch.Decision.Allowed {
		t.Fatalf("read: denied %+v", ch.Decision)
	}
	before := sess.Prepared("s")
	ch, revert := sess.Prepare("s", "UPDATE items SET qty = 1 WHERE id = 1", gateway.PrepareOptions{})
	if ch.Decision.Allowed {
		t.Fatal("a write prepared at read level was allowed")
	}
	if p := sess.Prepared("s"); p != before {
		t.Fatalf("a denied Prepare changed the name to %v", p)
	}
	revert() // nothing to undo
	if p := sess.Prepared("s"); p != before {
		t.Fatalf("the Revert of a denied Prepare changed the name to %v", p)
	}
	// A write's execution at read level is denied, on the facts kept.
	ch = sess.CheckCommand(t.Context(), "COM_TEST", []airlock.Statement{{Kind: airlock.KindUpdate, Level: airlock.LevelWrite, Command: "UPDATE", Text: "COM_TEST"}}, nil)
	if ch.Decision.Allowed {
		t.Fatal("a write command at read level was allowed")
	}
}
