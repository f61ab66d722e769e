package mysqlwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/myadmin"
	"airlock/internal/undo"
)

// Guarded writes.
//
// A write the gateway marks guarded runs so that the rows it really
// changed are known before it can commit. Between client commands airlock
// runs, as its own statements,
//
//	START TRANSACTION                  (autocommit on, no transaction open:
//	                                    the transaction is airlock's)
//	SAVEPOINT airlock_guard            (inside the client's transaction)
//	SHOW SESSION STATUS WHERE Variable_name IN
//	    ('Handler_write', 'Handler_update', 'Handler_delete')
//
// then forwards the client's command with its answer held back, and reads
// the counters again. The difference counts every row the statement (and
// the triggers it fired) asked a storage engine to insert, update or
// delete, in every table; internal temporary tables have their own
// counters (Handler_tmp_*) on MariaDB and are not counted. It counts rows
// an UPDATE matched even when the new values equal the old ones, and an
// INSERT's attempts that hit a duplicate key: it errs on the high side.
// InnoDB's foreign-key cascades bypass the handler counters, so a
// guarded DELETE (or REPLACE) of a table that foreign keys with a
// cascading ON DELETE action reference, or an UPDATE (or INSERT ... ON
// DUPLICATE KEY UPDATE) of one with a cascading ON UPDATE action, is
// denied before it runs.
//
// When the gateway asks for undo capture, the statement is also named for
// the capture triggers and what they captured is read back before the
// decision (capture.go); the capture table's own writes are taken out of
// the count.
//
// Over the limit (or when undo is required and the capture is
// incomplete), airlock rolls back to the savepoint (the client's
// transaction goes on) or rolls back its own transaction, and answers the
// denial. Under it, the savepoint is released, or airlock's transaction is
// committed once the statement's audit event is durable, and the held
// answer is relayed (with the in-transaction flag of airlock's own
// transaction cleared). airlock's statements change what ROW_COUNT(),
// FOUND_ROWS() and SHOW WARNINGS report afterwards; the answer itself
// (affected rows, warning count) is the statement's.
//
// Before any write is forwarded, the storage engines of the tables it
// writes are read from information_schema (once per table and session):
// a write to a table of a non-transactional engine (MyISAM, Aria,
// MEMORY...) is denied, since it could not be rolled back.

const (
	changedRows = myadmin.ChangedRows
	// holdMax bounds what airlock holds back of a guarded statement's
	// answer (RETURNING rows); beyond it the statement is denied.
	holdMax = 32 << 20
)

// tableInfo is what the veto knows of a table written to, cached per
// session (myadmin.Veto).
type tableInfo = myadmin.TableInfo

// held is a guarded statement's answer, held back.
type held struct {
	buf      []byte
	pieces   []piece
	overflow bool
	failed   *sqlError // the statement failed
	outs     []gateway.Outcome
	tracker  *tracker
}

// piece is one physical packet of a held answer.
type piece struct {
	off, n   int
	statusAt int // offset of status flags in an OK or EOF packet, or -1
}

func (h *held) add(p []byte, statusAt int) {
	for len(p) >= maxPayload {
		h.addPiece(p[:maxPayload], -1)
		p = p[maxPayload:]
	}
	h.addPiece(p, statusAt)
}

func (h *held) addPiece(p []byte, statusAt int) {
	if p[0] == hdrERR && len(p) < maxPayload {
		// The error is always relayed; what came before it is not
		// needed when it cannot be kept.
		if h.overflow {
			h.buf, h.pieces = h.buf[:0], h.pieces[:0]
		}
	} else if h.overflow || len(h.buf)+len(p) > holdMax {
		h.overflow = true
		h.buf, h.pieces = nil, nil
		return
	}
	h.pieces = append(h.pieces, piece{off: len(h.buf), n: len(p), statusAt: statusAt})
	h.buf = append(h.buf, p...)
}

