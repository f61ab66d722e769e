// Package mysql classifies MySQL/MariaDB text into the same statement facts
// ([]airlock.Statement) as package pg gives for PostgreSQL, with the same
// meaning, so that one policy decides both dialects; see package sqlclass
// for what the dialects share.
//
// [MySQL] classifies with the TiDB parser. Its own scanner decides what is
// a comment and what is code (executable comments /*! */ and /*M! */ are
// code; a comment that runs on some servers and not others is read both
// ways and refused unless the stricter reading wins), hand grammars cover
// what TiDB lacks, and what the server could read differently is a
// *sqlclass.ParseError. See the doc comment of [MySQL].
//
// # Tests
//
// testdata/mysql/corpus.sql holds the corpus, in the format of package
// corpus; testdata/mysql/corpus.golden.json the facts expected for each.
// After a change, refresh the golden file and review the diff:
//
//	go test ./internal/sqlclass/mysql -run MySQL -update
//
// testdata/mariadb/valid.sql holds statements a real MariaDB accepts, each
// of which must be classified. FuzzClassifyMySQL is seeded from both.
package mysql
