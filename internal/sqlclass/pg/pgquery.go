package pg

import (
	"math"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"airlock"
)

// withScope walks body with the names of a WITH clause visible, after
// walking the CTEs themselves: in a non-recursive WITH a CTE sees the ones
// before it; in WITH RECURSIVE it sees them all.
func (f *facts) withScope(w *pg.WithClause, body func()) {
	n := len(f.scopes)
	defer func() { f.scopes = f.scopes[:n] }()
	if w != nil {
		if w.Recursive {
			for _, c := range w.Ctes {
				if cte := c.GetCommonTableExpr(); cte != nil {
					f.scopes = append(f.scopes, cte.Ctename)
				}
			}
		}
		for _, c := range w.Ctes {
			f.node(c)
			if cte := c.GetCommonTableExpr(); cte != nil && !w.Recursive {
				f.scopes = append(f.scopes, cte.Ctename)
			}
		}
	}
	body()
}

// dmlTarget records a data-modifying part and its target.
func (f *facts) dmlTarget(kind airlock.Kind, rv *pg.RangeVar, why string, where *pg.Node) {
	f.target(rv)
	if !f.exec {
		return
	}
	loc := int32(0)
	if rv != nil {
		loc = f.loc(rv.Location)
	}
	f.raise(airlock.LevelWrite, why, loc)
	if f.dml == "" {
		f.dml = kind
	} else {
		f.dml = strongerDML(f.dml, kind)
	}
	if kind == airlock.KindUpdate || kind == airlock.KindDelete {
		f.updDel++
		if where == nil {
			f.noWhere++
		}
	}
}

func (f *facts) selectStmt(s *pg.SelectStmt) {
	outer, outerRel := f.settingsRow, f.settingsRel
	f.settingsRow, f.settingsRel = pgSettingsRow(s)
	defer func() { f.settingsRow, f.settingsRel = outer, outerRel }()
	f.withScope(s.WithClause, func() {
		if in := s.IntoClause; in != nil && in.Rel != nil {
			f.target(in.Rel)
			f.raise(airlock.LevelDDL, "SELECT INTO creates a table", f.loc(in.Rel.Location))
		}
		if slowWalk {
			f.children(s.ProtoReflect(), "with_clause", "locking_clause", "into_clause")
		} else {
			f.nodes(s.DistinctClause)
			f.nodes(s.TargetList)
			f.nodes(s.FromClause)
			f.node(s.WhereClause)
			f.nodes(s.GroupClause)
			f.node(s.HavingClause)
			f.nodes(s.WindowClause)
			f.nodes(s.ValuesLists)
			f.nodes(s.SortClause)
			f.node(s.LimitOffset)
			f.node(s.LimitCount)
			if s.Larg != nil {
				f.selectStmt(s.Larg)
			}
			if s.Rarg != nil {
				f.selectStmt(s.Rarg)
			}
		}
		for _, n := range s.LockingClause {
			if lc := n.GetLockingClause(); lc != nil {
				f.locking(s, lc)
			}
		}
	})
}

var lockStrength = map[pg.LockClauseStrength]string{
	pg.LockClauseStrength_LCS_FORKEYSHARE:    "FOR KEY SHARE",
	pg.LockClauseStrength_LCS_FORSHARE:       "FOR SHARE",
	pg.LockClauseStrength_LCS_FORNOKEYUPDATE: "FOR NO KEY UPDATE",
	pg.LockClauseStrength_LCS_FORUPDATE:      "FOR UPDATE",
}

// locking records SELECT ... FOR UPDATE/SHARE: it locks rows (a write) of
// the tables it names, or of every table of its FROM.
func (f *facts) locking(s *pg.SelectStmt, lc *pg.LockingClause) {
	if !f.exec {
		return
	}
	strength := lockStrength[lc.Strength]
	if strength == "" {
		strength = "FOR UPDATE"
	}
	f.raise(airlock.LevelWrite, "SELECT ... "+strength+" locks rows", math.MaxInt32-1)
	items := f.fromItems(s.FromClause)
	var locked []*pg.RangeVar
	if len(lc.LockedRels) == 0 {
		for _, it := range items {
			locked = append(locked, it.rels...)
		}
	}
	for _, n := range lc.LockedRels {
		rv := n.GetRangeVar()
		if rv == nil {
			continue
		}
		found := false
		for _, it := range items {
			if it.alias == rv.Relname {
				locked, found = append(locked, it.rels...), true
			}
		}
		if !found { // unknown name (PostgreSQL would refuse it): lock all
			for _, it := range items {
				locked = append(locked, it.rels...)
			}
		}
	}
	for _, rv := range locked {
		f.writes = append(f.writes, nameAt{relName(rv), f.loc(rv.Location)})
	}
}

