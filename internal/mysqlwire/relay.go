package mysqlwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/myadmin"
)

// command handles one client command: decide, then forward or deny.
func (c *conn) command(p []byte) error {
	switch p[0] {
	case comQuit:
		return errQuit
	case comQuery:
		return c.query(p)
	case comPing:
		return c.simple(p)
	case comInitDB:
		return c.initDB(p)
	case comFieldList:
		return c.fieldList(p)
	case comStatistics:
		return c.statistics(p)
	case comStmtPrepare:
		return c.prepare(p)
	case comStmtExecute:
		return c.execute(p)
	case comStmtSendLongData:
		return c.longData(p)
	case comStmtClose:
		return c.closeStmt(p)
	case comStmtReset:
		return c.resetStmt(p)
	case comStmtFetch:
		return c.fetch(p)
	case comSetOption:
		return c.setOption(p)
	case comResetConnection:
		return c.resetConnection(p)
	case comChangeUser:
		return c.changeUser(p)
	}
	name, ok := commandNames[p[0]]
	if !ok {
		c.sendERR(erUnknownCom, "08S01", "Unknown command")
		return nil
	}
	d := gateway.ServerCommand(name)
	c.sess.Deny(name, d)
	c.sendDenied(d)
	return nil
}

// query handles COM_QUERY.
func (c *conn) query(p []byte) error {
	text := c.clientText(p[1:])
	if done, err := c.killQuery(text); done {
		return err
	}
	ch := c.sess.Check(c.ctx, text)
	if ch.VetoErr != nil {
		return ch.VetoErr
	}
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return nil
	}
	if ch.Guard != nil {
		return c.runGuarded(p, ch)
	}
	if ch.Rewrite != nil && ch.Rewrite.Run != nil {
		return c.runRewrite(ch)
	}
	if err := c.forward(p); err != nil {
		return err
	}
	return c.response(ch, nil)
}

// Veto is the session's last word on an allowed check (gateway.Adapter):
// USE of another schema, and writes airlock cannot let run (views,
// non-transactional tables, cascades it cannot count), which it knows
// only from the database.
func (c *conn) Veto(ch *gateway.Check) (*airlock.Decision, error) {
	if d, err := c.checkViews(ch); d != nil || err != nil {
		return d, err
	}
	db := c.sess.Database()
	v := &c.veto
	v.DBName, v.Schema, v.Tables = db.Name, db.Database, c.tables
	if v.Query == nil {
		v.Query = c.vetoQuery
	}
	return v.Check(ch)
}

// vetoQuery runs a query of the veto (myadmin.Veto.Query).
func (c *conn) vetoQuery(sql string) ([][]string, error) {
	r, err := c.internal(sql)
	var se *sqlError
	if errors.As(err, &se) {
		return nil, &myadmin.QueryError{Message: se.Message}
	}
	if err != nil {
		return nil, err
	}
	return r.rows, nil
}

// simple forwards a command whose answer is one packet.
func (c *conn) simple(p []byte) error {
	if err := c.forward(p); err != nil {
		return err
	}
	_, err := c.relayOne()
	return err
}

// relayOne relays one packet of the upstream's answer and follows the
// status of OK and EOF packets.
func (c *conn) relayOne() ([]byte, error) {
	q, err := c.upNext()
	if err != nil {
		return nil, err
	}
	if len(q) > 0 && (q[0] == hdrOK || (q[0] == hdrEOF && len(q) < 9)) {
		if ok, err := parseEnd(q, q[0] == hdrOK || c.up.caps&capDeprecateEOF != 0); err == nil {
			c.up.status = ok.status
		}
	}
	c.emit(nil, q, -1)
	return q, nil
}

// upNext reads one whole packet of the upstream's answer.
func (c *conn) upNext() ([]byte, error) {
	if c.ended() {
		// What follows (the end of a statement airlock just killed) is
		// not for the client: it gets the reason.
		return nil, errEnded
	}
	p, _, err := c.up.r.next(c.up.maxPacket + 64<<10)
	if err != nil || c.ended() {
		return nil, c.upstreamErr(err)
	}
	if len(p) == 0 {
		return nil, c.upstreamErr(errMalformed)
	}
	return p, nil
}

