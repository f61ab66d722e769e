package mysqlwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/policy"
	"airlock/internal/store/sqlite"
)

// Fuzzing the decoders and the connection phase: malformed input gets an
// error (and, from a client, an ERR packet and a closed connection), never
// a panic. The committed corpus is under testdata/fuzz; run one target
// with
//
//	go test ./internal/mysqlwire -run '^$' -fuzz FuzzHandshake -fuzztime 1m

func packet(seq byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
}

// FuzzPacketReader feeds a stream to the packet reader: whole packets
// (joined across splits) and relayed ones.
func FuzzPacketReader(f *testing.F) {
	f.Add(packet(0, []byte{comQuery, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1'}))
	f.Add(append(packet(0, bytes.Repeat([]byte{'x'}, 10)), packet(1, nil)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1, 2, 3})
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &pktReader{r: bufio.NewReaderSize(bytes.NewReader(data), 64)}
		for range 100 {
			if _, _, err := r.next(1 << 10); err != nil && err != errTooLarge {
				break
			}
		}
		r = &pktReader{r: bufio.NewReaderSize(bytes.NewReader(data), 64)}
		w := bufio.NewWriter(io.Discard)
		for range 100 {
			n, _, err := r.header()
			if err != nil {
				break
			}
			if err := r.relay(w, n); err != nil {
				break
			}
		}
	})
}

// FuzzDecoders runs every decoder of server and client packets.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte{10, '8', '.', '0', 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0xff, 0xf7, 45, 2, 0, 0xff, 0xdf, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 'm', 'y', 0})
	f.Add(appendOK(nil, 3, 4, 2, 0))
	f.Add(appendERR(nil, 1227, "42000", "denied"))
	f.Add(appendEOF(nil, 0, 2))
	f.Add([]byte{0x0d, 0xa2, 0x0a, 0x00, 0, 0, 0, 1, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'a', 0, 1, 'x', 'd', 'b', 0, 'p', 0, 3, 1, 'k', 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		parseGreeting(p)
		parseHandshakeResponse(p)
		parseOK(p)
		parseEnd(p, false)
		parseEnd(p, true)
		parseERR(p)
		readLenencString(p)
		if len(p) > 0 {
			st := &stmt{params: int(p[0] % 20)}
			q := append([]byte{comStmtExecute, 1, 0, 0, 0, 0, 1, 0, 0, 0}, p[1:]...)
			st.decodeParams(q)
			st.decodeParams(q) // with the types it may have learnt
		}
		for len(p) > 1 {
			_, n, _ := binaryValue(p[0], p[1]&1 == 1, p[2:])
			p = p[1+n:]
		}
	})
}

// panicLog records whether a connection goroutine recovered a panic.
type panicLog struct {
	mu  sync.Mutex
	msg string
}

func (p *panicLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic in connection")) {
		p.mu.Lock()
		p.msg = string(b)
		p.mu.Unlock()
	}
	return len(b), nil
}

func (p *panicLog) take() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.msg
	p.msg = ""
	return m
}

// newFuzzServer is a server whose gateway has a store and users but whose
// database cannot be reached: no fuzz input can authenticate.
func newFuzzServer(tb testing.TB) (*Server, *panicLog) {
	dir, err := os.MkdirTemp("", "airlock-fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "airlock.yaml")
	yaml := `listen: {http: "127.0.0.1:0"}
users: [{name: alice, groups: [eng]}]
databases:
  - {name: app, engine: mysql, address: "127.0.0.1:1", database: app, tls: disable, credentials: {read: {user: r, password: r}}}
policies: [{name: p, groups: [eng], databases: [app], standing: read}]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, cfg.StorePath())
	if err != nil {
		tb.Fatal(err)
	}
	al, err := audit.Open(ctx, st, audit.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		tb.Fatal(err)
	}
	acc := access.New(st, al, cfg, nil, nil)
	if err := acc.SyncConfigUsers(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		al.Close(ctx)
		st.Close()
	})
	gw := gateway.New(gateway.Options{Config: cfg, Store: st, Audit: al, Policy: pol, Access: acc})
	pl := &panicLog{}
	srv := NewServer(Options{Gateway: gw, Config: cfg, Logger: slog.New(slog.NewTextHandler(pl, nil))})
	srv.setVersion("10.11.0-fuzz")
	return srv, pl
}

// FuzzHandshake plays a client that sends arbitrary packets to a server
// connection: the server answers, gives up with an ERR or closes, and its
// goroutine ends without a panic.
func FuzzHandshake(f *testing.F) {
	resp := func(user, plugin string, auth []byte, caps uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, caps)
		b = binary.LittleEndian.AppendUint32(b, 1<<24)
		b = append(b, 45)
		b = append(b, make([]byte, 23)...)
		b = append(b, user...)
		b = append(b, 0)
		b = appendLenenc(b, uint64(len(auth)))
		b = append(b, auth...)
		b = append(b, "app\x00"...)
		b = append(b, plugin...)
		return append(b, 0)
	}
	all := capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc | capConnectWithDB
	f.Add(packet(1, resp("alice", pluginSHA2, bytes.Repeat([]byte{1}, 32), all)))
	f.Add(append(packet(1, resp("alice", pluginSHA2, bytes.Repeat([]byte{1}, 32), all)), packet(3, []byte{2})...))
	f.Add(append(packet(1, resp("nobody", pluginNative, bytes.Repeat([]byte{1}, 20), all)), packet(3, bytes.Repeat([]byte{1}, 20))...))
	f.Add(packet(1, resp("alice", "dialog", nil, all|capConnectAttrs)))
	f.Add(packet(1, make([]byte, 32)))
	f.Add(packet(1, binary.LittleEndian.AppendUint32(make([]byte, 0, 32), capSSL|capProtocol41)))
	f.Add([]byte{0xff, 0xff, 0xff, 1, 0})
	srv, panics := newFuzzServer(f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			newConn(srv, server).serve()
		}()
		// The client says everything, then hangs up its side; it reads
		// what the server answers until the server closes.
		client.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			client.Write(data)
			client.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(io.Discard, client)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the connection goroutine did not end")
		}
		if p := panics.take(); p != "" {
			t.Fatal(p)
		}
	})
}
