package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/store/storetest"
)

// TestSQLiteStoreHasASegmentLog: events of the SQLite store go through the
// audit segment log beside its file; a second opener while the first runs
// reads what was indexed and can record nothing; a clean close leaves no
// segment behind.
func TestSQLiteStoreHasASegmentLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "airlock.db")
	cfg := &config.Config{Store: "sqlite:" + path, Path: filepath.Join(dir, "airlock.yaml")}
	st, err := OpenStore(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	ss, ok := st.(*segStore)
	if !ok || ss.seg == nil {
		t.Fatalf("store %T has no segment log", st)
	}
	// The tests' wrapper that fails writes on demand, as the harness
	// installs it (Options.WrapStore).
	fst := storetest.WithFaults(st)
	log, err := audit.Open(ctx, fst, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := log.Record(ctx, &airlock.Event{Type: airlock.EventSystem, Action: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if segs, _ := filepath.Glob(filepath.Join(SegmentDir(path), "*.seg")); len(segs) != 1 {
		t.Errorf("segments: %v", segs)
	}
	if evs, err := st.ListEvents(ctx, airlock.EventFilter{}); err != nil || len(evs) != 3 {
		t.Fatalf("list: %d events, %v", len(evs), err)
	}

	other, err := OpenStore(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := audit.Verify(ctx, other); err != nil || rep.Problem != nil || rep.Events != 3 {
		t.Errorf("verify through a second opener: %+v %v", rep, err)
	}
	if err := other.CheckWritable(ctx); err == nil {
		t.Error("a second opener is writable")
	}
	if err := other.AppendEvents(ctx, []*airlock.Event{{ID: 4}}); airlock.ErrorCode(err) != airlock.EUNAVAILABLE {
		t.Errorf("append through a second opener: %v", err)
	}
	other.Close()

	fst.SetFailWrites(errors.New("injected"))
	if err := log.Record(ctx, &airlock.Event{Type: airlock.EventSystem, Action: "test"}); err == nil {
		t.Error("an event was recorded while the store refuses writes")
	}
	if err := fst.CheckWritable(ctx); err == nil {
		t.Error("writable while the store refuses writes")
	}
	fst.SetFailWrites(nil)
	// Close flushes: the writer retries the refused event.
	if err := log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := filepath.Glob(filepath.Join(SegmentDir(path), "*.seg")); len(segs) != 0 {
		t.Errorf("segments after close: %v", segs)
	}
	if _, err := os.Stat(SegmentDir(path)); err != nil {
		t.Error(err)
	}
}

// TestSQLiteStoreWithSegmentLogConforms: the SQLite store with the segment
// log in front is still an airlock.Store by the conformance suite.
func TestSQLiteStoreWithSegmentLogConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) airlock.Store {
		dir := t.TempDir()
		st, err := OpenStore(context.Background(), &config.Config{Store: "sqlite:" + filepath.Join(dir, "airlock.db"), Path: filepath.Join(dir, "airlock.yaml")}, "")
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// TestSQLiteStoreLogsUndoRecords: undo records and their changes of state
// go through the segment log and read back at once (readers wait for the
// indexer); a store closed before the indexer ran replays them at the next
// open.
func TestSQLiteStoreLogsUndoRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "airlock.db")
	cfg := &config.Config{Store: "sqlite:" + path, Path: filepath.Join(dir, "airlock.yaml")}
	st, err := OpenStore(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := &airlock.UndoRecord{ID: "u_1", SessionID: "s_1", User: "alice", Database: "app", Statement: "DELETE FROM t",
		State: airlock.UndoPending, Images: []airlock.UndoImage{{Seq: 1, Table: "public.t", Op: "D"}}, Size: 3, Hash: "h"}
	if err := st.SaveUndo(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUndoState(ctx, []string{"u_1"}, airlock.UndoCommitted, airlock.UndoPending); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetUndo(ctx, "u_1")
	if err != nil || got.State != airlock.UndoCommitted || len(got.Images) != 1 {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	if n, err := st.UndoBytes(ctx, "s_1"); err != nil || n != 3 {
		t.Errorf("undo bytes %d, %v", n, err)
	}
	// Logged but not indexed when the process ends: the indexer cannot
	// reach SQLite (closed under it), so the records stay in the segment.
	ss := st.(*segStore)
	if err := st.SaveUndo(ctx, &airlock.UndoRecord{ID: "u_2", SessionID: "s_1", State: airlock.UndoPending, Hash: "h2"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetUndoState(ctx, []string{"u_2"}, airlock.UndoVoid); err != nil {
		t.Fatal(err)
	}
	ss.DB.Close()
	ss.seg.Close()
	st2, err := OpenStore(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if got, err := st2.GetUndo(ctx, "u_2"); err != nil || got.State != airlock.UndoVoid {
		t.Fatalf("after a restart: %+v, %v", got, err)
	}
	if got, err := st2.GetUndo(ctx, "u_1"); err != nil || got.State != airlock.UndoCommitted {
		t.Fatalf("after a restart: %+v, %v", got, err)
	}
}
