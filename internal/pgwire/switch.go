package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"airlock"
	"airlock/internal/undo"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// maybeSwitch moves the session to an upstream connection made with the
// credential of the level it holds now, when they differ (a grant started
// or ended). It switches only at a transaction boundary with nothing in
// flight, carrying the session's settings and prepared statements over;
// when the session holds state that cannot move (LISTEN, holdable cursors,
// advisory locks, temporary tables), it ends the session instead, saying
// why and how to go on.
func (c *conn) maybeSwitch() error {
	want := c.sess.Level()
	if want == c.up.level || c.queue.len() > 0 || c.midBatch || c.skip || c.txStatus != 'I' {
		return nil
	}
	from := c.up.level
	st, err := c.readSessionState()
	if err != nil {
		return err
	}
	if st.blocker == "" {
		st.blocker = c.unmovableSetting(st)
	}
	if st.blocker != "" {
		c.sess.End(fmt.Sprintf("access changed from %s to %s, and this session holds %s, which cannot move to a new connection; reconnect to continue at %s", from, want, st.blocker, want))
		return errEnded
	}
	cred, ok := c.sess.Credential(want)
	if !ok {
		c.sess.End(fmt.Sprintf("access changed to %s, which has no credential on this database", want))
		return errEnded
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.dialTO)
	defer cancel()
	up, err := dialUpstream(ctx, c.sess.Database(), cred, want, c.runtime(want), st.replay)
	if err != nil {
		c.sess.UpstreamFailed()
		c.log.Warn("switch upstream", "to", want, "err", err)
		c.sess.End(fmt.Sprintf("access changed from %s to %s, but the new connection could not be prepared; reconnect to continue", from, want))
		return errEnded
	}
	// Tell the client about reported parameters that differ.
	for k, v := range up.params {
		if k != "application_name" && c.up.params[k] != v {
			c.send(encode(nil, &pgproto3.ParameterStatus{Name: k, Value: v}))
		}
	}
	c.closeUpstream()
	c.upMu.Lock()
	c.up = up
	c.upMu.Unlock()
	c.planned, c.capturing = 0, false // a new connection holds none of airlock's plans
	c.srv.setBackend(c, c.owner(), up.pid)
	c.ur = newMsgReader(c.watch(up.conn), upBufs, 0)
	c.uw.Reset(up.conn)
	c.log.Info("upstream switched", "from", from, "to", want)
	return nil
}

// unmovableSetting returns, for the first setting the session made that
// its level now does not allow (one an admin grant allowed, say), what to
// tell the client; "" when every setting may be carried over. Replaying a
// setting is deciding it anew: it goes through the same decision as the
// client's own set_config would.
func (c *conn) unmovableSetting(st *sessionState) string {
	for _, s := range st.settings {
		text := "SELECT pg_catalog.set_config(" + undo.QuoteLiteral(s[0]) + ", " + undo.QuoteLiteral(s[1]) + ", false)"
		if d := c.sess.Allows(text); !d.Allowed {
			return fmt.Sprintf("the setting %s (%s)", s[0], d.Reason)
		}
	}
	return ""
}

// runtime is the upstream startup parameters for a connection at level.
func (c *conn) runtime(level airlock.Level) map[string]string {
	m := make(map[string]string, len(c.runtimeBase)+1)
	for k, v := range c.runtimeBase {
		m[k] = v
	}
	if level <= airlock.LevelRead {
		m["default_transaction_read_only"] = "on"
	}
	c.levelTimeout(m, level)
	return m
}

// sessionState is what a session holds on its upstream connection.
type sessionState struct {
	blocker  string
	settings [][2]string // name, value set in this session
	prepared []preparedStmt
}

type preparedStmt struct {
	name, statement string
	oids            []uint32
	fromSQL         bool
}

