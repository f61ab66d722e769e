package pg

import (
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"airlock"
)

// slowWalk makes the walk use reflection for every node; tests compare the
// two walks.
var slowWalk = false

// node walks any node. The most common node types are walked directly
// (every field that can hold a node, as TestFastPathFields checks); all
// others through reflection over their fields.
func (f *facts) node(n *pg.Node) {
	if n == nil || n.Node == nil {
		return
	}
	if slowWalk {
		f.children(n.ProtoReflect()) // the message set in the oneof
		return
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef, *pg.Node_AConst, *pg.Node_ParamRef, *pg.Node_String_, *pg.Node_Integer,
		*pg.Node_Float, *pg.Node_Boolean, *pg.Node_BitString, *pg.Node_AStar:
		// leaves: no tables, no calls
	case *pg.Node_RangeVar:
		f.rangeVar(x.RangeVar)
	case *pg.Node_ResTarget:
		f.nodes(x.ResTarget.Indirection)
		f.node(x.ResTarget.Val)
	case *pg.Node_AExpr:
		f.aExpr(x.AExpr)
		f.node(x.AExpr.Lexpr)
		f.node(x.AExpr.Rexpr)
	case *pg.Node_BoolExpr:
		f.node(x.BoolExpr.Xpr)
		f.nodes(x.BoolExpr.Args)
	case *pg.Node_NullTest:
		f.node(x.NullTest.Xpr)
		f.node(x.NullTest.Arg)
	case *pg.Node_TypeCast:
		f.node(x.TypeCast.Arg) // a type name holds no call that runs
	case *pg.Node_JoinExpr:
		f.node(x.JoinExpr.Larg)
		f.node(x.JoinExpr.Rarg)
		f.node(x.JoinExpr.Quals) // USING names and aliases are names
	case *pg.Node_List:
		f.nodes(x.List.Items)
	case *pg.Node_FuncCall:
		c := x.FuncCall
		f.funcCall(c) // its name is names
		f.nodes(c.Args)
		f.nodes(c.AggOrder)
		f.node(c.AggFilter)
		if c.Over != nil {
			f.msg(c.Over.ProtoReflect())
		}
	case *pg.Node_SelectStmt:
		f.selectStmt(x.SelectStmt)
	case *pg.Node_UpdateStmt:
		u := x.UpdateStmt
		f.withScope(u.WithClause, func() {
			f.dmlTarget(airlock.KindUpdate, u.Relation, "UPDATE changes rows", u.WhereClause)
			f.nodes(u.TargetList)
			f.node(u.WhereClause)
			f.nodes(u.FromClause)
			f.nodes(u.ReturningList)
		})
	case *pg.Node_DeleteStmt:
		d := x.DeleteStmt
		f.withScope(d.WithClause, func() {
			f.dmlTarget(airlock.KindDelete, d.Relation, "DELETE changes rows", d.WhereClause)
			f.nodes(d.UsingClause)
			f.node(d.WhereClause)
			f.nodes(d.ReturningList)
		})
	default:
		f.children(n.ProtoReflect()) // the message set in the oneof
	}
}

func (f *facts) nodes(list []*pg.Node) {
	for _, n := range list {
		f.node(n)
	}
}

