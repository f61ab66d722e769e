package e2e

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"airlock"
)

// TestAuditParity runs the audit scenarios that depend on the protocol
// adapter on every engine (engines_test.go): each allowed write is audited
// with the rows it changed and the chain verifies; while the audit store
// cannot write, every write is denied with the audit rule and nothing
// reaches the database, sent either way a client sends it; after the
// store recovers, writes go through again and the outage's denials are in
// the log.
func TestAuditParity(t *testing.T) {
	for _, e := range undoEngines {
		t.Run(e.name, func(t *testing.T) { auditFailsClosed(t, e) })
	}
}

func auditFailsClosed(t *testing.T, e undoEngine) {
	env := e.start(t, "", "")
	a := env.a
	ctx := context.Background()
	c := env.connect("wanda", a.Token("wanda", 0))
	defer c.close()
	sid := c.sessionID()
	r := rand.New(rand.NewPCG(5, 9))
	var s writeState
	s.nextA, s.nextB = 100, 100
	allowed := 0
	for i := range 10 {
		sql, args := env.randomWrite(r, &s)
		if err := c.exec(i%env.variants, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		allowed++
	}
	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := a.Store.ListEvents(ctx, airlock.EventFilter{SessionID: sid, Type: airlock.EventStatement, Decision: airlock.DecisionAllowed, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	executed := 0
	for _, ev := range evs {
		if ev.Action == airlock.ActionExecuted && ev.Level == airlock.LevelWrite.String() {
			executed++
			if ev.Rows < 0 {
				t.Errorf("%s: rows %d", ev.Text, ev.Rows)
			}
		}
	}
	if executed != allowed {
		t.Fatalf("%d executed write events, want %d", executed, allowed)
	}

	before := env.dump()
	a.SetFailWrites(errors.New("injected: disk full"))
	denied := 0
	for i := range 6 {
		sql, args := env.randomWrite(r, &s)
		err := c.exec(i%env.variants, sql, args...)
		if err == nil || !env.denied(err) || !strings.Contains(err.Error(), "audit") {
			t.Fatalf("%s while the audit store fails: %v, want an audit denial", sql, err)
		}
		denied++
	}
	if after := env.dump(); after != before {
		t.Fatalf("a write reached the database while its event could not be stored:\n--- before\n%s\n--- after\n%s", before, after)
	}

	a.SetFailWrites(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		sql, args := env.randomWrite(r, &s)
		err := c.exec(0, sql, args...)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after the store recovered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.Audit.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err = a.Store.ListEvents(ctx, airlock.EventFilter{SessionID: sid, Type: airlock.EventStatement, Decision: airlock.DecisionDenied, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, ev := range evs {
		if ev.Rule == airlock.RuleAudit {
			audited++
		}
	}
	// Denials queued while the store failed are kept and written after.
	if audited < denied {
		t.Errorf("%d audit denials in the log, want %d", audited, denied)
	}
	if out, err := runCLI(t, a, a.AdminToken, "audit", "verify"); err != nil || !strings.Contains(out, "ok:") {
		t.Fatalf("verify: %v %s", err, out)
	}
}
