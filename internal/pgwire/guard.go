package pgwire

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Guarded writes.
//
// A write the gateway marks guarded runs so that the rows it really
// changed are known before it can commit. airlock sends, in one flush with
// the client's message, its own statements
//
//	BEGIN; SAVEPOINT airlock_guard; SELECT <changed rows so far>
//
// before it and the count again after it (runGuardedQuery for a simple
// Query, where they are Query messages of their own; runGuarded for an
// Execute, where they use internalQuery's names and their own Sync, after
// the answers to what is in flight).
//
// Outside a transaction block the BEGIN opens one that airlock owns (an
// implicit transaction of the extended protocol becomes explicit, keeping
// what the batch did so far); inside the client's block it only warns
// (SQLSTATE 25001), and the savepoint alone scopes the statement. The
// client's statement runs with its answer held back: the difference of
// the counts (undo.ChangedRows) is every row version inserted, updated or
// deleted in user tables by the statement, its triggers, cascades and
// data-modifying CTEs. When the client's statement fails, the count after
// it fails (the block is aborted) or is skipped (to its Sync): nothing
// changed, and the client gets the database's answer.
//
// Over the limit, airlock rolls back to the savepoint (the client's
// transaction stays usable) or rolls back its own transaction (an implicit
// batch is aborted, as an error would abort it) and answers 42501. Under
// it, the held-back answer is relayed; a transaction airlock owns is
// committed after the statement's audit event is durable: at once for a
// simple query, at the client's Sync for the extended protocol. The
// savepoint of a write in the client's block is released on the way to the
// client's next message (kindOwn).

const (
	// holdMax bounds what airlock holds back of a guarded statement's
	// answer (a RETURNING clause); beyond it the statement is denied.
	holdMax = 32 << 20
)

// iresult is the answer to an internal query.
type iresult struct {
	sets    [][][]*string
	notices []string // SQLSTATEs of notices and warnings
	errBody []byte   // the ErrorResponse, when the query failed
	status  byte
}

func (r *iresult) warned(code string) bool {
	for _, n := range r.notices {
		if n == code {
			return true
		}
	}
	return false
}

// value returns the first column of the first row of result set i.
func (r *iresult) value(i int) string {
	if i >= len(r.sets) || len(r.sets[i]) == 0 || len(r.sets[i][0]) == 0 {
		return ""
	}
	return str(r.sets[i][0][0])
}

// column returns column j of the first row of result set i.
func (r *iresult) column(i, j int) string {
	if i >= len(r.sets) || len(r.sets[i]) == 0 || len(r.sets[i][0]) <= j {
		return ""
	}
	return str(r.sets[i][0][j])
}

// counter returns result set i's first value as a number.
func (r *iresult) counter(i int) (int64, error) {
	n, err := strconv.ParseInt(r.value(i), 10, 64)
	if err != nil {
		return 0, errors.New("upstream: no row counters")
	}
	return n, nil
}

// held is a guarded statement's answer, held back.
type held struct {
	buf      []byte
	lastC    []byte // the last CommandComplete, kept apart for a failed commit
	tagRows  []int64
	failed   bool
	errText  string
	status   byte // ReadyForQuery status (simple query)
	overflow bool
	copied   bool // the statement read COPY data from the client
}

func (h *held) add(typ byte, body []byte) {
	if h.overflow {
		return
	}
	if len(h.buf)+len(body) > holdMax {
		h.overflow = true
		h.buf = nil
		return
	}
	h.buf = appendMsg(h.buf, typ, body)
}

