// Package sqlclass is what the SQL classifiers of airlock share: the
// [Classifier] they implement and the [ParseError] they return. The
// dialects live in their own packages, which never import each other:
//
//   - sqlclass/pg: PostgreSQL, with the real grammar (pg_query_go) behind a
//     cache keyed by a conservative lexer of our own;
//   - sqlclass/mysql: MySQL and MariaDB, with the TiDB parser and an exact
//     scanner of executable comments.
//
// sqlclass/engines picks the classifier of a database engine ("postgres",
// "mysql"), for the server and for the offline `airlock policy test`.
// sqlclass/corpus holds the corpus and golden-file formats the dialects'
// tests share.
//
// A classifier turns SQL text into statement facts ([]airlock.Statement)
// that the policy decides on. These packages are the only ones of airlock
// that import SQL parsers.
package sqlclass

import "airlock"

// Classifier turns SQL text of one dialect into statement facts, one per
// statement of the text, in order. A text it cannot read as the database
// would is a *ParseError and no statements. Implementations are safe for
// concurrent use.
type Classifier interface {
	Classify(text string) ([]airlock.Statement, error)
}
