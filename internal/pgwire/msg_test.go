package pgwire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// FuzzMsgReader writes a stream of messages through a msgWriter and reads
// it back with a msgReader whose source returns it in pieces of any size:
// every message comes back whole, whether it is read (next), relayed
// (relay) or released between messages, and the buffers end given back.
func FuzzMsgReader(f *testing.F) {
	f.Add(uint64(1), uint8(0))
	f.Add(uint64(2), uint8(1))
	f.Add(uint64(3), uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, how uint8) {
		r := rand.New(rand.NewPCG(seed, 7))
		pool := newBufPool(64)
		type msg struct {
			typ  byte
			body []byte
		}
		var msgs []msg
		var stream bytes.Buffer
		w := newMsgWriter(&stream, pool)
		for range 1 + r.IntN(40) {
			// Bodies around the small (16) and big (64) buffer sizes.
			body := make([]byte, []int{0, 3, 11, 16, 59, 60, 64, 65, 200}[r.IntN(9)])
			for i := range body {
				body[i] = byte(r.IntN(256))
			}
			m := msg{typ: "DdDdCZT"[r.IntN(7)], body: body}
			msgs = append(msgs, m)
			w.header(m.typ, len(body)+4)
			w.Write(body)
			if r.IntN(3) == 0 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if w.big != nil {
			t.Fatal("writer kept its buffer after Flush")
		}

		var src io.Reader = bytes.NewReader(stream.Bytes())
		switch how % 3 {
		case 1:
			src = iotest.OneByteReader(src)
		case 2:
			src = iotest.HalfReader(src)
		}
		rd := newMsgReader(src, pool, 16)
		for i := 0; i < len(msgs); {
			var got []msg
			switch r.IntN(3) {
			case 0:
				typ, body, err := rd.next()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				got = append(got, msg{typ, bytes.Clone(body)})
			default:
				// relay, and in one case of two relayRun after it: what
				// comes out is whole messages, as they went in.
				var out bytes.Buffer
				ow := newMsgWriter(&out, pool)
				typ, n, err := rd.header()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if err := rd.relay(ow, typ, n); err != nil {
					t.Fatalf("message %d: relay: %v", i, err)
				}
				var rows int64
				if r.IntN(2) == 0 {
					rows = rd.relayRun(ow)
				}
				ow.Flush()
				b := out.Bytes()
				for len(b) > 0 {
					if len(b) < 5 {
						t.Fatalf("message %d: %d stray bytes relayed", i+len(got), len(b))
					}
					n := int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4])
					if n < 4 || len(b) < 1+n {
						t.Fatalf("message %d: relayed length %d of %d bytes", i+len(got), n, len(b))
					}
					got = append(got, msg{b[0], b[5 : 1+n]})
					b = b[1+n:]
				}
				var wantRows int64
				for _, m := range got[1:] {
					if m.typ != 'D' && m.typ != 'd' {
						t.Fatalf("message %d: relayRun relayed a %q", i, m.typ)
					}
					if m.typ == 'D' {
						wantRows++
					}
				}
				if rows != wantRows {
					t.Fatalf("message %d: relayRun counted %d rows, relayed %d", i, rows, wantRows)
				}
			}
			for _, g := range got {
				if i >= len(msgs) {
					t.Fatalf("more messages than were sent")
				}
				if want := msgs[i]; g.typ != want.typ || !bytes.Equal(g.body, want.body) {
					t.Fatalf("message %d: got %q %x, want %q %x", i, g.typ, g.body, want.typ, want.body)
				}
				i++
			}
			if r.IntN(2) == 0 {
				rd.release()
			}
		}
		if _, _, err := rd.next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the stream: %v, want EOF", err)
		}
		rd.release()
		if rd.big != nil || rd.buf != nil {
			t.Fatal("reader kept a buffer after release at the end")
		}
	})
}
