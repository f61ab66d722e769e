package airlock

// SyntaxError is a statement the database's own grammar rejects, as the
// classifier found it. Such a statement is never forwarded and is audited
// as denied by rule "parse", but the client is answered as the database
// would answer it (PostgreSQL: 42601 with the position; MySQL: 1064),
// because clients and tools act on that answer.
type SyntaxError struct {
	// Message is the parser's message ("syntax error at or near ...").
	Message string
	// Position is the 1-based character position of the error in the
	// statement text (0 when unknown).
	Position int
	// Near is the text from the error on, and Line the line it is on
	// (1-based), as MySQL's 1064 quotes them.
	Near string
	Line int
}
