package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"airlock"
)

// fallback classifies MariaDB statements that the TiDB parser refused: SHOW
// variants, EXPLAIN EXTENDED / PARTITIONS, ANALYZE <statement> (which
// runs the statement), table maintenance, SELECT ... INTO @var and INTO
// DUMPFILE, INSERT/REPLACE/DELETE ... RETURNING, CREATE OR REPLACE TABLE,
// DROP FUNCTION / TRIGGER / EVENT and server administration. Rewrites keep
// every byte offset; the rewritten text must then parse as the statement
// it is expected to be.
func (m *MySQL) fallback(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	if len(toks) == 0 {
		return airlock.Statement{}, false, nil
	}
	first := toks[0].up
	if toks[0].kind != myTokWord && !myIsPunct(toks, 0, "(") {
		return airlock.Statement{}, false, nil
	}
	switch first {
	case "SHOW":
		return m.showFallback(b, toks)
	case "EXPLAIN", "DESCRIBE", "DESC":
		if myIs(toks, 1, "EXTENDED") || myIs(toks, 1, "PARTITIONS") {
			// Old spellings of EXPLAIN: the same plan, more columns.
			return m.reclassify(myBlanked(b, toks[1].start, toks[1].end), depth, nil)
		}
	case "ANALYZE":
		if myIs(toks, 1, "TABLE") || myIs(toks, 1, "TABLES") || myIs(toks, 1, "NO_WRITE_TO_BINLOG") || myIs(toks, 1, "LOCAL") {
			return myMaintenance(b, toks)
		}
		return m.analyzeFallback(b, toks, depth)
	case "OPTIMIZE", "REPAIR", "CHECK", "CHECKSUM":
		return myMaintenance(b, toks)
	case "SELECT", "WITH", "(":
		return m.intoFallback(b, toks, depth)
	case "INSERT", "REPLACE", "DELETE":
		return m.returningFallback(b, toks, depth)
	case "CREATE":
		if myIs(toks, 1, "OR") && myIs(toks, 2, "REPLACE") && (myIs(toks, 3, "TABLE") || myIs(toks, 3, "TEMPORARY") && myIs(toks, 4, "TABLE")) {
			return m.reclassify(myBlanked(b, toks[1].start, toks[2].end), depth, func(st *airlock.Statement, n ast.StmtNode) bool {
				if _, ok := n.(*ast.CreateTableStmt); !ok {
					return false
				}
				st.Kind, st.Command = airlock.KindDrop, "CREATE OR REPLACE TABLE"
				st.Why = "CREATE OR REPLACE TABLE drops the table if it exists"
				return true
			})
		}
	case "DROP":
		if st, ok := myDropRoutine(b, toks); ok {
			return st, true, nil
		}
	case "ALTER":
		if myIs(toks, 1, "TABLE") || myIs(toks, 1, "ONLINE") || myIs(toks, 1, "IGNORE") {
			return m.alterIfExistsFallback(b, toks, depth)
		}
	}
	if cmd := myAdminCommand(toks); cmd != "" {
		f := newMyFacts()
		why := cmd + " acts on the server"
		if cmd == "KILL" {
			why = "KILL acts on another session"
		}
		f.base(airlock.KindUtility, airlock.LevelAdmin, why, cmd)
		return f.result(), true, nil
	}
	return airlock.Statement{}, false, nil
}

// reclassify parses rewritten text and classifies it; check, when given,
// accepts the statement and adjusts its facts.
func (m *MySQL) reclassify(b []byte, depth int, check func(*airlock.Statement, ast.StmtNode) bool) (airlock.Statement, bool, *myErr) {
	stmt, err := m.parseOne(b)
	if err != nil {
		return airlock.Statement{}, false, nil
	}
	f := newMyFacts()
	if perr := m.stmt(f, stmt, depth); perr != nil {
		return airlock.Statement{}, false, &myErr{perr.Message, -1}
	}
	st := f.result()
	if check != nil && !check(&st, stmt) {
		return airlock.Statement{}, false, nil
	}
	return st, true, nil
}

