package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"airlock"
)

// This file recognizes by hand, with exact grammars, the MariaDB statements
// that the TiDB parser does not know or reads with less detail than airlock
// needs. hand runs before the parser (for statements the parser would read
// wrongly or not at all); fallback runs when the parser refused the text.
// A form that is not exactly one of these is left to the parser, which
// then refuses it, so the text is a *sqlclass.ParseError.

// myHandWords are the first words of the statements hand reads.
var myHandWords = map[string]bool{
	"START": true, "BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true,
	"XA": true, "HANDLER": true, "SET": true, "EXECUTE": true,
}

// myFirstWord returns the first word of sanitized text in upper case, or
// "" when it does not start with a word.
func myFirstWord(b []byte) string {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r' || b[i] == '\f' || b[i] == '\v') {
		i++
	}
	j := i
	for j < len(b) && myWordByte(b[j]) && b[j] < 0x80 {
		j++
	}
	if j-i > 10 { // longer than any word of myHandWords
		return ""
	}
	return strings.ToUpper(string(b[i:j]))
}

// hand classifies transaction control (TiDB does not tell START
// TRANSACTION READ WRITE from START TRANSACTION), XA, HANDLER, SET
// STATEMENT ... FOR, SET DEFAULT ROLE and EXECUTE IMMEDIATE.
func (m *MySQL) hand(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	if len(toks) == 0 || toks[0].kind != myTokWord {
		return airlock.Statement{}, false, nil
	}
	switch toks[0].up {
	case "START", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
		if f, ok := myTxn(b, toks); ok {
			return f.result(), true, nil
		}
	case "XA":
		f, ok := myXA(toks)
		if !ok {
			return airlock.Statement{}, false, &myErr{"syntax error", 0}
		}
		return f.result(), true, nil
	case "HANDLER":
		return m.handler(b, toks, depth)
	case "SET":
		switch {
		case myIs(toks, 1, "STATEMENT"):
			return m.setStatement(b, toks, depth)
		case myIs(toks, 1, "ROLE"):
			// Any form switches the identity, which is denied at every
			// level: no need to read the role names exactly.
			f := newMyFacts()
			f.base(airlock.KindSet, airlock.LevelRead, "SET ROLE switches the database identity", "SET ROLE")
			f.escapes(airlock.EscapeIdentity, "SET ROLE switches the database identity")
			value := ""
			if len(toks) > 2 {
				value = strings.TrimSpace(string(b[toks[2].start:]))
			}
			f.setting = &mySetting{Name: "role", Value: value, Known: true}
			return f.result(), true, nil
		case myIs(toks, 1, "DEFAULT") && myIs(toks, 2, "ROLE"):
			f := newMyFacts()
			f.base(airlock.KindDDL, airlock.LevelAdmin, "SET DEFAULT ROLE changes an account", "SET DEFAULT ROLE")
			return f.result(), true, nil
		}
	case "EXECUTE":
		if myIs(toks, 1, "IMMEDIATE") {
			f := newMyFacts()
			f.base(airlock.KindUnknown, airlock.LevelAdmin, "EXECUTE IMMEDIATE runs SQL built at run time, which airlock cannot check", "EXECUTE IMMEDIATE")
			return f.result(), true, nil
		}
	}
	return airlock.Statement{}, false, nil
}

