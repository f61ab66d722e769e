package pg

import (
	"reflect"
	"strings"
	"unicode"

	pg "github.com/pganalyze/pg_query_go/v6"

	"airlock"
)

// classifyPGStmt returns the facts of one parsed statement (without its text).
func classifyPGStmt(n *pg.Node) airlock.Statement {
	f := newFacts()
	f.stmt(n)
	return f.result()
}

// base sets what the statement is and the level its kind needs.
func (f *facts) base(kind airlock.Kind, l airlock.Level, why, command string) {
	f.kind, f.command = kind, command
	f.raise(l, why, -1)
}

// stmt classifies a statement node: its kind, command, own level, then walks
// it for tables, calls and data-modifying parts.
func (f *facts) stmt(n *pg.Node) {
	if n == nil || n.Node == nil {
		f.base(airlock.KindUnknown, airlock.LevelAdmin, "an empty statement node is not a statement airlock knows", "UNKNOWN")
		return
	}
	switch x := n.Node.(type) {
	// Queries.
	case *pg.Node_SelectStmt:
		f.base(airlock.KindSelect, airlock.LevelRead, "SELECT reads rows", "SELECT")
		if x.SelectStmt.IntoClause != nil {
			f.kind = airlock.KindDDL // SELECT INTO creates a table; raised by the walk
		}
		f.top = n
		f.node(n)
	case *pg.Node_InsertStmt:
		f.base(airlock.KindInsert, airlock.LevelWrite, "INSERT adds rows", "INSERT")
		f.top = n
		f.node(n)
	case *pg.Node_UpdateStmt:
		f.base(airlock.KindUpdate, airlock.LevelWrite, "UPDATE changes rows", "UPDATE")
		f.top = n
		f.node(n)
	case *pg.Node_DeleteStmt:
		f.base(airlock.KindDelete, airlock.LevelWrite, "DELETE changes rows", "DELETE")
		f.top = n
		f.node(n)
	case *pg.Node_MergeStmt:
		f.base(airlock.KindMerge, airlock.LevelWrite, "MERGE changes rows", "MERGE")
		f.top = n
		f.node(n)
	case *pg.Node_CopyStmt:
		f.copyStmt(x.CopyStmt, n)
	case *pg.Node_ExplainStmt:
		f.explainStmt(x.ExplainStmt)
	case *pg.Node_PrepareStmt:
		f.stmt(x.PrepareStmt.Query)
		f.command, f.name = "PREPARE", x.PrepareStmt.Name
	case *pg.Node_ExecuteStmt:
		// The parameters are expressions that run: their own level is
		// kept apart, for the gateway to combine with the prepared facts.
		args := newFacts()
		args.locBase = f.locBase
		args.raise(airlock.LevelRead, "", -1)
		for _, p := range x.ExecuteStmt.Params {
			args.node(p)
		}
		f.argsLevel, f.argsWhy = args.level, args.why
		f.base(airlock.KindUnknown, airlock.LevelAdmin, "EXECUTE runs a prepared statement whose facts are recorded at PREPARE", "EXECUTE")
		f.name = x.ExecuteStmt.Name
		f.node(n) // parameters are expressions that run
	case *pg.Node_DeallocateStmt:
		f.base(airlock.KindUtility, airlock.LevelRead, "DEALLOCATE forgets a prepared statement", "DEALLOCATE")
		if x.DeallocateStmt.Isall {
			f.command = "DEALLOCATE ALL"
		}
		f.name = x.DeallocateStmt.Name
	case *pg.Node_DeclareCursorStmt:
		f.stmt(x.DeclareCursorStmt.Query)
		f.command, f.name = "DECLARE CURSOR", x.DeclareCursorStmt.Portalname
	case *pg.Node_FetchStmt:
		cmd := "FETCH"
		if x.FetchStmt.Ismove {
			cmd = "MOVE"
		}
		f.base(airlock.KindUtility, airlock.LevelRead, cmd+" reads from a cursor", cmd)
		f.name = x.FetchStmt.Portalname
	case *pg.Node_ClosePortalStmt:
		f.base(airlock.KindUtility, airlock.LevelRead, "CLOSE closes a cursor", "CLOSE CURSOR")
		f.name = x.ClosePortalStmt.Portalname
		if f.name == "" {
			f.command = "CLOSE CURSOR ALL"
		}

	// Session and transaction.
	case *pg.Node_VariableSetStmt:
		f.setStmt(x.VariableSetStmt)
	case *pg.Node_VariableShowStmt:
		f.base(airlock.KindShow, airlock.LevelRead, "SHOW reads a setting", "SHOW")
	case *pg.Node_ConstraintsSetStmt:
		f.base(airlock.KindSet, airlock.LevelRead, "SET CONSTRAINTS defers checks in the transaction", "SET CONSTRAINTS")
		f.node(n)
	case *pg.Node_TransactionStmt:
		f.transactionStmt(x.TransactionStmt)
	case *pg.Node_DiscardStmt:
		target := strings.TrimPrefix(x.DiscardStmt.Target.String(), "DISCARD_")
		f.base(airlock.KindUtility, airlock.LevelRead, "DISCARD resets session state", "DISCARD "+target)
	case *pg.Node_ListenStmt:
		f.base(airlock.KindUtility, airlock.LevelRead, "LISTEN waits for notifications", "LISTEN")
		f.name = x.ListenStmt.Conditionname
	case *pg.Node_UnlistenStmt:
		f.base(airlock.KindUtility, airlock.LevelRead, "UNLISTEN stops waiting for notifications", "UNLISTEN")
		f.name = x.UnlistenStmt.Conditionname
		if f.name == "" {
			f.name = "*"
		}
	case *pg.Node_NotifyStmt:
		f.base(airlock.KindUtility, airlock.LevelWrite, "NOTIFY signals other sessions", "NOTIFY")
		f.name = x.NotifyStmt.Conditionname
	case *pg.Node_LockStmt:
		f.lockStmt(x.LockStmt)

	// Code.
	case *pg.Node_CallStmt:
		proc := ""
		if fc := x.CallStmt.Funccall; fc != nil {
			proc = joinNames(fc.Funcname)
		}
		f.base(airlock.KindCall, airlock.LevelWrite, "CALL runs procedure "+proc+", which may change data", "CALL")
		f.node(n)
	case *pg.Node_DoStmt:
		f.base(airlock.KindDo, airlock.LevelWrite, "DO runs code, which may change data", "DO")

	default:
		f.utilityStmt(n)
	}
}

