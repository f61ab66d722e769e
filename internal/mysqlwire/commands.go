package mysqlwire

import (
	"fmt"
	"strings"

	"airlock"
	"airlock/internal/gateway"
	"airlock/internal/myadmin"
	"airlock/internal/undo"
)

// Commands that act on the session rather than run a statement. Each is
// decided and audited like a statement, with facts of its own.

// initDB handles COM_INIT_DB: only the database's own schema (by its
// airlock name or its schema name) or a read-only metadata schema
// (metadataSchema) may be selected.
func (c *conn) initDB(p []byte) error {
	name := string(p[1:])
	db := c.sess.Database()
	text := "USE " + name
	target := db.Database
	if metadataSchema(name) {
		target = strings.ToLower(name)
	}
	if name != db.Name && name != db.Database && !metadataSchema(name) {
		d := gateway.OtherSchema(db.Database, db.Name)
		c.sess.Deny(text, d)
		c.sendDenied(d)
		return nil
	}
	facts := []airlock.Statement{{Kind: airlock.KindSet, Level: airlock.LevelRead, Command: "USE", Name: target, Text: text}}
	ch := c.sess.CheckCommand(c.ctx, text, facts, nil)
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return nil
	}
	if err := c.forward(append([]byte{comInitDB}, target...)); err != nil {
		return err
	}
	return c.response(ch, nil)
}

// fieldList handles COM_FIELD_LIST (the columns of a table, as the mysql
// client reads them for completion): a read of the table.
func (c *conn) fieldList(p []byte) error {
	table, _, err := cstring(p[1:])
	if err != nil {
		table = string(p[1:])
	}
	text := "SHOW COLUMNS FROM " + undo.MyQuoteIdent(table)
	facts := []airlock.Statement{{Kind: airlock.KindShow, Level: airlock.LevelRead, Command: "SHOW COLUMNS", Text: text, Tables: []string{table}}}
	ch := c.sess.CheckCommand(c.ctx, text, facts, nil)
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return nil
	}
	if err := c.forward(p); err != nil {
		return err
	}
	var n int64
	for {
		q, err := c.upNext()
		if err != nil {
			return err
		}
		c.emit(nil, q, -1)
		switch {
		case q[0] == hdrERR:
			e := parseERR(q)
			c.sess.Done(ch, 0, gateway.Outcome{Err: fmt.Sprintf("%d (%s): %s", e.Code, e.State, e.Message)})
			return nil
		case isEOFPacket(q[0], len(q)):
			c.sess.Done(ch, 0, gateway.Outcome{Rows: n})
			return nil
		}
		n++
	}
}

// statistics handles COM_STATISTICS (mysqladmin status): a read of the
// server's counters.
func (c *conn) statistics(p []byte) error {
	ch := c.protocolCheck("COM_STATISTICS", airlock.KindShow, "STATISTICS")
	if ch == nil {
		return nil
	}
	if err := c.forward(p); err != nil {
		return err
	}
	q, err := c.relayOne()
	if err != nil {
		return err
	}
	c.sess.Done(ch, 0, outcomeOf(q))
	return nil
}

// setOption handles COM_SET_OPTION. Turning multi-statements on or off
// is forwarded: the classifier checks every statement of a query either
// way, and the upstream's option stays the client's.
func (c *conn) setOption(p []byte) error {
	if len(p) != 3 {
		c.sendERR(erMalformedPacket, "HY000", "Malformed communication packet")
		return nil
	}
	text := "COM_SET_OPTION MULTI_STATEMENTS_ON"
	if p[1] != 0 || p[2] != 0 {
		text = "COM_SET_OPTION MULTI_STATEMENTS_OFF"
	}
	ch := c.protocolCheck(text, airlock.KindSet, "SET OPTION")
	if ch == nil {
		return nil
	}
	if err := c.forward(p); err != nil {
		return err
	}
	q, err := c.relayOne()
	if err != nil {
		return err
	}
	c.sess.Done(ch, 0, outcomeOf(q))
	return nil
}

// protocolCheck decides and audits a protocol command that acts on the
// session like a statement, with facts of its own (read level); it
// answers a denial and returns nil.
func (c *conn) protocolCheck(text string, kind airlock.Kind, command string) *gateway.Check {
	facts := []airlock.Statement{{Kind: kind, Level: airlock.LevelRead, Command: command, Text: text}}
	ch := c.sess.CheckCommand(c.ctx, text, facts, nil)
	if !ch.Decision.Allowed {
		c.sendDenied(ch.Decision)
		return nil
	}
	return ch
}

// outcomeOf is the outcome of a command answered by one packet.
func outcomeOf(q []byte) gateway.Outcome {
	if len(q) > 0 && q[0] == hdrERR {
		e := parseERR(q)
		return gateway.Outcome{Err: fmt.Sprintf("%d (%s): %s", e.Code, e.State, e.Message)}
	}
	return gateway.Outcome{}
}

// resetConnection handles COM_RESET_CONNECTION: the server resets the
// session (settings, variables, prepared statements, temporary tables),
// and airlock pins its settings again before the client hears OK.
func (c *conn) resetConnection(p []byte) error {
	ch := c.protocolCheck("COM_RESET_CONNECTION", airlock.KindUtility, "RESET CONNECTION")
	if ch == nil {
		return nil
	}
	if err := c.forward(p); err != nil {
		return err
	}
	q, err := c.upNext()
	if err != nil {
		return err
	}
	c.sess.Done(ch, 0, outcomeOf(q))
	if q[0] != hdrOK {
		c.emit(nil, q, -1)
		return nil
	}
	ok := append([]byte(nil), q...)
	c.sess.TxnEnded(false) // the reset rolled back any open transaction
	if err := c.up.setup(c.coll); err != nil {
		c.sess.End("the connection could not be reset: " + firstLine(err.Error()))
		return errEnded
	}
	for id, st := range c.stmts {
		c.sess.ClosePrepared(st.key)
		delete(c.stmts, id)
	}
	for _, name := range c.state.sqlPrepared.names() {
		c.sess.ClosePrepared(name)
	}
	c.state = sessionState{}
	c.emit(nil, ok, -1)
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// metadataSchema reports whether name is information_schema, the
// read-only metadata schema, which a session may make its current schema
// at every level (USE information_schema, as tools do): nothing in it can
// be written, and airlock resolves unqualified names there while it is
// current (gateway.Session.SetSchema).
func metadataSchema(name string) bool { return myadmin.MetadataSchema(name) }

// useDone follows a USE that succeeded: unqualified names now resolve in
// the schema it selected, and a new upstream connection selects it again.
func (c *conn) useDone(st *airlock.Statement) {
	if metadataSchema(st.Name) {
		c.schema = "information_schema"
	} else {
		c.schema = ""
	}
	c.sess.SetSchema(c.schema)
}
