package gateway

import (
	"fmt"

	"airlock"
	"airlock/internal/undo"
)

// The denials an adapter needs for what only it sees (a protocol message,
// a statement's size, its database's facts) are built here, so that every
// Decision comes from the core or the policy and its rule and wording are
// the same on every path. The adapter audits one with Session.Deny (or
// returns it from its veto) and answers it in its protocol's way.

// ProtocolViolation denies a protocol message airlock cannot check (a
// reserved statement name, an unknown portal, parameters that cannot be
// decoded).
func ProtocolViolation(reason string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleProtocol, Need: airlock.LevelAdmin, Reason: reason}
}

// StatementTooLarge denies a statement longer than the database's
// limits.max_statement_bytes (max), refused before it is read. size is
// its length when the protocol says it up front, or 0 when it does not
// (a MySQL packet split in parts).
func (s *Session) StatementTooLarge(size, max int) airlock.Decision {
	reason := fmt.Sprintf("the statement is more than limits.max_statement_bytes (%d bytes)", max)
	if size > 0 {
		reason = fmt.Sprintf("the statement is %d bytes, more than limits.max_statement_bytes (%d)", size, max)
	}
	return airlock.Decision{Rule: airlock.RuleMaxBytes, Need: s.Level(), Reason: reason}
}

// OutOfStatementMemory denies a large statement for which the gateway's
// budget of memory for statements in flight (Gateway.Memory) had no room
// in time.
func (s *Session) OutOfStatementMemory() airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleStatementMemory, Need: s.Level(),
		Reason: "too many large statements are in flight on this gateway now; try again shortly"}
}

// BlastRadius denies a write, needing need, whose changed rows cannot be
// kept within the database's limit, for reason.
func BlastRadius(need airlock.Level, reason string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleBlastRadius, Need: need, Reason: reason}
}

// AnswerTooLarge denies a guarded write whose answer grew past maxBytes,
// what an adapter holds back while it counts the rows changed; the adapter
// has rolled it back.
func AnswerTooLarge(need airlock.Level, maxBytes int) airlock.Decision {
	return BlastRadius(need, fmt.Sprintf("its answer is larger than the %d MiB airlock holds back while it counts the rows changed; the statement was rolled back", maxBytes>>20))
}

// ViewWrite denies, in a session at level, a statement reading view top
// (through view, when another) whose definition needs need: the view
// "<why>".
func ViewWrite(top, view, why string, need, level airlock.Level) airlock.Decision {
	what := "view " + top
	if top != view {
		what += " (through view " + view + ")"
	}
	return airlock.Decision{Rule: airlock.RuleViewWrite, Need: need,
		Reason: fmt.Sprintf("%s %s; it needs %s access and this session has %s", what, why, need, level)}
}

// OtherSchema denies, on MySQL, using any schema but schema, the upstream
// schema of airlock database dbName.
func OtherSchema(schema, dbName string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleSchema, Need: airlock.LevelAdmin,
		Reason: fmt.Sprintf("this session may only use schema %s of database %s", undo.MyQuoteIdent(schema), dbName)}
}

// NonTransactional denies, on MySQL, a write needing need that reaches
// what a rollback cannot restore (a table of a non-transactional storage
// engine, a view), or whose tables' storage engines could not be read.
func NonTransactional(need airlock.Level, reason string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleNonTransactional, Need: need, Reason: reason}
}

// CaptureLost is the denial of a captured write rolled back because the
// database's undo capture went away while it ran (see Session.CaptureLost).
func CaptureLost(need airlock.Level) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleUndo, Need: need,
		Reason: "the database's undo capture went away while the statement ran (was it unprepared?); the statement was rolled back, nothing changed: run it again"}
}

// CaptureReserved denies a statement, needing need, that uses what of
// airlock's own undo capture (a capture variable, the capture table).
func CaptureReserved(need airlock.Level, what string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleUndo, Need: need,
		Reason: what + " is airlock's own, for undo capture; statements may not use it"}
}

// StartupRefused denies a PostgreSQL startup packet's settings, for
// reason.
func StartupRefused(reason string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleLevel, Reason: reason}
}

// FunctionCall decides a PostgreSQL FunctionCall message: it names its
// function by OID, which airlock cannot check, so it needs admin.
func (s *Session) FunctionCall() airlock.Decision {
	lvl := s.Level()
	return airlock.Decision{Allowed: lvl >= airlock.LevelAdmin, Need: airlock.LevelAdmin, Rule: airlock.RuleLevel,
		Reason: "FunctionCall messages call functions by number, which airlock cannot check; it needs admin access and this session has " + lvl.String()}
}

// ServerCommand denies a MySQL command (name) that acts on the server and
// is never relayed.
func ServerCommand(name string) airlock.Decision {
	return airlock.Decision{Rule: airlock.RuleLevel, Need: airlock.LevelAdmin,
		Reason: name + " acts on the server, and airlock does not relay it; use SQL statements"}
}
