// Package listen runs the accept loops of the protocol adapters: each
// connection gets a goroutine that the Acceptor owns until it returns, and
// shutdown is two steps, StopAccepting (established connections go on) and
// Wait (for them to end).
//
// An accept loop never ends on a resource error: when the process is out
// of descriptors (EMFILE, ENFILE) or kernel memory, it waits with a backoff
// (5 ms doubling to 1 s, as net/http does) and tries again, and reports
// itself not accepting meanwhile (Accepting), so that health checks can say
// so. A cap on the connections held at once (Acceptor.Limit, or Limit for
// a listener served by someone else) keeps one listener from taking the
// descriptors the others need.
package listen

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Acceptor accepts connections on any number of listeners. Its zero value
// is ready to use.
type Acceptor struct {
	// Limit is the most connections held at once; 0 means no limit. A
	// connection above it is handed to Refuse (or closed) at once.
	Limit int
	// Refuse, when set, answers a connection above Limit (a short error
	// in the listener's protocol); the Acceptor closes it afterwards.
	Refuse func(net.Conn)
	// OnError, when set, is told of each accept error the loop waits out.
	OnError func(error)

	mu      sync.Mutex
	lns     []net.Listener
	closing bool
	wg      sync.WaitGroup
	active  atomic.Int64
	state   state
}

// Serve accepts connections on ln and runs handle for each in its own
// goroutine, until StopAccepting; it then returns nil. A resource or
// temporary accept error is waited out with a backoff; any other (the
// listener closed by someone else) is returned.
func (a *Acceptor) Serve(ln net.Listener, handle func(net.Conn)) error {
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	a.lns = append(a.lns, ln)
	a.mu.Unlock()
	a.state.set(true)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			a.mu.Lock()
			closing := a.closing
			a.mu.Unlock()
			if closing {
				return nil
			}
			if Retryable(err) {
				delay = backoff(delay)
				a.state.set(false)
				if a.OnError != nil {
					a.OnError(err)
				}
				time.Sleep(delay)
				continue
			}
			a.state.set(false)
			return err
		}
		delay = 0
		a.state.set(true)
		if a.Limit > 0 && a.active.Load() >= int64(a.Limit) {
			a.refuse(nc)
			continue
		}
		a.active.Add(1)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer a.active.Add(-1)
			handle(nc)
		}()
	}
}

func (a *Acceptor) refuse(nc net.Conn) {
	if a.Refuse != nil {
		nc.SetDeadline(time.Now().Add(100 * time.Millisecond))
		a.Refuse(nc)
	}
	nc.Close()
}

// Active returns the number of connections being served.
func (a *Acceptor) Active() int { return int(a.active.Load()) }

// Accepting reports whether the accept loop is healthy: false before
// Serve, and after an accept error until the next connection is accepted.
func (a *Acceptor) Accepting() bool { return a.state.ok() }

// StopAccepting closes the listeners; established connections go on.
func (a *Acceptor) StopAccepting() {
	a.mu.Lock()
	a.closing = true
	lns := a.lns
	a.lns = nil
	a.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

// Wait blocks until every connection goroutine returned, or ctx is done.
func (a *Acceptor) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retryable reports whether an accept error is one to wait out: out of
// descriptors or memory, an aborted connection, or a timeout.
func Retryable(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func backoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	if d *= 2; d > time.Second {
		d = time.Second
	}
	return d
}

// state is whether a listener accepts; the zero value is "not yet".
type state struct{ v atomic.Int32 }

func (s *state) set(ok bool) {
	if ok {
		s.v.Store(1)
	} else {
		s.v.Store(2)
	}
}

func (s *state) ok() bool { return s.v.Load() == 1 }
