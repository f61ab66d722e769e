package pgwire

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"airlock"
	"airlock/internal/gateway"

	"github.com/jackc/pgx/v5/pgproto3"
)

// fromClient handles one client message: decide, then forward or deny.
func (c *conn) fromClient(typ byte, body []byte) error {
	if c.skip && typ != 'S' && typ != 'H' && typ != 'X' {
		// After an error in the extended protocol, messages up to Sync
		// are skipped, as PostgreSQL skips them.
		return nil
	}
	switch typ {
	case 'P', 'B', 'D', 'E', 'C', 'H':
		c.midBatch = true
	case 'S', 'Q', 'F':
		c.midBatch = false
	}
	switch typ {
	case 'Q':
		q, err := decodeQuery(body)
		if err != nil {
			return violation("malformed Query message")
		}
		var ch *gateway.Check
		if facts, ok := c.ownSignal(q, nil); ok {
			ch = c.sess.CheckCommand(c.ctx, q, facts, nil)
		} else {
			ch = c.sess.Check(c.ctx, q)
		}
		if !ch.Decision.Allowed {
			c.denySimple(ch.Decision)
			return nil
		}
		c.warn(ch)
		if ch.Guard != nil {
			return c.runGuarded(typ, body, ch)
		}
		if ch.Rewrite != nil {
			body = append([]byte(ch.Rewrite.SQL), 0) // answered with ch.Rewrite.Tag
		}
		c.toUpstream(typ, body)
		c.push(c.entry('Q', ch))
		c.answerAll()
	case 'P':
		m, err := decodeParse(body)
		if err != nil {
			return violation("malformed Parse message")
		}
		if strings.HasPrefix(m.name, denyPrefix) {
			d := gateway.ProtocolViolation(fmt.Sprintf("statement names starting with %q are reserved by airlock", denyPrefix))
			c.sess.Deny(m.query, d)
			c.denyExtended(d)
			return nil
		}
		// Signalling the backend the parameter names: each Execute
		// decides with the PID bound (ownSignal). An allowed statement
		// is known by its name at once, so that later messages of the
		// same batch see it; the entry's undo puts back what the name
		// held if the upstream fails or skips the Parse. Skipping is safe to follow: after an error the upstream skips
		// every message up to Sync, so a Bind or Execute never runs
		// against a Parse that failed.
		ch, revert := c.sess.Prepare(m.name, m.query, gateway.PrepareOptions{DeferSignal: signalParse(m.query)})
		if !ch.Decision.Allowed {
			c.denyExtended(ch.Decision)
			return nil
		}
		c.toUpstream(typ, body)
		e := c.entry('P', nil)
		e.undo = revert
		c.push(e)
	case 'B':
		m, err := decodeBind(body, true)
		if err != nil {
			return violation("malformed Bind message")
		}
		c.toUpstream(typ, body)
		stmt := c.sess.Prepared(m.stmt)
		p := &portal{stmt: stmt, text: stmt.Text(), params: m.params}
		e := c.entry('B', nil)
		e.undo = c.setPortal(m.portal, p)
		c.push(e)
	case 'E':
		name, err := decodeExecute(body)
		if err != nil {
			return violation("malformed Execute message")
		}
		p := c.portals[name]
		if p == nil || p.stmt == nil {
			d := gateway.ProtocolViolation(fmt.Sprintf("portal %q is unknown to airlock", name))
			c.sess.Deny("EXECUTE portal "+name, d)
			c.denyExtended(d)
			return nil
		}
		var ch *gateway.Check
		if facts, ok := c.ownSignal(p.text, p.params); ok {
			ch = c.sess.CheckCommand(c.ctx, p.text, facts, p.params)
		} else {
			ch = c.sess.CheckPrepared(c.ctx, p.stmt, p.text, p.params)
		}
		if !ch.Decision.Allowed {
			c.denyExtended(ch.Decision)
			return nil
		}
		c.warn(ch)
		if ch.Guard != nil {
			return c.runGuarded(typ, body, ch)
		}
		c.toUpstream(typ, body)
		c.push(c.entry('E', ch))
	case 'D', 'C':
		kind, name, err := decodeTarget(body)
		if err != nil {
			return violation("malformed Describe or Close message")
		}
		c.toUpstream(typ, body)
		e := c.entry(typ, nil)
		if typ == 'C' && kind == 'S' {
			e.undo = c.sess.ClosePrepared(name)
		} else if typ == 'C' {
			e.undo = c.setPortal(name, nil)
		}
		c.push(e)
	case 'S':
		c.skip = false
		c.toUpstream(typ, body)
		c.push(c.entry('S', nil))
		c.answerAll()
		if c.owned {
			// Resolve airlock's own transaction before anything else of
			// the client's goes upstream.
			return c.exchange()
		}
	case 'H':
		c.toUpstream(typ, body)
		c.answerAll()
	case 'F':
		// A FunctionCall names a function by its OID, which airlock cannot
		// check without the catalog: only admins may send one.
		d := c.sess.FunctionCall()
		if !d.Allowed {
			c.sess.Deny("FunctionCall", d)
			c.denySimple(d)
			return nil
		}
		c.toUpstream(typ, body)
		c.push(c.entry('F', nil))
		c.answerAll()
	case 'd', 'c', 'f':
		// Copy messages outside COPY: PostgreSQL ignores them too.
	case 'X':
		return errTerminate
	default:
		return violation("invalid frontend message type %d", typ)
	}
	return nil
}

