package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"airlock"
)

// Canonical returns the RFC 8785 (JSON Canonicalization Scheme) encoding of
// ev without its Hash and PrevHash: the keys of the JSON form of
// airlock.Event, empty optional fields left out exactly as encoding/json's
// omitempty leaves them out, sorted by key. It is written by hand because it
// runs once per event on the audit writer's path.
func Canonical(ev *airlock.Event) []byte {
	return appendCanonical(make([]byte, 0, 512+len(ev.Text)), ev)
}

// appendCanonical appends Canonical(ev) to b.
func appendCanonical(b []byte, ev *airlock.Event) []byte {
	w := canonWriter{b: b, start: len(b)}
	w.b = append(w.b, '{')
	// Keys in sorted order (RFC 8785 sorts by UTF-16 code units; all keys
	// are ASCII, so byte order is the same).
	w.str("action", ev.Action, false)
	w.str("actor", ev.Actor, true)
	w.str("application", ev.Application, true)
	w.str("client_addr", ev.ClientAddr, true)
	w.str("database", ev.Database, true)
	w.str("decision", ev.Decision, true)
	if len(ev.Detail) > 0 {
		w.key("detail")
		keys := make([]string, 0, len(ev.Detail))
		for k := range ev.Detail {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		w.b = append(w.b, '{')
		for i, k := range keys {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendString(w.b, k)
			w.b = append(w.b, ':')
			w.b = appendString(w.b, ev.Detail[k])
		}
		w.b = append(w.b, '}')
	}
	if ev.DurationMS != 0 {
		w.key("duration_ms")
		w.b = appendNumber(w.b, ev.DurationMS)
	}
	w.str("error", ev.Error, true)
	w.key("id")
	w.b = strconv.AppendInt(w.b, ev.ID, 10)
	w.str("level", ev.Level, true)
	w.list("params", ev.Params)
	w.str("reason", ev.Reason, true)
	w.str("ref", ev.Ref, true)
	if ev.Rows != 0 {
		w.key("rows")
		w.b = strconv.AppendInt(w.b, ev.Rows, 10)
	}
	w.str("rule", ev.Rule, true)
	w.str("session_id", ev.SessionID, true)
	w.str("statement_kind", ev.StatementKind, true)
	w.list("tables", ev.Tables)
	w.str("text", ev.Text, true)
	// The RFC 3339 form has nothing to escape.
	w.key("time")
	w.b = append(w.b, '"')
	w.b = ev.Time.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
	w.str("type", ev.Type, false)
	w.str("user", ev.User, true)
	w.list("warnings", ev.Warnings)
	w.b = append(w.b, '}')
	return w.b
}

// ChainHash returns hex(sha256(prev || Canonical(ev))), where prev is the
// previous event's hash in its hex form ("" for the first event).
func ChainHash(prev string, ev *airlock.Event) string {
	h, _ := chainHash(nil, prev, ev)
	return h
}

// chainHash is ChainHash with a scratch buffer, returned for the next call.
func chainHash(buf []byte, prev string, ev *airlock.Event) (string, []byte) {
	buf = append(buf[:0], prev...)
	buf = appendCanonical(buf, ev)
	sum := sha256.Sum256(buf)
	var hx [2 * sha256.Size]byte
	hex.Encode(hx[:], sum[:])
	return string(hx[:]), buf
}

type canonWriter struct {
	b     []byte
	start int // where the object starts in b
}

// key writes a key of the event's JSON form: those are ASCII letters and
// underscores, with nothing to escape.
func (w *canonWriter) key(k string) {
	if len(w.b) > w.start+1 {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *canonWriter) str(k, v string, omitEmpty bool) {
	if omitEmpty && v == "" {
		return
	}
	w.key(k)
	w.b = appendString(w.b, v)
}

func (w *canonWriter) list(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, v)
	}
	w.b = append(w.b, ']')
}

// appendString writes s as an RFC 8785 string: only '"', '\\' and control
// characters are escaped, with the short forms where JSON has them; invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0 // s[start:i] is written as it is
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
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
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendNumber writes f as ECMAScript's Number.prototype.toString does
// (RFC 8785 section 3.2.2.3).
func appendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0') // never produced; keep the encoding valid
	}
	if f == 0 {
		return append(b, '0')
	}
	abs := math.Abs(f)
	if abs >= 1e21 || abs < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes "1e+21" and "1e-07"; ECMAScript writes "1e+21" and "1e-7".
		for i := 0; i < len(s); i++ {
			if s[i] == 'e' && i+2 < len(s) && s[i+2] == '0' {
				s = s[:i+2] + s[i+3:]
				break
			}
		}
		return append(b, s...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

func compareUTF16(a, b string) int {
	// Detail keys are ASCII in practice; fall back to comparing UTF-16
	// code units for anything else.
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		ua, ub := utf16Units(ra[i]), utf16Units(rb[i])
		for j := 0; j < len(ua) && j < len(ub); j++ {
			if ua[j] != ub[j] {
				return int(ua[j]) - int(ub[j])
			}
		}
		if len(ua) != len(ub) {
			return len(ua) - len(ub)
		}
	}
	return len(ra) - len(rb)
}

func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + (r >> 10)), uint16(0xdc00 + (r & 0x3ff))}
}
