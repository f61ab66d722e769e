package mysql

import (
	"slices"

	"airlock"
)

// myFacts accumulates what one MySQL statement does while its tree is
// walked; it has the meaning of facts (pgfacts.go) for PostgreSQL. Names
// are kept in the order the walk meets them (the order of the text for the
// clauses of one query), without repeats.
type myFacts struct {
	kind    airlock.Kind
	command string
	name    string
	txn     airlock.TxnEffect

	level airlock.Level
	why   string

	escape    airlock.Escape
	escapeWhy string
	argsLevel airlock.Level
	argsWhy   string
	setting   *mySetting

	tables []string
	writes []string
	funcs  []string

	hasWhere, hasLimit bool

	// exec is false while walking what the statement stores or shows but
	// does not run now (a view's query, a procedure's body, the statement
	// under a plain EXPLAIN): its names are listed, but it raises nothing.
	exec bool
}

func newMyFacts() *myFacts { return &myFacts{exec: true} }

// raise records that the statement needs at least level l, because of why;
// the first reason found wins among equals. Nothing is raised while walking
// what does not run.
func (f *myFacts) raise(l airlock.Level, why string) {
	if !f.exec {
		return
	}
	if l > f.level || f.why == "" && l == f.level {
		f.level, f.why = l, why
	}
}

// myEscapeRank orders escapes by how bad they are (as escapeRank does for
// PostgreSQL).
var myEscapeRank = map[airlock.Escape]int{
	airlock.EscapeNone: 0, airlock.EscapeReadOnly: 1, airlock.EscapePinned: 2, airlock.EscapeIdentity: 3,
}

func (f *myFacts) escapes(e airlock.Escape, why string) {
	if !f.exec || e == airlock.EscapeNone {
		return
	}
	if myEscapeRank[e] > myEscapeRank[f.escape] {
		f.escape, f.escapeWhy = e, why
	}
}

// base sets what the statement is and the level its kind needs.
func (f *myFacts) base(kind airlock.Kind, l airlock.Level, why, command string) {
	f.kind, f.command = kind, command
	f.raise(l, why)
}

func myAdd(list []string, name string) []string {
	if name == "" || slices.Contains(list, name) {
		return list
	}
	return append(list, name)
}

// table lists a table the statement reads.
func (f *myFacts) table(name string) { f.tables = myAdd(f.tables, name) }

// target lists a table the statement changes; it is a write only when the
// statement runs.
func (f *myFacts) target(name string) {
	f.tables = myAdd(f.tables, name)
	if f.exec {
		f.writes = myAdd(f.writes, name)
	}
}

func (f *myFacts) function(name string) { f.funcs = myAdd(f.funcs, name) }

// result turns the facts into the domain statement (without its text).
func (f *myFacts) result() airlock.Statement {
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	st := airlock.Statement{
		Kind:        f.kind,
		Level:       f.level,
		Why:         f.why,
		Tables:      nonNil(f.tables),
		WriteTables: nonNil(f.writes),
		Functions:   nonNil(f.funcs),
		HasWhere:    f.hasWhere,
		HasLimit:    f.hasLimit,
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
	return st
}
