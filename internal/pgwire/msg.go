package pgwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
)

const (
	// maxMessage bounds one protocol message, as PostgreSQL's own 1 GB
	// limit on a field does.
	maxMessage = 1 << 30
	// maxStartup bounds the startup packet (PostgreSQL uses 10000).
	maxStartup = 10000
)

// Protocol codes of untyped startup-phase packets.
const (
	codeProtocol3     = 196608
	codeCancel        = 80877102
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
)

var errTooLong = errors.New("message too long")

// msgReader reads protocol messages from a stream through a buffer that a
// connection holds only while it works: a big one from a pool (bigBufs)
// while messages come, given back at release once everything buffered is
// consumed. A reader with a small buffer (the client side) then waits for
// the next message reading into that alone, so that an idle session holds
// a few hundred bytes, not kilobytes, and a busy one takes a big buffer
// only for what does not fit. The body it returns is valid only until the
// next call.
type msgReader struct {
	rd    io.Reader
	buf   []byte // buffered data is buf[r:w]; nil when released
	r, w  int
	small []byte  // the buffer to read into when nothing is buffered, or nil
	big   *[]byte // the pooled buffer buf is, or nil
	pool  *bufPool
	long  []byte // bodies longer than a big buffer
	max   int
}

func newMsgReader(rd io.Reader, pool *bufPool, small int) *msgReader {
	m := &msgReader{rd: rd, pool: pool, max: maxMessage}
	if small > 0 {
		m.small = make([]byte, small)
	}
	return m
}

// buffered returns how many bytes are read but not yet consumed.
func (m *msgReader) buffered() int { return m.w - m.r }