// alterIfExistsFallback reads MariaDB's IF EXISTS and IF NOT EXISTS in
// ALTER TABLE (ALTER TABLE IF EXISTS t, DROP CONSTRAINT IF EXISTS c, ADD
// COLUMN IF NOT EXISTS ..., DROP FOREIGN KEY IF EXISTS fk ...), which
// migration tools generate and the TiDB parser refuses in some clauses:
// they only make a clause a no-op when its object is missing or present,
// so the statement's facts are those of the same ALTER TABLE without
// them. The words are blanked where they are words (a quoted identifier
// is never one) and the text must then parse as an ALTER TABLE.
func (m *MySQL) alterIfExistsFallback(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	c, found := b, false
	for i := range toks {
		if !myIs(toks, i, "IF") {
			continue
		}
		end := -1
		switch {
		case myIs(toks, i+1, "EXISTS"):
			end = toks[i+1].end
		case myIs(toks, i+1, "NOT") && myIs(toks, i+2, "EXISTS"):
			end = toks[i+2].end
		}
		if end < 0 {
			continue
		}
		if !found {
			c = append([]byte(nil), b...)
			found = true
		}
		for k := toks[i].start; k < end; k++ {
			c[k] = ' '
		}
	}
	if !found {
		return airlock.Statement{}, false, nil
	}
	return m.reclassify(c, depth, func(_ *airlock.Statement, n ast.StmtNode) bool {
		_, ok := n.(*ast.AlterTableStmt)
		return ok
	})
}

// myBlanked returns a copy of b with [start, end) replaced by spaces.
func myBlanked(b []byte, start, end int) []byte {
	c := append([]byte(nil), b...)
	for k := start; k < end; k++ {
		c[k] = ' '
	}
	return c
}

// showFallback reads the SHOW statements TiDB does not know (SHOW CREATE
// TRIGGER, SHOW PACKAGE STATUS, SHOW ENGINE ... STATUS, SHOW BINLOG EVENTS,
// SHOW ALL SLAVES STATUS, ...): SHOW, then words, names, strings and
// numbers, then optionally LIKE 'pattern' or WHERE condition. Every SHOW
// only reads; the condition's calls are classified.
func (m *MySQL) showFallback(b []byte, toks []myTok) (airlock.Statement, bool, *myErr) {
	f := newMyFacts()
	f.base(airlock.KindShow, airlock.LevelRead, "SHOW reads the server's metadata", "SHOW")
	i := 1
	for ; i < len(toks); i++ {
		t := toks[i]
		if t.kind == myTokWord && (t.up == "LIKE" || t.up == "WHERE") {
			break
		}
		switch {
		case t.kind == myTokWord, t.kind == myTokIdent, t.kind == myTokString:
		case t.kind == myTokPunct && (t.up == "." || t.up == ","):
		default:
			return airlock.Statement{}, false, nil
		}
	}
	switch {
	case i == len(toks):
	case toks[i].up == "LIKE":
		if i+2 != len(toks) || toks[i+1].kind != myTokString {
			return airlock.Statement{}, false, nil
		}
	default: // WHERE
		stmt, err := m.parseOne([]byte("SELECT 1 FROM DUAL " + string(b[toks[i].start:])))
		if err != nil {
			return airlock.Statement{}, false, nil
		}
		sel, ok := stmt.(*ast.SelectStmt)
		if !ok || sel.Limit != nil || sel.OrderBy != nil || sel.GroupBy != nil || sel.LockInfo != nil || sel.SelectIntoOpt != nil {
			return airlock.Statement{}, false, nil
		}
		f.walk(sel.Where)
	}
	return f.result(), true, nil
}

// analyzeFallback reads MariaDB's ANALYZE [FORMAT=JSON] statement, which
// runs the statement and shows its plan with what happened: the statement's
// own facts (as EXPLAIN ANALYZE in PostgreSQL).
func (m *MySQL) analyzeFallback(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	i := 1
	if myIs(toks, i, "FORMAT") && myIsPunct(toks, i+1, "=") && i+2 < len(toks) {
		i += 3
	}
	if i >= len(toks) {
		return airlock.Statement{}, false, nil
	}
	switch {
	case myIsPunct(toks, i, "("):
	case toks[i].kind == myTokWord && strings.Contains(" SELECT INSERT UPDATE DELETE REPLACE WITH ", " "+toks[i].up+" "):
	default:
		return airlock.Statement{}, false, nil
	}
	return m.reclassify(myBlanked(b, 0, toks[i].start), depth, func(st *airlock.Statement, n ast.StmtNode) bool {
		switch n.(type) {
		case *ast.SelectStmt, *ast.SetOprStmt, *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		default:
			return false
		}
		st.Command = "ANALYZE"
		if st.Kind == airlock.KindSelect {
			st.Kind = airlock.KindExplain
			if st.Level == airlock.LevelRead {
				st.Why = "ANALYZE runs a query and shows its plan"
			}
		}
		return true
	})
}

