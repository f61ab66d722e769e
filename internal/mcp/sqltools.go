package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/gateway"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tools that run SQL: each opens a gateway session for the call,
// checks its statement there and runs it on the call's own upstream
// connection.

func (s *Server) describe(ctx context.Context, req *mcp.CallToolRequest, in DescribeArgs) (*mcp.CallToolResult, any, error) {
	c, err := s.begin(ctx, req, in.OnBehalfOf)
	if err != nil {
		return nil, nil, err
	}
	db, err := s.database(in.Database)
	if err != nil {
		return nil, nil, err
	}
	dial := dialerFor(db.Engine)
	queries := dial.describe(db, in.Schema, in.Table)
	cs, err := s.session(ctx, c, db)
	if err != nil {
		return nil, nil, err
	}
	defer cs.close()
	ctx, sess, up := cs.ctx, cs.sess, cs.up
	res := map[string]any{"database": db.Name}
	for _, q := range queries {
		r, deny, err := s.read(ctx, c, sess, up, q.sql, s.o.Config.MCP.MaxRows)
		if deny != nil {
			return denial(db.Name, deny), nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if q.key == "" {
			continue // a probe: its check and audit are what count
		}
		res[q.key] = r.objects()
		if r.Truncated {
			res[q.key+"_truncated"] = r.TruncatedWhy
		}
	}
	return dataResult(res), res, nil
}

func (s *Server) query(ctx context.Context, req *mcp.CallToolRequest, in SQLArgs) (*mcp.CallToolResult, any, error) {
	return s.readTool(ctx, req, in, "")
}

func (s *Server) explain(ctx context.Context, req *mcp.CallToolRequest, in SQLArgs) (*mcp.CallToolResult, any, error) {
	return s.readTool(ctx, req, in, "EXPLAIN ")
}

func (s *Server) readTool(ctx context.Context, req *mcp.CallToolRequest, in SQLArgs, prefix string) (*mcp.CallToolResult, any, error) {
	c, err := s.begin(ctx, req, in.OnBehalfOf)
	if err != nil {
		return nil, nil, err
	}
	db, err := s.database(in.Database)
	if err != nil {
		return nil, nil, err
	}
	text := prefix + strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(in.SQL), ";"))
	if strings.TrimSpace(in.SQL) == "" {
		return nil, nil, errors.New("airlock: sql is empty: pass one SQL statement")
	}
	cs, err := s.session(ctx, c, db)
	if err != nil {
		return nil, nil, err
	}
	defer cs.close()
	ctx, sess, up := cs.ctx, cs.sess, cs.up
	if err := oneStatement(sess, text, false); err != nil {
		return nil, nil, err
	}
	max := s.o.Config.MCP.MaxRows
	if in.MaxRows > 0 && in.MaxRows < max {
		max = in.MaxRows
	}
	r, deny, err := s.read(ctx, c, sess, up, text, max)
	if deny != nil {
		return denial(db.Name, deny), nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return dataResult(r), r, nil
}

// oneStatement refuses what a tool does not run: several statements,
// transaction control (each call runs on its own), and for query and
// explain, writes (execute runs those). It decides nothing: what it lets
// through is decided by the gateway.
func oneStatement(sess *gateway.Session, text string, write bool) error {
	stmts, err := sess.Classify(text)
	if err != nil || len(stmts) == 0 {
		return nil // the gateway denies what does not parse
	}
	if len(stmts) > 1 {
		return errors.New("airlock: send one statement per call")
	}
	st := stmts[0]
	switch {
	case st.Txn != airlock.TxnNone:
		return errors.New("airlock: each call runs in its own transaction; send the statement without BEGIN, COMMIT or ROLLBACK")
	case !write && st.Level >= airlock.LevelWrite:
		return fmt.Errorf("airlock: %s changes data; query and explain only read: use execute (it needs a write grant)", strings.ToUpper(string(st.Kind)))
	case write && st.Level < airlock.LevelWrite:
		return errors.New("airlock: this statement only reads; use query")
	}
	return nil
}

func (s *Server) execute(ctx context.Context, req *mcp.CallToolRequest, in SQLArgs) (*mcp.CallToolResult, any, error) {
	c, err := s.begin(ctx, req, in.OnBehalfOf)
	if err != nil {
		return nil, nil, err
	}
	db, err := s.database(in.Database)
	if err != nil {
		return nil, nil, err
	}
	text := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(in.SQL), ";"))
	if text == "" {
		return nil, nil, errors.New("airlock: sql is empty: pass one SQL statement")
	}
	cs, err := s.session(ctx, c, db)
	if err != nil {
		return nil, nil, err
	}
	defer cs.close()
	ctx, sess, up := cs.ctx, cs.sess, cs.up
	if err := oneStatement(sess, text, true); err != nil {
		return nil, nil, err
	}
	ch := sess.Check(ctx, text)
	if !ch.Decision.Allowed {
		return denial(db.Name, &ch.Decision), nil, nil
	}
	r, deny, err := up.write(ctx, sess, ch)
	if deny != nil {
		return denial(db.Name, deny), nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return textResult(r), r, nil
}

