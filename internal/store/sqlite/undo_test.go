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
