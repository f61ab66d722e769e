// Command relayfloor is a measurement tool, not part of airlock: a bare
// relay with no parsing, decision or audit, to measure what relaying alone
// costs a Go process here (bench/floor.sh). With -mode epoll it does all
// socket I/O from one epoll loop on raw non-blocking fds; with -mode
// goroutine it runs two io.Copy goroutines per connection through Go's
// netpoller; with -mode sync (PostgreSQL only) one goroutine per
// connection reads the client's messages, writes them upstream once the
// client has nothing more buffered, then relays the answers until
// ReadyForQuery, flushing once: the shape of airlock's own loop. It relays
// bytes as they come (PostgreSQL's startup and trust authentication pass
// through), for loopback measurements only.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"syscall"
)

var (
	listen   = flag.String("listen", "127.0.0.1:26999", "")
	upstream = flag.String("upstream", "127.0.0.1:5432", "")
	mode     = flag.String("mode", "epoll", "epoll | goroutine | sync")
)

func rawFD(c net.Conn) int {
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		log.Fatal(err)
	}
	c.Close()
	fd := int(f.Fd())
	// keep f alive: leak it on purpose (the fd is ours now)
	files = append(files, f)
	if err := syscall.SetNonblock(fd, true); err != nil {
		log.Fatal(err)
	}
	return fd
}

var files []*os.File

func main() {
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *mode == "sync" {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", *upstream)
				if err != nil {
					return
				}
				defer u.Close()
				syncRelay(c, u)
			}()
		}
	}
	if *mode == "goroutine" {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			go func() {
				u, err := net.Dial("tcp", *upstream)
				if err != nil {
					c.Close()
					return
				}
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { io.Copy(u, c); u.Close(); wg.Done() }()
				go func() { io.Copy(c, u); c.Close(); wg.Done() }()
				wg.Wait()
			}()
		}
	}
	ep, err := syscall.EpollCreate1(0)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	peer := map[int]int{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			u, err := net.Dial("tcp", *upstream)
			if err != nil {
				c.Close()
				continue
			}
			cfd, ufd := rawFD(c), rawFD(u)
			mu.Lock()
			peer[cfd], peer[ufd] = ufd, cfd
			mu.Unlock()
			for _, fd := range []int{cfd, ufd} {
				ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
				if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
					log.Fatal(err)
				}
			}
		}
	}()
	evs := make([]syscall.EpollEvent, 64)
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.EpollWait(ep, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range evs[:n] {
			fd := int(ev.Fd)
			mu.Lock()
			to, ok := peer[fd]
			mu.Unlock()
			if !ok {
				continue
			}
			k, err := syscall.Read(fd, buf)
			if err == syscall.EAGAIN {
				continue
			}
			if k <= 0 || err != nil {
				syscall.Close(fd)
				syscall.Close(to)
				mu.Lock()
				delete(peer, fd)
				delete(peer, to)
				mu.Unlock()
				continue
			}
			for off := 0; off < k; {
				w, err := syscall.Write(to, buf[off:k])
				if err == syscall.EAGAIN {
					continue // loopback: the peer drains soon (a measurement tool)
				}
				if err != nil {
					break
				}
				off += w
			}
		}
	}
}

// syncRelay relays one PostgreSQL connection from a single goroutine.
func syncRelay(c, u net.Conn) {
	cr, cw := bufio.NewReaderSize(c, 8192), bufio.NewWriterSize(c, 8192)
	ur, uw := bufio.NewReaderSize(u, 8192), bufio.NewWriterSize(u, 8192)
	var hdr [5]byte
	// The startup packet has no type byte.
	if _, err := io.ReadFull(cr, hdr[:4]); err != nil {
		return
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	uw.Write(hdr[:4])
	if err := copyN(uw, cr, n-4); err != nil {
		return
	}
	for {
		if err := uw.Flush(); err != nil {
			return
		}
		// Answers until ReadyForQuery.
		for {
			if _, err := io.ReadFull(ur, hdr[:]); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint32(hdr[1:]))
			cw.Write(hdr[:])
			if err := copyN(cw, ur, n-4); err != nil {
				return
			}
			if hdr[0] == 'Z' {
				break
			}
		}
		if err := cw.Flush(); err != nil {
			return
		}
		// The client's messages up to and including one that asks for an
		// answer (Query, Sync), or Terminate.
		for {
			if _, err := io.ReadFull(cr, hdr[:]); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint32(hdr[1:]))
			uw.Write(hdr[:])
			if err := copyN(uw, cr, n-4); err != nil {
				return
			}
			if hdr[0] == 'X' {
				uw.Flush()
				return
			}
			if hdr[0] == 'Q' || hdr[0] == 'S' {
				break
			}
		}
	}
}

// copyN copies n bytes from r to w through their buffers, allocating nothing.
func copyN(w *bufio.Writer, r *bufio.Reader, n int) error {
	for n > 0 {
		k := r.Buffered()
		if k == 0 {
			if _, err := r.Peek(1); err != nil {
				return err
			}
			k = r.Buffered()
		}
		k = min(k, n)
		b, _ := r.Peek(k)
		w.Write(b)
		r.Discard(k)
		n -= k
	}
	return nil
}