// emit sends a packet of the answer to the client, or holds it back.
func (c *conn) emit(h *held, p []byte, statusAt int) {
	if h != nil {
		h.add(p, statusAt)
		return
	}
	writePacket(c.cw, &c.cseq, p)
}

// tracker follows the results of an answer to audit each statement.
type tracker struct {
	c    *conn
	ch   *gateway.Check
	idx  int
	rows int64 // rows returned so far by the CALL running
	// outs, when hold is set, collects the outcomes instead of
	// recording them (a guarded statement is audited once counted).
	hold bool
	outs []gateway.Outcome
	// inTrans says whether a transaction is open before the statement
	// at idx; err is the error that statement got, if any.
	inTrans bool
	err     *sqlError
}

func (t *tracker) stmt() *airlock.Statement {
	if t.ch == nil || t.idx >= len(t.ch.Stmts) {
		return nil
	}
	return &t.ch.Stmts[t.idx]
}

func (t *tracker) done(out gateway.Outcome) {
	if t.stmt() == nil {
		if t.ch != nil && len(t.ch.Stmts) > 0 {
			t.c.log.Warn("the upstream answered more results than airlock classified statements", "statements", len(t.ch.Stmts))
		}
		t.idx++
		return
	}
	if t.hold {
		t.outs = append(t.outs, out)
	} else {
		t.inTrans = t.c.followTxn(t.stmt(), &out, t.err, t.inTrans)
		t.c.statementDone(t.ch, t.idx, out)
	}
	t.idx++
	t.rows = 0
	t.err = nil
}

// resultSet records a result set of rows; a CALL's result sets belong to
// it until its final OK.
func (t *tracker) resultSet(rows int64) {
	if st := t.stmt(); st != nil && st.Kind == airlock.KindCall {
		t.rows += rows
		return
	}
	t.done(gateway.Outcome{Rows: rows})
}

func (t *tracker) ok(affected int64) {
	if st := t.stmt(); st != nil && st.Kind == airlock.KindCall && t.rows > 0 {
		affected = t.rows
	}
	t.done(gateway.Outcome{Rows: affected})
}

// fail records an error: the statements after it did not run.
func (t *tracker) fail(e *sqlError) {
	t.err = e
	t.done(gateway.Outcome{Err: fmt.Sprintf("%d (%s): %s", e.Code, e.State, e.Message)})
	t.rest()
}

func (t *tracker) rest() {
	for t.stmt() != nil {
		t.done(gateway.Outcome{NotRun: true})
	}
}

// flush records held outcomes.
func (t *tracker) flush() {
	for i, out := range t.outs {
		t.c.statementDone(t.ch, i, out)
	}
	t.outs = nil
}

// response relays (or, with h, holds back) the answer to a command that
// runs statements (COM_QUERY, COM_STMT_EXECUTE): for each result an OK,
// an ERR, or a result set whose rows stream through.
func (c *conn) response(ch *gateway.Check, h *held) error {
	var t *tracker
	if h != nil {
		// A held answer keeps its tracker until it is released.
		t = &tracker{}
	} else {
		t = &c.track
	}
	*t = tracker{c: c, ch: ch, hold: h != nil, inTrans: c.up.status&statusInTrans != 0}
	c.followWarnings(ch)
	err := c.results(t, h)
	c.warnAdd, c.inject = 0, nil
	if h != nil {
		h.outs = t.outs
		h.tracker = t
	} else {
		*t = tracker{} // an idle connection keeps no statement's check
	}
	return err
}