// myTxn reads transaction control:
//
//	BEGIN [WORK]
//	START TRANSACTION [mode [, mode]...]   mode: WITH CONSISTENT SNAPSHOT | READ ONLY | READ WRITE
//	COMMIT [WORK] [AND [NO] CHAIN] [[NO] RELEASE]
//	ROLLBACK [WORK] [AND [NO] CHAIN] [[NO] RELEASE]
//	ROLLBACK [WORK] TO [SAVEPOINT] name
//	SAVEPOINT name
//	RELEASE SAVEPOINT name
func myTxn(b []byte, toks []myTok) (*myFacts, bool) {
	f := newMyFacts()
	i := 1
	end := func() bool { return i == len(toks) }
	switch toks[0].up {
	case "BEGIN":
		if myIs(toks, i, "WORK") {
			i++
		}
		f.base(airlock.KindTransaction, airlock.LevelRead, "BEGIN starts a transaction", "BEGIN")
		f.txn = airlock.TxnBegin
		return f, end()
	case "START":
		if !myIs(toks, i, "TRANSACTION") {
			return nil, false
		}
		i++
		f.base(airlock.KindTransaction, airlock.LevelRead, "START TRANSACTION starts a transaction", "START TRANSACTION")
		f.txn = airlock.TxnBegin
		for !end() {
			switch {
			case myIs(toks, i, "WITH") && myIs(toks, i+1, "CONSISTENT") && myIs(toks, i+2, "SNAPSHOT"):
				i += 3
			case myIs(toks, i, "READ") && myIs(toks, i+1, "ONLY"):
				i += 2
			case myIs(toks, i, "READ") && myIs(toks, i+1, "WRITE"):
				i += 2
				f.escapes(airlock.EscapeReadOnly, "START TRANSACTION READ WRITE would turn read-only off")
			default:
				return nil, false
			}
			if !end() {
				if !myIsPunct(toks, i, ",") || i+1 == len(toks) {
					return nil, false
				}
				i++
			}
		}
		return f, true
	case "SAVEPOINT":
		name, ok := myIdentAt(b, toks, i)
		f.base(airlock.KindTransaction, airlock.LevelRead, "SAVEPOINT marks the transaction", "SAVEPOINT")
		f.txn, f.name = airlock.TxnSavepoint, name
		i++
		return f, ok && end()
	case "RELEASE":
		if !myIs(toks, i, "SAVEPOINT") {
			return nil, false
		}
		name, ok := myIdentAt(b, toks, i+1)
		f.base(airlock.KindTransaction, airlock.LevelRead, "RELEASE SAVEPOINT forgets a savepoint", "RELEASE")
		f.txn, f.name = airlock.TxnRelease, name
		i += 2
		return f, ok && end()
	}
	// COMMIT, ROLLBACK
	cmd := toks[0].up
	if myIs(toks, i, "WORK") {
		i++
	}
	if cmd == "ROLLBACK" && myIs(toks, i, "TO") {
		i++
		if myIs(toks, i, "SAVEPOINT") {
			i++
		}
		name, ok := myIdentAt(b, toks, i)
		f.base(airlock.KindTransaction, airlock.LevelRead, "ROLLBACK TO undoes part of the transaction", "ROLLBACK")
		f.txn, f.name = airlock.TxnRollbackTo, name
		i++
		return f, ok && end()
	}
	why := "COMMIT ends the transaction"
	f.txn = airlock.TxnCommit
	if cmd == "ROLLBACK" {
		why, f.txn = "ROLLBACK ends the transaction", airlock.TxnRollback
	}
	if myIs(toks, i, "AND") {
		i++
		no := myIs(toks, i, "NO")
		if no {
			i++
		}
		if !myIs(toks, i, "CHAIN") {
			return nil, false
		}
		i++
		if !no {
			why += " and starts another (AND CHAIN)"
		}
	}
	no := myIs(toks, i, "NO")
	if no {
		i++
	}
	if myIs(toks, i, "RELEASE") {
		i++
		if !no {
			why += " and closes the connection (RELEASE)"
		}
	} else if no {
		return nil, false
	}
	f.base(airlock.KindTransaction, airlock.LevelRead, why, cmd)
	return f, end()
}

