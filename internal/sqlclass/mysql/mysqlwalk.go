package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"airlock"
)

// myWalker visits a TiDB tree (ast.Visitor) and records into its facts
// every table a query names and every function it calls, with what the
// calls and the locking or file-writing clauses of queries need. Every node
// is visited through the tree's own Accept methods, so no node kind can
// hide a table or a call; the names that are not tables (CTE references,
// the aliases of multi-table DELETE and of FOR UPDATE OF) are left out.
type myWalker struct {
	f *myFacts
	// scopes are the CTE names visible at this point; marks the length of
	// scopes when each enclosing query was entered.
	scopes []string
	marks  []int
	// skip are table names that are aliases or are handled by the
	// statement itself.
	skip map[*ast.TableName]bool
}

func (f *myFacts) walk(n ast.Node) {
	if n == nil {
		return
	}
	w := &myWalker{f: f}
	n.Accept(w)
}

// walkSkipping walks n without listing the given table names.
func (f *myFacts) walkSkipping(n ast.Node, skip ...*ast.TableName) {
	if n == nil {
		return
	}
	w := &myWalker{f: f, skip: map[*ast.TableName]bool{}}
	for _, t := range skip {
		w.skip[t] = true
	}
	n.Accept(w)
}

// Enter implements ast.Visitor.
func (w *myWalker) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		w.marks = append(w.marks, len(w.scopes))
		if x.LockInfo != nil {
			for _, t := range x.LockInfo.Tables {
				if w.skip == nil {
					w.skip = map[*ast.TableName]bool{}
				}
				w.skip[t] = true // FOR UPDATE OF names aliases
			}
		}
	case *ast.SetOprStmt, *ast.UpdateStmt, *ast.DeleteStmt, *ast.InsertStmt:
		w.marks = append(w.marks, len(w.scopes))
	case *ast.WithClause:
		w.with(x)
		return n, true
	case *ast.DeleteTableList:
		return n, true // aliases; the DELETE lists its targets
	case *ast.TableName:
		if !w.skip[x] && !w.isCTE(x) {
			w.f.table(myTableName(x))
		}
	case *ast.FuncCallExpr:
		w.f.call(x.Schema.O, x.FnName.O)
		if x.Schema.L == "" && (x.FnName.L == "nextval" || x.FnName.L == "setval") && len(x.Args) > 0 {
			if t, ok := x.Args[0].(*ast.TableNameExpr); ok && t.Name != nil {
				w.f.target(myTableName(t.Name)) // the sequence it changes
			}
		}
	case *ast.VariableExpr:
		if x.IsSystem && x.Value != nil {
			w.f.raise(airlock.LevelAdmin, "assigning @@"+strings.ToLower(x.Name)+" in an expression is not a setting airlock knows")
		}
	case *ast.AggregateFuncExpr:
		w.f.call("", x.F)
	case *ast.WindowFuncExpr:
		w.f.call("", x.Name)
	}
	return n, false
}

// Leave implements ast.Visitor.
func (w *myWalker) Leave(n ast.Node) (ast.Node, bool) {
	if s, ok := n.(*ast.SelectStmt); ok {
		w.selectClauses(s) // its CTEs are still in scope
	}
	switch n.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt, *ast.UpdateStmt, *ast.DeleteStmt, *ast.InsertStmt:
		if k := len(w.marks); k > 0 {
			w.scopes = w.scopes[:w.marks[k-1]]
			w.marks = w.marks[:k-1]
		}
	}
	return n, true
}

// with walks the CTEs of a WITH clause: a CTE's name is visible in the CTEs
// after it and in the query, and in its own query when it is recursive.
func (w *myWalker) with(x *ast.WithClause) {
	for _, cte := range x.CTEs {
		recursive := x.IsRecursive || cte.IsRecursive
		if recursive {
			w.scopes = append(w.scopes, cte.Name.L)
		}
		if cte.Query != nil {
			cte.Query.Accept(w)
		}
		if !recursive {
			w.scopes = append(w.scopes, cte.Name.L)
		}
	}
}