// callSession is a gateway session and its upstream connection, for one
// call. Its context ends when the session does (token expiry, revocation,
// kill), which cancels what runs upstream.
type callSession struct {
	ctx    context.Context
	cancel context.CancelFunc
	sess   *gateway.Session
	up     upstream
}

func (cs *callSession) close() {
	cs.up.close()
	cs.sess.Close()
	cs.cancel()
}

// session opens a gateway session for a call on db and its upstream
// connection at the session's level.
func (s *Server) session(ctx context.Context, c *call, db *config.Database) (*callSession, error) {
	cctx, cancel := context.WithCancel(ctx)
	ad := &callAdapter{cancel: cancel}
	armed := gateway.Arming(ad)
	sess, err := s.open(ctx, c, db, armed)
	if err != nil {
		cancel()
		return nil, err
	}
	ad.sess, ad.lvl = sess, sess.Level()
	armed.Arm()
	dctx, dcancel := context.WithTimeout(cctx, 10*time.Second)
	defer dcancel()
	up, err := dialerFor(db.Engine).dial(dctx, sess, s.o.Config.MCP.Timeout.D())
	if err != nil {
		s.o.Logger.Warn("mcp: connect upstream", "session", sess.ID(), "database", db.Name, "err", err)
		sess.Close()
		cancel()
		return nil, fmt.Errorf("airlock: cannot connect to database %s now; try again shortly", db.Name)
	}
	ad.up = up
	return &callSession{ctx: cctx, cancel: cancel, sess: sess, up: up}, nil
}

// callAdapter is a call's gateway.Adapter. The session's interrupt
// cancels the call's context. A call's connection has the credential of
// the level it started at (lvl): when a grant ends under it, the call
// ends (what it ran is rolled back), as a wire session with a statement
// open does. The veto is the upstream's, once connected.
type callAdapter struct {
	cancel context.CancelFunc
	sess   *gateway.Session // set before the adapter is armed
	lvl    airlock.Level
	up     upstream // set on the call's goroutine before any check
}

func (a *callAdapter) Veto(ch *gateway.Check) (*airlock.Decision, error) {
	if a.up == nil {
		return nil, nil
	}
	return a.up.veto(ch)
}

func (a *callAdapter) Interrupt() { a.cancel() }

func (a *callAdapter) LevelDropped(_, now airlock.Level) {
	if now < a.lvl {
		a.sess.End(fmt.Sprintf("access dropped from %s to %s", a.lvl, now))
	}
}

// read checks text and runs it if allowed, bounded by max rows, the
// caller's byte room and the time limit.
func (s *Server) read(ctx context.Context, c *call, sess *gateway.Session, up upstream, text string, max int) (*Result, *airlock.Decision, error) {
	ch := sess.Check(ctx, text)
	if !ch.Decision.Allowed {
		return nil, &ch.Decision, nil
	}
	lim := s.o.Config.MCP.MaxBytes
	limitedByRate := false
	if room := s.limits.room(s, c); room >= 0 && room < lim {
		lim, limitedByRate = room, true
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Config.MCP.Timeout.D())
	defer cancel()
	r, err := up.read(ctx, text, max, lim)
	if err != nil {
		msg := errText(err)
		sess.Done(ch, 0, gateway.Outcome{Err: msg})
		if reason := sess.EndReason(); reason != "" {
			return nil, nil, fmt.Errorf("airlock: access ended while the statement ran (%s); sign in again or use a fresh token", reason)
		}
		if ctx.Err() != nil {
			msg = fmt.Sprintf("the statement ran longer than %s and was cancelled", s.o.Config.MCP.Timeout.D())
		}
		return nil, nil, errors.New("database error: " + msg)
	}
	if r.Truncated && limitedByRate && r.TruncatedWhy == whyBytes {
		s.auditCall(c, "rate_limited", map[string]string{"limit": "bytes_per_minute", "database": sess.Database().Name})
		r.TruncatedWhy = "the result volume you may receive this minute (bytes_per_minute) is used up"
	}
	sess.Done(ch, 0, gateway.Outcome{Rows: int64(len(r.Rows))})
	s.limits.sent(c, r.bytes)
	return r, nil, nil
}