// ensure reads until at least n bytes, at most a big buffer's size, are
// buffered. Like bufio.Reader.Peek, it fails only when fewer than n bytes
// can be had.
func (m *msgReader) ensure(n int) error {
	empty := 0
	for m.w-m.r < n {
		m.room(n)
		k, err := m.rd.Read(m.buf[m.w:])
		m.w += k
		if m.w-m.r >= n {
			return nil
		}
		if err != nil {
			return err
		}
		if k == 0 {
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// room makes the buffer able to take n bytes from r, and more to read.
func (m *msgReader) room(n int) {
	if m.buf == nil {
		m.r, m.w = 0, 0
		if m.small != nil && n <= len(m.small) {
			m.buf = m.small
		} else {
			m.grow()
			return
		}
	}
	if m.r > 0 && (m.w == len(m.buf) || len(m.buf)-m.r < n) {
		m.w = copy(m.buf, m.buf[m.r:m.w])
		m.r = 0
	}
	if len(m.buf) < n || m.w == len(m.buf) {
		m.grow()
	}
}

// grow moves what is buffered to a big buffer, if buf is not one yet.
func (m *msgReader) grow() {
	if m.big != nil {
		return
	}
	bp := m.pool.Get()
	m.w = copy(*bp, m.buf[m.r:m.w])
	m.r = 0
	m.big, m.buf = bp, *bp
}

// peek1 waits until at least one byte is buffered.
func (m *msgReader) peek1() error { return m.ensure(1) }

// header reads a typed message's header: its type and body length.
func (m *msgReader) header() (byte, int, error) {
	if err := m.ensure(5); err != nil {
		if m.buffered() > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	h := m.buf[m.r : m.r+5]
	typ := h[0]
	n := int(int32(binary.BigEndian.Uint32(h[1:5])))
	if n < 4 {
		return 0, 0, fmt.Errorf("invalid length %d in message %q", n, typ)
	}
	if n-4 > m.max {
		return 0, 0, fmt.Errorf("%w: %q of %d bytes", errTooLong, typ, n)
	}
	m.r += 5
	return typ, n - 4, nil
}

// body reads n bytes of body.
func (m *msgReader) body(n int) ([]byte, error) {
	if n <= m.pool.size {
		if err := m.ensure(n); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		b := m.buf[m.r : m.r+n : m.r+n]
		m.r += n
		return b, nil
	}
	if cap(m.long) < n {
		m.long = make([]byte, n)
	}
	b := m.long[:n]
	k := copy(b, m.buf[m.r:m.w])
	m.r += k
	if _, err := io.ReadFull(m.rd, b[k:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// next reads one whole typed message.
func (m *msgReader) next() (byte, []byte, error) {
	typ, n, err := m.header()
	if err != nil {
		return 0, nil, err
	}
	b, err := m.body(n)
	return typ, b, err
}

// release gives the big buffer back when everything read is consumed, and
// drops a long body's buffer. What next returned is invalid afterwards.
func (m *msgReader) release() {
	m.long = nil
	if m.r != m.w {
		return
	}
	m.r, m.w = 0, 0
	if m.big != nil {
		m.pool.Put(m.big)
		m.big = nil
	}
	m.buf = nil
}

// relay copies a message of type typ whose n-byte body is still unread
// straight to w, without holding it in memory.
func (m *msgReader) relay(w *msgWriter, typ byte, n int) error {
	w.header(typ, n+4)
	m.grow()
	for n > 0 {
		if m.buffered() == 0 {
			if err := m.ensure(1); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		k := min(n, m.buffered())
		if _, err := w.Write(m.buf[m.r : m.r+k]); err != nil {
			return err
		}
		m.r += k
		n -= k
	}
	return nil
}

// relayRun copies the complete DataRow and CopyData messages at the head
// of what is buffered to w in one write, and returns how many of them were
// DataRows: a large result costs a header scan per row, not a decode and a
// copy each. It stops at any other message, at a message not wholly
// buffered, and at a length header would refuse, leaving those to header.
func (m *msgReader) relayRun(w *msgWriter) int64 {
	var rows int64
	p := m.r
	for m.w-p >= 5 {
		t := m.buf[p]
		if t != 'D' && t != 'd' {
			break
		}
		n := int(int32(binary.BigEndian.Uint32(m.buf[p+1 : p+5])))
		if n < 4 || n-4 > m.max || m.w-p < 1+n {
			break
		}
		if t == 'D' {
			rows++
		}
		p += 1 + n
	}
	if p > m.r {
		w.Write(m.buf[m.r:p])
		m.r = p
	}
	return rows
}

// msgWriter buffers what is written to a stream in a big buffer from a
// pool, taken at the first write and given back at each Flush: an idle
// connection holds none. Write errors are sticky, as bufio.Writer's are.
type msgWriter struct {
	wr   io.Writer
	buf  []byte
	big  *[]byte
	pool *bufPool
	err  error
}

func newMsgWriter(wr io.Writer, pool *bufPool) *msgWriter {
	return &msgWriter{wr: wr, pool: pool}
}

// Write buffers p, writing the buffer out when p does not fit; it writes
// p directly when p is at least a buffer long.
func (w *msgWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.take()
	if len(w.buf)+len(p) > cap(w.buf) {
		if err := w.write(); err != nil {
			return 0, err
		}
		if len(p) >= cap(w.buf) {
			n, err := w.wr.Write(p)
			w.err = err
			return n, err
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// header writes a message header: type and length (which counts itself).
func (w *msgWriter) header(typ byte, n int) {
	if w.err != nil {
		return
	}
	w.take()
	if len(w.buf)+5 > cap(w.buf) && w.write() != nil {
		return
	}
	w.buf = append(w.buf, typ, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (w *msgWriter) take() {
	if w.big == nil {
		w.big = w.pool.Get()
		w.buf = (*w.big)[:0]
	}
}

// write writes the buffer out and empties it.
func (w *msgWriter) write() error {
	if len(w.buf) > 0 {
		_, w.err = w.wr.Write(w.buf)
		w.buf = w.buf[:0]
	}
	return w.err
}

// Flush writes what is buffered and gives the buffer back.
func (w *msgWriter) Flush() error {
	if w.big == nil {
		return w.err
	}
	err := w.write()
	w.pool.Put(w.big)
	w.big, w.buf = nil, nil
	return err
}

// Buffered returns how many bytes wait for Flush.
func (w *msgWriter) Buffered() int { return len(w.buf) }

// Reset drops what is buffered and writes to wr from now on.
func (w *msgWriter) Reset(wr io.Writer) {
	if w.big != nil {
		w.pool.Put(w.big)
	}
	*w = msgWriter{wr: wr, pool: w.pool}
}

// bufPool is a pool of buffers of one size, shared by the connections.
type bufPool struct {
	size int
	p    sync.Pool
}

func newBufPool(size int) *bufPool {
	bp := &bufPool{size: size}
	bp.p.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return bp
}

func (bp *bufPool) Get() *[]byte  { return bp.p.Get().(*[]byte) }
func (bp *bufPool) Put(b *[]byte) { bp.p.Put(b) }

// startup reads an untyped startup-phase packet: its code and the rest.
func (m *msgReader) startup() (uint32, []byte, error) {
	if err := m.ensure(4); err != nil {
		return 0, nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(m.buf[m.r : m.r+4])))
	if n < 8 || n > maxStartup {
		return 0, nil, fmt.Errorf("invalid startup packet length %d", n)
	}
	m.r += 4
	b, err := m.body(n - 4)
	if err != nil {
		return 0, nil, err
	}
	return binary.BigEndian.Uint32(b[:4]), b[4:], nil
}

// appendMsg appends a typed message with body to dst.
func appendMsg(dst []byte, typ byte, body []byte) []byte {
	dst = append(dst, typ, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], uint32(len(body)+4))
	return append(dst, body...)
}

// encode appends a pgproto3 message; encoders of fixed messages do not fail.
func encode(dst []byte, msg pgproto3.Message) []byte {
	out, err := msg.Encode(dst)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", msg, err))
	}
	return out
}

// cstring reads a NUL-terminated string from b.
func cstring(b []byte) (string, []byte, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), b[i+1:], nil
		}
	}
	return "", nil, errors.New("missing string terminator")
}

// parseStartupParams decodes the key/value pairs of a StartupMessage.
func parseStartupParams(b []byte) (map[string]string, error) {
	params := map[string]string{}
	for {
		if len(b) == 0 {
			return nil, errors.New("startup packet not terminated")
		}
		if b[0] == 0 {
			if len(b) != 1 {
				return nil, errors.New("data after the startup packet's end")
			}
			return params, nil
		}
		k, rest, err := cstring(b)
		if err != nil {
			return nil, err
		}
		v, rest, err := cstring(rest)
		if err != nil {
			return nil, err
		}
		params[k] = v // a parameter given twice takes its last value, as in PostgreSQL
		b = rest
	}
}
