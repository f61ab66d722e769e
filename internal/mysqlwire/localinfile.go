package mysqlwire

import (
	"errors"

	"airlock"
)

// LOAD DATA LOCAL INFILE: the server answers the statement with a request
// for the client's file (0xFB and the file name the statement gave); the
// client sends its contents as packets ending with an empty one, and the
// server answers as for any write. airlock relays the request only while
// the statement being answered is a LOAD DATA LOCAL it decided (a write,
// run guarded like any other: its rows are counted, captured for undo and
// rolled back over the limit), streams the client's packets to the
// upstream as they come, without holding them, and then reads the answer
// as usual. Any other request for a local file is a protocol violation
// of the upstream, and ends the session.

// localInfile relays one request for the client's data, p, and the data.
func (c *conn) localInfile(t *tracker, p []byte) error {
	if t.ch == nil || t.idx >= len(t.ch.Stmts) || !loadsLocal(&t.ch.Stmts[t.idx]) {
		return errors.New("upstream: the server asked for a local file the statement did not name")
	}
	// The request goes to the client at once, even when the answer is
	// held back: the client has to answer it.
	writePacket(c.cw, &c.cseq, p)
	if err := c.flush(); err != nil {
		return err
	}
	useq := c.up.r.seq + 1
	split := false // the last physical packet was full: its logical packet goes on
	for {
		n, seq, err := c.cr.header()
		if err != nil {
			return err
		}
		if n > maxPayload {
			return errMalformed
		}
		writeHeader(c.up.w, n, useq)
		useq++
		if err := c.cr.relay(c.up.w, n); err != nil {
			return err
		}
		c.cseq = seq + 1 // the answer follows the client's last packet
		if n == 0 && !split {
			break
		}
		split = n == maxPayload
	}
	if err := c.up.w.Flush(); err != nil {
		return c.upstreamErr(err)
	}
	return nil
}

// loadsLocal reports whether st is a LOAD DATA LOCAL statement.
func loadsLocal(st *airlock.Statement) bool { return st.Command == "LOAD DATA LOCAL" }
