package mysqlwire_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"airlock/internal/cputime"
	"airlock/internal/testenv"
)

// The relay benchmarks measure one statement of a read session through
// airlock's MySQL relay loop, as sysbench oltp_read_only sends its point
// SELECTs: the client's command read, the core's decision (a
// classification cache hit with the real classifier), the command
// forwarded, the answer (column count, one column definition, EOF, one
// row, EOF) relayed, Session.Done and its audit event queued. The
// upstream is a fake server in this process that answers at once, so that
// what is measured is airlock's work, not MariaDB's; the client writes
// and reads raw packets, allocating nothing. allocs/op and cpu-us/op are
// the whole process's per statement (the audit writer's share included;
// the fake upstream's and the client's too, which allocate nothing and
// spend a few microseconds).
//
//	go test -run '^$' -bench 'Relay' -benchmem ./internal/mysqlwire

// BenchmarkRelayQuery is one COM_QUERY (the text protocol).
func BenchmarkRelayQuery(b *testing.B) {
	cl := benchClient(b)
	queries := make([][]byte, 1024)
	for i := range queries {
		queries[i] = packet(0, fmt.Sprintf("\x03SELECT c FROM sbtest1 WHERE id=%d", 1+i*7919%100000))
	}
	for _, q := range queries[:16] { // warm the classifier's cache
		cl.roundTrip(q)
	}
	b.ReportAllocs()
	cpu := cputime.Process()
	i := 0
	for b.Loop() {
		cl.roundTrip(queries[i%len(queries)])
		i++
	}
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N)/1e3, "cpu-us/op")
}

// BenchmarkRelayExecute is one COM_STMT_EXECUTE (the binary protocol) of
// a statement prepared once, with its parameter's type sent each time, as
// sysbench's prepared statements are run.
func BenchmarkRelayExecute(b *testing.B) {
	cl := benchClient(b)
	cl.write(packet(0, "\x16SELECT c FROM sbtest1 WHERE id=?"))
	p := cl.read()
	if p[0] != 0 {
		b.Fatalf("prepare failed: %q", p)
	}
	id := binary.LittleEndian.Uint32(p[1:])
	// One parameter and one column, each defined and followed by an EOF.
	for range 4 {
		cl.read()
	}
	execs := make([][]byte, 1024)
	for i := range execs {
		e := []byte{0x17}
		e = binary.LittleEndian.AppendUint32(e, id)
		e = append(e, 0)                           // no cursor
		e = binary.LittleEndian.AppendUint32(e, 1) // iterations
		e = append(e, 0, 1, 3, 0)                  // NULL bitmap, types sent, MYSQL_TYPE_LONG
		e = binary.LittleEndian.AppendUint32(e, uint32(1+i*7919%100000))
		execs[i] = packet(0, string(e))
	}
	for _, e := range execs[:16] {
		cl.roundTrip(e)
	}
	b.ReportAllocs()
	cpu := cputime.Process()
	i := 0
	for b.Loop() {
		cl.roundTrip(execs[i%len(execs)])
		i++
	}
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N)/1e3, "cpu-us/op")
}

// BenchmarkRelayExecuteRange is one COM_STMT_EXECUTE whose answer is 100
// binary rows, as sysbench's range SELECTs (BETWEEN ? AND ?) answer.
func BenchmarkRelayExecuteRange(b *testing.B) {
	cl := benchClient(b)
	cl.write(packet(0, "\x16SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?"))
	p := cl.read()
	if p[0] != 0 {
		b.Fatalf("prepare failed: %q", p)
	}
	id := binary.LittleEndian.Uint32(p[1:])
	// Two parameters and one column, each defined and followed by an EOF.
	for range 5 {
		cl.read()
	}
	execs := make([][]byte, 1024)
	for i := range execs {
		e := []byte{0x17}
		e = binary.LittleEndian.AppendUint32(e, id)
		e = append(e, 0)                           // no cursor
		e = binary.LittleEndian.AppendUint32(e, 1) // iterations
		e = append(e, 0, 1, 3, 0, 3, 0)            // NULL bitmap, types sent, 2 x MYSQL_TYPE_LONG
		from := uint32(1 + i*7919%99900)
		e = binary.LittleEndian.AppendUint32(e, from)
		e = binary.LittleEndian.AppendUint32(e, from+99)
		execs[i] = packet(0, string(e))
	}
	for _, e := range execs[:16] {
		cl.roundTrip(e)
	}
	b.ReportAllocs()
	cpu := cputime.Process()
	i := 0
	for b.Loop() {
		cl.roundTrip(execs[i%len(execs)])
		i++
	}
	b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N)/1e3, "cpu-us/op")
}

