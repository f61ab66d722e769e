package airlock

// Rule names: the Rule of a Decision, of an audit event and of a Warning.
// Custom rules of the config carry the names given there; every other
// rule name is one of these. The built-in guardrails (switchable per
// database with guardrails.disable) are RuleUnboundedWrite,
// RuleProtectedTable, RuleDropTruncate, RuleBlastRadius, RuleEscape and
// RuleResource.
const (
	RuleLevel = "level" // the statement needs more than the session's level
	RuleParse = "parse" // the statement could not be parsed
	RuleAudit = "audit" // the audit log cannot take the event
	RuleGrant = "grant" // the grant does not cover the table

	// Built-in guardrails of the policy and the core.
	RuleEscape         = "escape"          // identity switches, pinned settings, read-only off in a read session
	RuleResource       = "resource"        // functions that burn a shared resource, in a read session
	RuleProtectedTable = "protected-table" // writes to a protected table or to airlock's own capture
	RuleUnboundedWrite = "unbounded-write" // UPDATE or DELETE without WHERE
	RuleDropTruncate   = "drop-truncate"   // DROP and TRUNCATE below ddl
	RuleBlastRadius    = "blast-radius"    // a write that changed more rows than the database allows

	// Rules of the core and of the adapters' facts.
	RuleUndo             = "undo"                // undo is required and the write cannot be captured
	RuleSoftDrop         = "soft-drop"           // a DROP or TRUNCATE that cannot be moved to the trash
	RuleUpstream         = "upstream"            // the adapter could not ask its database about the statement
	RuleViewWrite        = "view-write"          // a read session reading a view whose definition needs more
	RuleSchema           = "schema"              // MySQL: a statement outside the session's database
	RuleNonTransactional = "non-transactional"   // MySQL: a write to a table a rollback cannot restore
	RuleProtocol         = "protocol"            // a protocol message airlock cannot check
	RuleMaxBytes         = "max-statement-bytes" // a statement longer than the database allows
	RuleStatementMemory  = "statement-memory"    // the gateway's memory for statements in flight is used up
	RuleScript           = "script"              // a change script that did not run as approved
)