// runGuarded runs an allowed Query or Execute guarded (see above).
func (c *conn) runGuarded(typ byte, body []byte, ch *gateway.Check) error {
	if typ == 'Q' {
		return c.runGuardedQuery(body, ch)
	}
	if c.queue.len() > 0 {
		c.toUpstream('H', nil)
		c.answerAll()
	}
	if err := c.exchange(); err != nil {
		return err
	}
	if c.skip || c.queue.len() > 0 {
		// An earlier message of the batch failed: the upstream skips
		// this one too, and so does airlock.
		return nil
	}
	// One flush: the opening statements (their Sync ends no transaction:
	// the BEGIN made the batch's explicit), the Execute, and the count
	// after it, which the upstream skips, up to its Sync, when the
	// Execute fails.
	pipelined := !copiesIn(ch)
	capture := pipelined && ch.Guard.Capture && c.capturing
	c.queueOpening(ch)
	c.toUpstream(typ, body)
	if pipelined {
		c.queueAfter(ch, capture)
	} else {
		c.toUpstream('H', nil)
	}
	if err := c.uw.Flush(); err != nil {
		return c.upstreamErr(err)
	}
	pre, err := c.readInternal()
	if err != nil {
		return err
	}
	h, err := c.collect(false)
	if err != nil {
		return err
	}
	if pipelined && h.copied {
		return errors.New("upstream: a guarded statement started COPY FROM STDIN unannounced")
	}
	var post *iresult
	switch {
	case pipelined:
		post, err = c.readInternal()
	case !h.failed:
		post, err = c.plannedQuery("", planChangedRows)
	}
	if err != nil {
		return err
	}
	// airlock owns the block when its BEGIN opened it, now or for an
	// earlier guarded Execute of the same batch.
	owned := c.owned || (pre.errBody == nil && !pre.warned("25001"))
	c.owned = false
	if pre.errBody != nil && !h.failed {
		return fmt.Errorf("upstream: a guarded statement ran although its guard failed: %s", errorText(pre.errBody))
	}
	if h.failed {
		// The transaction is failed (before the statement, or by it):
		// the statement changed nothing; the client gets the database's
		// answer, and airlock skips to the client's Sync as the upstream
		// would have; a transaction airlock owns is rolled back there.
		c.send(h.buf)
		c.guardedDone(ch, h)
		c.owned = owned
		c.skip = true
		return nil
	}
	before, err := pre.counter(2)
	if err != nil {
		return err
	}
	prepared := c.notePrepared(ch, pre)
	captured, lost := splitCaptured(capture, prepared, post)
	if lost {
		return c.guardedRollback('E', owned, *c.sess.CaptureLost(ch))
	}
	if post.errBody != nil {
		return fmt.Errorf("upstream: count the rows changed: %s", errorText(post.errBody))
	}
	after, err := post.counter(0)
	if err != nil {
		return err
	}
	if prepared && !capture {
		if captured, err = c.plannedQuery(ch.Guard.UndoID, planReadCaptured...); err != nil {
			return err
		}
		if captured.errBody != nil {
			return fmt.Errorf("upstream: read the captured rows: %s", errorText(captured.errBody))
		}
	}
	if deny := c.judgeGuarded(ch, h, after-before, prepared, captured); deny != nil {
		return c.guardedRollback('E', owned, *deny)
	}
	c.guardedDone(ch, h)
	if !owned {
		// Released on the way to the client's next message, with a
		// Sync of its own, harmless inside the client's block.
		c.queueInternal("RELEASE SAVEPOINT airlock_guard")
		c.push(c.entry(kindOwn, nil))
	}
	c.send(h.buf)
	c.send(h.lastC)
	c.owned = owned
	return nil
}

// guardedDone audits the statements of a guarded check.
func (c *conn) guardedDone(ch *gateway.Check, h *held) {
	for i := range ch.Stmts {
		switch {
		case i < len(h.tagRows):
			c.sess.Done(ch, i, gatewayOutcome(h.tagRows[i], ""))
		case i == len(h.tagRows) && h.failed:
			c.sess.Done(ch, i, gatewayOutcome(0, h.errText))
		default:
			c.sess.Done(ch, i, gatewayNotRun())
		}
	}
}

// guardedRollback undoes a guarded statement that is denied after it ran.
func (c *conn) guardedRollback(typ byte, owned bool, d airlock.Decision) error {
	status := byte('T')
	undo := []string{"ROLLBACK TO SAVEPOINT airlock_guard", "RELEASE SAVEPOINT airlock_guard"}
	if owned {
		undo, status = []string{"ROLLBACK"}, 'I'
	}
	r, err := c.internalQuery(undo...)
	if err != nil {
		return err
	}
	if r.errBody != nil {
		return fmt.Errorf("upstream: roll back a denied write: %s", errorText(r.errBody))
	}
	c.send(encode(nil, &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "42501", Message: d.Message(), Hint: d.Hint}))
	if typ == 'Q' {
		c.send(encode(nil, &pgproto3.ReadyForQuery{TxStatus: status}))
	} else {
		c.skip = true // messages up to Sync are skipped, as after any error
	}
	return nil
}

