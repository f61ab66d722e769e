package seglog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"airlock"
)

// undoStore is memStore that keeps undo records and applies the changes
// of a batch with its events, as sqlite.DB does: all or nothing.
type undoStore struct {
	memStore
	umu     sync.Mutex
	recs    map[string]airlock.UndoRecord
	handed  [][]string // per IndexEvents call: "e<ID>" and "u<kind>" in order received
	applied int
}

func newUndoStore() *undoStore { return &undoStore{recs: map[string]airlock.UndoRecord{}} }

func (u *undoStore) IndexEvents(ctx context.Context, evs []*airlock.Event, changes []*airlock.UndoChange) error {
	u.mu.Lock()
	fail := u.fail
	u.mu.Unlock()
	if fail != nil {
		return fail
	}
	if len(evs) > 0 {
		if err := u.AppendEvents(ctx, evs); err != nil {
			return err
		}
	}
	u.umu.Lock()
	defer u.umu.Unlock()
	var got []string
	for _, e := range evs {
		got = append(got, "e"+string(rune('0'+e.ID%10)))
	}
	for _, c := range changes {
		u.applied++
		switch {
		case c.Save != nil:
			got = append(got, "usave")
			if _, ok := u.recs[c.Save.ID]; !ok {
				u.recs[c.Save.ID] = *c.Save
			}
		default:
			got = append(got, "ustate")
			for _, id := range c.IDs {
				r, ok := u.recs[id]
				if ok && (len(c.From) == 0 || slices.Contains(c.From, r.State)) {
					r.State = c.State
					u.recs[id] = r
				}
			}
		}
	}
	u.handed = append(u.handed, got)
	return nil
}

func (u *undoStore) state(id string) string {
	u.umu.Lock()
	defer u.umu.Unlock()
	r, ok := u.recs[id]
	if !ok {
		return "missing"
	}
	return r.State
}

func saveChange(id string) *airlock.UndoChange {
	return &airlock.UndoChange{Save: &airlock.UndoRecord{ID: id, SessionID: "s_1", User: "alice", Database: "app",
		Statement: "UPDATE t SET v = 2", State: airlock.UndoPending, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Images: []airlock.UndoImage{{Seq: 1, Table: "public.t", Op: "U", PK: []string{"id"}}}, Size: 10, Hash: "h"}}
}

func stateChange(state string, ids ...string) *airlock.UndoChange {
	return &airlock.UndoChange{IDs: ids, State: state, From: []string{airlock.UndoPending}}
}

