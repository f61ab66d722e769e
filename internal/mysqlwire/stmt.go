package mysqlwire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"airlock/internal/gateway"
	"airlock/internal/myadmin"
)

// stmt is a prepared statement made with COM_STMT_PREPARE.
type stmt struct {
	id   uint32 // the id the client knows
	upID uint32 // the id on the current upstream connection
	text string
	// key names it among the session's prepared statements: the core
	// keeps its facts there and decides each execution on them. prep is
	// the handle the core gave it under key when it was prepared, which
	// never changes (gateway.Prepared): an execution passes it without
	// looking the key up again. Closing the statement, or a reset of the
	// connection, forgets the key and the statement together.
	key     string
	prep    *gateway.Prepared
	params  int
	columns int
	// types are the parameter types of the last execution that sent them
	// (2 bytes each); later executions may leave them out. upTypes are
	// those the upstream statement knows (an execution airlock denied, or
	// a statement prepared again on a new connection, never sent them).
	types, upTypes []byte
	// long holds, per parameter, what COM_STMT_SEND_LONG_DATA sent since
	// the last execution (its size, and its start for the audit).
	long map[uint16]*longData
	// gone is why the statement could not be prepared again on the
	// current upstream connection (the credential of a lower level may
	// not prepare a write); it then fails when run.
	gone *sqlError
	// longErr is the error of long data airlock refused (over the
	// statement size limit or the memory budget): the next execution
	// fails with it, as the server fails one after long data it could not
	// take.
	longErr *sqlError
}

type longData struct {
	size int
	head []byte
}

// longAudit bounds what the audit keeps of a long parameter.
const longAudit = 4 << 10

// newKey names a statement being prepared among the session's prepared
// statements (before the client's id is known: the server may refuse the
// statement). SQL names cannot hold a NUL, so protocol statements never
// collide with them.
func (c *conn) newKey() string {
	c.lastKey++
	return "\x00stmt" + strconv.FormatUint(c.lastKey, 10)
}

func (c *conn) newStmtID() uint32 {
	for {
		c.lastStmt++
		if c.lastStmt != 0 && c.stmts[c.lastStmt] == nil {
			return c.lastStmt
		}
	}
}

// prepare handles COM_STMT_PREPARE: the text is classified and decided at
// the session's level now, and the session keeps its facts for each
// execution, unless the server refuses it.
func (c *conn) prepare(p []byte) error {
	text := c.clientText(p[1:])
	key := c.newKey()
	ch, revert := c.sess.Prepare(key, text, gateway.PrepareOptions{})
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return nil
	}
	if d := myadmin.UseDenial(ch, c.sess.Database().Database, c.sess.Database().Name); d != nil {
		revert()
		c.sess.Deny(text, *d)
		c.sendDenied(*d)
		return nil
	}
	if err := c.forward(p); err != nil {
		revert()
		return err
	}
	st, err := c.prepared(text, true)
	if err != nil || st == nil {
		revert()
		return err
	}
	st.key, st.prep = key, c.sess.Prepared(key)
	c.stmts[st.id] = st
	return nil
}

// prepared reads the answer to a COM_STMT_PREPARE, relaying it to the
// client under a new airlock id when relay is set; it returns nil when
// the server refused the statement.
func (c *conn) prepared(text string, relay bool) (*stmt, error) {
	q, err := c.upNext()
	if err != nil {
		return nil, err
	}
	if q[0] == hdrERR {
		if relay {
			c.emit(nil, q, -1)
			return nil, nil
		}
		return nil, parseERR(q)
	}
	if q[0] != hdrOK || len(q) < 12 {
		return nil, c.upstreamErr(errMalformed)
	}
	st := &stmt{upID: binary.LittleEndian.Uint32(q[1:]), text: text,
		columns: int(binary.LittleEndian.Uint16(q[5:])), params: int(binary.LittleEndian.Uint16(q[7:]))}
	if relay {
		st.id = c.newStmtID()
		binary.LittleEndian.PutUint32(q[1:], st.id)
		c.emit(nil, q, -1)
	}
	deprecate := c.up.caps&capDeprecateEOF != 0
	for _, n := range []int{st.params, st.columns} {
		if n > 0 && !deprecate {
			n++ // the EOF after the definitions
		}
		for range n {
			if q, err = c.upNext(); err != nil {
				return nil, err
			}
			if relay {
				c.emit(nil, q, -1)
			}
		}
	}
	return st, nil
}

