package pgwire_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"airlock/internal/cputime"
	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5/pgconn"
)

// BenchmarkRelaySimpleQuery measures one simple Query of a read session
// through airlock's relay loop, as pgbench -S sends it: the client's
// message read, Session.Check (a classification cache hit), the Query
// forwarded, the answer (RowDescription, DataRow, CommandComplete,
// ReadyForQuery) relayed, Session.Done and its audit event queued. The
// upstream is a fake server in this process that answers every Query at
// once, so that what is measured is airlock's work, not PostgreSQL's; the
// client writes and reads raw protocol messages, allocating nothing.
// allocs/op and cpu-us/op are the whole process's per statement (the
// audit writer's share included; the fake upstream's and the client's
// too, which allocate nothing and spend a few microseconds).
//
//	go test -run '^$' -bench RelaySimpleQuery -benchmem ./internal/pgwire
func BenchmarkRelaySimpleQuery(b *testing.B) {
	up := fakeUpstream(b)
	a := testenv.Start(b, nil, testenv.Options{LogLevel: "warn", Databases: fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: app
    tls: disable
    undo: "off"
    credentials:
      read: {user: r, password: r}
      write: {user: w, password: w}
`, up)})
	tok := a.Token("alice", time.Hour)
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	pc, err := pgconn.Connect(ctx, a.URL("alice", tok, "app"))
	if err != nil {
		b.Fatal(err)
	}
	hj, err := pc.Hijack()
	if err != nil {
		b.Fatal(err)
	}
	nc := hj.Conn
	defer nc.Close()
	queries := make([][]byte, 1024)
	for i := range queries {
		queries[i] = wireMsg('Q', fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;\x00", 1+i*7919%1000000))
	}
	rd := bufio.NewReaderSize(nc, 4096)
	var hdr [5]byte
	query := func(q []byte) {
		if _, err := nc.Write(q); err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := io.ReadFull(rd, hdr[:]); err != nil {
				b.Fatal(err)
			}
			if hdr[0] == 'E' {
				b.Fatal("the query failed")
			}
			if _, err := rd.Discard(int(binary.BigEndian.Uint32(hdr[1:])) - 4); err != nil {
				b.Fatal(err)
			}
			if hdr[0] == 'Z' {
				return
			}
		}
	}
	for _, q := range queries[:16] { // warm the classifier's cache
		query(q)
	}
	b.ReportAllocs()
	cpu := cputime.Process()
	i := 0
	for b.Loop() {
		query(queries[i%len(queries)])
		i++
	}
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N)/1e3, "cpu-us/op")
}

// fakeUpstream serves PostgreSQL's protocol on loopback as far as airlock's
// relay needs it: a trusted startup, ReadyForQuery for each Sync, for each
// Query one int4 row (no rows for catalog queries), and no rows for any
// extended-protocol query (the view definitions airlock reads). It returns
// the address.
func fakeUpstream(b *testing.B) string {
	return testenv.ServeLoopback(b, serveFake)
}

func serveFake(nc net.Conn) {
	defer nc.Close()
	rd := bufio.NewReader(nc)
	var n [4]byte
	if _, err := io.ReadFull(rd, n[:]); err != nil {
		return
	}
	if _, err := rd.Discard(int(binary.BigEndian.Uint32(n[:])) - 4); err != nil {
		return
	}
	var greet []byte
	greet = append(greet, wireMsg('R', "\x00\x00\x00\x00")...)
	greet = append(greet, wireMsg('S', "server_version\x0015.0\x00")...)
	greet = append(greet, wireMsg('S', "client_encoding\x00UTF8\x00")...)
	greet = append(greet, wireMsg('K', "\x00\x00\x00\x2a\x00\x00\x00\x07")...)
	greet = append(greet, wireMsg('Z', "I")...)
	if _, err := nc.Write(greet); err != nil {
		return
	}
	ready := wireMsg('Z', "I")
	var row []byte
	row = append(row, wireMsg('T', "\x00\x01abalance\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x17\x00\x04\xff\xff\xff\xff\x00\x00")...)
	row = append(row, wireMsg('D', "\x00\x01\x00\x00\x00\x04-123")...)
	row = append(row, wireMsg('C', "SELECT 1\x00")...)
	row = append(row, ready...)
	var none []byte
	none = append(none, wireMsg('T', "\x00\x00")...)
	none = append(none, wireMsg('C', "SELECT 0\x00")...)
	none = append(none, ready...)
	// The extended protocol, for the catalog query (no rows).
	parsed, bound, noCols, selected0 := wireMsg('1', ""), wireMsg('2', ""), wireMsg('T', "\x00\x00"), wireMsg('C', "SELECT 0\x00")
	var hdr [5]byte
	body := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			return
		}
		k := int(binary.BigEndian.Uint32(hdr[1:])) - 4
		if k > cap(body) {
			body = make([]byte, k)
		}
		body = body[:k]
		if _, err := io.ReadFull(rd, body); err != nil {
			return
		}
		var out []byte
		switch hdr[0] {
		case 'Q':
			out = row
			if bytes.Contains(body, []byte("pg_")) {
				out = none
			}
		case 'S':
			out = ready
		case 'P':
			out = parsed
		case 'B':
			out = bound
		case 'D':
			out = noCols
		case 'E':
			out = selected0
		case 'X':
			return
		default:
			continue
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// wireMsg returns a typed protocol message with body.
func wireMsg(typ byte, body string) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
	return append(b, body...)
}