// replay re-creates the state on a new connection.
func (st *sessionState) replay(ctx context.Context, pc *pgconn.PgConn) error {
	for _, s := range st.settings {
		rr := pc.ExecParams(ctx, "SELECT pg_catalog.set_config($1, $2, false)", [][]byte{[]byte(s[0]), []byte(s[1])}, nil, nil, nil)
		if _, err := rr.Close(); err != nil {
			return fmt.Errorf("carry setting %s over: %w", s[0], err)
		}
	}
	for _, p := range st.prepared {
		if p.fromSQL {
			if _, err := pc.Exec(ctx, p.statement).ReadAll(); err != nil {
				return fmt.Errorf("carry prepared statement %s over: %w", p.name, err)
			}
			continue
		}
		if _, err := pc.Prepare(ctx, p.name, p.statement, p.oids); err != nil {
			return fmt.Errorf("carry prepared statement %s over: %w", p.name, err)
		}
	}
	return nil
}

// stateQuery reads, on the session's own upstream connection, what would
// not survive a reconnection and what must be carried over.
var stateQuery = []string{`SELECT (SELECT count(*) FROM pg_catalog.pg_listening_channels()),
 (SELECT count(*) FROM pg_catalog.pg_cursors WHERE is_holdable),
 (SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()),
 (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = pg_catalog.pg_my_temp_schema())`,
	`SELECT name, setting FROM pg_catalog.pg_settings WHERE source = 'session' AND name NOT IN ('default_transaction_read_only', 'transaction_read_only', 'application_name', 'client_encoding')`,
	`SELECT name, statement, parameter_types::oid[]::text, from_sql FROM pg_catalog.pg_prepared_statements WHERE name NOT LIKE 'airlock\_denied\_%'`}

func (c *conn) readSessionState() (*sessionState, error) {
	r, err := c.internalQuery(stateQuery...)
	if err != nil {
		return nil, err
	}
	if r.errBody != nil {
		return nil, errors.New("upstream: " + errorText(r.errBody))
	}
	sets := r.sets
	if len(sets) != 3 || len(sets[0]) != 1 {
		return nil, errors.New("upstream: unexpected answer to the session state query")
	}
	st := &sessionState{}
	counts := sets[0][0]
	for i, what := range []string{"LISTEN channels", "holdable cursors", "advisory locks", "temporary tables"} {
		if str(counts[i]) != "0" {
			st.blocker = what
			break
		}
	}
	for _, r := range sets[1] {
		st.settings = append(st.settings, [2]string{str(r[0]), str(r[1])})
	}
	for _, r := range sets[2] {
		p := preparedStmt{name: str(r[0]), statement: str(r[1]), fromSQL: str(r[3]) == "t"}
		for _, o := range strings.Split(strings.Trim(str(r[2]), "{}"), ",") {
			if o == "" {
				continue
			}
			n, err := strconv.ParseUint(o, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("upstream: parameter type %q", o)
			}
			p.oids = append(p.oids, uint32(n))
		}
		st.prepared = append(st.prepared, p)
	}
	return st, nil
}

// internalQuery runs SQL of airlock's own on the upstream when nothing
// else is in flight, and returns its answer: every result set's rows as
// text, the notices' SQLSTATEs, the first error. Nothing of it reaches
// the client, and it is not audited: it reads the session's own state or
// scopes a guarded statement (transaction control and row counters).
//
// It uses the extended protocol with a statement and a portal whose names
// no client may use, so that the client's unnamed statement and portal
// survive (a simple Query would drop them), and ends with a Sync, which is
// harmless in the two places it runs: at a transaction boundary, or inside
// a transaction block (airlock's first internal statement in a batch is
// BEGIN, which makes an implicit transaction explicit).
func (c *conn) internalQuery(sqls ...string) (*iresult, error) {
	c.queueInternal(sqls...)
	if err := c.uw.Flush(); err != nil {
		return nil, c.upstreamErr(err)
	}
	return c.readInternal()
}

// queueInternal queues what internalQuery sends, to be read with
// readInternal after a flush.
func (c *conn) queueInternal(sqls ...string) {
	c.queueStatements(sqls...)
	c.toUpstream('S', nil)
}

