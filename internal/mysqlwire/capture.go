package mysqlwire

import (
	"errors"
	"fmt"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/undo"
)

// Undo capture and the transactions it follows.
//
// When the gateway asks for a guarded write to be captured (and the
// database is prepared: its schema has airlock's capture table), airlock
// names the statement before forwarding it, inside the transaction or
// savepoint the guard opened,
//
//	SET @airlock_stmt = 'u_...', @airlock_tries = 0
//
// so that the triggers `airlock databases prepare` installed write every
// row it changes, before and after, to airlock_capture (see
// internal/undo). After the statement airlock reads those rows, deletes
// them (by primary key, so that concurrent sessions never wait for each
// other) and clears the name, all before anything can commit; the gateway
// stores them as the statement's undo record (Session.Captured), pending
// until its transaction is seen to commit.
//
// The handler counters count the capture table's own writes: they are
// taken out of the rows a statement changed, and the rest is compared
// with the rows captured (see undo.MyCapture.Changed), so that a changed
// row of a table without the triggers makes the capture incomplete.
//
// A transaction airlock owns ends with airlock's own COMMIT or ROLLBACK.
// For the client's transactions, the session follows COMMIT, ROLLBACK,
// savepoints and BEGIN (which commits an open transaction), and the
// server's in-transaction status flag: a statement after which the
// transaction is no longer open, without being COMMIT or ROLLBACK,
// committed it implicitly (DDL, LOCK TABLES, SET autocommit = 1...). An
// error that rolls the whole transaction back (a deadlock; a lock wait
// timeout with innodb_rollback_on_timeout) voids what was captured in it,
// and so does COM_RESET_CONNECTION.

// Clients may not touch what the capture relies on: a statement that names
// one of the variables (@airlock_stmt, @airlock_tries) or writes to the
// capture table is denied, or a session could turn its capture off, or
// make uncaptured rows look accounted for, where undo is required.

// ER_LOCK_WAIT_TIMEOUT, ER_LOCK_TABLE_FULL, ER_LOCK_DEADLOCK.
const (
	erLockWaitTimeout = 1205
	erLockTableFull   = 1206
	erLockDeadlock    = 1213
)

// rollsBackTxn reports whether InnoDB rolled back the whole transaction
// when it answered e.
func rollsBackTxn(e *sqlError, onTimeout bool) bool {
	switch e.Code {
	case erLockDeadlock, erLockTableFull:
		return true
	case erLockWaitTimeout:
		return onTimeout
	}
	return false
}

// startCapture names the guarded statement for the capture triggers when
// the gateway asks for its capture and the database is prepared; it
// reports whether it did.
func (c *conn) startCapture(ch *gateway.Check) (bool, error) {
	if !ch.Guard.Capture {
		return false, nil
	}
	if !c.undoReady {
		r, err := c.internal(undo.MyPrepared(c.sess.Database().Database))
		if err != nil {
			return false, fmt.Errorf("find the undo capture table: %w", err)
		}
		if len(r.rows) != 1 || len(r.rows[0]) != 1 {
			return false, errors.New("find the undo capture table: unexpected answer")
		}
		// Once prepared, a database stays so; until then, each guarded
		// write looks again.
		c.undoReady = r.rows[0][0] != "0"
	}
	if !c.undoReady {
		return false, nil
	}
	if _, err := c.internal(undo.MyStartCapture(ch.Guard.UndoID)); err != nil {
		return false, err
	}
	return true, nil
}

// endCapture reads what statement id captured, deletes it from the
// capture table and stops the capture.
func (c *conn) endCapture(id string) (*undo.MyCapture, error) {
	schema := c.sess.Database().Database
	r, err := c.internal(undo.MyReadCaptured(schema, id))
	if err != nil {
		return nil, fmt.Errorf("read the captured rows: %w", err)
	}
	capt, err := undo.MyCaptured(r.rows)
	if err != nil {
		return nil, err
	}
	for _, s := range append(undo.MyClearCaptured(schema, capt.IDs), undo.MyStopCapture) {
		if _, err := c.internal(s); err != nil {
			return nil, fmt.Errorf("clear the captured rows: %w", err)
		}
	}
	return capt, nil
}

// followTxn tells the session how a statement of the client, which the
// server answered with out (e when it failed), ended a transaction that
// was open before it (wasIn) or not: a successful COMMIT is tagged so;
// what the in-transaction flag shows (or the error says) is reported with
// Session.TxnEnded. It returns whether a transaction is open after it.
func (c *conn) followTxn(st *airlock.Statement, out *gateway.Outcome, e *sqlError, wasIn bool) bool {
	if e != nil {
		if rollsBackTxn(e, c.up.rollbackOnTimeout) {
			c.sess.TxnEnded(false)
			return false
		}
		return wasIn
	}
	if out.NotRun || out.Err != "" {
		return wasIn
	}
	nowIn := c.up.status&statusInTrans != 0
	out.InTxn = nowIn // autocommit off: the write waits for COMMIT
	switch st.Txn {
	case airlock.TxnCommit:
		out.Tag = "COMMIT" // the session marks what it captured committed
	case airlock.TxnRollback, airlock.TxnSavepoint, airlock.TxnRelease, airlock.TxnRollbackTo:
		// The session follows these itself.
	case airlock.TxnBegin:
		if wasIn {
			c.sess.TxnEnded(true) // BEGIN commits the open transaction
		}
	default:
		if wasIn && !nowIn {
			c.sess.TxnEnded(true) // an implicit commit
		}
	}
	return nowIn
}
