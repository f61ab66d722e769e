// Package storecopy copies every record of one airlock store into another
// (`airlock store migrate`, SPEC §10): users, tokens, sessions, requests,
// grants, undo records, what alerts have seen, and the audit events with
// their IDs and hashes, so that the chain verifies in the target as it
// did in the source. It refuses a target that holds any record.
package storecopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"airlock"
)

// SeenScanner is a store that can list what alert rules have seen
// (airlock.SeenStore has no listing); without it, Copy skips those keys.
type SeenScanner interface {
	ScanSeen(ctx context.Context, fn func(key string, at time.Time) error) error
}

// ErrTargetNotEmpty is returned when the target store holds records.
var ErrTargetNotEmpty = errors.New("the target store is not empty; migrate only into a new, empty store")

// eventBatch is how many events one append carries.
const eventBatch = 1000

// Copy copies every record of from into to, which must be empty, and
// writes progress lines to progress. It stops at the first error; the
// target is then partly filled and should be dropped and created again.
func Copy(ctx context.Context, from, to airlock.Store, progress io.Writer) error {
	if err := empty(ctx, to); err != nil {
		return err
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }

	users, err := from.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	for _, u := range users {
		if err := to.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("copy user %s: %w", u.Name, err)
		}
	}
	say("users: %d", len(users))

	tokens, err := from.ListTokens(ctx, airlock.TokenFilter{})
	if err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	for i := len(tokens) - 1; i >= 0; i-- { // oldest first, so that ties keep their order
		if err := to.CreateToken(ctx, tokens[i]); err != nil {
			return fmt.Errorf("copy token %s: %w", tokens[i].ID, err)
		}
	}
	say("tokens: %d", len(tokens))

	sessions, err := from.ListSessions(ctx, airlock.SessionFilter{})
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	for i := len(sessions) - 1; i >= 0; i-- {
		if err := to.CreateSession(ctx, sessions[i]); err != nil {
			return fmt.Errorf("copy session %s: %w", sessions[i].ID, err)
		}
	}
	say("sessions: %d", len(sessions))

	requests, err := from.ListRequests(ctx, airlock.RequestFilter{})
	if err != nil {
		return fmt.Errorf("read requests: %w", err)
	}
	for i := len(requests) - 1; i >= 0; i-- {
		r := *requests[i]
		if err := to.CreateRequest(ctx, &r); err != nil {
			return fmt.Errorf("copy request %s: %w", r.ID, err)
		}
	}
	say("requests: %d", len(requests))

	grants, err := from.ListGrants(ctx, airlock.GrantFilter{})
	if err != nil {
		return fmt.Errorf("read grants: %w", err)
	}
	for i := len(grants) - 1; i >= 0; i-- {
		if err := to.CreateGrant(ctx, grants[i]); err != nil {
			return fmt.Errorf("copy grant %s: %w", grants[i].ID, err)
		}
	}
	say("grants: %d", len(grants))

	undo, err := from.ListUndo(ctx, airlock.UndoFilter{})
	if err != nil {
		return fmt.Errorf("read undo records: %w", err)
	}
	for i := len(undo) - 1; i >= 0; i-- {
		r, err := from.GetUndo(ctx, undo[i].ID)
		if err != nil {
			return fmt.Errorf("read undo record %s: %w", undo[i].ID, err)
		}
		if err := to.SaveUndo(ctx, r); err != nil {
			return fmt.Errorf("copy undo record %s: %w", r.ID, err)
		}
	}
	say("undo records: %d", len(undo))

	if ss, ok := from.(SeenScanner); ok {
		n := 0
		err := ss.ScanSeen(ctx, func(key string, at time.Time) error {
			n++
			_, err := to.MarkSeen(ctx, key, at)
			return err
		})
		if err != nil {
			return fmt.Errorf("copy seen keys: %w", err)
		}
		say("seen keys: %d", n)
	}

	return copyEvents(ctx, from, to, say)
}

// copyEvents appends every event of from to to, oldest first, in batches.
func copyEvents(ctx context.Context, from, to airlock.Store, say func(string, ...any)) error {
	var (
		batch []*airlock.Event
		n     int64
		last  = time.Now()
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := to.AppendEvents(ctx, batch); err != nil {
			return fmt.Errorf("copy events %d to %d: %w", batch[0].ID, batch[len(batch)-1].ID, err)
		}
		n += int64(len(batch))
		batch = batch[:0]
		if time.Since(last) >= time.Second {
			say("events: %d so far", n)
			last = time.Now()
		}
		return nil
	}
	err := from.ScanEvents(ctx, airlock.EventFilter{Ascending: true}, func(e *airlock.Event) error {
		batch = append(batch, e)
		if len(batch) >= eventBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	say("events: %d", n)
	return nil
}

// empty fails with ErrTargetNotEmpty when st holds any record.
func empty(ctx context.Context, st airlock.Store) error {
	users, err := st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("read the target store: %w", err)
	}
	last, err := st.LastEvent(ctx)
	if err != nil {
		return fmt.Errorf("read the target store: %w", err)
	}
	sessions, err := st.ListSessions(ctx, airlock.SessionFilter{Limit: 1})
	if err != nil {
		return fmt.Errorf("read the target store: %w", err)
	}
	requests, err := st.ListRequests(ctx, airlock.RequestFilter{Limit: 1})
	if err != nil {
		return fmt.Errorf("read the target store: %w", err)
	}
	grants, err := st.ListGrants(ctx, airlock.GrantFilter{Limit: 1})
	if err != nil {
		return fmt.Errorf("read the target store: %w", err)
	}
	if len(users) > 0 || last != nil || len(sessions) > 0 || len(requests) > 0 || len(grants) > 0 {
		return ErrTargetNotEmpty
	}
	return nil
}