// commitOwned commits the transaction airlock opened, once the audit
// events are durable, and relays the held answer (without its last
// CommandComplete when the commit fails, as PostgreSQL answers a failed
// implicit commit) and a ReadyForQuery when ready is set. simple runs the
// commit as a simple Query, for when the client's unnamed statement is
// gone anyway (after its own Query).
func (c *conn) commitOwned(h *held, ready, simple bool) error {
	run := c.internalQuery
	if simple {
		run = c.ownQueryNow
	}
	if err := c.sess.SyncAudit(); err != nil {
		if _, rerr := run("ROLLBACK"); rerr != nil {
			return rerr
		}
		c.sess.TxnEnded(false)
		c.send(encode(nil, &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "42501",
			Message: "airlock: denied: audit: the audit log cannot record this write; it was rolled back, try again shortly"}))
	} else {
		r, err := run("COMMIT")
		if err != nil {
			return err
		}
		c.sess.TxnEnded(r.errBody == nil)
		if h != nil {
			c.send(h.buf)
		}
		if r.errBody != nil {
			c.send(appendMsg(nil, 'E', r.errBody))
		} else if h != nil {
			c.send(h.lastC)
		}
	}
	if ready {
		c.send(encode(nil, &pgproto3.ReadyForQuery{TxStatus: 'I'}))
	}
	return nil
}

// collect reads the answer to a guarded statement, holding it back. For a
// simple query it reads up to ReadyForQuery (not held); for an Execute, up
// to its completion. COPY FROM STDIN is relayed as it comes.
func (c *conn) collect(simple bool) (*held, error) {
	h := &held{}
	for {
		typ, body, err := c.ur.next()
		if err != nil {
			return nil, c.upstreamErr(err)
		}
		switch typ {
		case 'C':
			if h.lastC != nil {
				h.add('C', h.lastC[5:])
			}
			h.lastC = appendMsg(nil, 'C', body)
			h.tagRows = append(h.tagRows, commandRows(body))
			if !simple {
				return h, nil
			}
		case 'E':
			if h.lastC != nil {
				h.add('C', h.lastC[5:])
				h.lastC = nil
			}
			h.failed, h.errText = true, errorText(body)
			h.buf = appendMsg(h.buf, typ, body) // always kept: the client must see it
			if !simple {
				return h, nil
			}
		case 'I', 's':
			h.add(typ, body)
			h.tagRows = append(h.tagRows, 0)
			if !simple {
				return h, nil
			}
		case 'G':
			h.copied = true
			c.send(h.buf)
			h.buf = h.buf[:0]
			c.relayMsg(typ, body)
			if err := c.copyIn(); err != nil {
				return nil, err
			}
		case 'Z':
			if simple {
				h.status = body[0]
				c.txStatus = body[0]
				return h, nil
			}
			return nil, errDesync
		default:
			h.add(typ, body)
		}
	}
}

// kindOwn marks a queued entry for statements of airlock's own, ending
// with a ReadyForQuery, whose answer is read with the client's next ones
// and never reaches the client (fromOwn).
const kindOwn = '~'