func appendUndo(t *testing.T, l *Log, chs ...*airlock.UndoChange) {
	t.Helper()
	for _, ch := range chs {
		if err := l.AppendUndo(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUndoChangesReachTheStore: changes logged among events reach the
// inner store in order, with those events, and Flush waits for them.
func TestUndoChangesReachTheStore(t *testing.T) {
	inner := newUndoStore()
	l := open(t, t.TempDir(), inner, Options{IndexDelay: time.Hour})
	defer l.Close()
	head := appendN(t, l, nil, 2, 1)
	appendUndo(t, l, saveChange("u1"), saveChange("u2"))
	head = appendN(t, l, head, 1, 1)
	appendUndo(t, l, stateChange(airlock.UndoCommitted, "u1"), stateChange(airlock.UndoVoid, "u2"), stateChange(airlock.UndoVoid, "u1"))
	if got := inner.state("u1"); got != "missing" {
		t.Fatalf("before Flush (index delay an hour) u1 is %s", got)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := inner.state("u1"); got != airlock.UndoCommitted {
		t.Errorf("u1 %s, want committed (the later move from pending must not apply)", got)
	}
	if got := inner.state("u2"); got != airlock.UndoVoid {
		t.Errorf("u2 %s, want void", got)
	}
	wantIDs(t, inner.ids(), 1, head.ID)
	var all []string
	for _, h := range inner.handed {
		all = append(all, h...)
	}
	// Events first within a call, then the changes: the order within
	// each kind is the log's.
	if want := "e1 e2 e3 usave usave ustate ustate ustate"; strings.Join(all, " ") != want {
		t.Errorf("handed %v, want %s", inner.handed, want)
	}
}

// TestUndoChangesReplay: changes not yet in the store when the log
// closed are applied at the next Open; those before an event the store
// already has are not applied again (retention may have deleted them).
func TestUndoChangesReplay(t *testing.T) {
	dir := t.TempDir()
	inner := newUndoStore()
	inner.setFail(errors.New("down"))
	l := open(t, dir, inner, Options{FlushTimeout: time.Millisecond})
	head := appendN(t, l, nil, 1, 1)
	appendUndo(t, l, saveChange("old"))
	head = appendN(t, l, head, 1, 1)
	appendUndo(t, l, saveChange("new"), stateChange(airlock.UndoCommitted, "new"))
	l.Close()
	if len(segments(t, dir)) != 1 {
		t.Fatalf("segments %v", segments(t, dir))
	}
	dir3 := t.TempDir()
	copyDir(t, dir, dir3)

	// The store already has events 1 and 2 (so "old", logged before event
	// 2, was applied with them and since deleted), not "new".
	inner2 := newUndoStore()
	had := []*airlock.Event{event(0), event(0)} // as appendN wrote them
	chain(nil, had...)
	if err := inner2.AppendEvents(context.Background(), had); err != nil {
		t.Fatal(err)
	}
	if had[1].Hash != head.Hash {
		t.Fatal("test events differ from the logged ones")
	}
	l2 := open(t, dir, inner2, Options{})
	if got := inner2.state("old"); got != "missing" {
		t.Errorf("old is %s: a change before an event the store has was applied again", got)
	}
	if got := inner2.state("new"); got != airlock.UndoCommitted {
		t.Errorf("new is %s after the replay, want committed", got)
	}
	l2.Close()

	// An empty store takes everything.
	inner3 := newUndoStore()
	l3 := open(t, dir3, inner3, Options{})
	defer l3.Close()
	if inner3.state("old") != airlock.UndoPending || inner3.state("new") != airlock.UndoCommitted {
		t.Errorf("replay into an empty store: old %s, new %s", inner3.state("old"), inner3.state("new"))
	}
	wantIDs(t, inner3.ids(), 1, 2)
}

// TestUndoChangeIsSynced: a change is written by the next append, ahead
// of its events and synced with them; with no append it is written and
// synced by itself soon; a change waiting for the timer never waits for a
// sync in progress.
func TestUndoChangeIsSynced(t *testing.T) {
	dir := t.TempDir()
	inner := newUndoStore()
	l := open(t, dir, inner, Options{SegmentBytes: 1})
	defer l.Close()
	var syncs atomic.Int32
	l.sync = func(f *os.File) error { syncs.Add(1); return datasync(f) }
	l.umu.Lock()
	l.syncLater = time.Hour
	l.umu.Unlock()

	// The first record of the log is a change: its segment is named after
	// the event that follows, and takes it whatever the size.
	appendUndo(t, l, saveChange("a"))
	head := appendN(t, l, nil, 1, 1)
	if segs := segments(t, dir); len(segs) != 1 || filepath.Base(segs[0]) != "00000000000000000001.seg" {
		t.Fatalf("segments %v", segs)
	}
	if got := syncs.Load(); got != 1 {
		t.Errorf("%d syncs for a change and an event, want 1", got)
	}
	// A change while the writer holds the log (a sync in progress)
	// returns at once.
	l.wmu.Lock()
	done := make(chan error)
	go func() { done <- l.AppendUndo(context.Background(), saveChange("b")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Error("AppendUndo waited for the writer")
	}
	l.wmu.Unlock()
	// Alone, it is written and synced when the timer fires.
	n := syncs.Load()
	l.syncUndo()
	if syncs.Load() != n+1 {
		t.Errorf("the timer's write made %d syncs, want 1", syncs.Load()-n)
	}
	// A change written alone does not start a segment (every segment is
	// full at 1 byte); the next event does.
	appendUndo(t, l, saveChange("c"))
	l.syncUndo()
	if segs := segments(t, dir); len(segs) != 1 {
		t.Fatalf("segments after a change alone: %v", segs)
	}
	appendN(t, l, head, 1, 1)
	if segs := segments(t, dir); len(segs) != 2 {
		t.Fatalf("segments after the next event: %v", segs)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if inner.state(id) != airlock.UndoPending {
			t.Errorf("%s: %s", id, inner.state(id))
		}
	}
}

// TestUndoChangeSurvivesAFailedWrite: a change taken by an append whose
// write fails is written again with the retry.
func TestUndoChangeSurvivesAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	inner := newUndoStore()
	l := open(t, dir, inner, Options{})
	defer l.Close()
	head := appendN(t, l, nil, 1, 1)
	appendUndo(t, l, saveChange("a"))
	failing := true
	l.sync = func(f *os.File) error {
		if failing {
			failing = false
			return errors.New("EIO")
		}
		return datasync(f)
	}
	bad := []*airlock.Event{event(1)}
	chain(head, bad...)
	if err := l.AppendEvents(context.Background(), bad); err == nil {
		t.Fatal("a failed sync was acknowledged")
	}
	if err := l.AppendEvents(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if inner.state("a") != airlock.UndoPending {
		t.Errorf("a change of a failed batch: %s", inner.state("a"))
	}
}

// TestUndoChangeRecords: a torn change at the tail is cut; a damaged
// change followed by a good one refuses to start.
func TestUndoChangeRecords(t *testing.T) {
	src := t.TempDir()
	inner := newUndoStore()
	inner.setFail(errors.New("down"))
	l := open(t, src, inner, Options{FlushTimeout: time.Millisecond})
	appendN(t, l, nil, 1, 1)
	appendUndo(t, l, saveChange("a"))
	l.Close()
	seg := segments(t, src)[0]
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	var evEnd int64
	readRecords(seg, 0, int64(len(full)), func(ev *airlock.Event, end int64) bool { evEnd = end; return true })
	for cut := evEnd; cut < int64(len(full)); cut += 7 {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		in := newUndoStore()
		l := open(t, dir, in, Options{})
		if in.state("a") != "missing" {
			t.Errorf("cut at %d: a torn change was applied", cut)
		}
		wantIDs(t, in.ids(), 1, 1)
		l.Close()
	}
	// Damage the change, then append a good event after it.
	bad := slices.Clone(full)
	bad[evEnd+headerBytes+3] ^= 0xff
	dir := t.TempDir()
	good := append(bad, full[:evEnd]...) // the event record again: a good record after the damage
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir, newUndoStore(), Options{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged change followed by a good record: %v", err)
	}
}
