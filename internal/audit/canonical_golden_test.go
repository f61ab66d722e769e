package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"airlock"
)

// canonicalCorpus returns n pseudo-random events covering every field, the
// string escapes, invalid UTF-8, numbers in each notation and details.
func canonicalCorpus(n int) []*airlock.Event {
	r := rand.New(rand.NewPCG(3, 4))
	strs := []string{"", "a", "é", "\x00\x1f\"\\", "<&>", "\u2028", "日本", "\xff", "😀", "line\nbreak\ttab", "\b\f\r\x7f",
		"SELECT abalance FROM pgbench_accounts WHERE aid = 4242;", "a\xc3", "\xed\xa0\x80", "\U0010ffff", "é\"ü\\"}
	pick := func() string { return strs[r.IntN(len(strs))] }
	evs := make([]*airlock.Event, n)
	for i := range evs {
		ev := &airlock.Event{
			ID: int64(i) * r.Int64N(1e9), Time: time.Unix(r.Int64N(4e9)-1e9, r.Int64N(1e9)*int64(r.IntN(2))),
			Type: pick(), Action: pick(), User: pick(), Actor: pick(), Database: pick(), SessionID: pick(),
			ClientAddr: pick(), Application: pick(), Ref: pick(), Text: pick() + pick(), StatementKind: pick(),
			Level: pick(), Decision: pick(), Rule: pick(), Reason: pick(), Error: pick(),
			Rows: r.Int64N(3) * r.Int64N(1e12) * int64(1-2*r.IntN(2)),
		}
		switch r.IntN(6) {
		case 1:
			ev.DurationMS = r.Float64() * 1e4
		case 2:
			ev.DurationMS = r.Float64() * 1e-7
		case 3:
			ev.DurationMS = float64(r.IntN(100))
		case 4:
			ev.DurationMS = r.Float64() * 1e25
		case 5:
			ev.DurationMS = -r.Float64()
		}
		if r.IntN(2) == 0 {
			ev.Tables = []string{pick(), pick()}
			ev.Params = []string{pick()}
			ev.Warnings = []string{pick(), pick()}
			ev.Detail = map[string]string{"level": pick(), "b": pick(), "a": pick(), pick(): pick(), pick(): pick()}
		}
		if r.IntN(3) == 0 {
			ev.Time = ev.Time.In(time.FixedZone("x", 3600*r.IntN(12)))
		}
		evs[i] = ev
	}
	return evs
}

// canonicalGolden is the SHA-256 of the canonical encodings of
// canonicalCorpus(5000), one per line, as the encoder wrote them when the
// audit chain was introduced. The encoding is part of the hash chain: an
// encoder that writes one byte differently breaks every stored chain.
const canonicalGolden = "1342342e4692c9b7b1fbd90ee3418a1af1564771c5d68dac84dbf8f3373e4c12"

// chainGolden is the hash of the last event when canonicalCorpus(5000) is
// chained with ChainHash from "".
const chainGolden = "e44003d36e1f3bb7608ab70d31aa4784fda4040aa8fbca9073e78fc8d101b197"

func TestCanonicalGolden(t *testing.T) {
	h := sha256.New()
	for _, ev := range canonicalCorpus(5000) {
		h.Write(Canonical(ev))
		h.Write([]byte{'\n'})
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != canonicalGolden {
		t.Fatalf("canonical encodings changed: sha256 %s, want %s", got, canonicalGolden)
	}
}

func TestChainHashGolden(t *testing.T) {
	prev := ""
	for _, ev := range canonicalCorpus(5000) {
		prev = ChainHash(prev, ev)
	}
	if prev != chainGolden {
		t.Fatalf("chain hashes changed: last %s, want %s", prev, chainGolden)
	}
}

// FuzzAppendString compares appendString with the byte-at-a-time encoder
// it replaced (referenceAppendString), whose output the chain was built on.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\x00\x1f\"\\", "\xff", "😀", "\b\f\r\n\t\x7f", "a\xc3", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := appendString([]byte("x"), s), referenceAppendString([]byte("x"), s)
		if string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func referenceAppendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