// addWarning counts one more warning in the packet that ends the held
// answer (an OK packet, or an EOF packet), for a warning airlock adds after
// the answer was read.
func (h *held) addWarning() {
	for i := len(h.pieces) - 1; i >= 0; i-- {
		pc := h.pieces[i]
		if pc.statusAt < 0 {
			continue
		}
		b := h.buf[pc.off : pc.off+pc.n]
		at := pc.statusAt + 2 // OK: status flags, then warnings
		if b[0] == hdrEOF && len(b) == 5 {
			at = 1 // an EOF packet (5 bytes): warnings, then status flags
		}
		if at+2 <= len(b) {
			binary.LittleEndian.PutUint16(b[at:], binary.LittleEndian.Uint16(b[at:])+1)
		}
		return
	}
}

// send relays the held answer; ownTxn clears the in-transaction flag of
// airlock's own transaction from its status flags.
func (c *conn) sendHeld(h *held, ownTxn bool) {
	for _, pc := range h.pieces {
		b := h.buf[pc.off : pc.off+pc.n]
		if ownTxn && pc.statusAt >= 0 && pc.statusAt+2 <= len(b) {
			b[pc.statusAt] &^= byte(statusInTrans)
		}
		writeHeader(c.cw, pc.n, c.cseq)
		c.cseq++
		c.cw.Write(b)
	}
}

// handlerCounts are the session's handler counters: rows written,
// updated and deleted.
type handlerCounts struct{ written, updated, deleted int64 }

func (h handlerCounts) minus(o handlerCounts) handlerCounts {
	return handlerCounts{h.written - o.written, h.updated - o.updated, h.deleted - o.deleted}
}

func (h handlerCounts) total() int64 { return h.written + h.updated + h.deleted }

// counters reads the handler counters of the session.
func (c *conn) counters() (handlerCounts, error) {
	var h handlerCounts
	r, err := c.internal(changedRows)
	if err != nil {
		return h, fmt.Errorf("read row counters: %w", err)
	}
	if len(r.rows) != 3 {
		return h, errors.New("read row counters: unexpected answer")
	}
	for _, row := range r.rows {
		v, err := strconv.ParseInt(row[len(row)-1], 10, 64)
		if err != nil || len(row) != 2 {
			return h, fmt.Errorf("read row counters: %q", row)
		}
		switch strings.ToLower(row[0]) {
		case "handler_write":
			h.written = v
		case "handler_update":
			h.updated = v
		case "handler_delete":
			h.deleted = v
		default:
			return h, fmt.Errorf("read row counters: %q", row[0])
		}
	}
	return h, nil
}