// runGuardedQuery runs an allowed simple Query guarded, pipelined: one
// flush carries airlock's opening statements, the client's Query and the
// count after it, each a Query message of its own, so that an error in
// one aborts only that one (the upstream's transaction block, which the
// opening BEGIN makes explicit, is then failed: nothing after it can
// change rows). A COPY FROM STDIN cannot be followed by another message
// before its data, so its count is read after it instead.
func (c *conn) runGuardedQuery(body []byte, ch *gateway.Check) error {
	// The release of an earlier guarded write's savepoint, alone in
	// flight, is read with the rest; anything else is answered first.
	releasing := c.ownAhead() && c.queue.len() == 1
	if !releasing {
		if err := c.exchange(); err != nil {
			return err
		}
		if c.skip || c.queue.len() > 0 {
			return nil
		}
	}
	pipelined := !copiesIn(ch)
	capture := pipelined && ch.Guard.Capture && c.capturing
	c.queueOpening(ch)
	c.toUpstream('Q', body)
	if pipelined {
		c.queueAfter(ch, capture)
	}
	if err := c.uw.Flush(); err != nil {
		return c.upstreamErr(err)
	}
	if releasing {
		r, err := c.readInternal()
		if err != nil {
			return err
		}
		if r.errBody != nil {
			return fmt.Errorf("upstream: release a guarded statement's savepoint: %s", errorText(r.errBody))
		}
		c.pop()
	}
	pre, err := c.readInternal()
	if err != nil {
		return err
	}
	h, err := c.collect(true)
	if err != nil {
		return err
	}
	if pipelined && h.copied {
		return errors.New("upstream: a guarded statement started COPY FROM STDIN unannounced")
	}
	var post *iresult
	if pipelined {
		if post, err = c.readInternal(); err != nil {
			return err
		}
	}
	if pre.errBody != nil {
		// The transaction is failed: the statement cannot have changed
		// anything either; the client gets the database's answer.
		if !h.failed {
			return fmt.Errorf("upstream: a guarded statement ran although its guard failed: %s", errorText(pre.errBody))
		}
		c.send(h.buf)
		c.guardedDone(ch, h)
		c.send(encode(nil, &pgproto3.ReadyForQuery{TxStatus: c.txStatus}))
		return nil
	}
	// airlock owns the block when its BEGIN opened it, now or for a
	// guarded Execute before it, in a batch the Query ends.
	owned := c.owned || !pre.warned("25001")
	c.owned = false
	before, err := pre.counter(2)
	if err != nil {
		return err
	}
	prepared := c.notePrepared(ch, pre)

	if h.failed {
		c.send(h.buf)
		c.guardedDone(ch, h)
		status := h.status
		if pipelined {
			status = c.txStatus
		}
		if owned {
			if _, err := c.ownQueryNow("ROLLBACK"); err != nil {
				return err
			}
			c.sess.TxnEnded(false)
			status = 'I'
		}
		c.send(encode(nil, &pgproto3.ReadyForQuery{TxStatus: status}))
		return nil
	}

	captured, lost := splitCaptured(capture, prepared, post)
	if lost {
		return c.guardedRollback('Q', owned, *c.sess.CaptureLost(ch))
	}
	var read []*ownPlan
	if !pipelined {
		read = append(read, planChangedRows)
	}
	if prepared && !capture {
		read = append(read, planReadCaptured...)
	}
	if len(read) > 0 {
		r, err := c.plannedQuery(ch.Guard.UndoID, read...)
		if err != nil {
			return err
		}
		if r.errBody != nil {
			return fmt.Errorf("upstream: count the rows changed: %s", errorText(r.errBody))
		}
		if !pipelined {
			post = &iresult{sets: r.sets[:1]}
			r.sets = r.sets[1:]
		}
		captured = r
	}
	if post.errBody != nil {
		return fmt.Errorf("upstream: count the rows changed: %s", errorText(post.errBody))
	}
	after, err := post.counter(0)
	if err != nil {
		return err
	}
	if deny := c.judgeGuarded(ch, h, after-before, prepared, captured); deny != nil {
		return c.guardedRollback('Q', owned, *deny)
	}
	c.guardedDone(ch, h)
	if owned {
		return c.commitOwned(h, true, true)
	}
	// The savepoint is released on the way to the client's next
	// statement: its answer is read, and checked, before that one's.
	c.ownQuery("RELEASE SAVEPOINT airlock_guard")
	c.push(c.entry(kindOwn, nil))
	c.send(h.buf)
	c.send(h.lastC)
	c.send(encode(nil, &pgproto3.ReadyForQuery{TxStatus: 'T'}))
	return nil
}

// fromOwn reads the answer to a simple Query of airlock's own that was
// queued ahead of the client's messages: nothing of it reaches the client
// but notifications; an error ends the session's connection (the state of
// the client's transaction would be unknown).
func (c *conn) fromOwn(typ byte, body []byte) error {
	switch typ {
	case 'Z':
		if len(body) != 1 {
			return errDesync
		}
		c.txStatus = body[0]
		c.pop()
	case 'E':
		return fmt.Errorf("upstream: release a guarded statement's savepoint: %s", errorText(body))
	case 'A':
		c.relayMsg(typ, body)
	}
	return nil
}

