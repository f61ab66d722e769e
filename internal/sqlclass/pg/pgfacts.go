package pg

import (
	"math"
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"airlock"
)

// facts accumulates what one top-level statement does while its parse tree
// is walked. The walk visits every field of every node (directly for the
// common node types, through protobuf reflection for the others), so that
// no node kind can hide a table or a function call; only the nodes that
// matter are looked at by type.
type facts struct {
	kind    airlock.Kind
	command string
	name    string
	txn     airlock.TxnEffect
	top     *pg.Node // the top-level query, for HasWhere and HasLimit

	level  airlock.Level
	why    string
	whyLoc int32 // location of the reason; the earliest wins among equals

	escape    airlock.Escape
	escapeWhy string
	// argsLevel is what EXECUTE's parameters need by themselves.
	argsLevel airlock.Level
	argsWhy   string
	setting   *settingChange

	tables []nameAt
	writes []nameAt
	funcs  []nameAt

	dml     airlock.Kind // strongest data-modifying part that runs
	updDel  int          // UPDATE and DELETE parts that run
	noWhere int          // ... of which without WHERE

	scopes []string // CTE names visible at this point of the walk
	// exec is false while walking what the statement stores but does not
	// run now (the statement under a plain EXPLAIN, rule actions, function
	// bodies): its tables and functions are listed, but it raises nothing.
	exec bool
	// locBase is added to locations, for queries found in string literals.
	locBase int32
	// settingsRow is the setting name that a SELECT ... FROM pg_settings
	// WHERE name = '...' pins its column "name" to, for pg_dump's
	// set_config(name, ...) of it.
	settingsRow string
	settingsRel *pg.RangeVar
}

// nameAt is a name with the location where it appears, to list names in
// order of appearance.
type nameAt struct {
	name string
	loc  int32
}

func newFacts() *facts {
	return &facts{exec: true, whyLoc: math.MaxInt32}
}

// raise records that the statement needs at least level l, because of why,
// found at loc. Nothing is raised while walking what does not run.
func (f *facts) raise(l airlock.Level, why string, loc int32) {
	if !f.exec {
		return
	}
	if l > f.level || (l == f.level && loc < f.whyLoc) {
		f.level, f.why, f.whyLoc = l, why, loc
	}
}

// escapeRank orders escapes by how bad they are.
var escapeRank = map[airlock.Escape]int{
	airlock.EscapeNone: 0, airlock.EscapeReadOnly: 1, airlock.EscapePinned: 2, airlock.EscapeIdentity: 3,
}

func (f *facts) escapes(e airlock.Escape, why string) {
	if !f.exec || e == airlock.EscapeNone {
		return
	}
	if escapeRank[e] > escapeRank[f.escape] {
		f.escape, f.escapeWhy = e, why
	}
}

// changeSetting records a setting change and what it needs.
func (f *facts) changeSetting(c settingChange, loc int32) {
	if !f.exec {
		return
	}
	l, why, esc := judgeSetting(c)
	f.raise(l, why, loc)
	f.escapes(esc, why)
	if f.setting == nil {
		f.setting = &c
	}
}

// result turns the facts into the domain statement (without its text).
func (f *facts) result() airlock.Statement {
	kind := f.kind
	if f.dml != "" {
		if isDML(kind) {
			kind = strongerDML(kind, f.dml)
		} else {
			kind = f.dml
		}
	}
	st := airlock.Statement{
		Kind:        kind,
		Level:       f.level,
		Why:         f.why,
		Tables:      names(f.tables),
		WriteTables: names(f.writes),
		Functions:   names(f.funcs),
		Escape:      f.escape,
		Txn:         f.txn,
		Command:     f.command,
		Name:        f.name,
		ArgsLevel:   f.argsLevel,
		ArgsWhy:     f.argsWhy,
	}
	if f.escape != airlock.EscapeNone {
		st.Why = f.escapeWhy
	}
	if f.setting != nil {
		st.Setting, st.Value = f.setting.Name, f.setting.Value
	}
	if f.updDel > 0 {
		st.HasWhere = f.noWhere == 0
	} else {
		st.HasWhere = topHasWhere(f.top)
	}
	st.HasLimit = topHasLimit(f.top)
	return st
}

// names sorts by location, keeping the walk order among equals, and drops
// repeats; it never returns nil.
func names(list []nameAt) []string {
	slices.SortStableFunc(list, func(a, b nameAt) int { return int(a.loc) - int(b.loc) })
	out := make([]string, 0, len(list))
	for _, n := range list {
		if !slices.Contains(out, n.name) {
			out = append(out, n.name)
		}
	}
	return out
}

var dmlRank = map[airlock.Kind]int{
	airlock.KindInsert: 1, airlock.KindUpdate: 2, airlock.KindMerge: 3, airlock.KindDelete: 4,
}

func isDML(k airlock.Kind) bool { return dmlRank[k] > 0 }

func strongerDML(a, b airlock.Kind) airlock.Kind {
	if dmlRank[b] > dmlRank[a] {
		return b
	}
	return a
}

func topHasWhere(n *pg.Node) bool {
	switch {
	case n == nil:
		return false
	case n.GetSelectStmt() != nil:
		return n.GetSelectStmt().WhereClause != nil
	case n.GetUpdateStmt() != nil:
		return n.GetUpdateStmt().WhereClause != nil
	case n.GetDeleteStmt() != nil:
		return n.GetDeleteStmt().WhereClause != nil
	case n.GetCopyStmt() != nil:
		return n.GetCopyStmt().WhereClause != nil
	}
	return false
}

func topHasLimit(n *pg.Node) bool {
	s := n.GetSelectStmt()
	if s == nil || s.LimitCount == nil {
		return false
	}
	if c := s.LimitCount.GetAConst(); c != nil && c.Isnull {
		return false // LIMIT ALL, LIMIT NULL
	}
	return true
}

// loc shifts a location found in a nested query text.
func (f *facts) loc(l int32) int32 { return f.locBase + l }
