// Package sqlclass turns SQL text into statement facts ([]airlock.Statement)
// that the policy decides on. It is the only package of airlock that imports
// SQL parsers; every dialect has its own classifier type.
//
// # PostgreSQL
//
// [Postgres] parses with the real PostgreSQL grammar (libpg_query through
// pg_query_go), so that what airlock decides on is what the server will run.
// For each statement of a (possibly multi-statement) text it reports the kind,
// the least level that may run it and why, the tables read and written, the
// functions called, WHERE/LIMIT presence, escapes (read-only, identity and
// pinned-setting changes), the setting a SET changes, the transaction effect,
// the command tag and the statement's own text.
//
// The classifier fails closed: a text that does not parse is a [*ParseError]
// and yields no statements; a statement kind it does not know is
// airlock.KindUnknown at airlock.LevelAdmin; a function that is neither a
// known read-only builtin nor in the write/admin lists is assumed to change
// data (airlock.LevelWrite).
//
// What a statement's text does not show cannot be classified here: functions
// reached through views, triggers, rules, operator or cast implementations,
// overloads of builtin names in other schemas, and the bodies of DO blocks and
// functions. The database's own privileges (the read credential cannot write,
// the write credential cannot touch protected tables) are the second wall for
// those.
//
// The builtin function and operator names of pg_catalog are generated from a
// real server (PostgreSQL 15 on 127.0.0.1:5432): see TestPGBuiltins.
//
// # Tests
//
// testdata/pg/corpus.sql holds the corpus, one case per "-- name:" header;
// testdata/pg/corpus.golden.json the facts expected for each, with the
// decision they lead to at each session level. After a change, refresh the
// golden file and pgbuiltins.go and review the diff:
//
//	go test ./internal/sqlclass -update
//
// FuzzClassify (go test ./internal/sqlclass -fuzz FuzzClassify) is seeded
// from the corpus; crashers it finds go under testdata/fuzz.
//
//go:generate go test -run TestPGBuiltins -update .
package sqlclass
