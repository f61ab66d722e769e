// Package audit is airlock's event pipeline: it orders events into a hash
// chain, writes them to the store in batches (group commit: one durable
// write serves every event queued behind it), lets callers wait until their
// events are durable, fails closed when the store cannot take events, and
// fans events out to live subscribers.
//
// Append never drops an event: when the queue is full it blocks the caller
// (backpressure) until the writer catches up.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
)

// ErrUnavailable is returned (wrapped) while the store cannot take events.
var ErrUnavailable = errors.New("the audit log cannot record events")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("the audit log is closed")

// Options tune the pipeline.
type Options struct {
	QueueSize int // events waiting to be written; default 65536
	MaxBatch  int // events per store write; default 1024
	// MaxDelay is how long the writer waits to fill a batch when nobody
	// waits for durability (reads' events); default 25ms. A Wait or Sync
	// cuts it short, so writes never wait for it. Longer batches cost
	// less per event (fewer commits and fsyncs, more events per stored
	// batch); past about 25ms at a few thousand events a second the saving
	// stops (docs/benchmarks.md).
	MaxDelay time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
	// MaxTextBytes bounds the statement text stored whole; longer text is
	// stored truncated with its size and hash in the detail. 0: no bound.
	MaxTextBytes int
	// Committed, when set, is called by the writer goroutine after the
	// store took a batch, with the batch and how long the store's write
	// took (for metrics). It must be quick and must not keep the batch.
	Committed func(batch []*airlock.Event, took time.Duration)
}

// Log is the audit pipeline. It is safe for concurrent use.
type Log struct {
	store airlock.EventStore
	opts  Options
	log   *slog.Logger

	queue chan *airlock.Event
	quit  chan struct{}
	done  chan struct{}
	// waiters counts callers waiting for durability; urgent wakes a
	// writer that lingers to fill a batch.
	waiters atomic.Int32
	urgent  chan struct{}

	// sendMu orders senders: ticket order is queue order. The writer never
	// takes it, so a sender blocked on a full queue cannot stall the writer.
	sendMu   sync.Mutex
	mu       sync.Mutex
	cond     *sync.Cond
	enqueued int64 // events accepted by Append
	durable  int64 // events written (a count, in order)
	failErr  error // non-nil while the store refuses writes
	closed   bool
	closing  sync.Once

	subsMu sync.RWMutex
	subs   map[*Subscription]struct{}

	// head of the chain, owned by the writer goroutine
	lastID   int64
	lastHash string
	scratch  []byte // the writer's buffer for hashing
}

// Open starts a pipeline that appends after the newest event in store.
func Open(ctx context.Context, store airlock.EventStore, opts Options) (*Log, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 65536
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 25 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	last, err := store.LastEvent(ctx)
	if err != nil {
		return nil, fmt.Errorf("read chain head: %w", err)
	}
	l := &Log{
		store:  store,
		opts:   opts,
		log:    opts.Logger,
		queue:  make(chan *airlock.Event, opts.QueueSize),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		urgent: make(chan struct{}, 1),
		subs:   map[*Subscription]struct{}{},
	}
	l.cond = sync.NewCond(&l.mu)
	if last != nil {
		l.lastID, l.lastHash = last.ID, last.Hash
	}
	go l.run()
	return l, nil
}

// Err returns a non-nil error, wrapping ErrUnavailable, while the store
// refuses events; callers deny statements meanwhile (fail closed).
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.failErr
}

// Append queues ev and returns a ticket that Wait accepts. It stamps the
// time when ev has none. It blocks while the queue is full and fails only
// when the log is closed; while the store is failing, events still queue
// (nothing is dropped) and callers should check Err before acting.
func (l *Log) Append(ev *airlock.Event) (Ticket, error) {
	truncateText(ev, l.opts.MaxTextBytes)
	if ev.Time.IsZero() {
		ev.Time = l.opts.Now().UTC()
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	l.enqueued++
	t := Ticket(l.enqueued)
	l.mu.Unlock()
	l.queue <- ev
	if len(l.queue) >= l.opts.MaxBatch {
		// A full batch is waiting: a lingering writer need not wait longer.
		select {
		case l.urgent <- struct{}{}:
		default:
		}
	}
	return t, nil
}

// Ticket identifies a queued event for Wait.
type Ticket int64

// Wait blocks until the event of ticket t, and so every event queued
// before it, is durable. It returns an error wrapping ErrUnavailable if
// the store fails meanwhile (the events stay queued and are retried), or
// ctx's error.
func (l *Log) Wait(ctx context.Context, t Ticket) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if int64(t) <= l.durable {
		return nil
	}
	if l.failErr != nil {
		return l.failErr
	}
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	select {
	case l.urgent <- struct{}{}:
	default:
	}
	for int64(t) > l.durable {
		if l.failErr != nil {
			return l.failErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if l.closed && l.durable == l.enqueued {
			break
		}
		l.cond.Wait()
	}
	return nil
}

// Sync waits until every event appended so far is durable.
func (l *Log) Sync(ctx context.Context) error {
	l.mu.Lock()
	t := Ticket(l.enqueued)
	l.mu.Unlock()
	return l.Wait(ctx, t)
}

// Record appends ev and waits until it is durable.
func (l *Log) Record(ctx context.Context, ev *airlock.Event) error {
	t, err := l.Append(ev)
	if err != nil {
		return err
	}
	return l.Wait(ctx, t)
}

// Close writes every queued event and stops the writer. It waits at most
// until ctx is done.
func (l *Log) Close(ctx context.Context) error {
	l.closing.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		// Once sendMu is ours, no sender is between its check and its send.
		l.sendMu.Lock()
		close(l.quit)
		l.sendMu.Unlock()
	})
	select {
	case <-l.done:
	case <-ctx.Done():
		return fmt.Errorf("audit flush: %w", ctx.Err())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.durable != l.enqueued {
		return fmt.Errorf("audit flush: %d events not written: %w", l.enqueued-l.durable, l.failErr)
	}
	return nil
}