// lookup returns the statement a command names, or answers ERR 1243.
func (c *conn) lookup(p []byte, command string, answer bool) *stmt {
	st := c.lookupAny(p, command, answer)
	if st != nil && st.gone != nil && answer && command != "mysqld_stmt_execute" {
		c.sendERR(st.gone.Code, st.gone.State, st.gone.Message)
		return nil
	}
	return st
}

func (c *conn) lookupAny(p []byte, command string, answer bool) *stmt {
	if len(p) < 5 {
		if answer {
			c.sendERR(erMalformedPacket, "HY000", "Malformed communication packet")
		}
		return nil
	}
	id := binary.LittleEndian.Uint32(p[1:])
	st := c.stmts[id]
	if st == nil && answer {
		c.sendERR(erUnknownStmt, "HY000", fmt.Sprintf("Unknown prepared statement handler (%d) given to %s", id, command))
	}
	return st
}

// execute handles COM_STMT_EXECUTE: decided again at the session's level
// now, audited with its parameters.
func (c *conn) execute(p []byte) error {
	c.binaryRows = true
	defer func() { c.binaryRows = false }()
	st := c.lookup(p, "mysqld_stmt_execute", true)
	if st == nil {
		return nil
	}
	if e := st.longErr; e != nil {
		st.longErr = nil
		if err := c.dropLongData(st); err != nil {
			return err
		}
		c.sendERR(e.Code, e.State, e.Message)
		return nil
	}
	params, flagAt, err := st.decodeParams(p)
	if err != nil {
		d := gateway.ProtocolViolation("the parameters of this COM_STMT_EXECUTE could not be decoded, so they cannot be audited: " + err.Error())
		c.sess.Deny(st.text, d)
		c.sendDenied(d)
		return c.dropLongData(st)
	}
	ch := c.sess.CheckPrepared(c.ctx, st.prep, st.text, params)
	if ch.VetoErr != nil {
		return ch.VetoErr
	}
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return c.dropLongData(st)
	}
	if st.gone != nil {
		for i := range ch.Stmts {
			c.sess.Done(ch, i, gateway.Outcome{Err: fmt.Sprintf("%d (%s): %s", st.gone.Code, st.gone.State, st.gone.Message)})
		}
		c.sendERR(st.gone.Code, st.gone.State, st.gone.Message)
		st.long = nil
		return nil
	}
	binary.LittleEndian.PutUint32(p[1:], st.upID)
	st.long = nil
	if st.params > 0 && p[flagAt] == 0 && !bytes.Equal(st.upTypes, st.types) {
		// Send the types the upstream statement has not seen.
		q := make([]byte, 0, len(p)+len(st.types))
		q = append(append(append(q, p[:flagAt]...), 1), st.types...)
		p = append(q, p[flagAt+1:]...)
	}
	st.upTypes = append(st.upTypes[:0], st.types...)
	if ch.Guard != nil {
		return c.runGuarded(p, ch)
	}
	if err := c.forward(p); err != nil {
		return err
	}
	return c.response(ch, nil)
}

// dropLongData makes the server forget the long data sent for a statement
// whose execution was denied, as an execution would have.
func (c *conn) dropLongData(st *stmt) error {
	if st.long == nil {
		return nil
	}
	st.long = nil
	b := binary.LittleEndian.AppendUint32([]byte{comStmtReset}, st.upID)
	if err := c.forward(b); err != nil {
		return err
	}
	q, err := c.upNext()
	if err != nil {
		return err
	}
	if q[0] == hdrOK {
		if ok, err := parseOK(q); err == nil {
			c.up.status = ok.status
		}
	}
	return nil
}

