package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"airlock"
	"airlock/internal/config"
	"airlock/internal/policy"
)

// Session is one client connection's state in the core. The adapter's
// connection goroutine owns it: Check, Decide and Done are called from that
// goroutine only; End, Level and the accessors are safe from anywhere.
type Session struct {
	g    *Gateway
	info airlock.Session
	// user is the session's user as last read: AccessChanged replaces it
	// when the user's groups or roles change.
	user  atomic.Pointer[airlock.User]
	token *airlock.Token
	db    atomic.Pointer[config.Database] // replaced when a reload changes the database
	level atomic.Int32
	// onBehalfOf is the person an agent's session acts for.
	onBehalfOf string

	accMu       sync.Mutex
	writeTables []string
	until       time.Time // when the level must be computed again

	expiry *time.Timer

	// adapter is what the protocol adapter gave at Login.
	adapter Adapter

	mu        sync.Mutex
	endReason string
	ended     chan struct{}
	closed    bool

	// Owned by the adapter goroutine.
	prepared   map[string]*Prepared // prepared statements by name, SQL and protocol level alike
	searchPath []string
	schema     string // MySQL: the current schema when not the database's own
	// qualified remembers the schema-qualified names qualify made, so
	// that a statement run again does not build them again.
	qualified map[qualifiedKey]string
	// Undo records captured in the open transaction, and its savepoints.
	pendingUndo []string
	savepoints  []savepoint
	undoBytes   int64
	// pendingWrites are the writes executed in the open transaction
	// (guarded ones, and any inside an explicit transaction block,
	// explicitTxn), inflight the started events without an outcome yet
	// (rollback.go).
	pendingWrites []pendingWrite
	explicitTxn   bool
	inflight      []*airlock.Event
	// unsynced is set when the session queued the outcome of a write
	// (or of a guarded statement) that no Sync has made durable yet: a
	// COMMIT must wait for it. A transaction that only read commits
	// nothing, so its COMMIT need not wait for the audit log.
	unsynced bool
}

// ID returns the session id.
func (s *Session) ID() string { return s.info.ID }

// Info returns the session record.
func (s *Session) Info() airlock.Session { return s.info }

// User returns the session's user.
func (s *Session) User() *airlock.User { return s.user.Load() }

// Database returns the session's database.
func (s *Session) Database() *config.Database { return s.db.Load() }

// Level returns the session's level now. A grant that ended since the
// last computation is noticed here even before its timer fires.
func (s *Session) Level() airlock.Level {
	s.accMu.Lock()
	stale := !s.until.IsZero() && !s.g.now().Before(s.until)
	s.accMu.Unlock()
	if stale {
		s.refresh()
	}
	return airlock.Level(s.level.Load())
}

// WriteTables returns the tables writes are restricted to (nil: any).
func (s *Session) WriteTables() []string {
	s.accMu.Lock()
	defer s.accMu.Unlock()
	return s.writeTables
}

func (s *Session) setAccess(a grantAccess) (old airlock.Level) {
	s.accMu.Lock()
	defer s.accMu.Unlock()
	s.writeTables, s.until = a.writeTables, a.until
	return airlock.Level(s.level.Swap(int32(a.level)))
}

// refresh computes the session's access again. If the store cannot say,
// the session falls back to the standing level alone (never higher).
func (s *Session) refresh() {
	a, err := s.g.accessFor(context.Background(), s.User(), s.Database())
	if err != nil {
		s.g.log.Error("re-evaluate session access; keeping the standing level only", "session", s.info.ID, "err", err)
		a = grantAccess{level: min(s.g.policyEngine().StandingLevel(s.User(), s.Database().Name), airlock.Level(s.level.Load()))}
	}
	old := s.setAccess(a)
	if a.level == old {
		return
	}
	s.g.appendEvent(s.event(airlock.EventSession, "level", map[string]string{"from": old.String(), "to": a.level.String()}))
	s.g.log.Info("session level changed", "session", s.info.ID, "from", old, "to", a.level)
	if a.level < old {
		s.adapter.LevelDropped(old, a.level)
	}
}

// Credential returns the upstream credential for level.
func (s *Session) Credential(l airlock.Level) (config.Credential, bool) {
	c, ok := s.Database().Credentials[l]
	return c, ok
}