// run is the single writer: it takes batches from the queue, chains them
// and writes them; on a store error it keeps the batch and retries.
func (l *Log) run() {
	defer close(l.done)
	batch := make([]*airlock.Event, 0, l.opts.MaxBatch)
	backoff := 10 * time.Millisecond
	for {
		if len(batch) == 0 {
			select {
			case ev := <-l.queue:
				batch = append(batch, ev)
			case <-l.quit:
				// Drain what is left, then stop.
				select {
				case ev := <-l.queue:
					batch = append(batch, ev)
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case ev := <-l.queue:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		l.linger(&batch)
		if err := l.write(batch); err != nil {
			if l.reloadHead() {
				// Another writer (a break-glass command, another
				// gateway) appended meanwhile: chain after it, now.
				continue
			}
			l.setFailed(err)
			select {
			case <-time.After(backoff):
			case <-l.quit:
				// Keep trying a little while closing so that a
				// recovered store still gets the tail.
				time.Sleep(backoff)
			}
			if backoff < time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 10 * time.Millisecond
		l.publish(batch)
		l.mu.Lock()
		l.durable += int64(len(batch))
		l.failErr = nil
		l.cond.Broadcast()
		l.mu.Unlock()
		clear(batch)
		batch = batch[:0]
	}
}

// linger waits up to MaxDelay for more events while nobody waits for
// durability, so that a stream of reads' events makes few large writes
// (each one costs an fsync) instead of many small ones. It sleeps rather
// than taking events one by one as they come, so that a session's Append
// does not wake the writer for every event; a Wait, a queue that holds a
// full batch (see Append) or Close ends the wait early. Then it takes what
// the queue holds, up to a full batch.
func (l *Log) linger(batch *[]*airlock.Event) {
	// Forget a wake-up from an earlier waiter first, then look: a waiter
	// that comes after the look leaves a wake-up the select below sees.
	select {
	case <-l.urgent:
	default:
	}
	if len(*batch)+len(l.queue) < cap(*batch) && l.waiters.Load() == 0 {
		t := time.NewTimer(l.opts.MaxDelay)
		select {
		case <-l.urgent:
		case <-t.C:
		case <-l.quit:
		}
		t.Stop()
	}
	for len(*batch) < cap(*batch) {
		select {
		case ev := <-l.queue:
			*batch = append(*batch, ev)
		default:
			return
		}
	}
}

// write chains the batch after the current head and stores it. The head
// only moves when the store took the batch, so a retry re-chains the same
// events identically.
func (l *Log) write(batch []*airlock.Event) error {
	id, prev := l.lastID, l.lastHash
	for _, ev := range batch {
		if math.IsNaN(ev.DurationMS) || math.IsInf(ev.DurationMS, 0) {
			ev.DurationMS = 0 // not representable in JSON; the store keeps 0
		}
		id++
		ev.ID = id
		ev.PrevHash = prev
		ev.Hash, l.scratch = chainHash(l.scratch, prev, ev)
		prev = ev.Hash
	}
	if cap(l.scratch) > 64<<10 {
		l.scratch = nil // do not keep one huge statement's buffer
	}
	start := time.Now()
	if err := l.store.AppendEvents(context.Background(), batch); err != nil {
		return err
	}
	l.lastID, l.lastHash = id, prev
	if l.opts.Committed != nil {
		l.opts.Committed(batch, time.Since(start))
	}
	return nil
}

// reloadHead re-reads the newest stored event and reports whether it is
// not the head this writer chained to.
func (l *Log) reloadHead() bool {
	last, err := l.store.LastEvent(context.Background())
	if err != nil || last == nil || (last.ID == l.lastID && last.Hash == l.lastHash) {
		return false
	}
	l.log.Info("audit chain head moved: another writer appended; chaining after it", "id", last.ID)
	l.lastID, l.lastHash = last.ID, last.Hash
	return true
}

func (l *Log) setFailed(err error) {
	l.mu.Lock()
	first := l.failErr == nil
	l.failErr = fmt.Errorf("%w: %v", ErrUnavailable, err)
	l.cond.Broadcast()
	l.mu.Unlock()
	if first {
		l.log.Error("audit store refuses events; statements are denied until it recovers", "err", err)
	}
}