// myXA reads XA transaction statements, which act on distributed
// transactions that outlive the session (admin):
//
//	XA {START|BEGIN} xid [JOIN|RESUME]
//	XA END xid [SUSPEND [FOR MIGRATE]]
//	XA PREPARE xid
//	XA COMMIT xid [ONE PHASE]
//	XA ROLLBACK xid
//	XA RECOVER [FORMAT = 'RAW' | 'SQL']
//
// with xid: gtrid [, bqual [, formatID]] (strings, hex literals, numbers).
func myXA(toks []myTok) (*myFacts, bool) {
	if len(toks) < 2 || toks[1].kind != myTokWord {
		return nil, false
	}
	f := newMyFacts()
	verb := toks[1].up
	cmd := "XA " + verb
	f.base(airlock.KindTransaction, airlock.LevelAdmin, cmd+" acts on a distributed transaction, which outlives the session", cmd)
	i := 2
	xid := func() bool {
		for part := 0; part < 3; part++ {
			switch {
			case i < len(toks) && toks[i].kind == myTokString:
				i++
			case i+1 < len(toks) && toks[i].kind == myTokWord && (toks[i].up == "X" || toks[i].up == "B") && toks[i+1].kind == myTokString:
				i += 2
			case i < len(toks) && toks[i].kind == myTokWord:
				i++ // a number or 0x... literal
			default:
				return false
			}
			if !myIsPunct(toks, i, ",") {
				return true
			}
			i++
		}
		return false
	}
	words := func(ws ...string) {
		for _, w := range ws {
			if !myIs(toks, i, w) {
				return
			}
			i++
		}
	}
	switch verb {
	case "START", "BEGIN":
		f.txn = airlock.TxnBegin
		if !xid() {
			return nil, false
		}
		if myIs(toks, i, "JOIN") || myIs(toks, i, "RESUME") {
			i++
		}
	case "END":
		if !xid() {
			return nil, false
		}
		words("SUSPEND", "FOR", "MIGRATE")
	case "PREPARE":
		if !xid() {
			return nil, false
		}
	case "COMMIT":
		f.txn = airlock.TxnCommit
		if !xid() {
			return nil, false
		}
		words("ONE", "PHASE")
	case "ROLLBACK":
		f.txn = airlock.TxnRollback
		if !xid() {
			return nil, false
		}
	case "RECOVER":
		if myIs(toks, i, "FORMAT") && myIsPunct(toks, i+1, "=") && i+2 < len(toks) && toks[i+2].kind == myTokString {
			i += 3
		}
	default:
		return nil, false
	}
	return f, i == len(toks)
}