// myMaintenance reads table maintenance statements:
//
//	{ANALYZE | OPTIMIZE | REPAIR | CHECK | CHECKSUM} [NO_WRITE_TO_BINLOG | LOCAL]
//	    {TABLE | TABLES} name [, name]... [options]
//
// CHECKSUM TABLE only reads; the others maintain tables (ddl, like VACUUM
// and ANALYZE in PostgreSQL). Options are words, with parenthesized lists
// (ANALYZE TABLE t PERSISTENT FOR COLUMNS (a) INDEXES (i)).
func myMaintenance(b []byte, toks []myTok) (airlock.Statement, bool, *myErr) {
	verb := toks[0].up
	i := 1
	if myIs(toks, i, "NO_WRITE_TO_BINLOG") || myIs(toks, i, "LOCAL") {
		i++
	}
	if !myIs(toks, i, "TABLE") && !myIs(toks, i, "TABLES") {
		return airlock.Statement{}, false, nil
	}
	i++
	var names []string
	for {
		name, next, ok := myNameAt(b, toks, i)
		if !ok {
			return airlock.Statement{}, false, nil
		}
		names = append(names, name)
		i = next
		if !myIsPunct(toks, i, ",") {
			break
		}
		i++
	}
	for ; i < len(toks); i++ {
		t := toks[i]
		if t.kind != myTokWord && t.kind != myTokIdent && !(t.kind == myTokPunct && strings.Contains("(),", t.up)) {
			return airlock.Statement{}, false, nil
		}
	}
	f := newMyFacts()
	cmd := verb + " TABLE"
	if verb == "CHECKSUM" {
		f.base(airlock.KindUtility, airlock.LevelRead, "CHECKSUM TABLE reads rows", cmd)
		for _, n := range names {
			f.table(n)
		}
		return f.result(), true, nil
	}
	f.base(airlock.KindDDL, airlock.LevelDDL, cmd+" maintains tables", cmd)
	for _, n := range names {
		f.target(n)
	}
	return f.result(), true, nil
}

// intoFallback reads SELECT ... INTO @var [, @var]... (which only sets user
// variables) and SELECT ... INTO DUMPFILE 'file' (a file on the server,
// admin), which the TiDB grammar lacks: the query without its INTO, or
// with INTO OUTFILE, must parse as a query.
func (m *MySQL) intoFallback(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	into := myTopLevel(toks, 0, "INTO")
	if into < 0 || into+1 >= len(toks) {
		return airlock.Statement{}, false, nil
	}
	isQuery := func(n ast.StmtNode) bool {
		switch n.(type) {
		case *ast.SelectStmt, *ast.SetOprStmt:
			return true
		}
		return false
	}
	if myIs(toks, into+1, "DUMPFILE") {
		c := append([]byte(nil), b...)
		copy(c[toks[into+1].start:], "OUTFILE ") // as long as DUMPFILE
		return m.reclassify(c, depth, func(st *airlock.Statement, n ast.StmtNode) bool {
			st.Why = strings.Replace(st.Why, "INTO OUTFILE", "INTO DUMPFILE", 1)
			return isQuery(n)
		})
	}
	end := into + 1
	for {
		if end >= len(toks) || toks[end].kind != myTokUserVar {
			return airlock.Statement{}, false, nil
		}
		end++
		if !myIsPunct(toks, end, ",") {
			break
		}
		end++
	}
	return m.reclassify(myBlanked(b, toks[into].start, toks[end-1].end), depth, func(st *airlock.Statement, n ast.StmtNode) bool {
		return isQuery(n)
	})
}