// setPortal records (p != nil) or forgets a portal as soon as its Bind or
// Close is forwarded, and returns how to undo that if the upstream fails
// or skips the message, as Session.Prepare does for statements.
func (c *conn) setPortal(name string, p *portal) func() {
	old, had := c.portals[name]
	if p == nil {
		delete(c.portals, name)
	} else {
		c.portals[name] = p
	}
	return func() {
		if had {
			c.portals[name] = old
		} else {
			delete(c.portals, name)
		}
	}
}

// denySimple answers a denied Query or FunctionCall: the upstream gets a
// failing Describe and a Sync, whose ReadyForQuery ends the client's query.
func (c *conn) denySimple(d airlock.Decision) {
	c.denyMarker(d)
	c.toUpstream('S', nil)
	c.push(c.entry('S', nil))
	c.answerAll()
}

// denyExtended answers a denied extended-protocol message: the upstream
// fails the batch, and the client's messages up to Sync are dropped.
func (c *conn) denyExtended(d airlock.Decision) {
	c.denyMarker(d)
	c.skip = true
}

func (c *conn) denyMarker(d airlock.Decision) {
	body := make([]byte, 0, len(c.srv.marker)+2)
	body = append(body, 'S')
	body = append(body, c.srv.marker...)
	body = append(body, 0)
	c.toUpstream('D', body)
	e := c.entry(kindDeny, nil)
	e.deny = d
	c.push(e)
}

