package seglog

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"airlock"
	"airlock/internal/audit"
	"airlock/internal/store/sqlite"
)

const killEnv = "AIRLOCK_SEGLOG_KILL_DIR"

// TestKill9LosesNoAcknowledgedEvent runs itself as a child process that
// appends events through the audit log, the segment log and the SQLite
// store, printing each event's ID once Wait returned for it. The parent
// SIGKILLs the child after 1,500 acknowledgements, three times over the
// same directory (each child recovers what the previous one left), then
// reopens it and checks that every acknowledged event is stored and that
// the chain verifies.
func TestKill9LosesNoAcknowledgedEvent(t *testing.T) {
	if dir := os.Getenv(killEnv); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	acked := map[int64]bool{}
	// Three lives: each child recovers what the previous one left.
	const rounds, kill = 3, 1500
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9LosesNoAcknowledgedEvent$", "-test.count=1")
		cmd.Env = append(os.Environ(), killEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		n := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			id, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				t.Fatalf("child: %q", sc.Text())
			}
			if acked[id] {
				t.Fatalf("event %d acknowledged twice", id)
			}
			acked[id] = true
			if n++; n == kill {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
			// Lines after the kill were written before it: they count too.
		}
		cmd.Wait()
		if n < kill {
			t.Fatalf("round %d: the child stopped after %d acknowledgements", round, n)
		}
	}

	segs := segments(t, filepath.Join(dir, "airlock.db.audit"))
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "airlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before, err := st.LastEvent(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(ctx, filepath.Join(dir, "airlock.db.audit"), st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stored := map[int64]bool{}
	var last int64
	err = l.ScanEvents(ctx, airlock.EventFilter{Ascending: true}, func(e *airlock.Event) error {
		stored[e.ID] = true
		if e.ID != last+1 {
			return fmt.Errorf("event %d follows %d", e.ID, last)
		}
		last = e.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged event %d is not stored", id)
		}
	}
	rep, err := audit.Verify(ctx, l)
	if err != nil || rep.Problem != nil {
		t.Fatalf("verify: %v %+v", err, rep)
	}
	var indexed int64
	if before != nil {
		indexed = before.ID
	}
	t.Logf("%d acknowledged; at the kill SQLite held %d, %d segments were left; %d stored after recovery, chain verified to %d", len(acked), indexed, len(segs), len(stored), rep.LastID)
}

// killChild appends events from several sessions until it is killed (or a
// bound is reached), printing each acknowledged ID.
func killChild(dir string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "airlock.db"))
	if err != nil {
		fail(err)
	}
	// Small segments and batches: rotation and deletion happen before the
	// kill, and the indexer lags behind the head.
	l, err := Open(ctx, filepath.Join(dir, "airlock.db.audit"), st, Options{SegmentBytes: 128 << 10, IndexBatch: 64})
	if err != nil {
		fail(err)
	}
	al, err := audit.Open(ctx, l, audit.Options{})
	if err != nil {
		fail(err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for s := range 8 {
		wg.Go(func() {
			for i := range 20000 {
				ev := &airlock.Event{Type: airlock.EventStatement, Action: airlock.ActionStarted, User: "alice",
					SessionID: fmt.Sprintf("s_%d", s), Text: fmt.Sprintf("UPDATE t SET n = %d", i)}
				if err := al.Record(ctx, ev); err != nil {
					fail(err)
				}
				mu.Lock()
				fmt.Fprintf(w, "%d\n", ev.ID)
				w.Flush() // acknowledged: printed before anything else happens
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}
