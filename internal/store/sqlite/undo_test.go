package sqlite

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"airlock"
)

// TestSaveUndoConcurrent: records saved at once by many sessions (one group
// commit or several) are each stored whole, and a duplicate ID gets
// ECONFLICT without failing the others of its batch.
func TestSaveUndoConcurrent(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	newRec := func(id string) *airlock.UndoRecord {
		old := `{"id":1}`
		return &airlock.UndoRecord{ID: id, SessionID: "s", User: "alice", Database: "app", Statement: "UPDATE t SET x = 1",
			State: airlock.UndoPending, CreatedAt: time.Now().UTC(), Images: []airlock.UndoImage{{Seq: 1, Table: "public.t", Op: "U", Old: &old, New: &old}}}
	}
	const n = 200
	if err := db.SaveUndo(ctx, newRec("dup-0")); err != nil {
		t.Fatal(err)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("u-%d", i)
			if i%10 == 0 {
				id = "dup-0" // exists: a conflict inside someone's batch
			}
			errs[i] = db.SaveUndo(ctx, newRec(id))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i%10 == 0 {
			if airlock.ErrorCode(err) != airlock.ECONFLICT {
				t.Errorf("duplicate %d: %v, want ECONFLICT", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("record %d: %v", i, err)
			continue
		}
		r, err := db.GetUndo(ctx, fmt.Sprintf("u-%d", i))
		if err != nil || len(r.Images) != 1 || r.Images[0].Table != "public.t" {
			t.Errorf("record %d read back: %+v, %v", i, r, err)
		}
	}
}

// TestIndexEventsAppliesUndoChanges: undo changes handed over with events
// are applied in order in their transaction; applying them again (a
// replay) changes nothing; a batch the store refuses applies none of its
// changes.
func TestIndexEventsAppliesUndoChanges(t *testing.T) {
	db := open(t)
	ctx := t.Context()
	old := `{"id":1}`
	rec := func(id string) *airlock.UndoRecord {
		return &airlock.UndoRecord{ID: id, SessionID: "s", User: "alice", Database: "app", Statement: "UPDATE t SET x = 1",
			State: airlock.UndoPending, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Images: []airlock.UndoImage{{Seq: 1, Table: "public.t", Op: "U", Old: &old, New: &old}}, Size: 8, Hash: "h"}
	}
	ev := func(id int64) *airlock.Event {
		return &airlock.Event{ID: id, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Type: airlock.EventStatement, Action: airlock.ActionExecuted, Hash: fmt.Sprint(id)}
	}
	changes := []*airlock.UndoChange{
		{Save: rec("a")}, {Save: rec("b")},
		{IDs: []string{"a"}, State: airlock.UndoCommitted, From: []string{airlock.UndoPending}},
		{IDs: []string{"a", "b"}, State: airlock.UndoVoid, From: []string{airlock.UndoPending}},
	}
	if err := db.IndexEvents(ctx, []*airlock.Event{ev(1), ev(2)}, changes); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for id, want := range map[string]string{"a": airlock.UndoCommitted, "b": airlock.UndoVoid} {
			r, err := db.GetUndo(ctx, id)
			if err != nil || r.State != want || len(r.Images) != 1 || r.Hash != "h" {
				t.Errorf("%s: %s: %+v, %v; want state %s", when, id, r, err, want)
			}
		}
	}
	check("applied")
	// The replay of the same changes alone (no events) and after a later
	// change of state.
	if err := db.MarkApplied(ctx, "a", "z"); err != nil {
		t.Fatal(err)
	}
	if err := db.IndexEvents(ctx, nil, changes); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.GetUndo(ctx, "a"); r.State != airlock.UndoApplied {
		t.Errorf("a replay moved an applied record to %s", r.State)
	}
	// A refused batch (an event that exists) applies none of its changes.
	err := db.IndexEvents(ctx, []*airlock.Event{ev(2)}, []*airlock.UndoChange{{Save: rec("c")}})
	if airlock.ErrorCode(err) != airlock.ECONFLICT {
		t.Fatalf("event 2 again: %v", err)
	}
	if _, err := db.GetUndo(ctx, "c"); airlock.ErrorCode(err) != airlock.ENOTFOUND {
		t.Errorf("the change of a refused batch was applied: %v", err)
	}
}