// drain relays upstream messages until every answerable entry is answered.
func (c *conn) drain() error {
	for c.answerable > 0 {
		if c.ended() {
			// What follows (the error of the statement airlock just
			// cancelled) is not for the client: it gets the reason.
			return errEnded
		}
		typ, n, err := c.ur.header()
		if err != nil {
			return c.upstreamErr(err)
		}
		if (typ == 'D' || typ == 'd') && !c.ownAhead() {
			c.midWrite = true
			if err := c.ur.relay(c.cw, typ, n); err != nil {
				return c.upstreamErr(err)
			}
			c.midWrite = false
			// The rows that follow, already buffered, go in one copy.
			rows := c.ur.relayRun(c.cw)
			if typ == 'D' {
				rows++
			}
			if h := c.head(); h != nil {
				h.rows += rows
			}
			continue
		}
		body, err := c.ur.body(n)
		if err != nil {
			return c.upstreamErr(err)
		}
		if err := c.fromUpstream(typ, body); err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) relayMsg(typ byte, body []byte) {
	c.cw.header(typ, len(body)+4)
	c.cw.Write(body)
}

var errDesync = fmt.Errorf("upstream answered out of order")

// fromUpstream handles one upstream message in the light of the entry it
// answers.
func (c *conn) fromUpstream(typ byte, body []byte) error {
	h := c.head()
	if h != nil && h.kind == kindOwn {
		return c.fromOwn(typ, body)
	}
	switch typ {
	case 'E':
		return c.upstreamError(h, body)
	case 'Z':
		if h == nil || (h.kind != 'S' && h.kind != 'Q' && h.kind != 'F') || len(body) != 1 {
			return errDesync
		}
		c.txStatus = body[0]
		if c.owned && h.kind == 'S' {
			return c.resolveOwned(body[0])
		}
		if body[0] == 'I' {
			// An implicit transaction (a batch up to Sync, a Query of
			// several statements) ended: committed unless the upstream
			// answered an error in it, which rolled it all back with
			// what it captured and the writes that succeeded before.
			c.sess.TxnEnded(!c.upFailed)
		}
		c.upFailed = false
		c.relayMsg(typ, body)
		c.pop()
	case '1', '2', '3': // ParseComplete, BindComplete, CloseComplete
		if h == nil || h.kind != "PBC"[typ-'1'] {
			return errDesync
		}
		c.relayMsg(typ, body)
		c.pop()
	case 't': // ParameterDescription
		c.relayMsg(typ, body)
	case 'T', 'n': // RowDescription, NoData
		c.relayMsg(typ, body)
		if h != nil && h.kind == 'D' {
			c.pop()
		}
	case 'C': // CommandComplete
		if h != nil && h.check != nil && h.check.Rewrite != nil {
			body = append([]byte(h.check.Rewrite.Tag), 0)
		}
		c.relayMsg(typ, body)
		if h == nil {
			return errDesync
		}
		switch h.kind {
		case 'Q':
			c.statementDone(h, commandRows(body), "", tagOf(body))
		case 'E':
			c.statementDone(h, commandRows(body), "", tagOf(body))
			c.pop()
		}
	case 'I': // EmptyQueryResponse
		c.relayMsg(typ, body)
		if h != nil && h.kind == 'Q' {
			c.statementDone(h, 0, "", "")
		} else if h != nil && h.kind == 'E' {
			c.statementDone(h, 0, "", "")
			c.pop()
		}
	case 's': // PortalSuspended
		c.relayMsg(typ, body)
		if h != nil && h.kind == 'E' {
			c.statementDone(h, h.rows, "", "")
			c.pop()
		}
	case 'G': // CopyInResponse
		c.relayMsg(typ, body)
		return c.copyIn()
	case 'W': // CopyBothResponse: replication only, which airlock refuses
		return fmt.Errorf("upstream started COPY BOTH")
	case 'S': // ParameterStatus
		var ps pgproto3.ParameterStatus
		if ps.Decode(body) == nil && ps.Name == "client_encoding" && !strings.EqualFold(ps.Value, "UTF8") {
			// The pinned encoding changed behind airlock's back: end
			// the session rather than misread what follows.
			c.sess.End("the connection's encoding changed to " + ps.Value)
		}
		c.relayMsg(typ, body)
	default:
		// NotificationResponse, NoticeResponse, CopyOutResponse, CopyDone,
		// FunctionCallResponse...
		c.relayMsg(typ, body)
	}
	return nil
}

// statementDone records the outcome of the statement that h runs.
func (c *conn) statementDone(h *pending, rows int64, errText, tag string) {
	if h.check == nil {
		return
	}
	i := h.idx
	if i >= len(h.check.Stmts) {
		return
	}
	if h.kind == 'Q' {
		h.idx++
	}
	h.rows = 0
	// Outside a transaction block, an Execute runs in the implicit
	// transaction of its batch, and a statement of a Query of several
	// in that of the Query: a later error rolls it back.
	inTxn := c.txStatus == 'I' && (h.kind == 'E' || len(h.check.Stmts) > 1)
	c.sess.Done(h.check, i, gateway.Outcome{Rows: rows, Err: errText, Tag: tag, InTxn: inTxn})
	if errText != "" {
		return
	}
	st := &h.check.Stmts[i]
	switch st.Command {
	case "LISTEN":
		c.listening = true
	case "DECLARE CURSOR":
		// A cursor is a portal; executing it by name only fetches.
		c.portals[st.Name] = &portal{stmt: gateway.CursorFetch(st.Text), text: st.Text}
	case "DISCARD ALL":
		clear(c.portals)
		c.planned = 0
	case "DEALLOCATE ALL":
		c.planned = 0
	case "DEALLOCATE", "DEALLOCATE PREPARE":
		if strings.HasPrefix(st.Name, denyPrefix) {
			c.planned = 0 // one of airlock's own, by name
		}
	}
}

// upstreamError handles an ErrorResponse.
func (c *conn) upstreamError(h *pending, body []byte) error {
	c.upFailed = true
	if h == nil {
		c.relayMsg('E', body)
		return nil
	}
	switch h.kind {
	case kindDeny:
		e := denialError(h.deny)
		if h.code != "" {
			e.Code = h.code
		}
		c.send(encode(nil, e))
		c.pop()
		c.skipToSync()
		return nil
	case 'Q':
		c.relayMsg('E', body)
		if !h.failed && h.check != nil {
			h.failed = true
			c.statementDone(h, 0, errorText(body), "")
			for h.idx < len(h.check.Stmts) {
				i := h.idx
				h.idx++
				c.sess.Done(h.check, i, gatewayNotRun())
			}
		}
		return nil
	case 'S', 'F':
		c.relayMsg('E', body)
		return nil
	}
	c.relayMsg('E', body)
	if h.kind == 'E' {
		c.statementDone(h, 0, errorText(body), "")
	}
	undo := h.undo
	c.pop()
	c.skipToSync()
	if undo != nil {
		undo()
	}
	return nil
}

// skipToSync follows the upstream skipping to Sync after an error in the
// extended protocol: queued entries before the next Sync get no answer.
// Their records are undone newest first, so that a name set twice in the
// batch gets back its state from before the batch.
func (c *conn) skipToSync() {
	var undos []func()
	for h := c.head(); h != nil && h.kind != 'S' && h.kind != 'Q' && h.kind != 'F' && h.kind != kindOwn; h = c.head() {
		if h.kind == 'E' && h.check != nil {
			c.sess.Done(h.check, 0, gatewayNotRun())
		}
		if h.undo != nil {
			undos = append(undos, h.undo)
		}
		c.pop()
	}
	for i := len(undos) - 1; i >= 0; i-- {
		undos[i]()
	}
	if c.head() == nil {
		c.skip = true
	}
}

func errorText(body []byte) string {
	var e pgproto3.ErrorResponse
	if e.Decode(body) != nil {
		return "error"
	}
	return e.Code + ": " + e.Message
}

// copyIn relays the client's COPY data until CopyDone or CopyFail.
func (c *conn) copyIn() error {
	if err := c.flush(); err != nil {
		return err
	}
	for {
		if c.cr.buffered() == 0 {
			serverFirst, err := c.copyWait()
			if err != nil {
				return err
			}
			if serverFirst {
				if c.ur.buf[c.ur.r] == 'E' {
					// The server ended the COPY: it ignores the COPY
					// data still to come, and the client must see the
					// error now, not after sending everything.
					return nil
				}
				// A notice or a notification: relayed, and on.
				typ, body, err := c.ur.next()
				if err != nil {
					return c.upstreamErr(err)
				}
				c.relayMsg(typ, body)
				if err := c.flush(); err != nil {
					return err
				}
				continue
			}
		}
		typ, n, err := c.cr.header()
		if err != nil {
			if c.ended() {
				return errEnded
			}
			return err
		}
		switch typ {
		case 'd':
			if err := c.cr.relay(c.uw, typ, n); err != nil {
				return err
			}
		case 'c', 'f':
			body, err := c.cr.body(n)
			if err != nil {
				return err
			}
			c.toUpstream(typ, body)
			if err := c.uw.Flush(); err != nil {
				return c.upstreamErr(err)
			}
			return nil
		case 'H', 'S':
			// Flush and Sync during COPY are ignored by the server.
			if _, err := c.cr.body(n); err != nil {
				return err
			}
		default:
			return violation("unexpected message type %q during COPY", typ)
		}
	}
}

// waitIdle waits for the client's next message while relaying what the
// upstream sends meanwhile (notifications of a LISTEN session).
func (c *conn) waitIdle() error {
	var (
		mu       sync.Mutex
		stopping bool
		reading  bool
		werr     error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if err := c.ur.peek1(); err != nil {
				mu.Lock()
				if !stopping {
					werr = err
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			if stopping {
				mu.Unlock()
				return
			}
			reading = true
			mu.Unlock()
			typ, body, err := c.ur.next()
			if err == nil {
				c.relayMsg(typ, body)
				err = c.flush()
			}
			mu.Lock()
			reading = false
			if err != nil {
				werr = err
				mu.Unlock()
				c.client.SetReadDeadline(time.Now()) // wake the client side
				return
			}
			if stopping {
				mu.Unlock()
				return
			}
			mu.Unlock()
		}
	}()
	cerr := c.cr.peek1()
	mu.Lock()
	stopping = true
	if !reading {
		c.up.conn.SetReadDeadline(time.Now())
	}
	mu.Unlock()
	<-done
	c.up.conn.SetReadDeadline(time.Time{})
	if werr != nil {
		return c.upstreamErr(werr)
	}
	if cerr != nil && c.ended() {
		return errEnded
	}
	return nil
}

// resolveOwned ends, at the client's Sync, the transaction airlock opened
// for a guarded Execute of that batch: committed when the batch went well,
// rolled back when it failed; the client sees the ReadyForQuery of an
// implicit transaction ('I').
func (c *conn) resolveOwned(status byte) error {
	c.owned = false
	c.pop()
	switch status {
	case 'T':
		return c.commitOwned(nil, true, false)
	case 'E':
		if _, err := c.internalQuery("ROLLBACK"); err != nil {
			return err
		}
		c.sess.TxnEnded(false)
	}
	c.send(encode(nil, &pgproto3.ReadyForQuery{TxStatus: 'I'}))
	return nil
}

// warn sends the client a NOTICE for each warn rule that matched an allowed
// statement, before its answer.
func (c *conn) warn(ch *gateway.Check) {
	for _, w := range ch.Decision.Warnings {
		c.send(encode(nil, &pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "01000",
			Message: "airlock: warning: " + w.Rule + ": " + w.Message}))
	}
}

// tagOf returns a CommandComplete's tag; the most common ones without
// allocating.
func tagOf(body []byte) string {
	if n := len(body); n > 0 && body[n-1] == 0 {
		body = body[:n-1]
	}
	switch string(body) {
	case "SELECT 0":
		return "SELECT 0"
	case "SELECT 1":
		return "SELECT 1"
	case "BEGIN":
		return "BEGIN"
	case "COMMIT":
		return "COMMIT"
	case "ROLLBACK":
		return "ROLLBACK"
	case "SET":
		return "SET"
	}
	return string(body)
}
