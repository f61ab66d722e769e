package listen

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// deadlines counts the read deadlines set on a connection.
type deadlines struct {
	net.Conn
	n int
}

func (d *deadlines) SetReadDeadline(t time.Time) error {
	d.n++
	return d.Conn.SetReadDeadline(t)
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c, peer
}

func readOne(t *testing.T, w *IdleWatch) error {
	t.Helper()
	b := make([]byte, 1)
	_, err := w.Read(b)
	return err
}

// TestIdleWatchKeep: with Keep, a run of short statements sets the read
// deadline once, not at each Arm and Disarm; without it, twice a
// statement.
func TestIdleWatchKeep(t *testing.T) {
	for _, keep := range []bool{true, false} {
		c, peer := tcpPair(t)
		dc := &deadlines{Conn: c}
		w := &IdleWatch{Conn: dc, D: time.Hour, Ended: make(chan struct{}), Keep: keep}
		if _, err := peer.Write(make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			w.Arm()
			if err := readOne(t, w); err != nil {
				t.Fatal(err)
			}
			w.Disarm()
		}
		want := 200
		if keep {
			want = 1
		}
		if dc.n != want {
			t.Errorf("keep %v: %d read deadlines set for 100 statements, want %d", keep, dc.n, want)
		}
	}
}

// TestIdleWatchKeptDeadline: a deadline kept past Disarm bounds no read
// made while disarmed, is set again by an Arm once it may have run out,
// and still ends an armed read that gets nothing; once the session has
// ended, the deadline it set is left alone.
func TestIdleWatchKeptDeadline(t *testing.T) {
	const d = 20 * time.Millisecond
	ended := make(chan struct{})
	c, peer := tcpPair(t)
	w := &IdleWatch{Conn: c, D: d, Ended: ended, Keep: true}

	w.Arm()
	w.Disarm()
	time.Sleep(3 * d) // the kept deadline passes
	peer.Write([]byte{1})
	if err := readOne(t, w); err != nil {
		t.Fatalf("a read while disarmed, after the kept deadline passed: %v", err)
	}

	w.Arm()
	w.Disarm()
	time.Sleep(3 * d)
	w.Arm() // more than D/4 since it was set: set again
	peer.Write([]byte{2})
	if err := readOne(t, w); err != nil {
		t.Fatalf("an armed read after the kept deadline passed: %v", err)
	}
	w.Disarm()

	w.Arm()
	w.Disarm()
	w.Arm() // kept
	if err := readOne(t, w); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an armed read that gets nothing under a kept deadline: %v, want a deadline error", err)
	}
	w.Disarm()

	w.Arm()
	close(ended)
	c.SetReadDeadline(time.Now()) // as the session's interrupt does
	w.Disarm()
	if err := readOne(t, w); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read after the session ended: %v, want the session's deadline", err)
	}
}
