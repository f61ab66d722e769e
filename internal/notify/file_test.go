package notify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/store/sqlite"
)

// eventLog returns an audit log over a fresh store with n events.
func eventLog(t *testing.T, n int) (*audit.Log, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l, err := audit.Open(ctx, st, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	appendEvents(t, l, n)
	return l, st
}

func appendEvents(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	for i := range n {
		l.Append(&airlock.Event{Type: airlock.EventStatement, Action: airlock.ActionExecuted, User: "alice", Text: strings.Repeat("x", i*1000)})
	}
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// fileIDs returns the event ids of a JSON-lines audit file in order,
// failing on any line that does not decode or is not ended by a newline.
func fileIDs(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("the file ends with an incomplete line: %q", b[max(0, len(b)-40):])
	}
	var ids []int64
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var ev struct {
			ID         int64           `json:"id"`
			Checkpoint json.RawMessage `json:"checkpoint"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("a line does not decode: %v: %.60q", err, line)
		}
		if ev.Checkpoint == nil {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

func wantIDs(t *testing.T, got []int64, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("the file has %d events %v, want 1..%d once each", len(got), got, n)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("the file has events %v, want 1..%d in order", got, n)
		}
	}
}

// TestFileResumesAfterCrash: a file whose last line was cut by a crash,
// and which misses the events the store got afterwards, is repaired at
// start: the cut line removed, the missing events written, none twice.
func TestFileResumesAfterCrash(t *testing.T) {
	l, st := eventLog(t, 5)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	// The file as a crash left it: events 1 and 2, and half of 3.
	var b []byte
	st.ScanEvents(context.Background(), airlock.EventFilter{Ascending: true}, func(ev *airlock.Event) error {
		j, _ := json.Marshal(ev)
		switch {
		case ev.ID <= 2:
			b = append(append(b, j...), '\n')
		case ev.ID == 3:
			b = append(b, j[:len(j)/2]...)
		}
		return nil
	})
	os.WriteFile(path, b, 0o600)
	s, err := StartFile(path, l, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, l, 2)
	s.Close()
	wantIDs(t, fileIDs(t, path), 7)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// TestFileRecoversAfterFullDisk: after a write failure the sink writes
// nothing until the disk takes writes again, then cuts the file back to
// its last good flush and writes every event from there once.
func TestFileRecoversAfterFullDisk(t *testing.T) {
	l, st := eventLog(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	// A sink driven by hand (no goroutine), so that the test can make its
	// writes fail.
	s := &FileSink{log: l, store: st, f: f, w: bufio.NewWriterSize(f, 64<<10), lg: slog.New(slog.DiscardHandler)}
	s.backfill()
	if !s.flush() {
		t.Fatal("first flush failed")
	}
	appendEvents(t, l, 3)
	// The disk fills up in the middle of the next flush: part of the
	// buffer reached the file.
	s.backfill()
	s.w.Flush() // a partial line reaches the file...
	f.Write([]byte(`{"id":5,"cut`))
	s.w = bufio.NewWriterSize(failWriter{}, 16)
	s.write(&airlock.Event{ID: s.lastID + 1})
	if s.flush() || s.broken == nil {
		t.Fatal("a failed flush was not noticed")
	}
	appendEvents(t, l, 2)
	s.repair()
	if s.broken != nil {
		t.Fatalf("still broken after repair: %v", s.broken)
	}
	f.Close()
	wantIDs(t, fileIDs(t, path), 8)
}
