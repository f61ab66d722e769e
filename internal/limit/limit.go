// Package limit holds the gateway-wide budget of memory that statements in
// flight may take: an adapter reserves a large statement's size before it
// reads the statement, and gives it back once the statement is forwarded
// or refused. When the budget is spent, a reservation waits (in arrival
// order) for room until its deadline, so that many large statements at
// once queue instead of taking the process's memory.
package limit

import (
	"context"
	"errors"
	"sync"
)

// ErrBudget is returned by Reserve when n is more than the whole budget.
var ErrBudget = errors.New("statement larger than the memory budget")

// Budget is a number of bytes shared by every connection. Its methods are
// safe for concurrent use; a nil *Budget has no limit.
type Budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget { return &Budget{size: size} }

// Reserve takes n bytes, waiting for room until ctx is done (then it
// returns ctx's error). The caller gives them back with Release.
func (b *Budget) Reserve(ctx context.Context, n int64) error {
	if b == nil || n <= 0 {
		return nil
	}
	if n > b.size {
		return ErrBudget
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted meanwhile: give it back.
			b.used -= n
			b.wake()
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
			b.wake() // a smaller waiter behind may fit now
		}
		b.mu.Unlock()
		return ctx.Err()
	}
}

// Release gives back n bytes taken by Reserve.
func (b *Budget) Release(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.wake()
	b.mu.Unlock()
}

// Used returns the bytes reserved now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// wake grants waiters in order while they fit; b.mu is held.
func (b *Budget) wake() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		close(w.ready)
		b.waiters = b.waiters[1:]
	}
}
