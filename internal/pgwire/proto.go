package pgwire

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"unicode/utf8"
)

var errMalformed = errors.New("malformed message")

// parseMsg is the part of a Parse message airlock needs.
type parseMsg struct {
	name, query string
}

func decodeParse(b []byte) (parseMsg, error) {
	name, rest, err := cstring(b)
	if err != nil {
		return parseMsg{}, errMalformed
	}
	query, rest, err := cstring(rest)
	if err != nil || len(rest) < 2 {
		return parseMsg{}, errMalformed
	}
	n := int(binary.BigEndian.Uint16(rest))
	if len(rest) != 2+4*n {
		return parseMsg{}, errMalformed
	}
	return parseMsg{name: name, query: query}, nil
}

// bindMsg is the part of a Bind message airlock needs.
type bindMsg struct {
	portal, stmt string
	params       []string // as audited: text as is, binary in hex, NULL as "NULL"
}

func decodeBind(b []byte, wantParams bool) (bindMsg, error) {
	var m bindMsg
	var err error
	if m.portal, b, err = cstring(b); err != nil {
		return m, errMalformed
	}
	if m.stmt, b, err = cstring(b); err != nil {
		return m, errMalformed
	}
	if len(b) < 2 {
		return m, errMalformed
	}
	nf := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < 2*nf+2 {
		return m, errMalformed
	}
	formats := b[:2*nf]
	b = b[2*nf:]
	np := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if nf > 1 && nf != np {
		return m, errMalformed
	}
	if wantParams {
		m.params = make([]string, 0, np)
	}
	for i := 0; i < np; i++ {
		if len(b) < 4 {
			return m, errMalformed
		}
		l := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		if l == -1 {
			if wantParams {
				m.params = append(m.params, "NULL")
			}
			continue
		}
		if l < 0 || len(b) < l {
			return m, errMalformed
		}
		if wantParams {
			binary := false
			switch nf {
			case 1:
				binary = binary16(formats, 0)
			case 0:
			default:
				binary = binary16(formats, i)
			}
			m.params = append(m.params, auditValue(b[:l], binary))
		}
		b = b[l:]
	}
	if len(b) < 2 {
		return m, errMalformed
	}
	nr := int(binary.BigEndian.Uint16(b))
	if len(b) != 2+2*nr {
		return m, errMalformed
	}
	return m, nil
}

func binary16(formats []byte, i int) bool { return binary.BigEndian.Uint16(formats[2*i:]) == 1 }

// auditValue renders a bind value for the audit: text values as they are
// (when valid UTF-8), anything else as \x-prefixed hex, long values cut.
func auditValue(v []byte, binary bool) string {
	const max = 1024
	cut := ""
	if len(v) > max {
		v, cut = v[:max], "…("+strconv.Itoa(len(v))+" bytes)"
	}
	if !binary && utf8.Valid(v) {
		return string(v) + cut
	}
	return `\x` + hex.EncodeToString(v) + cut
}

// decodeNamed decodes Execute, Describe and Close: Describe and Close start
// with a kind byte ('S' or 'P'), Execute with none and ends with a row limit.
func decodeExecute(b []byte) (portal string, err error) {
	portal, rest, err := cstring(b)
	if err != nil || len(rest) != 4 {
		return "", errMalformed
	}
	return portal, nil
}

func decodeTarget(b []byte) (kind byte, name string, err error) {
	if len(b) < 2 || (b[0] != 'S' && b[0] != 'P') {
		return 0, "", errMalformed
	}
	name, rest, err := cstring(b[1:])
	if err != nil || len(rest) != 0 {
		return 0, "", errMalformed
	}
	return b[0], name, nil
}

func decodeQuery(b []byte) (string, error) {
	q, rest, err := cstring(b)
	if err != nil || len(rest) != 0 {
		return "", errMalformed
	}
	return q, nil
}

// commandRows returns the row count of a CommandComplete tag ("SELECT 5",
// "INSERT 0 3", "UPDATE 2"); 0 when the tag has none.
func commandRows(tag []byte) int64 {
	if n := len(tag); n > 0 && tag[n-1] == 0 {
		tag = tag[:n-1]
	}
	i := len(tag)
	for i > 0 && tag[i-1] >= '0' && tag[i-1] <= '9' {
		i--
	}
	if i == len(tag) || i == 0 || tag[i-1] != ' ' {
		return 0
	}
	n, _ := strconv.ParseInt(string(tag[i:]), 10, 64)
	return n
}