// handler reads HANDLER statements (MariaDB and MySQL):
//
//	HANDLER table OPEN [[AS] alias]
//	HANDLER name READ index {= | <= | >= | < | >} (value, ...) [WHERE cond] [LIMIT ...]
//	HANDLER name READ index {FIRST | NEXT | PREV | LAST} [WHERE cond] [LIMIT ...]
//	HANDLER name READ {FIRST | NEXT} [WHERE cond] [LIMIT ...]
//	HANDLER name CLOSE
//
// READ reads rows; OPEN holds the table open across statements and reads
// it outside any transaction's isolation (write, like a lock); CLOSE only
// closes. Name is the handler's name (the alias, or the table's name).
func (m *MySQL) handler(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	bad := func() (airlock.Statement, bool, *myErr) {
		return airlock.Statement{}, false, &myErr{"syntax error", 0}
	}
	table, i, ok := myNameAt(b, toks, 1)
	if !ok || i >= len(toks) {
		return bad()
	}
	handle := table[strings.LastIndexByte(table, '.')+1:]
	f := newMyFacts()
	switch toks[i].up {
	case "OPEN":
		i++
		if myIs(toks, i, "AS") {
			i++
		}
		if i < len(toks) {
			alias, ok := myIdentAt(b, toks, i)
			if !ok || i+1 != len(toks) {
				return bad()
			}
			handle = alias
		}
		f.base(airlock.KindUtility, airlock.LevelWrite, "HANDLER OPEN holds a table open and reads it outside transactions", "HANDLER OPEN")
		f.target(table)
		f.name = handle
		return f.result(), true, nil
	case "CLOSE":
		if i+1 != len(toks) {
			return bad()
		}
		f.base(airlock.KindUtility, airlock.LevelRead, "HANDLER CLOSE closes a handler", "HANDLER CLOSE")
		f.name = handle
		return f.result(), true, nil
	case "READ":
	default:
		return bad()
	}
	i++
	values := "1"
	switch {
	case (myIs(toks, i, "FIRST") || myIs(toks, i, "NEXT")) && (i+1 == len(toks) || myIs(toks, i+1, "WHERE") || myIs(toks, i+1, "LIMIT")):
		i++
	default:
		if _, ok := myIdentAt(b, toks, i); !ok {
			return bad()
		}
		i++ // the index
		switch {
		case myIs(toks, i, "FIRST") || myIs(toks, i, "NEXT") || myIs(toks, i, "PREV") || myIs(toks, i, "LAST"):
			i++
		case i < len(toks) && toks[i].kind == myTokPunct && strings.Contains(" = <= >= < > ", " "+toks[i].up+" "):
			if !myIsPunct(toks, i+1, "(") {
				return bad()
			}
			close := myMatchParen(toks, i+1)
			if close < 0 || close == i+2 {
				return bad()
			}
			values = string(b[toks[i+2].start:toks[close-1].end])
			i = close + 1
		default:
			return bad()
		}
	}
	// The values, WHERE and LIMIT are read as those of a query.
	q := "SELECT " + values + " FROM DUAL"
	if i < len(toks) {
		if !myIs(toks, i, "WHERE") && !myIs(toks, i, "LIMIT") {
			return bad()
		}
		q += " " + string(b[toks[i].start:])
	}
	stmt, err := m.parseOne([]byte(q))
	if err != nil {
		return bad()
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok {
		return bad()
	}
	f.base(airlock.KindSelect, airlock.LevelRead, "HANDLER READ reads rows", "HANDLER READ")
	f.table(table)
	f.walk(sel)
	f.hasWhere, f.hasLimit = sel.Where != nil, sel.Limit != nil
	f.name = handle
	return f.result(), true, nil
}

// setStatement reads MariaDB's SET STATEMENT var = value [, ...] FOR
// statement: the statement's facts, made stricter by the settings. A
// setting that keeps read-only, an allow-listed setting and a pinned
// setting at its pinned value change nothing; one that turns read-only off
// is a read-only escape; a pinned one at another value, a pinned escape;
// any other setting is admin, and a read-only escape too (it would let a
// read session change what the upstream's read-only account enforces).
func (m *MySQL) setStatement(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	forAt := myTopLevel(toks, 2, "FOR")
	if forAt < 3 || forAt+1 >= len(toks) {
		return airlock.Statement{}, false, &myErr{"syntax error", 0}
	}
	set, err := m.parseOne([]byte("SET " + string(b[toks[2].start:toks[forAt].start])))
	if err != nil {
		return airlock.Statement{}, false, &myErr{"syntax error", toks[2].start}
	}
	s, ok := set.(*ast.SetStmt)
	if !ok {
		return airlock.Statement{}, false, &myErr{"syntax error", toks[2].start}
	}
	if depth+1 > myMaxDepth {
		return airlock.Statement{}, false, &myErr{"SET STATEMENT nests too deep", 0}
	}
	inner := make([]byte, len(b))
	for k := range inner {
		inner[k] = ' '
	}
	copy(inner[toks[forAt].end:], b[toks[forAt].end:])
	st, ierr := m.sanitized(inner, depth+1)
	if ierr != nil {
		return st, false, ierr
	}
	if st.Kind == airlock.KindTransaction || st.Kind == airlock.KindEmpty {
		return airlock.Statement{}, false, &myErr{"SET STATEMENT cannot apply to this statement", toks[forAt].end}
	}
	values := newMyFacts()
	values.raise(st.Level, st.Why)
	decided := false
	for _, v := range s.Variables {
		if !v.IsSystem || v.Name == ast.SetNames || v.Name == ast.SetCharset {
			return airlock.Statement{}, false, &myErr{"SET STATEMENT sets only system variables", toks[2].start}
		}
		c := myAssignment("SET STATEMENT", v)
		l, why, esc := judgeMySetting(c)
		if c.Global {
			return airlock.Statement{}, false, &myErr{"SET STATEMENT sets only session variables", toks[2].start}
		}
		if l > airlock.LevelRead {
			esc = airlock.EscapeReadOnly
		}
		before := myEscapeRank[st.Escape]
		if myEscapeRank[esc] > before {
			st.Escape, st.Why = esc, why
		}
		if l > st.Level {
			st.Level = l
			if st.Escape == airlock.EscapeNone {
				st.Why = why
			}
		}
		if (esc != airlock.EscapeNone || l > airlock.LevelRead) && !decided {
			st.Setting, st.Value, decided = c.Name, c.Value, true
		}
		if v.Value != nil {
			values.walk(v.Value)
		}
	}
	for _, fn := range values.funcs {
		st.Functions = myAdd(st.Functions, fn)
	}
	for _, t := range values.tables {
		st.Tables = myAdd(st.Tables, t)
	}
	if values.level > st.Level {
		st.Level = values.level
		if st.Escape == airlock.EscapeNone {
			st.Why = values.why
		}
	}
	return st, true, nil
}
