// Package engines gives the SQL classifier of each database engine. It is
// the one package that knows every dialect of sqlclass; the server and
// `airlock policy test` build their classifiers here, so that both judge a
// database's SQL with the same dialect.
package engines

import (
	"fmt"
	"strings"

	"airlock/internal/sqlclass"
	"airlock/internal/sqlclass/mysql"
	"airlock/internal/sqlclass/pg"
)

// Names returns the engines a classifier exists for, as the config names
// them (config.Database.Engine).
func Names() []string { return []string{"postgres", "mysql"} }

// For returns a new classifier for the dialect of engine: PostgreSQL's (with
// its cache) for "postgres", MySQL/MariaDB's for "mysql". Any other engine
// is an error.
func For(engine string) (sqlclass.Classifier, error) {
	switch engine {
	case "postgres":
		return pg.New(), nil
	case "mysql":
		return mysql.New(), nil
	}
	return nil, fmt.Errorf("no SQL classifier for engine %q (known: %s)", engine, strings.Join(Names(), ", "))
}

// TrimCHeap gives the C heap's free memory back to the operating system:
// the PostgreSQL parser allocates there (see pg.TrimCHeap).
func TrimCHeap() { pg.TrimCHeap() }