// benchConn is a raw MySQL client connection to airlock.
type benchConn struct {
	b   *testing.B
	nc  net.Conn
	rd  *bufio.Reader
	hdr [4]byte
	buf []byte
}

// benchClient starts airlock in front of a fake upstream and logs alice
// (a read session) in with a token sent as mysql_clear_password, which
// airlock takes on loopback.
func benchClient(b *testing.B) *benchConn {
	up := fakeMyUpstream(b)
	a := testenv.Start(b, nil, testenv.Options{LogLevel: "warn",
		Listen: `{postgres: "", mysql: "127.0.0.1:0", http: "127.0.0.1:0"}`,
		Databases: fmt.Sprintf(`databases:
  - name: app
    engine: mysql
    address: %q
    database: sbtest
    tls: disable
    undo: "off"
    credentials:
      read: {user: r, password: r}
      write: {user: w, password: w}
`, up)})
	tok := a.Token("alice", time.Hour)
	nc, err := net.Dial("tcp", a.MySQLAddr.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	cl := &benchConn{b: b, nc: nc, rd: bufio.NewReaderSize(nc, 4096), buf: make([]byte, 0, 4096)}
	cl.read() // the greeting
	const caps = 1<<0 | 1<<2 | 1<<3 | 1<<9 | 1<<13 | 1<<15 | 1<<17 | 1<<18 | 1<<19
	var hs []byte
	hs = binary.LittleEndian.AppendUint32(hs, caps)
	hs = binary.LittleEndian.AppendUint32(hs, 1<<24)
	hs = append(hs, 45)
	hs = append(hs, make([]byte, 23)...)
	hs = append(hs, "alice\x00"...)
	hs = append(hs, byte(len(tok)+1))
	hs = append(hs, tok+"\x00"...)
	hs = append(hs, "app\x00mysql_clear_password\x00"...)
	cl.write(packet(1, string(hs)))
	if p := cl.read(); p[0] != 0 {
		b.Fatalf("login failed: %q", p)
	}
	return cl
}

func packet(seq byte, payload string) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
}

func (c *benchConn) write(p []byte) {
	if _, err := c.nc.Write(p); err != nil {
		c.b.Fatal(err)
	}
}

