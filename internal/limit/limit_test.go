package limit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	b := NewBudget(100)
	ctx := context.Background()
	if err := b.Reserve(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(ctx, 101); !errors.Is(err, ErrBudget) {
		t.Fatalf("Reserve above the size: %v, want ErrBudget", err)
	}
	// 50 does not fit: it waits until its deadline.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.Reserve(short, 50); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Reserve over budget: %v, want a deadline error", err)
	}
	if b.Used() != 60 {
		t.Fatalf("Used() = %d after a timed-out reservation, want 60", b.Used())
	}
	// A waiter gets its bytes when others give theirs back.
	got := make(chan error, 1)
	go func() { got <- b.Reserve(ctx, 50) }()
	select {
	case err := <-got:
		t.Fatalf("Reserve returned %v before there was room", err)
	case <-time.After(20 * time.Millisecond):
	}
	b.Release(60)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiter was not woken by Release")
	}
	if b.Used() != 50 {
		t.Fatalf("Used() = %d, want 50", b.Used())
	}
	b.Release(50)
	var nb *Budget
	if err := nb.Reserve(ctx, 1<<40); err != nil {
		t.Fatalf("nil budget: %v", err)
	}
}

// TestMemoryGoesBack: once the budget is idle after large statements, the
// memory they held is given back to the operating system, at most every
// few seconds (then once that time has passed, if still idle); small or
// overlapping statements do not trigger it.
func TestMemoryGoesBack(t *testing.T) {
	b := NewBudget(1 << 30)
	b.every, b.settle = time.Second, 10*time.Millisecond
	freed := make(chan struct{}, 10)
	b.freeMemory = func() { freed <- struct{}{} }
	ctx := context.Background()
	take := func(n int64) {
		if err := b.Reserve(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want bool, what string) {
		t.Helper()
		select {
		case <-freed:
			if !want {
				t.Fatalf("%s: memory given back", what)
			}
		case <-time.After(200 * time.Millisecond):
			if want {
				t.Fatalf("%s: memory not given back", what)
			}
		}
	}
	take(1 << 20)
	b.Release(1 << 20)
	expect(false, "one small statement")
	take(40 << 20)
	take(1 << 20)
	b.Release(40 << 20)
	expect(false, "a large statement while another is in flight")
	b.Release(1 << 20)
	expect(true, "the budget idle after a large statement")
	take(40 << 20)
	b.Release(40 << 20)
	expect(false, "again within a few seconds")
	take(1 << 20) // busy when the time has passed: not yet
	time.Sleep(time.Second)
	expect(false, "busy when the time has passed")
	b.Release(1 << 20)
	expect(true, "idle again after the time has passed")
	take(40 << 20)
	b.Release(40 << 20)
	expect(false, "again within a few seconds")
	time.Sleep(time.Second)
	expect(true, "once the time has passed, still idle")
}