// ownQueryNow runs sql as a simple Query of airlock's own and returns its
// answer (see ownQuery for where it may be used).
func (c *conn) ownQueryNow(sqls ...string) (*iresult, error) {
	c.ownQuery(strings.Join(sqls, "; "))
	if err := c.uw.Flush(); err != nil {
		return nil, c.upstreamErr(err)
	}
	return c.readInternal()
}

// ownAhead reports whether the next answer is to a Query of airlock's own.
func (c *conn) ownAhead() bool {
	h := c.head()
	return h != nil && h.kind == kindOwn
}

// copiesIn reports whether a check holds a COPY FROM, whose data the
// upstream waits for before it reads any other message: nothing of
// airlock's may follow it in the same flush.
func copiesIn(ch *gateway.Check) bool {
	for i := range ch.Stmts {
		if ch.Stmts[i].Kind == airlock.KindCopyFrom {
			return true
		}
	}
	return false
}

// queueOpening queues, with a Sync, what precedes a guarded write:
// airlock's BEGIN and SAVEPOINT, then the row counters so far and, when
// the write is captured for undo, whether the database is prepared and
// the capture's name (naming it is harmless where nothing captures), in
// one row: three result sets for readInternal.
func (c *conn) queueOpening(ch *gateway.Check) {
	c.queueStatements("BEGIN", "SAVEPOINT airlock_guard")
	if ch.Guard.Capture {
		c.queuePlans(ch.Guard.UndoID, planOpenCapture)
	} else {
		c.queuePlans("", planChangedRows)
	}
	c.toUpstream('S', nil)
}

// queueAfter queues, with a Sync, what follows a guarded write in its
// flush: the row counters and, with capture, the reading of the rows the
// write captured, when an earlier guarded write on this connection found
// the database prepared (the first one reads them in a round trip of
// their own, after the opening said whether there is a capture to read).
func (c *conn) queueAfter(ch *gateway.Check, capture bool) {
	if capture {
		c.queuePlans(ch.Guard.UndoID, planCountAndRead...)
	} else {
		c.queuePlans("", planChangedRows)
	}
	c.toUpstream('S', nil)
}

// notePrepared returns whether the opening found the database prepared
// for a captured write, and remembers it for the connection's next one.
func (c *conn) notePrepared(ch *gateway.Check, pre *iresult) bool {
	if !ch.Guard.Capture {
		return false
	}
	c.capturing = pre.column(2, 1) == "t"
	return c.capturing
}

// splitCaptured takes the captured rows off the answer that followed a
// write when they were read with the counters (capture), and reports the
// capture lost: the database was prepared at the previous write and is
// not now, so reading the captured rows failed and took the write's
// transaction with it; the write must be rolled back and run again.
func splitCaptured(capture, prepared bool, post *iresult) (captured *iresult, lost bool) {
	if !capture || post == nil {
		return nil, false
	}
	if post.errBody != nil {
		return nil, !prepared
	}
	if len(post.sets) > 1 {
		captured = &iresult{sets: post.sets[1:]}
		post.sets = post.sets[:1]
	}
	return captured, false
}

// judgeGuarded decides a guarded statement's outcome from the rows it
// changed and, when the database captures, the rows captured: a denial
// (blast radius, undo required, an answer too large to hold back) for the
// caller to roll back, or nil with the client told, by a NOTICE, when the
// statement cannot be undone.
func (c *conn) judgeGuarded(ch *gateway.Check, h *held, changed int64, prepared bool, captured *iresult) *airlock.Decision {
	deny := c.sess.RowsChanged(ch, changed)
	if deny == nil && ch.Guard.Capture {
		var images []airlock.UndoImage
		if prepared {
			images = undo.Images(captured.sets[0])
		}
		deny = c.sess.Captured(ch, images, changed, prepared)
	}
	if deny == nil && h.overflow {
		d := gateway.AnswerTooLarge(ch.Decision.Need, holdMax)
		c.sess.Deny(ch.Text, d)
		deny = &d
	}
	if deny != nil {
		return deny
	}
	if why := ch.Irreversible(); why != "" {
		c.send(encode(nil, &pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000",
			Message: gateway.IrreversibleMessage(why)}))
	}
	return nil
}