// End ends the session's access with reason: the adapter is interrupted and
// must tell the client why and close. It is idempotent.
func (s *Session) End(reason string) {
	s.mu.Lock()
	if s.endReason != "" || s.closed {
		s.mu.Unlock()
		return
	}
	s.endReason = reason
	close(s.ended)
	s.mu.Unlock()
	s.adapter.Interrupt()
}

// Ended is closed when End was called.
func (s *Session) Ended() <-chan struct{} { return s.ended }

// EndReason returns why the session was ended, or "".
func (s *Session) EndReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endReason
}

// Close records the end of the connection. The adapter calls it once, when
// the client is gone.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	reason := s.endReason
	s.mu.Unlock()
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if reason == "" {
		reason = "client disconnected"
	}
	s.TxnEnded(false) // an open transaction is rolled back with the connection
	s.unknownWrites()
	now := s.g.now().UTC()
	if err := s.g.store.EndSession(context.Background(), s.info.ID, now, reason); err != nil {
		s.g.log.Error("record session end", "session", s.info.ID, "err", err)
	}
	s.g.appendEvent(s.event(airlock.EventSession, "closed", map[string]string{"reason": reason}))
	s.g.forget(s)
}

// Check is the decision about one unit of SQL the client sent: a simple
// query (maybe several statements) or one execution of a prepared statement.
type Check struct {
	Text     string
	Stmts    []airlock.Statement
	Decision airlock.Decision
	Params   []string // bind parameters, as audited
	// Guard, when set on an allowed check, says the adapter must run it
	// guarded (see Guard) and report RowsChanged before it can commit.
	Guard    *Guard
	changed  int64               // rows a guarded check changed
	undo     *airlock.UndoRecord // what it captured
	undoWhy  string              // why it cannot be undone (best_effort)
	start    time.Time
	started  []*airlock.Event // "started" events of writes, by statement
	prepares map[string][]airlock.Statement
	// VetoErr is the error of the adapter's veto (see Veto), when it
	// failed; the check is then denied.
	VetoErr error
	// Rewrite, when set on an allowed check, replaces what is forwarded.
	Rewrite *Rewrite
}

// Irreversible says why an allowed guarded write cannot be undone, under
// undo: best_effort ("" when it can be, or when undo is off). The adapter
// tells the client before the statement's answer, in its protocol's way
// (a NOTICE, a warning), as IrreversibleMessage words it.
func (c *Check) Irreversible() string { return c.undoWhy }

// IrreversibleMessage is what the client is told about a write that
// cannot be undone.
func IrreversibleMessage(why string) string { return "airlock: this write cannot be undone: " + why }

// Outcome is how a forwarded statement ended.
type Outcome struct {
	Rows int64
	// Tag is the command tag ("COMMIT", "ROLLBACK", "UPDATE 3"), when the
	// protocol has one.
	Tag string
	// Err is the database's error as the client saw it ("" on success).
	Err string
	// NotRun marks statements skipped because an earlier one failed.
	NotRun bool
	// InTxn says that the statement ran in a transaction still open after
	// it that the session does not see begin: a MySQL session with
	// autocommit off (the server's in-transaction status flag), or
	// PostgreSQL's implicit transaction of a batch that lasts until Sync.
	// A write that ran so is followed until the adapter reports the
	// transaction's end with Session.TxnEnded.
	InTxn bool
}

// Classify returns the facts of text without deciding or auditing. It is
// not a decision: an adapter decides with Check, Prepare, CheckPrepared or
// CheckCommand. The MCP server uses it to refuse, before any decision,
// what a tool does not run (several statements, transaction control).
func (s *Session) Classify(text string) ([]airlock.Statement, error) {
	return s.g.classifiers[s.Database().Engine].Classify(text)
}

// Check classifies and decides text, the text of a simple query. When the
// decision allows it and it writes, Check also makes its audit event
// durable before returning (so the adapter may forward at once); if that
// fails the decision becomes a denial. A denied check is audited here.
func (s *Session) Check(ctx context.Context, text string) *Check {
	c := &Check{Text: text, start: s.g.now()}
	stmts, err := s.Classify(text)
	if err != nil {
		c.Decision = s.parseDenial(err)
		s.Denied(c)
		return c
	}
	c.Stmts = stmts
	s.substitute(c)
	c.Decision = s.decide(c.Stmts)
	s.softDrop(c, true)
	decided := s.g.now()
	s.admit(ctx, c)
	s.observeCheck(c, decided)
	return c
}

