package pgwire_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"airlock/internal/testenv"

	"github.com/jackc/pgx/v5/pgconn"
)

// fuzzAirlock starts one airlock for all inputs of a fuzz target, with a
// token for alice (standing read).
func fuzzAirlock(f *testing.F) (*testenv.Airlock, *testenv.DB, string) {
	db := testenv.NewDB(f)
	db.Exec("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one')")
	a := testenv.Start(f, db, testenv.Options{LogLevel: "info"})
	return a, db, a.Token("alice", 12*time.Hour)
}

func startupPacket(params ...string) []byte {
	b := []byte{0, 0, 0, 0, 0, 3, 0, 0}
	for _, p := range params {
		b = append(b, p...)
		b = append(b, 0)
	}
	b = append(b, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}

func msg(typ byte, body string) []byte {
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(body)+4))
	return append(b, body...)
}

// exchange writes data on a fresh connection to addr, closes the write
// side and reads until the server closes. It fails when the server hangs.
func exchange(t *testing.T, nc net.Conn, data []byte) {
	t.Helper()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write(data)
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	_, err := io.Copy(io.Discard, nc)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("server did not close the connection after %q", data)
	}
	nc.Close()
}

func checkNoPanic(t *testing.T, a *testenv.Airlock) {
	t.Helper()
	if logs := a.Logs(); strings.Contains(logs, "panic in connection") {
		t.Fatalf("a connection panicked:\n%s", logs[strings.Index(logs, "panic in connection"):])
	}
}

// FuzzStartup sends arbitrary bytes as the first bytes of a connection:
// the server answers or closes cleanly, never panics, never hangs.
func FuzzStartup(f *testing.F) {
	a, _, _ := fuzzAirlock(f)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 8, 4, 210, 22, 47})                          // SSLRequest
	f.Add([]byte{0, 0, 0, 8, 4, 210, 22, 48})                          // GSSENCRequest
	f.Add([]byte{0, 0, 0, 16, 4, 210, 22, 46, 0, 0, 0, 1, 0, 0, 0, 2}) // CancelRequest
	f.Add(append([]byte{0, 0, 0, 8, 4, 210, 22, 47}, startupPacket("user", "alice", "database", "app")...))
	f.Add(startupPacket("user", "alice", "database", "app"))
	f.Add(startupPacket("user", "alice", "options", "-c default_transaction_read_only=off"))
	f.Add(startupPacket("user", "alice", "replication", "database"))
	f.Add(startupPacket("user", "alice", "user", "bob"))
	f.Add(append(startupPacket("user", "alice", "database", "app"), msg('p', "SCRAM-SHA-256\x00\x00\x00\x00\x20n,,n=,r=abcdefghijklmnopqrstuvwx")...))
	f.Add(append(startupPacket("user", "alice", "database", "app"), msg('p', "SCRAM-SHA-256\x00\xff\xff\xff\xff")...))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0})
	f.Add([]byte{0, 0, 0, 3})
	f.Add([]byte{0, 0, 0, 8, 0, 4, 0, 0})
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := net.Dial("tcp", a.PostgresAddr.String())
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, nc, data)
		checkNoPanic(t, a)
	})
}

// FuzzMessages sends arbitrary bytes on an authenticated session: the
// server answers or closes cleanly, never panics, never hangs, and nothing
// it receives changes the upstream table.
func FuzzMessages(f *testing.F) {
	a, db, tok := fuzzAirlock(f)
	seeds := [][]byte{
		msg('Q', "SELECT 1\x00"),
		msg('Q', "DELETE FROM t\x00"),
		msg('Q', "SELECT 1; DELETE FROM t WHERE id = 1\x00"),
		append(append(append(msg('P', "s\x00DELETE FROM t WHERE id = $1\x00\x00\x00"), msg('B', "\x00s\x00\x00\x00\x00\x01\x00\x00\x00\x011\x00\x00")...), msg('E', "\x00\x00\x00\x00\x00")...), msg('S', "")...),
		append(append(append(msg('P', "\x00SELECT $1::int\x00\x00\x00"), msg('B', "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x017\x00\x00")...), msg('E', "\x00\x00\x00\x00\x00")...), msg('S', "")...),
		append(msg('E', "nope\x00\x00\x00\x00\x00"), msg('S', "")...),
		append(msg('P', "airlock_denied_x\x00SELECT 1\x00\x00\x00"), msg('S', "")...),
		msg('F', "\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
		msg('Q', "COPY t FROM STDIN\x00"),
		msg('Q', "COPY t TO STDOUT\x00"),
		append(msg('Q', "BEGIN\x00"), msg('Q', "UPDATE t SET v = 'x' WHERE id = 1\x00")...),
		msg('d', "stray copy data"),
		msg('Z', ""),
		{'Q', 0x7f, 0xff, 0xff, 0xff},
		{'Q', 0, 0, 0, 2},
		msg('X', ""),
		msg('H', ""),
		msg('C', "Sx\x00"),
		msg('D', "Px\x00"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pc, err := pgconn.Connect(ctx, a.URL("alice", tok, "app"))
		if err != nil {
			t.Fatal(err)
		}
		hj, err := pc.Hijack()
		if err != nil {
			t.Fatal(err)
		}
		exchange(t, hj.Conn, data)
		checkNoPanic(t, a)
		if n := db.With(t).QueryInt("SELECT count(*) FROM t WHERE id = 1 AND v = 'one'"); n != 1 {
			t.Fatalf("the upstream table changed after %q", data)
		}
	})
}