// read returns the payload of the next packet, valid until the next read.
func (c *benchConn) read() []byte {
	h := c.hdr[:]
	if _, err := io.ReadFull(c.rd, h); err != nil {
		c.b.Fatal(err)
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	p := c.buf[:n]
	if _, err := io.ReadFull(c.rd, p); err != nil {
		c.b.Fatal(err)
	}
	return p
}

// roundTrip sends a command whose answer is one result set and reads the
// answer to its end.
func (c *benchConn) roundTrip(cmd []byte) {
	c.write(cmd)
	if p := c.read(); p[0] == 0xff {
		c.b.Fatalf("the statement failed: %q", p[9:])
	}
	for eofs := 0; eofs < 2; {
		if p := c.read(); p[0] == 0xfe && len(p) < 9 {
			eofs++
		}
	}
}

// fakeMyUpstream serves MariaDB's protocol on loopback as far as
// airlock's relay needs it: a greeting whose authentication anything
// passes, the session settings airlock reads at login, OK for SET, one
// text row for any other COM_QUERY, and for COM_STMT_PREPARE a statement
// of one parameter and one column whose executions answer one binary
// row (a BETWEEN: two parameters, and 100 rows). It returns the address.
func fakeMyUpstream(b *testing.B) string {
	return testenv.ServeLoopback(b, serveFakeMy)
}

// Packets of the fake upstream, without their headers.
var (
	fakeOK  = "\x00\x00\x00\x02\x00\x00\x00"
	fakeEOF = "\xfe\x00\x00\x02\x00"
)

func lenencStr(s string) string { return string([]byte{byte(len(s))}) + s } // shorter than 251 bytes

func columnDef(name string, typ byte) string {
	return lenencStr("def") + lenencStr("sbtest") + lenencStr("sbtest1") + lenencStr("sbtest1") +
		lenencStr(name) + lenencStr(name) + "\x0c\x2d\x00\xf0\x00\x00\x00" + string([]byte{typ}) + "\x00\x00\x00\x00\x00"
}

func serveFakeMy(nc net.Conn) {
	defer nc.Close()
	rd := bufio.NewReader(nc)
	w := bufio.NewWriter(nc)
	var buf []byte
	h := make([]byte, 4)
	read := func() ([]byte, bool) {
		if _, err := io.ReadFull(rd, h); err != nil {
			return nil, false
		}
		n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(rd, buf[:n]); err != nil {
			return nil, false
		}
		return buf[:n], true
	}
	var seq byte
	send := func(payloads ...string) bool {
		for _, p := range payloads {
			n := len(p)
			w.WriteByte(byte(n))
			w.WriteByte(byte(n >> 8))
			w.WriteByte(byte(n >> 16))
			w.WriteByte(seq)
			w.WriteString(p)
			seq++
		}
		return w.Flush() == nil
	}
	// Protocol 10 greeting: no CLIENT_SSL, no compression, every other
	// capability; mysql_native_password.
	caps := uint32(0xffffffff) &^ (1<<11 | 1<<5)
	g := "\x0a10.11.99-MariaDB-fake\x00\x07\x00\x00\x00abcdefgh\x00" +
		string([]byte{byte(caps), byte(caps >> 8), 45, 2, 0, byte(caps >> 16), byte(caps >> 24), 21}) +
		strings.Repeat("\x00", 10) + "ijklmnopqrst\x00mysql_native_password\x00"
	if !send(g) {
		return
	}
	if _, ok := read(); !ok {
		return
	}
	seq = 2
	if !send(fakeOK) {
		return
	}
	textRow := []string{"\x01", columnDef("c", 0xfe), fakeEOF,
		lenencStr("68487932199-96439406143-93774651418-41631865787-96406072701"), fakeEOF}
	binRow := []string{"\x01", columnDef("c", 0xfe), fakeEOF,
		"\x00\x00" + lenencStr("68487932199-96439406143-93774651418-41631865787-96406072701"), fakeEOF}
	settings := []string{"\x04", columnDef("a", 0xfd), columnDef("b", 0x08), columnDef("c", 0xfd), columnDef("d", 0x08), fakeEOF,
		lenencStr("STRICT_TRANS_TABLES") + lenencStr("16777216") + lenencStr("utf8mb4_general_ci") + lenencStr("0"), fakeEOF}
	rangeRows := []string{"\x01", columnDef("c", 0xfe), fakeEOF}
	for range 100 {
		rangeRows = append(rangeRows, binRow[3])
	}
	rangeRows = append(rangeRows, fakeEOF)
	var stmtID uint32
	ranges := map[uint32]bool{} // statements that answer 100 rows
	for {
		p, ok := read()
		if !ok || len(p) == 0 {
			return
		}
		seq = 1
		var answer []string
		switch p[0] {
		case 0x01: // COM_QUIT
			return
		case 0x03: // COM_QUERY
			q := string(p[1:])
			switch {
			case strings.HasPrefix(q, "SELECT @@SESSION.sql_mode"):
				answer = settings
			case strings.HasPrefix(q, "SET"):
				answer = []string{fakeOK}
			default:
				answer = textRow
			}
		case 0x16: // COM_STMT_PREPARE
			stmtID++
			id := string(binary.LittleEndian.AppendUint32(nil, stmtID))
			answer = []string{"\x00" + id + "\x01\x00\x01\x00\x00\x00\x00",
				columnDef("?", 0x08), fakeEOF, columnDef("c", 0xfe), fakeEOF}
			if strings.Contains(string(p), "BETWEEN") {
				ranges[stmtID] = true
				answer = []string{"\x00" + id + "\x01\x00\x02\x00\x00\x00\x00",
					columnDef("?", 0x08), columnDef("?", 0x08), fakeEOF, columnDef("c", 0xfe), fakeEOF}
			}
		case 0x17: // COM_STMT_EXECUTE
			answer = binRow
			if len(p) >= 5 && ranges[binary.LittleEndian.Uint32(p[1:])] {
				answer = rangeRows
			}
		case 0x19: // COM_STMT_CLOSE: no answer
			continue
		default:
			answer = []string{fakeOK}
		}
		if !send(answer...) {
			return
		}
	}
}
