package pg

import (
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"airlock"
)

// funcCall lists a function call and raises what it needs.
func (f *facts) funcCall(fc *pg.FuncCall) {
	schema, name := splitName(fc.Funcname)
	if name == "" {
		return
	}
	display := joinNames(fc.Funcname)
	if fc.Funcformat == pg.CoercionForm_COERCE_SQL_SYNTAX && schema == "pg_catalog" {
		display = name // EXTRACT(...), SUBSTRING(... FROM ...): the text did not qualify it
	}
	loc := f.loc(fc.Location)
	f.funcs = append(f.funcs, nameAt{display, loc})
	if !f.exec {
		return
	}
	if schema == "" || schema == "pg_catalog" {
		if name == "set_config" {
			f.setConfig(fc, loc)
			return
		}
		if dq, ok := pgDynamicQueryFuncs[name]; ok && (dq.NArgs == 0 || len(fc.Args) == dq.NArgs) && dq.Arg < len(fc.Args) {
			f.dynamicQuery(display, fc.Args[dq.Arg], loc)
			return
		}
	}
	r := pgFunctionRule(schema, name, display)
	f.raise(r.Level, r.Why, loc)
}

// operator raises what a named operator needs (names is empty for
// expressions without one).
func (f *facts) operator(names []*pg.Node, loc int32) {
	if len(names) == 0 || !f.exec {
		return
	}
	schema, name := splitName(names)
	display := name
	if schema != "" {
		display = "OPERATOR(" + joinNames(names) + ")"
	}
	r := pgOperatorRule(schema, name, display)
	f.raise(r.Level, r.Why, f.loc(loc))
}

// setConfig judges set_config(name, value, is_local) like the SET it is.
func (f *facts) setConfig(fc *pg.FuncCall, loc int32) {
	if len(fc.Args) == 0 {
		f.raise(airlock.LevelAdmin, "set_config of a setting named at run time", loc)
		return
	}
	name, ok, isNull := constString(fc.Args[0])
	if !ok && f.settingsRow != "" && isSettingsName(fc.Args[0], f.settingsRel) {
		name, ok = f.settingsRow, true
	}
	if !ok || isNull {
		f.raise(airlock.LevelAdmin, "set_config of a setting named at run time", loc)
		return
	}
	c := settingChange{Verb: "set_config of", Name: strings.ToLower(name), Known: true}
	if len(fc.Args) > 1 {
		v, known, isNull := constString(fc.Args[1])
		c.Value, c.Known, c.Reset = v, known, isNull
	} else {
		c.Known = false
	}
	f.changeSetting(c, loc)
}

// dynamicQuery judges a builtin that runs the query in one of its
// arguments: a literal query is classified like a statement of its own,
// any other one could be anything.
func (f *facts) dynamicQuery(display string, arg *pg.Node, loc int32) {
	q, ok, isNull := constString(arg)
	if isNull {
		return
	}
	if !ok {
		f.raise(airlock.LevelWrite, sprintfName(whyDynamicQuery, display), loc)
		return
	}
	tree, err := pg.Parse(q)
	if err != nil {
		f.raise(airlock.LevelWrite, sprintfName(whyDynamicQuery, display), loc)
		return
	}
	for _, raw := range tree.Stmts {
		inner := newFacts()
		inner.locBase = loc
		inner.stmt(raw.Stmt)
		st := inner.result()
		f.raise(st.Level, display+" runs a query: "+st.Why, loc)
		f.escapes(st.Escape, display+" runs a query: "+inner.escapeWhy)
		f.tables = append(f.tables, inner.tables...)
		f.writes = append(f.writes, inner.writes...)
		f.funcs = append(f.funcs, inner.funcs...)
	}
}

// constString returns the text of a literal (looking through casts such as
// 'x'::text), whether n is one, and whether it is NULL.
func constString(n *pg.Node) (s string, ok, isNull bool) {
	for n != nil {
		tc := n.GetTypeCast()
		if tc == nil {
			break
		}
		n = tc.Arg
	}
	c := n.GetAConst()
	if c == nil {
		return "", false, false
	}
	if c.Isnull {
		return "", true, true
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Sval:
		return v.Sval.GetSval(), true, false
	case *pg.A_Const_Ival:
		return strconv.FormatInt(int64(v.Ival.GetIval()), 10), true, false
	case *pg.A_Const_Fval:
		return v.Fval.GetFval(), true, false
	case *pg.A_Const_Boolval:
		return strconv.FormatBool(v.Boolval.GetBoolval()), true, false
	case *pg.A_Const_Bsval:
		return v.Bsval.GetBsval(), true, false
	}
	return "", false, false
}

// defArgString returns a DefElem argument as text: options take strings,
// numbers, booleans or bare keywords.
func defArgString(n *pg.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	switch v := n.Node.(type) {
	case *pg.Node_String_:
		return v.String_.Sval, true
	case *pg.Node_Integer:
		return strconv.FormatInt(int64(v.Integer.Ival), 10), true
	case *pg.Node_Float:
		return v.Float.Fval, true
	case *pg.Node_Boolean:
		return strconv.FormatBool(v.Boolean.Boolval), true
	case *pg.Node_TypeName:
		return joinNames(v.TypeName.Names), true
	}
	s, ok, isNull := constString(n)
	return s, ok && !isNull
}