// msg walks one message: the nodes that matter by type, every other one
// through its fields.
func (f *facts) msg(m protoreflect.Message) {
	switch x := m.Interface().(type) {
	case *pg.Node:
		f.node(x)
		return
	case *pg.String, *pg.Integer, *pg.Float, *pg.Boolean, *pg.BitString, *pg.A_Const, *pg.ColumnRef, *pg.ParamRef, *pg.A_Star, *pg.TypeName, *pg.RoleSpec:
		return // leaves: no tables, no calls
	case *pg.RangeVar:
		f.rangeVar(x)
		return
	case *pg.SelectStmt:
		f.selectStmt(x)
		return
	case *pg.InsertStmt:
		f.withScope(x.WithClause, func() {
			f.dmlTarget(airlock.KindInsert, x.Relation, "INSERT adds rows", nil)
			f.children(m, "with_clause")
		})
		return
	case *pg.UpdateStmt:
		f.withScope(x.WithClause, func() {
			f.dmlTarget(airlock.KindUpdate, x.Relation, "UPDATE changes rows", x.WhereClause)
			f.children(m, "with_clause")
		})
		return
	case *pg.DeleteStmt:
		f.withScope(x.WithClause, func() {
			f.dmlTarget(airlock.KindDelete, x.Relation, "DELETE changes rows", x.WhereClause)
			f.children(m, "with_clause")
		})
		return
	case *pg.MergeStmt:
		f.withScope(x.WithClause, func() {
			f.dmlTarget(airlock.KindMerge, x.Relation, "MERGE changes rows", nil)
			f.children(m, "with_clause")
		})
		return
	case *pg.LockingClause:
		return // handled with its SELECT; its names are aliases, not tables
	case *pg.FuncCall:
		f.funcCall(x)
	case *pg.A_Expr:
		f.aExpr(x)
	case *pg.SubLink:
		f.operator(x.OperName, x.Location)
	case *pg.SortBy:
		f.operator(x.UseOp, x.Location)
	}
	f.children(m)
}

// aExpr raises what the operator of an expression needs.
func (f *facts) aExpr(x *pg.A_Expr) {
	switch x.Kind {
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		// the name is a keyword; the comparisons are builtin
	default:
		f.operator(x.Name, x.Location)
	}
}

// children walks every message field of m but the skipped ones.
func (f *facts) children(m protoreflect.Message, skip ...protoreflect.Name) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind || slices.Contains(skip, fd.Name()) {
			return true
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				f.msg(l.Get(i).Message())
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				f.msg(mv.Message())
				return true
			})
		default:
			f.msg(v.Message())
		}
		return true
	})
}

func (f *facts) isCTE(rv *pg.RangeVar) bool {
	return rv.Schemaname == "" && rv.Catalogname == "" && slices.Contains(f.scopes, rv.Relname)
}

// rangeVar lists a relation the statement reads (CTE references are not
// relations).
func (f *facts) rangeVar(rv *pg.RangeVar) {
	if f.isCTE(rv) {
		return
	}
	f.tables = append(f.tables, nameAt{relName(rv), f.loc(rv.Location)})
}

// target lists a relation the statement changes. A target is always a
// relation, even when a CTE has its name (PostgreSQL never resolves targets
// to CTEs). It is a write only when it runs.
func (f *facts) target(rv *pg.RangeVar) {
	if rv == nil {
		return
	}
	n := nameAt{relName(rv), f.loc(rv.Location)}
	f.tables = append(f.tables, n)
	if f.exec {
		f.writes = append(f.writes, n)
	}
}

// targetNames lists a relation named by a list of String nodes (DROP,
// COMMENT...), which carries no location.
func (f *facts) targetNames(list []*pg.Node) {
	name := joinNames(list)
	if name == "" {
		return
	}
	n := nameAt{name, f.loc(0)}
	f.tables = append(f.tables, n)
	if f.exec {
		f.writes = append(f.writes, n)
	}
}

func relName(rv *pg.RangeVar) string {
	var b strings.Builder
	if rv.Catalogname != "" {
		b.WriteString(rv.Catalogname)
		b.WriteByte('.')
	}
	if rv.Schemaname != "" {
		b.WriteString(rv.Schemaname)
		b.WriteByte('.')
	}
	b.WriteString(rv.Relname)
	return b.String()
}

// joinNames joins a qualified name given as String nodes with dots.
func joinNames(list []*pg.Node) string {
	parts := make([]string, 0, len(list))
	for _, n := range list {
		if s := n.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	return strings.Join(parts, ".")
}

// splitName returns the schema (or "") and the last part of a qualified name.
func splitName(list []*pg.Node) (schema, name string) {
	var parts []string
	for _, n := range list {
		if s := n.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}