// fromItem is an item of a FROM clause: the name a locking clause would use
// for it and the relations it reads.
type fromItem struct {
	alias string
	rels  []*pg.RangeVar
}

func (f *facts) fromItems(from []*pg.Node) []fromItem {
	var items []fromItem
	for _, n := range from {
		switch x := n.Node.(type) {
		case *pg.Node_RangeVar:
			if f.isCTE(x.RangeVar) {
				continue
			}
			alias := x.RangeVar.Relname
			if x.RangeVar.Alias != nil {
				alias = x.RangeVar.Alias.Aliasname
			}
			items = append(items, fromItem{alias, []*pg.RangeVar{x.RangeVar}})
		case *pg.Node_JoinExpr:
			inner := f.fromItems([]*pg.Node{x.JoinExpr.Larg, x.JoinExpr.Rarg})
			items = append(items, inner...)
			if x.JoinExpr.Alias != nil {
				var all []*pg.RangeVar
				for _, it := range inner {
					all = append(all, it.rels...)
				}
				items = append(items, fromItem{x.JoinExpr.Alias.Aliasname, all})
			}
		default:
			alias := ""
			if sub := n.GetRangeSubselect(); sub != nil && sub.Alias != nil {
				alias = sub.Alias.Aliasname
			}
			items = append(items, fromItem{alias, f.relationsIn(n)})
		}
	}
	return items
}

// relationsIn lists the relations read anywhere under n (CTE references
// excepted).
func (f *facts) relationsIn(n *pg.Node) []*pg.RangeVar {
	var out []*pg.RangeVar
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if rv, ok := m.Interface().(*pg.RangeVar); ok {
			if !f.isCTE(rv) {
				out = append(out, rv)
			}
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if fd.Kind() != protoreflect.MessageKind || fd.IsMap() {
				return true
			}
			if fd.IsList() {
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			} else {
				walk(v.Message())
			}
			return true
		})
	}
	if n != nil && n.Node != nil {
		walk(n.ProtoReflect())
	}
	return out
}

// pgSettingsRow recognises pg_dump's
//
//	SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings
//	WHERE name = 'restrict_nonsystem_relation_kind'
//
// and returns the setting name the WHERE pins, or "".
func pgSettingsRow(s *pg.SelectStmt) (string, *pg.RangeVar) {
	if len(s.FromClause) != 1 || s.WithClause != nil {
		return "", nil
	}
	rv := s.FromClause[0].GetRangeVar()
	if rv == nil || rv.Relname != "pg_settings" || (rv.Schemaname != "" && rv.Schemaname != "pg_catalog") || rv.Catalogname != "" {
		return "", nil
	}
	e := s.WhereClause.GetAExpr()
	if e == nil || e.Kind != pg.A_Expr_Kind_AEXPR_OP || joinNames(e.Name) != "=" || !isSettingsName(e.Lexpr, rv) {
		return "", nil
	}
	if v, ok, isNull := constString(e.Rexpr); ok && !isNull {
		return v, rv
	}
	return "", nil
}

// isSettingsName reports whether n is column "name" of the pg_settings
// relation rv: unqualified, or qualified by its alias or name.
func isSettingsName(n *pg.Node, rv *pg.RangeVar) bool {
	c := n.GetColumnRef()
	if c == nil {
		return false
	}
	var parts []string
	for _, fld := range c.Fields {
		s := fld.GetString_()
		if s == nil {
			return false
		}
		parts = append(parts, s.Sval)
	}
	qualifier := rv.Relname
	if rv.Alias != nil {
		qualifier = rv.Alias.Aliasname
	}
	switch len(parts) {
	case 1:
		return parts[0] == "name"
	case 2:
		return parts[0] == qualifier && parts[1] == "name"
	}
	return false
}