func (w *myWalker) isCTE(t *ast.TableName) bool {
	if t.Schema.L != "" {
		return false
	}
	for _, s := range w.scopes {
		if s == t.Name.L {
			return true
		}
	}
	return false
}

// selectClauses raises what a query's locking and INTO clauses need: FOR
// UPDATE / FOR SHARE lock the rows of the tables of its FROM (write, as in
// PostgreSQL); INTO OUTFILE / DUMPFILE writes a file on the server (admin).
// INTO @var (handled before parsing, see mysqlhand.go) only reads.
func (w *myWalker) selectClauses(s *ast.SelectStmt) {
	if s.LockInfo != nil && s.LockInfo.LockType != ast.SelectLockNone {
		mode := "FOR UPDATE"
		switch s.LockInfo.LockType {
		case ast.SelectLockForShare, ast.SelectLockForShareNoWait, ast.SelectLockForShareSkipLocked:
			mode = "FOR SHARE"
		}
		w.f.raise(airlock.LevelWrite, "SELECT ... "+mode+" locks rows")
		if s.From != nil {
			for _, src := range mySources(s.From.TableRefs) {
				if src.table != nil && !w.isCTE(src.table) {
					w.f.target(myTableName(src.table))
				}
			}
		}
	}
	if s.SelectIntoOpt != nil {
		switch s.SelectIntoOpt.Tp {
		case ast.SelectIntoOutfile:
			w.f.raise(airlock.LevelAdmin, "SELECT ... INTO OUTFILE writes a file on the server")
		case ast.SelectIntoDumpfile:
			w.f.raise(airlock.LevelAdmin, "SELECT ... INTO DUMPFILE writes a file on the server")
		default:
			w.f.raise(airlock.LevelAdmin, "SELECT ... INTO this target is not one airlock knows")
		}
	}
}

// myTableName is how a table is listed: schema-qualified when the text
// qualifies it, lower-case (MySQL names are case-insensitive for airlock's
// purpose; quoted names too).
func myTableName(t *ast.TableName) string {
	if t.Schema.O != "" {
		return strings.ToLower(t.Schema.O) + "." + strings.ToLower(t.Name.O)
	}
	return strings.ToLower(t.Name.O)
}

// mySource is one entry of a FROM clause: the name it is known by in the
// query (its alias, or its table name) and the table when it is one.
type mySource struct {
	alias  string
	schema string // of the table, lower-case
	table  *ast.TableName
}

// mySources lists the entries of a FROM clause (the top level of its join
// tree; derived tables have no table).
func mySources(n ast.ResultSetNode) []mySource {
	var out []mySource
	var visit func(n ast.ResultSetNode)
	visit = func(n ast.ResultSetNode) {
		switch x := n.(type) {
		case *ast.Join:
			if x.Left != nil {
				visit(x.Left)
			}
			if x.Right != nil {
				visit(x.Right)
			}
		case *ast.TableSource:
			s := mySource{alias: x.AsName.L}
			if t, ok := x.Source.(*ast.TableName); ok {
				s.table, s.schema = t, t.Schema.L
				if s.alias == "" {
					s.alias = t.Name.L
				}
			}
			out = append(out, s)
		case *ast.TableName:
			out = append(out, mySource{alias: x.Name.L, schema: x.Schema.L, table: x})
		}
	}
	if n != nil {
		visit(n)
	}
	return out
}

// myResolve finds the table a qualifier (alias or table name, with an
// optional schema) names among the sources.
func myResolve(srcs []mySource, schema, name string) *ast.TableName {
	for _, s := range srcs {
		if s.table == nil || s.alias != name {
			continue
		}
		if schema == "" || schema == s.schema {
			return s.table
		}
	}
	return nil
}
