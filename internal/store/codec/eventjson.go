package codec

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"airlock"
)

// AppendEventJSON appends the JSON object of e — the keys and omissions of
// its encoding/json form — to b. It is written out because it runs once per
// event on the audit writer's path, where encoding/json's reflection costs
// a tenth of AppendEvents. Strings are written as encoding/json writes them
// (invalid UTF-8 becomes U+FFFD), times in UTC with nanoseconds, and a NaN
// or infinite DurationMS as 0, so that json.Unmarshal gives back the event.
func AppendEventJSON(b []byte, e *airlock.Event) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "type", e.Type, false)
	b = appendField(b, "action", e.Action, false)
	b = appendField(b, "user", e.User, true)
	b = appendField(b, "actor", e.Actor, true)
	b = appendField(b, "database", e.Database, true)
	b = appendField(b, "session_id", e.SessionID, true)
	b = appendField(b, "client_addr", e.ClientAddr, true)
	b = appendField(b, "application", e.Application, true)
	b = appendField(b, "ref", e.Ref, true)
	b = appendField(b, "text", e.Text, true)
	b = appendField(b, "statement_kind", e.StatementKind, true)
	b = appendField(b, "level", e.Level, true)
	b = appendList(b, "tables", e.Tables)
	b = appendField(b, "decision", e.Decision, true)
	b = appendField(b, "rule", e.Rule, true)
	b = appendField(b, "reason", e.Reason, true)
	b = appendList(b, "warnings", e.Warnings)
	if e.Rows != 0 {
		b = append(b, `,"rows":`...)
		b = strconv.AppendInt(b, e.Rows, 10)
	}
	if d := e.DurationMS; d != 0 && !math.IsNaN(d) && !math.IsInf(d, 0) {
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, d, 'g', -1, 64)
	}
	b = appendField(b, "error", e.Error, true)
	b = appendList(b, "params", e.Params)
	if len(e.Detail) > 0 {
		b = append(b, `,"detail":{`...)
		first := true
		for k, v := range e.Detail {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = AppendJSONString(b, k)
			b = append(b, ':')
			b = AppendJSONString(b, v)
		}
		b = append(b, '}')
	}
	b = appendField(b, "prev_hash", e.PrevHash, false)
	b = appendField(b, "hash", e.Hash, false)
	return append(b, '}')
}

// appendField appends ,"key":"v", or nothing when v is empty and omitEmpty.
func appendField(b []byte, key, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return AppendJSONString(b, v)
}

// appendList appends ,"key":[...], or nothing for an empty list.
func appendList(b []byte, key string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, v)
	}
	return append(b, ']')
}

// AppendJSONString appends s as a JSON string, escaping '"', '\\' and
// control characters and replacing each byte of invalid UTF-8 with U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
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
