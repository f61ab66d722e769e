package pgwire

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"

	"airlock/internal/undo"
)

// ownPlan is a query of airlock's own that the upstream plans once per
// connection: parsed under a name of airlock's the first time it runs on
// the connection, then only bound and executed. A guarded write runs
// several catalog queries (the row counters, the capture's name, the
// captured rows); planning them each time cost the database more than
// running them. $1, where a plan has it, is the call's argument.
type ownPlan struct {
	bit uint64 // its bit in conn.planned
	sql string
	arg bool
}

var (
	// planChangedRows reads the transaction's row counters.
	planChangedRows = &ownPlan{bit: 1 << 0, sql: undo.ChangedRows}
	// planOpenCapture reads the counters, whether the database is
	// prepared for undo and names the capture ($1), in one row.
	planOpenCapture = &ownPlan{bit: 1 << 1, arg: true,
		sql: "SELECT (" + undo.ChangedRows + "), (" + undo.Prepared + "), (" + undo.StartCaptureParam + ")"}
	// planReadCaptured reads and clears what capture $1 saved.
	planReadCaptured = func() []*ownPlan {
		var out []*ownPlan
		for i, q := range undo.ReadCapturedParam {
			out = append(out, &ownPlan{bit: 1 << (2 + i), sql: q, arg: strings.Contains(q, "$1")})
		}
		return out
	}()
)

// planCountAndRead is the counters then the captured rows, after a write
// whose captured rows ride in its flush.
var planCountAndRead = append([]*ownPlan{planChangedRows}, planReadCaptured...)

// queuePlans queues plans, each bound to arg when it takes one, without a
// Sync: each gives one result set to readInternal. A plan not yet parsed
// on this connection is parsed first, after a Close of its name (a Parse
// under a name in use fails, and after an error airlock does not know
// whether its last Parse took; closing a statement that does not exist is
// no error).
func (c *conn) queuePlans(arg string, plans ...*ownPlan) {
	port := c.srv.marker + "_p"
	var b []byte
	for _, p := range plans {
		name := c.srv.marker + "_" + strconv.Itoa(bits.TrailingZeros64(p.bit))
		if c.planned&p.bit == 0 {
			b = append(append(append(b[:0], 'S'), name...), 0)
			c.toUpstream('C', b)
			b = append(append(b[:0], name...), 0)
			b = append(append(b, p.sql...), 0, 0, 0)
			c.toUpstream('P', b)
			c.planned |= p.bit
		}
		closePortal(c, b, port)
		b = append(append(b[:0], port...), 0)
		b = append(append(b, name...), 0)
		b = append(b, 0, 0) // parameters in text
		if p.arg {
			b = append(b, 0, 1)
			b = binary.BigEndian.AppendUint32(b, uint32(len(arg)))
			b = append(b, arg...)
		} else {
			b = append(b, 0, 0)
		}
		b = append(b, 0, 0) // results in text
		c.toUpstream('B', b)
		b = append(append(b[:0], port...), 0, 0, 0, 0, 0)
		c.toUpstream('E', b)
		b = append(append(append(b[:0], 'P'), port...), 0)
		c.toUpstream('C', b)
	}
}

// closePortal queues a Close of airlock's portal ahead of its Bind: an
// Execute that failed left it open (a failed batch skips the Close after
// it, and rolling back to a savepoint does not drop it); closing a portal
// that does not exist is no error.
func closePortal(c *conn, b []byte, port string) {
	b = append(append(append(b[:0], 'P'), port...), 0)
	c.toUpstream('C', b)
}

// plannedQuery runs plans (bound to arg) in one batch and reads the
// answer.
func (c *conn) plannedQuery(arg string, plans ...*ownPlan) (*iresult, error) {
	c.queuePlans(arg, plans...)
	c.toUpstream('S', nil)
	if err := c.uw.Flush(); err != nil {
		return nil, c.upstreamErr(err)
	}
	return c.readInternal()
}