// longData handles COM_STMT_SEND_LONG_DATA (no answer).
func (c *conn) longData(p []byte) error {
	st := c.lookup(p, "mysqld_stmt_send_long_data", false)
	if st == nil || len(p) < 7 {
		return nil // the server ignores it too, and answers nothing
	}
	param := binary.LittleEndian.Uint16(p[5:])
	if st.gone != nil {
		return nil
	}
	if st.long == nil {
		st.long = map[uint16]*longData{}
	}
	ld := st.long[param]
	if ld == nil {
		ld = &longData{}
		st.long[param] = ld
	}
	data := p[7:]
	ld.size += len(data)
	if room := longAudit - len(ld.head); room > 0 {
		ld.head = append(ld.head, data[:min(room, len(data))]...)
	}
	binary.LittleEndian.PutUint32(p[1:], st.upID)
	return c.forward(p)
}

// closeStmt handles COM_STMT_CLOSE (no answer).
func (c *conn) closeStmt(p []byte) error {
	st := c.lookup(p, "mysqld_stmt_close", false)
	if st == nil {
		return nil
	}
	delete(c.stmts, st.id)
	c.sess.ClosePrepared(st.key)
	if st.gone != nil {
		return nil
	}
	binary.LittleEndian.PutUint32(p[1:], st.upID)
	return c.forward(p)
}

// resetStmt handles COM_STMT_RESET.
func (c *conn) resetStmt(p []byte) error {
	st := c.lookup(p, "mysqld_stmt_reset", true)
	if st == nil {
		return nil
	}
	st.long, st.longErr = nil, nil
	binary.LittleEndian.PutUint32(p[1:], st.upID)
	return c.simple(p)
}

// fetch handles COM_STMT_FETCH: rows of a cursor opened by an execution
// that was decided and audited.
func (c *conn) fetch(p []byte) error {
	st := c.lookup(p, "mysqld_stmt_fetch", true)
	if st == nil {
		return nil
	}
	binary.LittleEndian.PutUint32(p[1:], st.upID)
	if err := c.forward(p); err != nil {
		return err
	}
	_, _, _, err := c.rows(nil)
	return err
}

// decodeParams decodes the parameters of a COM_STMT_EXECUTE for the
// audit, as text, and returns the offset of its new-params-bound flag. It
// records the parameter types when the packet sends them.
func (s *stmt) decodeParams(p []byte) ([]string, int, error) {
	if len(p) < 10 {
		return nil, 0, errMalformed
	}
	if s.params == 0 {
		return nil, 0, nil
	}
	b := p[10:]
	nullLen := (s.params + 7) / 8
	if len(b) < nullLen+1 {
		return nil, 0, errMalformed
	}
	flagAt := 10 + nullLen
	nulls := b[:nullLen]
	bound := b[nullLen]
	b = b[nullLen+1:]
	if bound == 1 {
		if len(b) < 2*s.params {
			return nil, 0, errMalformed
		}
		s.types = append(s.types[:0], b[:2*s.params]...)
		b = b[2*s.params:]
	} else if bound != 0 {
		return nil, 0, errMalformed
	}
	if len(s.types) != 2*s.params {
		return nil, 0, fmt.Errorf("parameter types were never sent")
	}
	out := make([]string, s.params)
	for i := range out {
		if nulls[i/8]&(1<<(i%8)) != 0 {
			out[i] = "NULL"
			continue
		}
		if ld := s.long[uint16(i)]; ld != nil {
			out[i] = string(ld.head)
			if ld.size > len(ld.head) {
				out[i] += fmt.Sprintf("…(%d bytes)", ld.size)
			}
			continue
		}
		v, n, err := binaryValue(s.types[2*i], s.types[2*i+1]&0x80 != 0, b)
		if err != nil {
			return nil, 0, fmt.Errorf("parameter %d: %w", i+1, err)
		}
		if len(v) > longAudit {
			v = v[:longAudit] + fmt.Sprintf("…(%d bytes)", len(v))
		}
		out[i], b = v, b[n:]
	}
	return out, flagAt, nil
}

