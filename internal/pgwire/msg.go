package pgwire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgproto3"
)

const (
	// maxMessage bounds one protocol message, as PostgreSQL's own 1 GB
	// limit on a field does.
	maxMessage = 1 << 30
	// maxStartup bounds the startup packet (PostgreSQL uses 10000).
	maxStartup = 10000
	// inlineMax is the largest body read into memory when the message
	// is only relayed; longer DataRow and CopyData bodies stream through.
	inlineMax = 32 << 10
	// keepBuf is the largest body buffer kept between messages, so that
	// an idle session does not hold on to one big message.
	keepBuf = 64 << 10
)

// Protocol codes of untyped startup-phase packets.
const (
	codeProtocol3     = 196608
	codeCancel        = 80877102
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
)

var errTooLong = errors.New("message too long")

// msgReader reads protocol messages from a buffered stream. The body it
// returns is valid only until the next call.
type msgReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

func newMsgReader(r io.Reader, size int) *msgReader {
	return &msgReader{r: bufio.NewReaderSize(r, size), max: maxMessage}
}

// header reads a typed message's header: its type and body length.
func (m *msgReader) header() (byte, int, error) {
	h, err := m.r.Peek(5)
	if err != nil {
		if len(h) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	typ := h[0]
	n := int(int32(binary.BigEndian.Uint32(h[1:5])))
	if n < 4 {
		return 0, 0, fmt.Errorf("invalid length %d in message %q", n, typ)
	}
	if n-4 > m.max {
		return 0, 0, fmt.Errorf("%w: %q of %d bytes", errTooLong, typ, n)
	}
	m.r.Discard(5)
	return typ, n - 4, nil
}

// body reads n bytes of body.
func (m *msgReader) body(n int) ([]byte, error) {
	if cap(m.buf) < n {
		m.buf = make([]byte, n)
	}
	b := m.buf[:n]
	if _, err := io.ReadFull(m.r, b); err != nil {
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

// release drops a large body buffer.
func (m *msgReader) release() {
	if cap(m.buf) > keepBuf {
		m.buf = nil
	}
}

// relay copies a message of type typ whose n-byte body is still unread
// straight to w, without holding it in memory.
func (m *msgReader) relay(w *bufio.Writer, typ byte, n int) error {
	var h [5]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[1:], uint32(n+4))
	w.Write(h[:])
	for n > 0 {
		chunk := min(n, m.r.Size())
		b, err := m.r.Peek(chunk)
		if len(b) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		m.r.Discard(len(b))
		n -= len(b)
	}
	return nil
}

// startup reads an untyped startup-phase packet: its code and the rest.
func (m *msgReader) startup() (uint32, []byte, error) {
	h, err := m.r.Peek(4)
	if err != nil {
		return 0, nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(h)))
	if n < 8 || n > maxStartup {
		return 0, nil, fmt.Errorf("invalid startup packet length %d", n)
	}
	m.r.Discard(4)
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
		if _, dup := params[k]; dup {
			return nil, fmt.Errorf("startup parameter %q given twice", k)
		}
		params[k] = v
		b = rest
	}
}
