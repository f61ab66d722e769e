package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"airlock"
)

// memStore is an in-memory EventStore whose writes can be made to fail.
type memStore struct {
	mu     sync.Mutex
	events []*airlock.Event
	fail   error
	writes int
}

func (m *memStore) AppendEvents(_ context.Context, evs []*airlock.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes++
	for _, ev := range evs {
		c := *ev
		m.events = append(m.events, &c)
	}
	return nil
}

func (m *memStore) LastEvent(context.Context) (*airlock.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) == 0 {
		return nil, nil
	}
	c := *m.events[len(m.events)-1]
	return &c, nil
}

func (m *memStore) ListEvents(ctx context.Context, f airlock.EventFilter) ([]*airlock.Event, error) {
	var out []*airlock.Event
	err := m.ScanEvents(ctx, f, func(e *airlock.Event) error { out = append(out, e); return nil })
	return out, err
}

func (m *memStore) ScanEvents(_ context.Context, f airlock.EventFilter, fn func(*airlock.Event) error) error {
	m.mu.Lock()
	evs := slices.Clone(m.events)
	m.mu.Unlock()
	n := 0
	for _, e := range evs {
		if !f.Since.IsZero() && e.Time.Before(f.Since) {
			continue
		}
		if f.Limit > 0 && n == f.Limit {
			break
		}
		n++
		c := *e
		if err := fn(&c); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

func stmtEvent(i int) *airlock.Event {
	return &airlock.Event{
		Type: airlock.EventStatement, Action: airlock.ActionExecuted, User: "alice", Database: "shop",
		SessionID: "s_abc", Text: fmt.Sprintf("SELECT %d", i), StatementKind: "select", Level: "read",
		Decision: "allowed", Rows: int64(i), DurationMS: 0.25,
	}
}

func TestChainAndVerify(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	l, err := Open(ctx, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if _, err := l.Append(stmtEvent(g*1000 + i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.events) != 4000 {
		t.Fatalf("stored %d events, want 4000", len(st.events))
	}
	rep, err := Verify(ctx, st)
	if err != nil || rep.Problem != nil || rep.Events != 4000 {
		t.Fatalf("verify = %+v, %v", rep, err)
	}
	// A reopened log continues the chain.
	l2, _ := Open(ctx, st, Options{})
	l2.Record(ctx, stmtEvent(1))
	l2.Close(ctx)
	if rep, _ := Verify(ctx, st); rep.Problem != nil || rep.Events != 4001 {
		t.Fatalf("after reopen: %+v", rep.Problem)
	}

	tamper := []struct {
		name string
		do   func(evs []*airlock.Event) []*airlock.Event
		want int64
	}{
		{"edit", func(e []*airlock.Event) []*airlock.Event { e[10].Text = "DROP TABLE x"; return e }, 11},
		{"delete", func(e []*airlock.Event) []*airlock.Event { return slices.Delete(e, 20, 21) }, 22},
		{"swap", func(e []*airlock.Event) []*airlock.Event { e[30], e[31] = e[31], e[30]; return e }, 32},
		{"edit and rehash", func(e []*airlock.Event) []*airlock.Event {
			e[40].Rows = 99
			e[40].Hash = ChainHash(e[40].PrevHash, e[40])
			return e
		}, 42},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			cp := &memStore{}
			for _, e := range st.events {
				c := *e
				cp.events = append(cp.events, &c)
			}
			cp.events = tc.do(cp.events)
			rep, err := Verify(ctx, cp)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Problem == nil || rep.Problem.ID != tc.want {
				t.Fatalf("problem = %+v, want event %d", rep.Problem, tc.want)
			}
		})
	}
}

func TestFailClosedAndRecover(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	l, _ := Open(ctx, st, Options{})
	defer l.Close(ctx)
	if err := l.Record(ctx, stmtEvent(1)); err != nil {
		t.Fatal(err)
	}
	st.setFail(errors.New("disk full"))
	tk, _ := l.Append(stmtEvent(2))
	if err := l.Wait(ctx, tk); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("wait = %v, want ErrUnavailable", err)
	}
	if !errors.Is(l.Err(), ErrUnavailable) {
		t.Fatalf("Err = %v", l.Err())
	}
	st.setFail(nil)
	deadline := time.Now().Add(5 * time.Second)
	for l.Err() != nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := l.Wait(ctx, tk); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if len(st.events) != 2 {
		t.Fatalf("%d events stored, want 2 (nothing dropped)", len(st.events))
	}
}

func TestBackpressure(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	st.setFail(errors.New("stuck"))
	l, _ := Open(ctx, st, Options{QueueSize: 4, MaxBatch: 2})
	done := make(chan struct{})
	go func() {
		for i := range 20 {
			l.Append(stmtEvent(i))
		}
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("20 appends into a queue of 4 with a stuck store did not block")
	case <-time.After(200 * time.Millisecond):
	}
	st.setFail(nil)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("appends still blocked after the store recovered")
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(st.events) != 20 {
		t.Fatalf("%d events, want 20", len(st.events))
	}
}

func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	l, _ := Open(ctx, &memStore{}, Options{})
	defer l.Close(ctx)
	sub := l.Subscribe(10, func(e *airlock.Event) bool { return e.User == "bob" })
	defer sub.Close()
	e := stmtEvent(1)
	l.Append(e)
	b := stmtEvent(2)
	b.User = "bob"
	l.Record(ctx, b)
	select {
	case got := <-sub.C:
		if got.User != "bob" || got.ID != 2 {
			t.Fatalf("got %+v", got)
		}
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
}

// TestCanonicalMatchesGeneric compares the hand-written encoder with a
// generic RFC 8785 canonicalization of encoding/json's output.
func TestCanonicalMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "a", "é", "\x00\x1f\"\\", "<&>", "\u2028", "日本", "\xff", "😀", "line\nbreak\ttab"}
	pick := func() string { return strs[r.IntN(len(strs))] }
	for i := range 2000 {
		ev := &airlock.Event{
			ID: int64(i), Time: time.Unix(r.Int64N(2e9), r.Int64N(1e9)).UTC(),
			Type: pick(), Action: pick(), User: pick(), Actor: pick(), Database: pick(), SessionID: pick(),
			ClientAddr: pick(), Application: pick(), Ref: pick(), Text: pick(), StatementKind: pick(),
			Level: pick(), Decision: pick(), Rule: pick(), Reason: pick(), Error: pick(),
			Rows: r.Int64N(3) * r.Int64N(1e12),
		}
		switch r.IntN(5) {
		case 1:
			ev.DurationMS = r.Float64() * 1e4
		case 2:
			ev.DurationMS = r.Float64() * 1e-7
		case 3:
			ev.DurationMS = float64(r.IntN(100))
		}
		if r.IntN(2) == 0 {
			ev.Tables = []string{pick(), pick()}
			ev.Params = []string{pick()}
			ev.Warnings = []string{pick()}
			ev.Detail = map[string]string{"level": pick(), "b": pick(), "a": pick(), pick(): pick()}
		}
		want := genericCanonical(t, ev)
		if got := string(Canonical(ev)); got != want {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func genericCanonical(t *testing.T, ev *airlock.Event) string {
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	d := json.NewDecoder(bytesReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	delete(m, "hash")
	delete(m, "prev_hash")
	return string(canonValue(nil, m))
}

func canonValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = canonValue(b, v[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = canonValue(b, x)
		}
		return append(b, ']')
	case string:
		return appendString(b, v)
	case json.Number:
		f, _ := v.Float64()
		return appendNumber(b, f)
	}
	panic(fmt.Sprintf("unexpected %T", v))
}

// TestTwoWriters: a second writer on the same store (a break-glass command
// while the server runs) does not break the chain; the first chains after
// it.
func TestTwoWriters(t *testing.T) {
	ctx := context.Background()
	st := &uniqueStore{}
	a, _ := Open(ctx, st, Options{})
	if err := a.Record(ctx, stmtEvent(1)); err != nil {
		t.Fatal(err)
	}
	b, _ := Open(ctx, st, Options{})
	if err := b.Record(ctx, stmtEvent(2)); err != nil {
		t.Fatal(err)
	}
	b.Close(ctx)
	if err := a.Record(ctx, stmtEvent(3)); err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)
	rep, err := Verify(ctx, st)
	if err != nil || rep.Problem != nil || rep.Events != 3 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// uniqueStore refuses an event whose ID exists, as a store's primary key does.
type uniqueStore struct{ memStore }

func (u *uniqueStore) AppendEvents(ctx context.Context, evs []*airlock.Event) error {
	u.mu.Lock()
	for _, ev := range evs {
		for _, e := range u.events {
			if e.ID == ev.ID {
				u.mu.Unlock()
				return errors.New("UNIQUE constraint failed: events.id")
			}
		}
	}
	u.mu.Unlock()
	return u.memStore.AppendEvents(ctx, evs)
}

// prunableStore is a memStore that deletes events.
type prunableStore struct{ memStore }

func (p *prunableStore) DeleteEventsBefore(_ context.Context, id int64) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var kept []*airlock.Event
	for _, e := range p.events {
		if e.ID >= id {
			kept = append(kept, e)
		}
	}
	n := int64(len(p.events) - len(kept))
	p.events = kept
	return n, nil
}

func TestPruneKeepsChainVerifiable(t *testing.T) {
	ctx := context.Background()
	st := &prunableStore{}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	l, _ := Open(ctx, st, Options{Now: func() time.Time { return clock }})
	for i := range 10 {
		clock = now.Add(time.Duration(i) * time.Hour)
		l.Record(ctx, stmtEvent(i))
	}
	n, err := l.Prune(ctx, st, now.Add(5*time.Hour))
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	l.Close(ctx)
	rep, err := Verify(ctx, st)
	if err != nil || rep.Problem != nil || rep.FirstID != 6 {
		t.Fatalf("after pruning: %+v %+v %v", rep, rep.Problem, err)
	}
	// Deleting the oldest events without a pruning record is detected.
	st.mu.Lock()
	st.events = st.events[2:]
	st.mu.Unlock()
	if rep, _ := Verify(ctx, st); rep.Problem == nil {
		t.Fatal("deleting the oldest events went unnoticed")
	}
}