func (f *facts) copyStmt(c *pg.CopyStmt, n *pg.Node) {
	kind, dir := airlock.KindCopyTo, "TO"
	if c.IsFrom {
		kind, dir = airlock.KindCopyFrom, "FROM"
	}
	switch {
	case c.IsProgram:
		f.base(kind, airlock.LevelAdmin, "COPY "+dir+" PROGRAM runs a program on the server", "COPY")
	case c.Filename != "" && c.IsFrom:
		f.base(kind, airlock.LevelAdmin, "COPY FROM a file reads the server's files", "COPY")
	case c.Filename != "":
		f.base(kind, airlock.LevelAdmin, "COPY TO a file writes the server's files", "COPY")
	case c.IsFrom:
		f.base(kind, airlock.LevelWrite, "COPY FROM STDIN adds rows", "COPY")
	default:
		f.base(kind, airlock.LevelRead, "COPY TO STDOUT reads rows", "COPY")
	}
	f.top = n
	if c.Query != nil {
		f.top = c.Query
	}
	if c.IsFrom {
		f.target(c.Relation)
	}
	f.node(n)
}

func (f *facts) explainStmt(e *pg.ExplainStmt) {
	analyze := false
	for _, o := range e.Options {
		d := o.GetDefElem()
		if d == nil || d.Defname != "analyze" {
			continue
		}
		analyze = true // a bare ANALYZE, or a value PostgreSQL would not take as false
		if v, ok := defArgString(d.Arg); ok {
			if b, ok := pgParseBool(v); ok {
				analyze = b
			}
		}
	}
	f.raise(airlock.LevelRead, "EXPLAIN shows a plan", -1)
	exec := f.exec
	if !analyze {
		f.exec = false // a plain EXPLAIN runs nothing
	}
	f.stmt(e.Query)
	f.exec = exec
	f.command = "EXPLAIN"
	if !analyze || f.kind == airlock.KindSelect {
		f.kind = airlock.KindExplain
	}
}

