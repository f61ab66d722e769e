// Package listen runs the accept loops of the protocol adapters: each
// connection gets a goroutine that the Acceptor owns until it returns, and
// shutdown is two steps, StopAccepting (established connections go on) and
// Wait (for them to end).
package listen

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Acceptor accepts connections on any number of listeners. Its zero value
// is ready to use.
type Acceptor struct {
	mu      sync.Mutex
	lns     []net.Listener
	closing bool
	wg      sync.WaitGroup
}

// Serve accepts connections on ln and runs handle for each in its own
// goroutine, until StopAccepting; it then returns nil. A temporary accept
// error is retried; any other is returned.
func (a *Acceptor) Serve(ln net.Listener, handle func(net.Conn)) error {
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	a.lns = append(a.lns, ln)
	a.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			a.mu.Lock()
			closing := a.closing
			a.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			handle(nc)
		}()
	}
}

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
