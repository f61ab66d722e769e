package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"airlock"
	"airlock/internal/audit"
)

// TestTwoWritersOneChain has two audit logs, each on its own store
// connection as two gateways have, append concurrently to one database:
// every event is stored once, in one gapless chain that verifies.
func TestTwoWritersOneChain(t *testing.T) {
	_, url := open(t, Options{})
	ctx := t.Context()
	const writers, perWriter = 2, 600
	var logs []*audit.Log
	for i := range writers {
		st, err := Open(ctx, url, Options{Gateway: fmt.Sprintf("gw_%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		l, err := audit.Open(ctx, st, audit.Options{MaxBatch: 64})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	var wg sync.WaitGroup
	for w, l := range logs {
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter / 3 {
					ev := &airlock.Event{Type: airlock.EventSystem, Action: "test", User: fmt.Sprintf("w%d", w),
						Reason: fmt.Sprintf("%d-%d", g, i)}
					// Every tenth waits for durability, as writes do.
					if i%10 == 0 {
						if err := l.Record(ctx, ev); err != nil {
							t.Error(err)
							return
						}
					} else if _, err := l.Append(ev); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, l := range logs {
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := audit.Verify(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil {
		t.Fatalf("chain: %+v", rep.Problem)
	}
	evs, err := st.ListEvents(ctx, airlock.EventFilter{Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	per := map[string]int{}
	for i, e := range evs {
		if e.ID != int64(i+1) {
			t.Fatalf("event %d has ID %d: a gap", i+1, e.ID)
		}
		k := e.User + "/" + e.Reason
		if seen[k] {
			t.Fatalf("event %s stored twice", k)
		}
		seen[k] = true
		per[e.User]++
	}
	for w := range writers {
		if n := per[fmt.Sprintf("w%d", w)]; n != perWriter/3*3 {
			t.Fatalf("writer %d: %d events stored, want %d", w, n, perWriter/3*3)
		}
	}
	// Both writers' events interleave in the one chain.
	switches := 0
	for i := 1; i < len(evs); i++ {
		if evs[i].User != evs[i-1].User {
			switches++
		}
	}
	if switches < 2 {
		t.Fatalf("the writers' events did not interleave (%d switches)", switches)
	}
}
