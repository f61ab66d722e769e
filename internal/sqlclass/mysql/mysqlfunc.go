package mysql

import (
	"strings"

	"airlock"
)

// myFuncRule is the level a function call needs and why; Why holds %s for
// the function's name.
type myFuncRule struct {
	Level airlock.Level
	Why   string
}

// myFunctionRules are the MariaDB/MySQL builtins that are not read-only,
// by name. TestMySQLBuiltins checks that each names a builtin of the test
// server. SLEEP and BENCHMARK only take time; IS_FREE_LOCK, IS_USED_LOCK
// and LASTVAL only look (like PostgreSQL's currval and lastval).
var myFunctionRules = map[string]myFuncRule{
	"get_lock":          {airlock.LevelWrite, "%s takes a named lock, like an advisory lock"},
	"release_lock":      {airlock.LevelWrite, "%s releases a named lock, like an advisory lock"},
	"release_all_locks": {airlock.LevelWrite, "%s releases named locks, like an advisory lock"},
	"nextval":           {airlock.LevelWrite, "%s changes a sequence"},
	"setval":            {airlock.LevelWrite, "%s changes a sequence"},
	"load_file":         {airlock.LevelAdmin, "%s reads the server's files"},
}

// myTiDBFunctionNames are the names the TiDB parser gives builtins written
// with their own syntax, mapped to the server's names.
var myTiDBFunctionNames = map[string]string{
	"char_func": "char", // CHAR(65 USING utf8mb4)
}

// myFunctionRule returns the level a call of schema.name needs and why.
// Names are lower-case. An unqualified builtin is always the builtin (the
// server looks builtins up before stored functions); anything else is a
// stored or loadable function, which may change data.
func myFunctionRule(schema, name string) myFuncRule {
	display := name
	if schema != "" {
		display = schema + "." + name
	}
	if schema == "" {
		if r, ok := myFunctionRules[name]; ok {
			return myFuncRule{r.Level, strings.Replace(r.Why, "%s", display, 1)}
		}
		if _, ok := mysqlBuiltinFunctions[name]; ok {
			return myFuncRule{airlock.LevelRead, ""}
		}
	}
	return myFuncRule{airlock.LevelWrite, "calls function " + display + ", which may change data"}
}

// myFunctionName is the name a call is listed under.
func myFunctionName(schema, name string) string {
	name = strings.ToLower(name)
	if n, ok := myTiDBFunctionNames[name]; ok && schema == "" {
		name = n
	}
	if schema != "" {
		return strings.ToLower(schema) + "." + name
	}
	return name
}

// call records a function call and raises what it needs.
func (f *myFacts) call(schema, name string) {
	schema = strings.ToLower(schema)
	full := myFunctionName(schema, name)
	f.function(full)
	if schema == "" {
		name = full
	} else {
		name = strings.TrimPrefix(full, schema+".")
	}
	r := myFunctionRule(schema, name)
	f.raise(r.Level, r.Why)
}
