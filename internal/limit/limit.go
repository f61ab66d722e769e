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
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// The memory large statements held goes back to the operating system
// once the budget is idle again, after at least returnAfter bytes were
// released (a second later, if still idle), at most every returnEvery:
// Go's runtime keeps freed memory for minutes otherwise, and a
// gateway that once read a few large statements would look (and be
// accounted) as large as then.
const (
	returnAfter  = 32 << 20
	returnEvery  = 5 * time.Second
	returnSettle = time.Second
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

	released   int64         // bytes released since memory last went back
	returned   time.Time     // when it last went back
	deferred   bool          // a later give-back is scheduled
	every      time.Duration // returnEvery; tests shorten it
	settle     time.Duration // returnSettle; tests shorten it
	freeMemory func()        // freeOSMemory; tests replace it
}

type waiter struct {
	n     int64
	ready chan struct{}
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget {
	return &Budget{size: size, every: returnEvery, settle: returnSettle, freeMemory: freeOSMemory}
}

// AlsoFree makes f run, after the Go heap's, whenever the budget gives
// memory back (a C library's heap). Call it before the budget is used.
func (b *Budget) AlsoFree(f func()) {
	if b == nil {
		return
	}
	free := b.freeMemory
	b.freeMemory = func() {
		if free != nil {
			free()
		}
		f()
	}
}

// freeOSMemory returns what the heap does not use to the operating system.
// The first collection moves the buffers kept in sync.Pools (a large
// statement's among them) to their victim caches, the one in
// debug.FreeOSMemory drops them.
func freeOSMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

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
	b.released += n
	b.wake()
	b.mu.Unlock()
	b.giveBack()
}

// giveBack schedules the return of the memory released to the operating
// system when the budget is idle after returnAfter bytes: returnSettle
// later (the statements' buffers are garbage only once their connections
// have moved on or closed), and no sooner than returnEvery after the last
// time; the budget must still be idle then, or the next Release that
// leaves it idle schedules it again.
func (b *Budget) giveBack() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used != 0 || b.released < returnAfter || b.deferred {
		return
	}
	b.deferred = true
	time.AfterFunc(max(b.settle, b.every-time.Since(b.returned)), func() {
		b.mu.Lock()
		b.deferred = false
		idle := b.used == 0 && b.released >= returnAfter
		if idle {
			b.released, b.returned = 0, time.Now()
		}
		b.mu.Unlock()
		if idle && b.freeMemory != nil {
			b.freeMemory()
		}
	})
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
