package storetest

import (
	"testing"
	"time"

	"airlock"
)

// requestScripts: a request's reviewed script, its dry-run (with samples,
// NULLs told from values) and its run read back as stored, through create
// and update; a request without a script reads back without one.
func (s *suite) requestScripts(t *testing.T) {
	rs := s.store(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	v := "7"
	run := &airlock.ScriptRun{Outcome: airlock.ScriptDryRun, At: now, SideEffects: []string{"seq"},
		Statements: []airlock.ScriptStatement{{SQL: "UPDATE t SET v = 7", Kind: airlock.KindUpdate, Level: airlock.LevelWrite, RowsChanged: 1, Captured: 1,
			Sample: []airlock.RowChange{{Table: "public.t", Op: "U", Columns: []string{"v"}, Before: []*string{nil}, After: []*string{&v}}}}}}
	for _, r := range []*airlock.Request{
		{ID: "req_s", User: "alice", Database: "app", Level: airlock.LevelWrite, State: airlock.RequestPending, CreatedAt: now, ExpiresAt: now,
			Script: "UPDATE t SET v = 7", ScriptSHA256: airlock.ScriptHash("UPDATE t SET v = 7"), Tolerance: 2, DryRun: run},
		{ID: "req_p", User: "alice", Database: "app", Level: airlock.LevelWrite, State: airlock.RequestPending, CreatedAt: now, ExpiresAt: now},
	} {
		if err := rs.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := rs.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Script != r.Script || got.ScriptSHA256 != r.ScriptSHA256 || got.Tolerance != r.Tolerance || (got.DryRun == nil) != (r.DryRun == nil) || got.Run != nil {
			t.Fatalf("%s read back as %+v", r.ID, got)
		}
		if r.DryRun == nil {
			continue
		}
		smp := got.DryRun.Statements[0].Sample[0]
		if got.DryRun.Outcome != run.Outcome || !got.DryRun.At.Equal(now) || smp.Before[0] != nil || *smp.After[0] != "7" || !smp.Changed(0) {
			t.Fatalf("dry-run read back as %+v", got.DryRun)
		}
		got.Run = &airlock.ScriptRun{Outcome: airlock.ScriptCommitted, UndoID: "u_1"}
		if err := rs.UpdateRequest(ctx, got); err != nil {
			t.Fatal(err)
		}
		if again, err := rs.GetRequest(ctx, r.ID); err != nil || again.Run == nil || again.Run.UndoID != "u_1" || again.DryRun == nil {
			t.Fatalf("after update: %+v %v", again, err)
		}
	}
}