func (c *conn) results(t *tracker, h *held) error {
	deprecate := c.up.caps&capDeprecateEOF != 0
	for {
		p, err := c.upNext()
		if err != nil {
			return err
		}
		switch p[0] {
		case hdrOK:
			ok, err := parseOK(p)
			if err != nil {
				return c.upstreamErr(err)
			}
			c.up.status = ok.status
			c.countWarnings(p, ok, false)
			c.emit(h, p, ok.statusAt)
			t.ok(int64(ok.affected))
			if ok.status&statusMoreResults == 0 {
				t.rest()
				return nil
			}
			continue
		case hdrERR:
			e := parseERR(p)
			c.emit(h, p, -1)
			if h != nil {
				h.failed = e
			}
			t.fail(e)
			return nil
		case hdrLocalInfile:
			if err := c.localInfile(t, p); err != nil {
				return err
			}
			continue
		}
		ncols, n := readLenenc(p)
		if n == 0 || ncols == 0 {
			return c.upstreamErr(errMalformed)
		}
		c.emit(h, p, -1)
		for range ncols {
			if p, err = c.upNext(); err != nil {
				return err
			}
			c.emit(h, p, -1)
		}
		if !deprecate {
			if p, err = c.upNext(); err != nil {
				return err
			}
			end, err := parseEnd(p, false)
			if err != nil {
				return c.upstreamErr(err)
			}
			c.up.status = end.status
			c.emit(h, p, end.statusAt)
			if end.status&statusCursorExists != 0 {
				// A cursor was opened: rows come with COM_STMT_FETCH.
				t.resultSet(0)
				t.rest()
				return nil
			}
		}
		rows, end, e, err := c.rows(h)
		if err != nil {
			return err
		}
		if e != nil {
			if h != nil {
				h.failed = e
			}
			t.fail(e)
			return nil
		}
		t.resultSet(rows)
		if end.status&statusMoreResults == 0 {
			t.rest()
			return nil
		}
	}
}

// rows relays (or holds back) rows up to the end of a result set and
// returns how many there were and the end packet, or the error that ended
// the result set. Rows stream through without being held whole.
func (c *conn) rows(h *held) (int64, okInfo, *sqlError, error) {
	deprecate := c.up.caps&capDeprecateEOF != 0
	var n int64
	cont := false
	for {
		if c.ended() {
			return 0, okInfo{}, nil, errEnded
		}
		if h == nil && !cont {
			k, err := c.relayRows()
			if err != nil {
				return 0, okInfo{}, nil, c.upstreamErr(err)
			}
			n += k
		}
		size, _, err := c.up.r.header()
		if err != nil {
			return 0, okInfo{}, nil, c.upstreamErr(err)
		}
		if !cont && size > 0 {
			b, err := c.up.r.peekByte()
			if err != nil {
				return 0, okInfo{}, nil, c.upstreamErr(err)
			}
			if b == hdrERR || isEOFPacket(b, size) {
				body, err := c.up.r.body(size)
				if err != nil {
					return 0, okInfo{}, nil, c.upstreamErr(err)
				}
				if b == hdrERR {
					e := parseERR(body)
					c.emit(h, body, -1)
					return n, okInfo{}, e, nil
				}
				end, err := parseEnd(body, deprecate)
				if err != nil {
					return 0, okInfo{}, nil, c.upstreamErr(err)
				}
				c.up.status = end.status
				if h == nil {
					for _, m := range c.inject {
						writePacket(c.cw, &c.cseq, warningRow(m))
					}
					c.inject = nil
				}
				c.countWarnings(body, end, !deprecate)
				c.emit(h, body, end.statusAt)
				return n, end, nil, nil
			}
		}
		if h != nil {
			body, err := c.up.r.body(size)
			if err != nil {
				return 0, okInfo{}, nil, c.upstreamErr(err)
			}
			h.addPiece(body, -1)
		} else {
			writeHeader(c.cw, size, c.cseq)
			c.cseq++
			c.midWrite = true
			if err := c.up.r.relay(c.cw, size); err != nil {
				return 0, okInfo{}, nil, c.upstreamErr(err)
			}
			c.midWrite = false
		}
		cont = size == maxPayload
		if !cont {
			n++
		}
	}
}