// queueStatements queues sqls as queueInternal does, without the Sync.
func (c *conn) queueStatements(sqls ...string) {
	stmt, port := c.srv.marker+"_s", c.srv.marker+"_p"
	var b []byte
	for _, sql := range sqls {
		b = append(b, stmt...)
		b = append(b, 0)
		b = append(b, sql...)
		b = append(b, 0, 0, 0)
		c.toUpstream('P', b)
		closePortal(c, b, port)
		b = b[:0]
		b = append(b, port...)
		b = append(b, 0)
		b = append(b, stmt...)
		b = append(b, 0, 0, 0, 0, 0, 0, 0)
		c.toUpstream('B', b)
		b = b[:0]
		b = append(b, port...)
		b = append(b, 0, 0, 0, 0, 0)
		c.toUpstream('E', b)
		b = b[:0]
		b = append(b, 'P')
		b = append(b, port...)
		b = append(b, 0)
		c.toUpstream('C', b)
		b = b[:0]
		b = append(b, 'S')
		b = append(b, stmt...)
		b = append(b, 0)
		c.toUpstream('C', b)
		b = b[:0]
	}
}

// ownQuery queues sql (one or more statements) as a simple Query of
// airlock's own, to be read with readInternal. Only where the client's
// unnamed statement and portal are gone anyway (before a client's Query,
// which drops them) or outside any extended batch.
func (c *conn) ownQuery(sql string) {
	b := make([]byte, 0, len(sql)+1)
	b = append(b, sql...)
	b = append(b, 0)
	c.toUpstream('Q', b)
}

// readInternal reads the answer to airlock's own statements, up to their
// ReadyForQuery.
func (c *conn) readInternal() (*iresult, error) {
	r := &iresult{}
	var cur [][]*string
	for {
		typ, body, err := c.ur.next()
		if err != nil {
			return nil, c.upstreamErr(err)
		}
		switch typ {
		case 'D':
			row, err := decodeDataRow(body)
			if err != nil {
				return nil, err
			}
			cur = append(cur, row)
		case 'C':
			r.sets = append(r.sets, cur)
			cur = nil
		case 'E':
			if r.errBody == nil {
				r.errBody = append([]byte(nil), body...)
			}
			// A Parse of an own plan may be among what failed.
			c.planned = 0
		case 'N':
			var n pgproto3.NoticeResponse
			if n.Decode(body) == nil {
				r.notices = append(r.notices, n.Code)
			}
		case 'Z':
			if len(body) != 1 {
				return nil, errDesync
			}
			r.status = body[0]
			c.txStatus = body[0]
			return r, nil
		case 'A':
			// A notification for a LISTEN session: the client gets it.
			c.relayMsg(typ, body)
		}
	}
}

// decodeDataRow decodes a text-format DataRow; SQL NULL is nil.
func decodeDataRow(b []byte) ([]*string, error) {
	if len(b) < 2 {
		return nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	row := make([]*string, n)
	for i := range row {
		if len(b) < 4 {
			return nil, errMalformed
		}
		l := int(int32(binary.BigEndian.Uint32(b)))
		b = b[4:]
		if l < 0 {
			continue
		}
		if len(b) < l {
			return nil, errMalformed
		}
		v := string(b[:l])
		row[i], b = &v, b[l:]
	}
	return row, nil
}

// str returns a column's text, "" for NULL.
func str(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

// LevelDropped is the level hook of the gateway.Adapter: when the
// session's level drops while its upstream connection holds the higher
// credential and a statement or transaction is open, the session ends, so
// that nothing is committed with access that is gone. An idle session is
// lowered at its next message instead.
func (c *conn) LevelDropped(old, lvl airlock.Level) {
	c.upMu.Lock()
	up := c.up
	c.upMu.Unlock()
	if up != nil && up.level > lvl && !c.idle.Load() {
		c.sess.End(fmt.Sprintf("access dropped from %s to %s while a statement or transaction was open; it was rolled back", up.level, lvl))
	}
}