// runGuarded runs an allowed COM_QUERY or COM_STMT_EXECUTE guarded (see
// above), capturing the rows it changes for undo when the gateway asks.
func (c *conn) runGuarded(p []byte, ch *gateway.Check) error {
	owned := c.up.status&statusInTrans == 0 && c.up.status&statusAutocommit != 0
	if owned && c.state.tableLocks {
		// START TRANSACTION would release the client's table locks.
		d := gateway.BlastRadius(ch.Decision.Need,
			"under LOCK TABLES in autocommit mode airlock cannot run a write in a transaction to count its rows; SET autocommit = 0 first (and COMMIT before UNLOCK TABLES)")
		c.sess.Deny(ch.Text, d)
		c.sendDenied(d)
		return nil
	}
	open, rollback := "SAVEPOINT airlock_guard", []string{"ROLLBACK TO SAVEPOINT airlock_guard", "RELEASE SAVEPOINT airlock_guard"}
	if owned {
		open, rollback = "START TRANSACTION", []string{"ROLLBACK"}
	}
	if _, err := c.internal(open); err != nil {
		return c.guardFailed(ch, err, nil)
	}
	capturing, err := c.startCapture(ch)
	abort := rollback
	if capturing {
		abort = append([]string{undo.MyStopCapture}, rollback...)
	}
	if err != nil {
		return c.guardFailed(ch, err, abort)
	}
	before, err := c.counters()
	if err != nil {
		return c.guardFailed(ch, err, abort)
	}
	if err := c.forward(p); err != nil {
		return err
	}
	h := &held{}
	if err := c.response(ch, h); err != nil {
		return err
	}
	// A statement that failed undid itself, but in a multi-statement
	// query the ones before it stand: they are counted and committed as
	// autocommit would have.
	after, err := c.counters()
	if err != nil {
		return c.guardFailed(ch, err, abort)
	}
	diff := after.minus(before)
	changed := diff.total()
	var capt *undo.MyCapture
	if capturing {
		if capt, err = c.endCapture(ch.Guard.UndoID); err != nil {
			return c.guardFailed(ch, err, abort)
		}
		changed -= int64(capt.Rows) // the capture table's own rows
	}
	if h.failed != nil && rollsBackTxn(h.failed, c.up.rollbackOnTimeout) {
		// The server rolled the whole transaction back (and with it
		// what airlock captured in it so far).
		c.sess.TxnEnded(false)
	}
	deny := c.sess.RowsChanged(ch, changed)
	if deny == nil && ch.Guard.Capture && !h.nothingStands() {
		var images []airlock.UndoImage
		if capt != nil {
			images = capt.Images
			changed = capt.Changed(diff.written, diff.updated, diff.deleted, c.replaced(ch))
		}
		deny = c.sess.Captured(ch, images, changed, capturing)
	}
	if deny == nil && h.overflow {
		d := gateway.AnswerTooLarge(ch.Decision.Need, holdMax)
		c.sess.Deny(ch.Text, d)
		deny = &d
	}
	if deny != nil {
		if err := c.undo(rollback); err != nil {
			return err
		}
		if owned {
			c.sess.TxnEnded(false)
		}
		c.sendDenied(*deny)
		return nil
	}
	if why := ch.Irreversible(); why != "" {
		c.warnings = append(c.warnings, gateway.IrreversibleMessage(why))
		h.addWarning()
	}
	h.tracker.flush()
	if !owned {
		// A failed statement may have ended the transaction (a
		// deadlock rolls it back): then there is no savepoint left.
		if _, err := c.internal("RELEASE SAVEPOINT airlock_guard"); err != nil && h.failed == nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		c.sendHeld(h, false)
		return nil
	}
	if err := c.sess.SyncAudit(); err != nil {
		if err := c.undo(rollback); err != nil {
			return err
		}
		c.sess.TxnEnded(false)
		c.sendERR(erSpecificAccess, "42000", "airlock: denied: audit: the audit log cannot record this write; it was rolled back, try again shortly")
		return nil
	}
	if _, err := c.internal("COMMIT"); err != nil {
		var se *sqlError
		if !errors.As(err, &se) {
			return err
		}
		c.sess.TxnEnded(false)
		c.sendERR(se.Code, se.State, se.Message)
		return nil
	}
	c.sess.TxnEnded(true)
	c.sendHeld(h, true)
	return nil
}

// nothingStands reports whether the first statement of a guarded command
// failed, so that nothing it sent changed anything.
func (h *held) nothingStands() bool {
	return h.failed != nil && (len(h.outs) == 0 || h.outs[0].Err != "")
}

// replaced lists the tables REPLACE statements of ch write (schema-
// qualified): the rows REPLACE deletes there were first insert attempts
// that found their key taken.
func (c *conn) replaced(ch *gateway.Check) []string {
	return myadmin.ReplacedTables(c.sess.Database().Database, ch.Stmts)
}

// undo rolls back what a guarded statement did.
func (c *conn) undo(stmts []string) error {
	for _, s := range stmts {
		if _, err := c.internal(s); err != nil {
			return fmt.Errorf("roll back a guarded write: %w", err)
		}
	}
	return nil
}

// guardFailed answers a guarded check that airlock could not run as it
// must: what it did is undone, and the statement is reported as not run.
func (c *conn) guardFailed(ch *gateway.Check, err error, undo []string) error {
	var se *sqlError
	if !errors.As(err, &se) {
		return err
	}
	if err := c.undo(undo); err != nil {
		return err
	}
	for i := range ch.Stmts {
		c.sess.Done(ch, i, gateway.Outcome{NotRun: true})
	}
	c.sendERR(se.Code, se.State, se.Message)
	return nil
}
