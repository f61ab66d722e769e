package pgwire

import (
	"airlock"

	"github.com/jackc/pgx/v5/pgproto3"
)

// denialError is the ErrorResponse for a denied statement: airlock's denial
// (42501, "airlock: denied: <rule>: <why>", the request HINT), or, for text
// PostgreSQL's grammar rejects, the error PostgreSQL itself would give
// (42601 with the position), so that clients and tools that point at the
// error keep working. The text was still never forwarded.
func denialError(d airlock.Decision) *pgproto3.ErrorResponse {
	if se := d.Syntax; se != nil {
		return &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "42601", Message: se.Message, Position: int32(se.Position)}
	}
	return &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "42501", Message: d.Message(), Hint: d.Hint}
}
