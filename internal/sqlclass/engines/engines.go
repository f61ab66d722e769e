// Package engines gives the SQL classifier of each database engine. It is
// the one package that knows every dialect of sqlclass; the server and
// `airlock policy test` build their classifiers here, so that both judge a
// database's SQL with the same dialect.
package engines

import (
	"fmt"
	"strings"

	"airlock"

	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/mysql"
	"airlock/internal/sqlclass/pg"
)

// Names returns the engines a classifier exists for, as the config names
// them (config.Database.Engine).
func Names() []airlock.Engine { return []airlock.Engine{airlock.EnginePostgres, airlock.EngineMySQL} }

// For returns a new classifier for the dialect of engine: PostgreSQL's (with
// its cache) for "postgres", MySQL/MariaDB's for "mysql". Any other engine
// is an error.
func For(engine airlock.Engine) (sqlclass.Classifier, error) {
	switch engine {
	case airlock.EnginePostgres:
		return pg.New(), nil
	case airlock.EngineMySQL:
		return mysql.New(), nil
	}
	return nil, fmt.Errorf("no SQL classifier for engine %q (known: %s)", engine, names())
}

// TrimCHeap gives the C heap's free memory back to the operating system:
// the PostgreSQL parser allocates there (see pg.TrimCHeap).
func TrimCHeap() { pg.TrimCHeap() }

// names lists the known engines for an error message.
func names() string {
	var ns []string
	for _, e := range Names() {
		ns = append(ns, string(e))
	}
	return strings.Join(ns, ", ")
}
