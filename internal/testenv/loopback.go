package testenv

import (
	"net"
	"testing"
)

// ServeLoopback listens on a free loopback port until tb ends and serves
// each connection with serve in its own goroutine (a fake upstream for a
// benchmark or a protocol test). It returns the address.
func ServeLoopback(tb testing.TB, serve func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(nc)
		}
	}()
	return ln.Addr().String()
}