// PrepareOptions are what an adapter knows of a statement being prepared
// that the core does not.
type PrepareOptions struct {
	// DeferSignal says the text signals a backend whose process ID is
	// bound only at execution (PostgreSQL's pg_cancel_backend($1) and
	// the like): a single such statement is decided here as a read, and
	// each execution is decided with the ID bound. The check keeps the
	// statement's own facts for those executions.
	DeferSignal bool
}

// Prepare classifies and decides text when it is prepared under name (a
// Parse in the extended protocol, COM_STMT_PREPARE) without auditing an
// allowed check, which is decided again and audited at each execution
// (CheckPrepared); a denial is audited here. When the check is allowed,
// name holds the statement from now on (Prepared), replacing any before
// it, so that later messages see it; the Revert puts back what name held
// if the database fails or skips the statement. After a denial it does
// nothing.
func (s *Session) Prepare(name, text string, opt PrepareOptions) (*Check, Revert) {
	stmts, err := s.Classify(text)
	decided, deferred := stmts, opt.DeferSignal && err == nil && len(stmts) == 1
	if deferred {
		decided = []airlock.Statement{stmts[0]}
		decided[0].Level = airlock.LevelRead
	}
	c := s.decidePrepared(text, decided, err)
	if !c.Decision.Allowed {
		return c, func() {}
	}
	if deferred {
		c.Stmts = stmts
	}
	var p *Prepared
	if c.Stmts != nil {
		p = &Prepared{stmts: c.Stmts}
	}
	return c, s.record(name, p)
}

// decidePrepared decides statements classified for Prepare.
func (s *Session) decidePrepared(text string, stmts []airlock.Statement, classifyErr error) *Check {
	c := &Check{Text: text, Stmts: stmts, start: s.g.now()}
	if classifyErr != nil {
		c.Decision = s.parseDenial(classifyErr)
		s.Denied(c)
		return c
	}
	s.substitute(c)
	c.Decision = s.decide(c.Stmts)
	s.softDrop(c, false)
	s.observeCheck(c, s.g.now())
	if !c.Decision.Allowed {
		s.Denied(c)
	}
	return c
}

// CheckPrepared decides one execution of the prepared statement p (nil:
// one with no statements) at the session's level now, and admits it like
// Check. text is the execution as audited.
func (s *Session) CheckPrepared(ctx context.Context, p *Prepared, text string, params []string) *Check {
	var stmts []airlock.Statement
	if p != nil {
		stmts = p.stmts
	}
	return s.checkFacts(ctx, text, stmts, params)
}

// CheckCommand decides and admits, like CheckPrepared, a protocol command
// that acts on the session like a statement but is not SQL airlock
// classifies (MySQL's COM_INIT_DB, COM_FIELD_LIST and the like), or a
// statement the adapter alone can tell is harmless (a signal to one of
// the user's own backends): facts are what the adapter knows of it.
func (s *Session) CheckCommand(ctx context.Context, text string, facts []airlock.Statement, params []string) *Check {
	return s.checkFacts(ctx, text, facts, params)
}

func (s *Session) checkFacts(ctx context.Context, text string, stmts []airlock.Statement, params []string) *Check {
	c := &Check{Text: text, Stmts: stmts, Params: s.auditParams(params), start: s.g.now()}
	c.Decision = s.decide(stmts)
	s.softDrop(c, false)
	decided := s.g.now()
	s.admit(ctx, c)
	s.observeCheck(c, decided)
	return c
}

// Allows decides text at the session's level now without auditing it: for
// state an adapter carries to a new upstream connection (a setting the
// session made, replayed there), which must pass the same decision as the
// statement that made it would now.
func (s *Session) Allows(text string) airlock.Decision {
	stmts, err := s.Classify(text)
	if err != nil {
		return s.parseDenial(err)
	}
	c := &Check{Text: text, Stmts: stmts}
	s.substitute(c)
	return s.decide(c.Stmts)
}