func (f *facts) lockStmt(l *pg.LockStmt) {
	const accessShare = 1
	if l.Mode == accessShare {
		f.base(airlock.KindLock, airlock.LevelRead, "LOCK ... IN ACCESS SHARE MODE only blocks schema changes", "LOCK TABLE")
		f.nodes(l.Relations)
		return
	}
	mode, ok := lockModes[l.Mode]
	if !ok {
		mode = "an unknown"
	}
	f.base(airlock.KindLock, airlock.LevelWrite, "LOCK ... IN "+mode+" MODE blocks other sessions", "LOCK TABLE")
	for _, r := range l.Relations {
		f.target(r.GetRangeVar())
	}
}

// lockModes are the table lock modes by their number in PostgreSQL.
var lockModes = map[int32]string{
	1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE",
	5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE",
}

func (f *facts) transactionStmt(t *pg.TransactionStmt) {
	type txnInfo struct {
		command string
		effect  airlock.TxnEffect
		why     string
	}
	info := map[pg.TransactionStmtKind]txnInfo{
		pg.TransactionStmtKind_TRANS_STMT_BEGIN:       {"BEGIN", airlock.TxnBegin, "BEGIN starts a transaction"},
		pg.TransactionStmtKind_TRANS_STMT_START:       {"START TRANSACTION", airlock.TxnBegin, "START TRANSACTION starts a transaction"},
		pg.TransactionStmtKind_TRANS_STMT_COMMIT:      {"COMMIT", airlock.TxnCommit, "COMMIT ends the transaction"},
		pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:    {"ROLLBACK", airlock.TxnRollback, "ROLLBACK ends the transaction"},
		pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:   {"SAVEPOINT", airlock.TxnSavepoint, "SAVEPOINT marks the transaction"},
		pg.TransactionStmtKind_TRANS_STMT_RELEASE:     {"RELEASE", airlock.TxnRelease, "RELEASE forgets a savepoint"},
		pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO: {"ROLLBACK", airlock.TxnRollbackTo, "ROLLBACK TO undoes part of the transaction"},
	}
	switch t.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_PREPARE:
		f.base(airlock.KindTransaction, airlock.LevelAdmin, "PREPARE TRANSACTION leaves a transaction on the server", "PREPARE TRANSACTION")
		f.txn = airlock.TxnCommit
		return
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT_PREPARED:
		f.base(airlock.KindTransaction, airlock.LevelAdmin, "COMMIT PREPARED acts on a transaction left on the server", "COMMIT PREPARED")
		f.txn = airlock.TxnCommit
		return
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_PREPARED:
		f.base(airlock.KindTransaction, airlock.LevelAdmin, "ROLLBACK PREPARED acts on a transaction left on the server", "ROLLBACK PREPARED")
		f.txn = airlock.TxnRollback
		return
	}
	in, ok := info[t.Kind]
	if !ok {
		f.base(airlock.KindUnknown, airlock.LevelAdmin, "this transaction statement is not one airlock knows", "UNKNOWN")
		return
	}
	f.base(airlock.KindTransaction, airlock.LevelRead, in.why, in.command)
	f.txn = in.effect
	f.name = t.SavepointName
	if in.effect == airlock.TxnBegin {
		f.transactionModes(t.Options, in.command, "transaction_", false)
	}
}

