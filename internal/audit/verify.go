package audit

import (
	"context"
	"fmt"
	"strconv"

	"airlock"
)

// Problem describes the first event where the chain breaks.
type Problem struct {
	ID     int64  `json:"id"`     // the first event that does not verify
	Reason string `json:"reason"` // what is wrong with it
}

// Report is the outcome of Verify.
type Report struct {
	Events  int64    `json:"events"` // events checked
	FirstID int64    `json:"first_id"`
	LastID  int64    `json:"last_id"`
	Head    string   `json:"head"` // hash of the last event checked
	Problem *Problem `json:"problem,omitempty"`
}

// Verify walks the chain in store from its oldest event and reports the
// first event that was edited (its hash does not match its content),
// deleted (a gap in IDs or a broken link) or reordered. The oldest event
// is the anchor: its PrevHash is trusted (it is "" unless older events were
// pruned by retention).
func Verify(ctx context.Context, store airlock.EventStore) (*Report, error) {
	r := &Report{}
	var prev, first *airlock.Event
	anchored := false
	err := store.ScanEvents(ctx, airlock.EventFilter{Ascending: true}, func(ev *airlock.Event) error {
		if r.Problem != nil {
			return errStop
		}
		r.Events++
		if first != nil && ev.Type == airlock.EventSystem && ev.Action == PrunedAction &&
			ev.Detail["first_id"] == strconv.FormatInt(first.ID, 10) && ev.Detail["anchor"] == first.PrevHash {
			anchored = true
		}
		if prev == nil {
			r.FirstID = ev.ID
			c := *ev
			first = &c
		} else {
			switch {
			case ev.ID != prev.ID+1:
				r.Problem = &Problem{ID: ev.ID, Reason: fmt.Sprintf("follows event %d: events are missing or out of order", prev.ID)}
			case ev.PrevHash != prev.Hash:
				r.Problem = &Problem{ID: ev.ID, Reason: fmt.Sprintf("does not link to event %d (previous hash differs)", prev.ID)}
			}
		}
		if r.Problem == nil && ChainHash(ev.PrevHash, ev) != ev.Hash {
			r.Problem = &Problem{ID: ev.ID, Reason: "its content does not match its hash (edited)"}
		}
		if r.Problem != nil {
			return errStop
		}
		r.LastID, r.Head = ev.ID, ev.Hash
		prev = ev
		return nil
	})
	if err != nil && err != errStop {
		return nil, fmt.Errorf("scan events: %w", err)
	}
	if r.Problem == nil && first != nil && (first.ID != 1 || first.PrevHash != "") && !anchored {
		// The oldest events are gone, and no pruning record says that
		// retention removed them.
		r.Problem = &Problem{ID: first.ID, Reason: "the events before it are missing and no pruning record accounts for them"}
	}
	return r, nil
}

var errStop = fmt.Errorf("stop")