func (s *Session) parseDenial(err error) airlock.Decision {
	d := airlock.Decision{Rule: airlock.RuleParse, Reason: "the statement could not be parsed, so it cannot be checked: " + err.Error(), Need: airlock.LevelAdmin}
	var se syntaxErr
	if errors.As(err, &se) {
		d.Syntax = se.SyntaxError()
	}
	return d
}

// syntaxErr is a classifier's error that can say whether the database's
// grammar rejects the text (sqlclass.ParseError).
type syntaxErr interface {
	error
	SyntaxError() *airlock.SyntaxError
}

func (s *Session) decide(stmts []airlock.Statement) airlock.Decision {
	// A preview (PreviewDecision) has no audit log to fail.
	if s.g.audit != nil && s.g.audit.Err() != nil {
		return airlock.Decision{Rule: airlock.RuleAudit, Reason: "the audit log cannot record statements right now; nothing was run, try again shortly"}
	}
	if len(stmts) == 0 {
		return airlock.Decision{Allowed: true}
	}
	ps := &policy.Subject{User: s.User(), Database: &s.Database().Spec, Level: s.Level(), WriteTables: s.WriteTables(), SearchPath: s.searchPath,
		Agent: s.User().IsAgent(), OnBehalfOf: s.onBehalfOf, CountsRows: s.countsRows()}
	for i := range stmts {
		s.qualify(&stmts[i])
	}
	return s.g.policyEngine().Decide(ps, stmts, s.g.now())
}

// admit finishes an allowed check. A guarded write is audited when its
// outcome is known, before anything can commit it. Other writes get a
// durable "started" event before the adapter forwards them, and a COMMIT
// after a write waits for every event before it: no write reaches the
// database, or is committed there, unaudited. A denied check is audited.
func (s *Session) admit(ctx context.Context, c *Check) {
	s.guard(c)
	if c.Decision.Allowed {
		d, err := s.adapter.Veto(c)
		if err != nil {
			c.VetoErr = err
			d = &airlock.Decision{Rule: airlock.RuleUpstream, Need: c.Decision.Need, Reason: "airlock could not check this statement with the database; nothing was run"}
		}
		if d != nil {
			c.Decision, c.Guard = *d, nil
		}
	}
	if !c.Decision.Allowed {
		s.Denied(c)
		return
	}
	var last *airlock.Event
	var appendErr error // the log refused a started event: deny, as for Sync
	for i := range c.Stmts {
		st := &c.Stmts[i]
		if st.Level < airlock.LevelWrite {
			continue
		}
		if c.started == nil {
			c.started = make([]*airlock.Event, len(c.Stmts))
		}
		ev := s.stmtEvent(c, st, airlock.ActionStarted)
		if c.Guard != nil {
			// Its transaction commits only after its executed event is
			// durable: a restart after a crash that cut it records it
			// rolled back, ref this event (and voids its undo record).
			if ev.Detail == nil {
				ev.Detail = map[string]string{}
			}
			ev.Detail["guarded"] = "true"
			if c.Guard.Capture {
				ev.Detail["undo_record"] = c.Guard.UndoID
			}
		}
		c.started[i] = ev
		last = ev
		if _, err := s.g.audit.Append(ev); err != nil && appendErr == nil {
			appendErr = err
		}
		s.inflight = append(s.inflight, ev)
	}
	if last == nil && (!s.unsynced || !commits(c.Stmts)) {
		return
	}
	err := appendErr
	if err == nil {
		err = s.g.audit.Sync(ctx)
	}
	if err != nil {
		c.Decision = airlock.Decision{Rule: airlock.RuleAudit, Reason: "the audit log cannot record this write; nothing was run, try again shortly"}
		for _, ev := range c.started {
			s.settled(ev) // never forwarded
		}
		c.started = nil
		s.Denied(c)
		return
	}
	s.unsynced = false
}

// Denied audits a denied check. A guarded check denied after it ran (the
// adapter rolled it back) refers to its started event.
func (s *Session) Denied(c *Check) {
	ev := s.event(airlock.EventStatement, airlock.ActionDenied, nil)
	ev.Ref = s.settleStarted(c)
	ev.Text = c.Text
	ev.Decision = airlock.DecisionDenied
	ev.Rule, ev.Reason = c.Decision.Rule, c.Decision.Reason
	ev.Level = c.Decision.Need.String()
	ev.Params = c.Params
	if len(c.Stmts) > 0 {
		ev.StatementKind = string(strongest(c.Stmts).Kind)
		ev.Tables = unionTables(c.Stmts)
	}
	s.g.appendEvent(ev)
}