// transactionModes judges the modes of BEGIN / START TRANSACTION / SET
// TRANSACTION / SET SESSION CHARACTERISTICS: only READ WRITE matters (an
// escape from read-only); isolation levels and DEFERRABLE are allowed.
// prefix turns the mode names into setting names; record says whether to
// report the setting (for the SET forms).
func (f *facts) transactionModes(opts []*pg.Node, command, prefix string, record bool) {
	var first, escaping *settingChange
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		name := prefix + strings.TrimPrefix(d.Defname, "transaction_")
		v, known := defArgString(d.Arg)
		c := settingChange{Verb: command, Name: name, Value: v, Known: known}
		if d.Defname == "transaction_read_only" || d.Defname == "transaction_deferrable" {
			if b, ok := pgParseBool(v); ok {
				c.Value = map[bool]string{true: "on", false: "off"}[b]
			}
		}
		if first == nil {
			first = &c
		}
		if d.Defname == "transaction_read_only" {
			if b, ok := pgParseBool(v); !ok || !b {
				f.escapes(airlock.EscapeReadOnly, command+" READ WRITE would turn read-only off")
				escaping = &c
			}
		}
	}
	if !record || !f.exec {
		return
	}
	switch {
	case escaping != nil:
		f.setting = escaping
	case first != nil:
		f.setting = first
	}
}

func (f *facts) setStmt(s *pg.VariableSetStmt) {
	verb := "SET"
	if s.Kind == pg.VariableSetKind_VAR_RESET || s.Kind == pg.VariableSetKind_VAR_RESET_ALL {
		verb = "RESET"
	}
	switch s.Kind {
	case pg.VariableSetKind_VAR_RESET_ALL:
		f.base(airlock.KindSet, airlock.LevelRead, "RESET ALL restores the session's settings", verb)
		f.setting = &settingChange{Verb: verb, Name: "all", Reset: true, Known: true}
		return
	case pg.VariableSetKind_VAR_SET_MULTI:
		switch s.Name {
		case "TRANSACTION":
			f.base(airlock.KindSet, airlock.LevelRead, "SET TRANSACTION sets the transaction's mode", verb)
			f.transactionModes(s.Args, "SET TRANSACTION", "transaction_", true)
		case "SESSION CHARACTERISTICS":
			f.base(airlock.KindSet, airlock.LevelRead, "SET SESSION CHARACTERISTICS sets the mode of the next transactions", verb)
			f.transactionModes(s.Args, "SET SESSION CHARACTERISTICS AS TRANSACTION", "default_transaction_", true)
		case "TRANSACTION SNAPSHOT":
			f.base(airlock.KindSet, airlock.LevelRead, "SET TRANSACTION SNAPSHOT shares another transaction's snapshot", verb)
			v, _ := setArgs(s.Args)
			f.setting = &settingChange{Verb: verb, Name: "transaction_snapshot", Value: v, Known: true}
		default:
			f.base(airlock.KindSet, airlock.LevelAdmin, "SET "+s.Name+" is not a setting airlock knows", verb)
		}
		return
	}
	f.kind, f.command = airlock.KindSet, verb
	c := settingChange{Verb: verb, Name: strings.ToLower(s.Name)}
	switch s.Kind {
	case pg.VariableSetKind_VAR_SET_VALUE:
		c.Value, c.Known = setArgs(s.Args)
	case pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET:
		c.Reset, c.Known = true, true
	default: // SET ... FROM CURRENT and anything newer: value unknown
	}
	f.changeSetting(c, -1)
}

// setArgs renders the values of a SET as PostgreSQL would list them, and
// whether they are all literals.
func setArgs(args []*pg.Node) (string, bool) {
	parts := make([]string, 0, len(args))
	known := true
	for _, a := range args {
		s, ok, _ := constString(a)
		if !ok {
			known = false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", "), known
}

// commandOf derives a command name from a node type name, for statements
// airlock does not know: "AlterFooStmt" -> "ALTER FOO".
func commandOf(n *pg.Node) string {
	t := reflect.TypeOf(n.Node)
	if t == nil {
		return "UNKNOWN"
	}
	name := strings.TrimSuffix(strings.TrimPrefix(t.Elem().Name(), "Node_"), "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}