// relayRows relays, in one write, the row packets buffered whole at the
// upstream reader's position, numbered in the client's sequence, and
// returns how many there were. It stops before any packet rows may not
// pass this way (an end packet, an error, an empty packet, one that is
// split or not yet buffered whole), which rows reads one at a time: a
// result set of many small rows then costs one copy per read of the
// upstream, not a header and a copy per row.
func (c *conn) relayRows() (int64, error) {
	r := c.up.r.r
	buf, _ := r.Peek(r.Buffered())
	off, n := 0, int64(0)
	for len(buf)-off > 4 {
		size := int(buf[off]) | int(buf[off+1])<<8 | int(buf[off+2])<<16
		if size == 0 || size >= maxPayload || len(buf)-off-4 < size {
			break
		}
		if b := buf[off+4]; b == hdrERR || isEOFPacket(b, size) {
			break
		}
		buf[off+3] = c.cseq // renumbered in place: the bytes are discarded below
		c.cseq++
		off += 4 + size
		n++
	}
	if off == 0 {
		return 0, nil
	}
	c.midWrite = true
	_, err := c.cw.Write(buf[:off])
	r.Discard(off)
	if err != nil {
		return 0, err
	}
	c.midWrite = false
	return n, nil
}

// statementDone records a statement's outcome and follows what it
// changed in the session.
func (c *conn) statementDone(ch *gateway.Check, i int, out gateway.Outcome) {
	c.sess.Done(ch, i, out)
	if out.Err != "" || out.NotRun {
		return
	}
	c.state.follow(&ch.Stmts[i])
	if ch.Stmts[i].Command == "USE" {
		c.useDone(&ch.Stmts[i])
	}
	if pinnedSettings[ch.Stmts[i].Setting] {
		c.checkPins = true
	}
	switch ch.Stmts[i].Kind {
	case airlock.KindDDL, airlock.KindDrop, airlock.KindTruncate:
		clear(c.tables) // engines and foreign keys may have changed
	}
}

// showWarningsRE matches SHOW WARNINGS (with or without LIMIT), whose
// answer lists airlock's warnings after the server's.
var showWarningsRE = regexp.MustCompile(`(?is)^\s*SHOW\s+WARNINGS\b`)

// followWarnings keeps the airlock warnings of the statement ch runs for
// the answer's warning count and a later SHOW WARNINGS (the way a MySQL
// client reads what PostgreSQL clients get as a NOTICE). Any other
// statement forgets the last one's, as the server forgets its own.
func (c *conn) followWarnings(ch *gateway.Check) {
	c.warnAdd, c.inject = 0, nil
	if ch == nil {
		return
	}
	if len(ch.Stmts) == 1 && ch.Stmts[0].Kind == airlock.KindShow && showWarningsRE.MatchString(ch.Stmts[0].Text) {
		if !c.binaryRows {
			c.inject = c.warnings
		}
		return
	}
	c.warnings = nil
	for _, w := range ch.Decision.Warnings {
		c.warnings = append(c.warnings, "airlock: warning: "+w.Rule+": "+w.Message)
	}
	c.warnAdd = uint16(min(len(c.warnings), 0xffff))
}

// countWarnings adds the statement's airlock warnings to the warning count
// of p when it ends the answer: an OK packet (or the OK-form end of a
// result set), or, with eof, an EOF packet.
func (c *conn) countWarnings(p []byte, end okInfo, eof bool) {
	if c.warnAdd == 0 || end.status&statusMoreResults != 0 {
		return
	}
	at := end.statusAt + 2
	if eof {
		at = 1
	}
	if len(p) < at+2 {
		return
	}
	binary.LittleEndian.PutUint16(p[at:], binary.LittleEndian.Uint16(p[at:])+c.warnAdd)
	c.warnAdd = 0
}

// warningRow is a text-protocol row of SHOW WARNINGS (Level, Code,
// Message) for an airlock warning; 1642 is the code of a warning a
// statement raises itself (SIGNAL SQLSTATE '01000').
func warningRow(msg string) []byte {
	var b []byte
	for _, v := range []string{"Warning", "1642", msg} {
		b = appendLenencString(b, v)
	}
	return b
}
