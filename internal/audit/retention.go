package audit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"airlock"
)

// Pruner is a store that can delete old events.
type Pruner interface {
	airlock.EventStore
	DeleteEventsBefore(ctx context.Context, id int64) (int64, error)
}

// PrunedAction is the action of the system event that records a pruning:
// its detail names the new first event and the hash it links to (the
// anchor), so that Verify can tell pruning from deletion.
const PrunedAction = "pruned"

// Prune deletes the events older than before, keeping the chain verifiable
// from an anchor: it first records (durably) which event becomes the first
// and the hash it links to, then deletes what precedes it. It returns how
// many events were deleted.
func (l *Log) Prune(ctx context.Context, store Pruner, before time.Time) (int64, error) {
	if err := l.Sync(ctx); err != nil {
		return 0, err
	}
	var first *airlock.Event
	err := store.ScanEvents(ctx, airlock.EventFilter{Since: before, Ascending: true, Limit: 1}, func(ev *airlock.Event) error {
		first = ev
		return errStop
	})
	if err != nil && err != errStop {
		return 0, fmt.Errorf("find the new first event: %w", err)
	}
	if first == nil {
		return 0, nil // nothing would be left to anchor on: keep everything
	}
	var oldest *airlock.Event
	err = store.ScanEvents(ctx, airlock.EventFilter{Ascending: true, Limit: 1}, func(ev *airlock.Event) error { oldest = ev; return errStop })
	if err != nil && err != errStop {
		return 0, fmt.Errorf("find the oldest event: %w", err)
	}
	if oldest == nil || oldest.ID >= first.ID {
		return 0, nil
	}
	if err := l.Record(ctx, &airlock.Event{Type: airlock.EventSystem, Action: PrunedAction, Detail: map[string]string{
		"first_id": strconv.FormatInt(first.ID, 10), "anchor": first.PrevHash, "before": before.UTC().Format(time.RFC3339),
	}}); err != nil {
		return 0, err
	}
	return store.DeleteEventsBefore(ctx, first.ID)
}
