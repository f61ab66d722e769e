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