// binaryValue decodes one value of the binary protocol as text.
func binaryValue(typ byte, unsigned bool, b []byte) (string, int, error) {
	need := func(n int) error {
		if len(b) < n {
			return errMalformed
		}
		return nil
	}
	switch typ {
	case typeNull:
		return "NULL", 0, nil
	case typeTiny:
		if err := need(1); err != nil {
			return "", 0, err
		}
		if unsigned {
			return strconv.FormatUint(uint64(b[0]), 10), 1, nil
		}
		return strconv.FormatInt(int64(int8(b[0])), 10), 1, nil
	case typeShort, typeYear:
		if err := need(2); err != nil {
			return "", 0, err
		}
		v := binary.LittleEndian.Uint16(b)
		if unsigned {
			return strconv.FormatUint(uint64(v), 10), 2, nil
		}
		return strconv.FormatInt(int64(int16(v)), 10), 2, nil
	case typeLong, typeInt24:
		if err := need(4); err != nil {
			return "", 0, err
		}
		v := binary.LittleEndian.Uint32(b)
		if unsigned {
			return strconv.FormatUint(uint64(v), 10), 4, nil
		}
		return strconv.FormatInt(int64(int32(v)), 10), 4, nil
	case typeLongLong:
		if err := need(8); err != nil {
			return "", 0, err
		}
		v := binary.LittleEndian.Uint64(b)
		if unsigned {
			return strconv.FormatUint(v, 10), 8, nil
		}
		return strconv.FormatInt(int64(v), 10), 8, nil
	case typeFloat:
		if err := need(4); err != nil {
			return "", 0, err
		}
		return strconv.FormatFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 'g', -1, 32), 4, nil
	case typeDouble:
		if err := need(8); err != nil {
			return "", 0, err
		}
		return strconv.FormatFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)), 'g', -1, 64), 8, nil
	case typeDate, typeDateTime, typeTimestamp, typeNewDate, typeTimestamp2, typeDateTime2:
		if err := need(1); err != nil {
			return "", 0, err
		}
		n := int(b[0])
		if (n != 0 && n != 4 && n != 7 && n != 11) || len(b) < 1+n {
			return "", 0, errMalformed
		}
		d := b[1 : 1+n]
		var y, mo, da, h, mi, s, us int
		if n >= 4 {
			y, mo, da = int(binary.LittleEndian.Uint16(d)), int(d[2]), int(d[3])
		}
		if n >= 7 {
			h, mi, s = int(d[4]), int(d[5]), int(d[6])
		}
		if n == 11 {
			us = int(binary.LittleEndian.Uint32(d[7:]))
		}
		v := fmt.Sprintf("%04d-%02d-%02d", y, mo, da)
		if typ != typeDate && typ != typeNewDate {
			v += fmt.Sprintf(" %02d:%02d:%02d", h, mi, s)
			if us != 0 {
				v += fmt.Sprintf(".%06d", us)
			}
		}
		return v, 1 + n, nil
	case typeTime, typeTime2:
		if err := need(1); err != nil {
			return "", 0, err
		}
		n := int(b[0])
		if (n != 0 && n != 8 && n != 12) || len(b) < 1+n {
			return "", 0, errMalformed
		}
		if n == 0 {
			return "00:00:00", 1, nil
		}
		d := b[1 : 1+n]
		sign := ""
		if d[0] == 1 {
			sign = "-"
		}
		hours := int(binary.LittleEndian.Uint32(d[1:]))*24 + int(d[5])
		v := fmt.Sprintf("%s%02d:%02d:%02d", sign, hours, d[6], d[7])
		if n == 12 {
			v += fmt.Sprintf(".%06d", binary.LittleEndian.Uint32(d[8:]))
		}
		return v, 1 + n, nil
	case typeDecimal, typeNewDecimal, typeVarchar, typeBit, typeJSON, typeEnum, typeSet, typeTinyBlob,
		typeMediumBlob, typeLongBlob, typeBlob, typeVarString, typeString, typeGeometry:
		s, null, n, err := readLenencString(b)
		if err != nil {
			return "", 0, err
		}
		if null {
			return "NULL", n, nil
		}
		return string(s), n, nil
	}
	return "", 0, fmt.Errorf("unknown type %#x", typ)
}
