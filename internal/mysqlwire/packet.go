package mysqlwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

const (
	// maxPayload is the largest payload of one physical packet; a logical
	// packet of that size or more continues in the next physical packet,
	// and one of exactly a multiple of it ends with an empty packet.
	maxPayload = 1<<24 - 1
	// defaultMaxPacket bounds a logical packet read whole until the
	// upstream's max_allowed_packet is known.
	defaultMaxPacket = 16 << 20
	// keepBuf is the largest buffer kept between packets, so that an idle
	// connection does not hold on to one big packet.
	keepBuf = 16 << 10
	// Buffer sizes: what the client sends is mostly small commands; what
	// the upstream sends is relayed in chunks of its reader's size. An
	// idle session holds about 48 KiB of buffers.
	clientReadBuf  = 8 << 10
	clientWriteBuf = 16 << 10
	upReadBuf      = 16 << 10
	upWriteBuf     = 8 << 10
)

var errTooLarge = errors.New("packet larger than max_allowed_packet")

// pktReader reads MySQL packets from a buffered stream. A payload it
// returns is valid only until the next call.
type pktReader struct {
	r   *bufio.Reader
	buf []byte
	// seq is the sequence number of the last physical packet read.
	seq byte
}

func newPktReader(r io.Reader, size int) *pktReader {
	return &pktReader{r: bufio.NewReaderSize(r, size)}
}

// header reads a physical packet header: payload length and sequence.
func (p *pktReader) header() (int, byte, error) {
	h, err := p.r.Peek(4)
	if err != nil {
		if len(h) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, 0, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	p.seq = h[3]
	p.r.Discard(4)
	return n, p.seq, nil
}

// peekByte returns the first byte of a payload of n > 0 bytes whose
// header was just read, without consuming it.
func (p *pktReader) peekByte() (byte, error) {
	b, err := p.r.Peek(1)
	if err != nil {
		return 0, unexpected(err)
	}
	return b[0], nil
}

// body reads n payload bytes into the reader's buffer.
func (p *pktReader) body(n int) ([]byte, error) {
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	b := p.buf[:n]
	if _, err := io.ReadFull(p.r, b); err != nil {
		return nil, unexpected(err)
	}
	return b, nil
}

// next reads one logical packet whole (joining continuation packets) and
// returns its payload and the sequence number of its last packet (an
// answer follows it). A
// payload longer than max is refused with errTooLarge after being
// skipped, so that the stream stays in step.
func (p *pktReader) next(max int) ([]byte, byte, error) {
	n, seq, err := p.header()
	if err != nil {
		return nil, 0, err
	}
	if n < maxPayload {
		if n > max {
			if _, err := p.r.Discard(n); err != nil {
				return nil, 0, unexpected(err)
			}
			return nil, seq, errTooLarge
		}
		b, err := p.body(n)
		return b, seq, err
	}
	// A split packet: gather the parts.
	out := p.buf[:0]
	over := false
	for {
		if !over && len(out)+n > max {
			over = true
		}
		if over {
			if _, err := p.r.Discard(n); err != nil {
				return nil, 0, unexpected(err)
			}
		} else {
			start := len(out)
			out = slices.Grow(out, n)[:start+n]
			if _, err := io.ReadFull(p.r, out[start:]); err != nil {
				return nil, 0, unexpected(err)
			}
		}
		if n < maxPayload {
			break
		}
		prev := p.seq
		if n, _, err = p.header(); err != nil {
			return nil, 0, unexpected(err)
		}
		if p.seq != prev+1 {
			return nil, 0, errOutOfOrder
		}
		if n > maxPayload {
			return nil, 0, errMalformed
		}
	}
	if over {
		return nil, p.seq, errTooLarge
	}
	p.buf = out
	return out, p.seq, nil
}

// relay copies a payload of n bytes whose header was just read to w.
func (p *pktReader) relay(w *bufio.Writer, n int) error {
	for n > 0 {
		k := min(n, p.r.Size())
		b, err := p.r.Peek(k)
		if err != nil {
			return unexpected(err)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		p.r.Discard(k)
		n -= k
	}
	return nil
}

// release drops a large buffer.
func (p *pktReader) release() {
	if cap(p.buf) > keepBuf {
		p.buf = nil
	}
}

// complete reports whether a whole physical packet is buffered.
func (p *pktReader) complete() bool {
	n := p.r.Buffered()
	if n < 4 {
		return false
	}
	h, _ := p.r.Peek(4)
	return n >= 4+(int(h[0])|int(h[1])<<8|int(h[2])<<16)
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeHeader writes a physical packet header.
func writeHeader(w *bufio.Writer, n int, seq byte) {
	// Byte by byte: a slice handed to Write would be allocated each time.
	w.WriteByte(byte(n))
	w.WriteByte(byte(n >> 8))
	w.WriteByte(byte(n >> 16))
	w.WriteByte(seq)
}

// writePacket writes a logical packet, split as needed, starting at
// sequence *seq, which it advances.
func writePacket(w *bufio.Writer, seq *byte, payload []byte) {
	for {
		n := min(len(payload), maxPayload)
		writeHeader(w, n, *seq)
		*seq++
		w.Write(payload[:n])
		payload = payload[n:]
		if n < maxPayload {
			return
		}
	}
}

// protocolError is a malformed or unexpected packet from the client.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return e.msg }

func violation(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}
