package postgres

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"airlock"
	"airlock/internal/store/codec"
)

// chained returns n events with IDs 1..n, linked by PrevHash.
func chained(n int) []*airlock.Event {
	var evs []*airlock.Event
	prev := ""
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		e := &airlock.Event{ID: int64(i), Time: base.Add(time.Duration(i) * time.Second), Type: airlock.EventStatement,
			Action: airlock.ActionExecuted, User: fmt.Sprintf("u%d", i%3), SessionID: fmt.Sprintf("s%d", i%5),
			Decision: airlock.DecisionAllowed, Text: fmt.Sprintf("SELECT %d", i), PrevHash: prev, Hash: fmt.Sprintf("h%d", i)}
		if i%11 == 0 {
			e.Decision, e.Rule = airlock.DecisionDenied, "level"
		}
		prev = e.Hash
		evs = append(evs, e)
	}
	return evs
}

// TestScanAcrossPagesAndDelete: listings that span many pages of batch
// rows return exactly the matching events in order, and deleting before
// an ID in the middle of a batch keeps the rest of it.
func TestScanAcrossPagesAndDelete(t *testing.T) {
	db, _ := open(t, Options{})
	ctx := t.Context()
	evs := chained(2000)
	for b := range slices.Chunk(evs, 7) {
		must(t, db.AppendEvents(ctx, b))
	}
	var rows int
	must(t, db.pool.QueryRow(ctx, `SELECT count(*) FROM event_batches`).Scan(&rows))
	if rows <= 2*scanPage {
		t.Fatalf("only %d batch rows: the test spans no pages", rows)
	}
	want := func(f airlock.EventFilter, from []*airlock.Event) []int64 {
		var ids []int64
		for _, e := range from {
			if codec.EventMatches(e, &f) {
				ids = append(ids, e.ID)
			}
		}
		if !f.Ascending {
			slices.Reverse(ids)
		}
		if f.Limit > 0 && len(ids) > f.Limit {
			ids = ids[:f.Limit]
		}
		return ids
	}
	check := func(from []*airlock.Event) {
		t.Helper()
		for _, f := range []airlock.EventFilter{
			{}, {Ascending: true}, {User: "u1"}, {Decision: airlock.DecisionDenied, Ascending: true},
			{SessionID: "s3", Limit: 50}, {AfterID: 1500, Ascending: true, Limit: 300}, {BeforeID: 700, Limit: 250},
			{Contains: "select 19", Ascending: true},
		} {
			got, err := db.ListEvents(ctx, f)
			must(t, err)
			ids := []int64{}
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if w := want(f, from); !slices.Equal(ids, w) && !(len(ids) == 0 && len(w) == 0) {
				t.Fatalf("%+v: got %d events %v..., want %d", f, len(ids), ids[:min(5, len(ids))], len(w))
			}
		}
	}
	check(evs)
	n, err := db.DeleteEventsBefore(ctx, 1000)
	must(t, err)
	if n != 999 {
		t.Fatalf("deleted %d events, want 999", n)
	}
	check(evs[999:])
	last, err := db.LastEvent(ctx)
	must(t, err)
	if last.ID != 2000 {
		t.Fatalf("last event %d", last.ID)
	}
	// Appending goes on after the head.
	next := chained(2001)[2000]
	must(t, db.AppendEvents(ctx, []*airlock.Event{next}))
}
