// Package pg classifies PostgreSQL text into statement facts
// ([]airlock.Statement) that the policy decides on; see package sqlclass
// for what the dialects share.
//
// [Postgres] parses with the real PostgreSQL grammar (libpg_query through
// pg_query_go), so that what airlock decides on is what the server will run.
// For each statement of a (possibly multi-statement) text it reports the kind,
// the least level that may run it and why, the tables read and written, the
// functions called, WHERE/LIMIT presence, escapes (read-only, identity and
// pinned-setting changes), the setting a SET changes, the transaction effect,
// the command tag and the statement's own text.
//
// The classifier fails closed: a text that does not parse is a
// *sqlclass.ParseError and yields no statements; a statement kind it does
// not know is airlock.KindUnknown at airlock.LevelAdmin; a function that is
// neither a known read-only builtin nor in the write/admin lists is assumed
// to change data (airlock.LevelWrite).
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
// # Cache
//
// Parsing costs tens of microseconds, and clients send the same statements
// over and over with other literals. [New] therefore gives the
// classifier a bounded cache keyed by a text's shape: lexer.go turns the
// text into a key (literals replaced by placeholders, whitespace and
// comments collapsed, all else kept byte for byte) with a small lexer that
// refuses whatever it cannot lex exactly as PostgreSQL does; cache.go keeps
// the facts of a key only for the statements OLTP clients repeat, and only
// when no literal value can change them, and explains why a key then stands
// for the facts of every text that has it. The cache never changes a
// decision; [WithoutCache] makes a classifier without it.
//
// # Tests
//
// testdata/pg/corpus.sql holds the corpus, one case per "-- name:" header;
// testdata/pg/corpus.golden.json the facts expected for each, with the
// decision they lead to at each session level. After a change, refresh the
// golden file and pgbuiltins.go and review the diff:
//
//	go test ./internal/sqlclass/pg -update
//
// FuzzClassify (go test ./internal/sqlclass/pg -fuzz FuzzClassify) is seeded
// from the corpus; crashers it finds go under testdata/fuzz. So is
// FuzzCacheAgreesWithParser, which checks that the cache answers what the
// parser answers for texts that differ in their literals, whitespace and
// comments, and that the lexer finds the literals and comments PostgreSQL's
// own scanner finds.
//
//go:generate go test -run TestPGBuiltins -update .
package pg
