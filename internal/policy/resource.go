package policy

import (
	"fmt"
	"strings"

	"airlock"
)

// The built-in rule airlock.RuleResource denies, in read sessions,
// functions that exist to burn a shared resource: a transaction ID
// (PostgreSQL assigns one to a read-only transaction that asks for it, and
// running out of them stops the database), or time and CPU (sleep and
// BENCHMARK, which hold a connection and a snapshot for as long as the
// caller likes). Nothing a read needs calls them.

// resourceFuncs are those functions by engine, lower-case, unqualified.
var resourceFuncs = map[airlock.Engine]map[string]string{
	airlock.EnginePostgres: {
		"txid_current":       "assigns a transaction ID",
		"pg_current_xact_id": "assigns a transaction ID",
		"pg_sleep":           "only waits",
		"pg_sleep_for":       "only waits",
		"pg_sleep_until":     "only waits",
	},
	airlock.EngineMySQL: {
		"sleep":     "only waits",
		"benchmark": "only burns CPU",
	},
}

// resource returns the denial reason when st calls a resource-burning
// function of engine in a read session, or "".
func resource(engine airlock.Engine, level airlock.Level, st *airlock.Statement) string {
	if level > airlock.LevelRead {
		return ""
	}
	funcs := resourceFuncs[engine]
	for _, f := range st.Functions {
		name := strings.ToLower(f)
		if schema, fn, ok := strings.Cut(name, "."); ok {
			if engine != airlock.EnginePostgres || schema != "pg_catalog" {
				continue // a function of the user's own
			}
			name = fn
		}
		if what, ok := funcs[name]; ok {
			return fmt.Sprintf("%s %s; read sessions do not call it", name, what)
		}
	}
	return ""
}
