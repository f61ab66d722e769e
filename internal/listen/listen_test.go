package listen

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failing is a listener whose Accept fails with errs first, then accepts
// from the real listener.
type failing struct {
	net.Listener
	mu   sync.Mutex
	errs []error
	seen chan struct{} // closed when the errors are used up
}

func (f *failing) Accept() (net.Conn, error) {
	f.mu.Lock()
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if len(f.errs) == 0 {
			close(f.seen)
		}
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

func TestServeSurvivesResourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"EMFILE", &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}},
		{"ENFILE", &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENFILE)}},
		{"ENOBUFS", &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENOBUFS)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f := &failing{Listener: ln, errs: []error{tc.err, tc.err, tc.err}, seen: make(chan struct{})}
			var a Acceptor
			var errs []error
			var mu sync.Mutex
			a.OnError = func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
			done := make(chan error, 1)
			go func() { done <- a.Serve(f, func(c net.Conn) { c.Write([]byte("hi")); c.Close() }) }()
			<-f.seen
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(c)
			c.Close()
			if string(b) != "hi" {
				t.Fatalf("after %d accept errors the loop answered %q; want it serving", len(errs), b)
			}
			if !a.Accepting() {
				t.Error("Accepting() = false after a connection was accepted")
			}
			mu.Lock()
			if len(errs) != 3 {
				t.Errorf("OnError saw %d errors, want 3", len(errs))
			}
			mu.Unlock()
			a.StopAccepting()
			if err := <-done; err != nil {
				t.Errorf("Serve after StopAccepting: %v", err)
			}
		})
	}
}

func TestServeNotAcceptingWhileFailing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	errs := make([]error, 4)
	for i := range errs {
		errs[i] = emfile
	}
	f := &failing{Listener: ln, errs: errs, seen: make(chan struct{})}
	var a Acceptor
	go a.Serve(f, func(c net.Conn) { c.Close() })
	defer a.StopAccepting()
	<-f.seen
	if a.Accepting() {
		t.Fatal("Accepting() = true while accept failed with EMFILE")
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !a.Accepting() {
		if time.Now().After(deadline) {
			t.Fatal("Accepting() stayed false after the errors ended")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServeOtherErrorEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // closed by someone else than StopAccepting
	var a Acceptor
	if err := a.Serve(ln, func(c net.Conn) { c.Close() }); err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
	if a.Accepting() {
		t.Error("Accepting() = true after the loop ended")
	}
}

func TestAcceptorLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	a := Acceptor{Limit: 2, Refuse: func(c net.Conn) { c.Write([]byte("busy")) }}
	go a.Serve(ln, func(c net.Conn) { c.Write([]byte("ok")); <-release; c.Close() })
	defer a.StopAccepting()
	read := func(c net.Conn, n int) string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, n)
		k, _ := io.ReadFull(c, b)
		return string(b[:k])
	}
	var held []net.Conn
	for i := range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if got := read(c, 2); got != "ok" {
			t.Fatalf("connection %d under the limit got %q", i, got)
		}
		held = append(held, c)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got := read(c, 4); got != "busy" {
		t.Fatalf("connection above the limit got %q, want busy", got)
	}
	c.Close()
	close(release)
	for _, c := range held {
		c.Close()
	}
	// Slots come back.
	deadline := time.Now().Add(5 * time.Second)
	for a.Active() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a.Active() != 0 {
		t.Fatalf("Active() = %d after every connection ended", a.Active())
	}
}

func TestLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Limit(ln, 1, func(c net.Conn) { fmt.Fprint(c, "busy") })
	defer l.Close()
	got := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			got <- c
		}
	}()
	c1, _ := net.Dial("tcp", ln.Addr().String())
	defer c1.Close()
	s1 := <-got
	c2, _ := net.Dial("tcp", ln.Addr().String())
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c2)
	if string(b) != "busy" {
		t.Fatalf("second connection got %q, want busy", b)
	}
	s1.Close()
	s1.Close() // a second Close releases nothing more
	if l.Active() != 0 {
		t.Fatalf("Active() = %d after Close", l.Active())
	}
	c3, _ := net.Dial("tcp", ln.Addr().String())
	defer c3.Close()
	select {
	case s3 := <-got:
		s3.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a connection was not accepted after a slot came back")
	}
}

func TestSharesFor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit uint64
		http  bool
		dbs   int
		want  Shares
	}{
		{"container default", 1024, true, 2, Shares{HTTP: 240, Database: 180}},
		{"one database listener", 1024, true, 1, Shares{HTTP: 240, Database: 360}},
		{"no http", 1024, false, 2, Shares{HTTP: 4, Database: 240}},
		{"tiny", 16, true, 2, Shares{HTTP: 16, Database: 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SharesFor(tc.limit, tc.http, tc.dbs)
			if got != tc.want {
				t.Errorf("SharesFor(%d, %v, %d) = %+v, want %+v", tc.limit, tc.http, tc.dbs, got, tc.want)
			}
			if tc.limit > 200 {
				used := uint64(got.Database*2*tc.dbs + got.HTTP)
				if used > tc.limit {
					t.Errorf("shares use %d descriptors of %d", used, tc.limit)
				}
			}
		})
	}
}