// returningFallback reads MariaDB's INSERT / REPLACE / DELETE ...
// RETURNING list: the statement without the list, and the list read as
// the expressions of a query (its calls and subqueries run).
func (m *MySQL) returningFallback(b []byte, toks []myTok, depth int) (airlock.Statement, bool, *myErr) {
	at := myTopLevel(toks, 1, "RETURNING")
	if at < 0 || at+1 >= len(toks) {
		return airlock.Statement{}, false, nil
	}
	list, err := m.parseOne([]byte("SELECT " + string(b[toks[at].end:])))
	if err != nil {
		return airlock.Statement{}, false, nil
	}
	sel, ok := list.(*ast.SelectStmt)
	if !ok || sel.From != nil || sel.Where != nil || sel.Limit != nil || sel.LockInfo != nil || sel.SelectIntoOpt != nil ||
		sel.OrderBy != nil || sel.GroupBy != nil || sel.Having != nil {
		return airlock.Statement{}, false, nil
	}
	head := myBlanked(b, toks[at].start, len(b))
	stmt, perr := m.parseOne(head)
	if perr != nil {
		return airlock.Statement{}, false, nil
	}
	switch stmt.(type) {
	case *ast.InsertStmt, *ast.DeleteStmt:
	default:
		return airlock.Statement{}, false, nil
	}
	f := newMyFacts()
	if e := m.stmt(f, stmt, depth); e != nil {
		return airlock.Statement{}, false, &myErr{e.Message, -1}
	}
	f.walk(sel.Fields)
	return f.result(), true, nil
}

// myDropRoutine reads DROP {FUNCTION | TRIGGER | EVENT} [IF EXISTS] name,
// which TiDB does not know: stored code is schema (ddl); an event runs
// statements on a schedule, outside any session (admin).
func myDropRoutine(b []byte, toks []myTok) (airlock.Statement, bool) {
	if len(toks) < 3 || toks[1].kind != myTokWord {
		return airlock.Statement{}, false
	}
	what := toks[1].up
	if what != "FUNCTION" && what != "TRIGGER" && what != "EVENT" {
		return airlock.Statement{}, false
	}
	i := 2
	if myIs(toks, i, "IF") && myIs(toks, i+1, "EXISTS") {
		i += 2
	}
	_, next, ok := myNameAt(b, toks, i)
	if !ok || next != len(toks) {
		return airlock.Statement{}, false
	}
	f := newMyFacts()
	cmd := "DROP " + what
	if what == "EVENT" {
		f.base(airlock.KindDrop, airlock.LevelAdmin, cmd+" changes what the server runs on a schedule", cmd)
	} else {
		f.base(airlock.KindDrop, airlock.LevelDDL, cmd+" changes the schema", cmd)
	}
	return f.result(), true
}

// myAdminStatements are statements that act on the server, replication,
// plugins or other sessions, which the TiDB grammar lacks; they are admin
// whatever follows these words.
var myAdminStatements = [][]string{
	{"INSTALL", "PLUGIN"}, {"INSTALL", "SONAME"}, {"UNINSTALL", "PLUGIN"}, {"UNINSTALL", "SONAME"},
	{"CHANGE", "MASTER"}, {"CHANGE", "REPLICATION"},
	{"START", "SLAVE"}, {"START", "REPLICA"}, {"START", "ALL"}, {"STOP", "SLAVE"}, {"STOP", "REPLICA"}, {"STOP", "ALL"},
	{"RESET"}, {"PURGE"}, {"BACKUP"}, {"CACHE", "INDEX"}, {"LOAD", "INDEX"},
	{"CREATE", "SERVER"}, {"ALTER", "SERVER"}, {"DROP", "SERVER"}, {"CREATE", "OR", "REPLACE", "SERVER"},
	{"ALTER", "INSTANCE"}, {"CREATE", "TABLESPACE"}, {"ALTER", "TABLESPACE"}, {"DROP", "TABLESPACE"},
	{"LOCK", "INSTANCE"}, {"UNLOCK", "INSTANCE"}, {"IMPORT", "TABLE"}, {"CLONE"},
	{"SET", "PERSIST"}, {"SET", "PERSIST_ONLY"}, {"KILL"}, {"SHUTDOWN"}, {"RESTART"}, {"FLUSH"}, {"BINLOG"},
	{"CREATE", "EVENT"}, {"ALTER", "EVENT"}, {"CREATE", "OR", "REPLACE", "EVENT"},
	{"CREATE", "OR", "REPLACE", "USER"}, {"CREATE", "OR", "REPLACE", "ROLE"},
	{"CREATE", "OR", "REPLACE", "DATABASE"}, {"CREATE", "OR", "REPLACE", "SCHEMA"},
}

// myAdminCommand returns the command of an administration statement, or "".
func myAdminCommand(toks []myTok) string {
	for _, words := range myAdminStatements {
		ok := true
		for k, w := range words {
			if !myIs(toks, k, w) {
				ok = false
				break
			}
		}
		if ok {
			return strings.Join(words, " ")
		}
	}
	return ""
}