// Done records that statement i of an allowed check finished.
func (s *Session) Done(c *Check, i int, out Outcome) {
	st := &c.Stmts[i]
	ev := s.stmtEvent(c, st, airlock.ActionExecuted)
	ev.DurationMS = float64(s.g.now().Sub(c.start).Microseconds()) / 1000
	ev.Rows = out.Rows
	if c.Guard != nil && out.Err == "" && !out.NotRun {
		// The rows the statement really changed, triggers and cascades
		// included, may differ from its command tag.
		ev.Rows = c.changed
		if ev.Detail == nil {
			ev.Detail = map[string]string{}
		}
		ev.Detail["rows_changed"] = fmt.Sprint(c.changed)
		ev.Detail["command_rows"] = fmt.Sprint(out.Rows)
		switch {
		case c.undo != nil:
			ev.Detail["undo"] = c.undo.ID
			ev.Detail["undo_sha256"] = c.undo.Hash
			ev.Detail["undo_rows"] = fmt.Sprint(len(c.undo.Images))
		case c.undoWhy != "":
			ev.Detail["undo"] = "not reversible: " + c.undoWhy
		}
	}
	ev.Error = out.Err
	if out.NotRun {
		ev.Error = "not run: an earlier statement failed"
	}
	if c.started != nil && c.started[i] != nil {
		ev.Ref = fmt.Sprint(c.started[i].ID)
		s.settled(c.started[i])
	}
	tk, _ := s.g.audit.Append(ev)
	s.notePending(c, st, ev, tk, out)
	if st.Level >= airlock.LevelWrite || c.Guard != nil {
		s.unsynced = true
	}
	if out.Err == "" && !out.NotRun {
		s.applyEffects(c, st)
		s.followTxn(st, out.Tag)
	}
}

func (s *Session) stmtEvent(c *Check, st *airlock.Statement, action string) *airlock.Event {
	ev := s.event(airlock.EventStatement, action, nil)
	ev.Text = st.Text
	if len(c.Stmts) == 1 {
		ev.Text = c.Text
	}
	ev.StatementKind = string(st.Kind)
	ev.Level = st.Level.String()
	ev.Tables = st.Tables
	ev.Decision = airlock.DecisionAllowed
	ev.Params = c.Params
	for _, w := range c.Decision.Warnings {
		ev.Warnings = append(ev.Warnings, w.Rule+": "+w.Message)
	}
	if c.Rewrite != nil && c.Rewrite.TrashID != "" {
		ev.Detail = map[string]string{"trash": c.Rewrite.TrashID}
	}
	return ev
}

func (s *Session) event(typ, action string, detail map[string]string) *airlock.Event {
	if agent := s.User().IsAgent(); agent || s.onBehalfOf != "" {
		if detail == nil {
			detail = map[string]string{}
		}
		if agent {
			detail["agent"] = "true"
		}
		if s.onBehalfOf != "" {
			detail["on_behalf_of"] = s.onBehalfOf
		}
	}
	return &airlock.Event{
		Type: typ, Action: action, User: s.info.User, Database: s.info.Database, SessionID: s.info.ID,
		ClientAddr: s.info.ClientAddr, Application: s.info.Application, Detail: detail,
	}
}

// OnBehalfOf returns the person an agent's session acts for, or "".
func (s *Session) OnBehalfOf() string { return s.onBehalfOf }

func (s *Session) auditParams(params []string) []string {
	if params == nil || s.Database().ParamsAudited() {
		return params
	}
	out := make([]string, len(params))
	for i := range out {
		out[i] = "<redacted>"
	}
	return out
}

// Deny audits a denial the adapter decided itself (a protocol message
// airlock cannot check, a reserved name) and returns its check.
func (s *Session) Deny(text string, d airlock.Decision) *Check {
	c := &Check{Text: text, Decision: d, start: s.g.now()}
	s.Denied(c)
	return c
}

func (s *Session) ctx() context.Context { return context.Background() }
