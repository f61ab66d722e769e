package airlock

// Kind is the kind of a statement, as rules see it in stmt.kind.
type Kind string

// Statement kinds (SPEC §5).
const (
	KindSelect      Kind = "select"
	KindInsert      Kind = "insert"
	KindUpdate      Kind = "update"
	KindDelete      Kind = "delete"
	KindMerge       Kind = "merge"
	KindCopyFrom    Kind = "copy_from"
	KindCopyTo      Kind = "copy_to"
	KindDDL         Kind = "ddl"
	KindDrop        Kind = "drop"
	KindTruncate    Kind = "truncate"
	KindCall        Kind = "call"
	KindDo          Kind = "do"
	KindSet         Kind = "set"
	KindShow        Kind = "show"
	KindExplain     Kind = "explain"
	KindTransaction Kind = "transaction"
	KindLock        Kind = "lock"
	KindGrant       Kind = "grant"
	KindUtility     Kind = "utility"
	KindUnknown     Kind = "unknown"
	// KindEmpty is an empty query (only comments or whitespace).
	KindEmpty Kind = "empty"
)

// Escape says why a statement would weaken the session's own guarantees.
type Escape string

// Escape classes. EscapeReadOnly matters in read sessions only; the others
// are denied at every level.
const (
	EscapeNone     Escape = ""
	EscapeReadOnly Escape = "read-only" // turns read-only off
	EscapeIdentity Escape = "identity"  // switches the database identity
	EscapePinned   Escape = "pinned"    // changes how text is lexed (encoding, quoting)
)

// TxnEffect is what a transaction-control statement does to the
// transaction state, so that the gateway can follow it without a round trip.
type TxnEffect int8

// Transaction effects.
const (
	TxnNone       TxnEffect = iota
	TxnBegin                // BEGIN / START TRANSACTION
	TxnCommit               // COMMIT / END / COMMIT PREPARED ...
	TxnRollback             // ROLLBACK / ABORT
	TxnSavepoint            // SAVEPOINT name
	TxnRelease              // RELEASE [SAVEPOINT] name
	TxnRollbackTo           // ROLLBACK TO [SAVEPOINT] name
)

// Statement is what the classifier learned about one SQL statement. It is
// protocol- and dialect-neutral: the policy decides on these facts only.
type Statement struct {
	Kind  Kind  `json:"kind"`
	Level Level `json:"level"` // the least level that may run it
	// Why names what made Level necessary, for the denial message
	// ("DELETE changes rows", "pg_terminate_backend acts on other sessions").
	Why string `json:"why,omitempty"`
	// Tables the statement reads or writes, schema-qualified where the
	// text qualifies them; the gateway resolves the rest.
	Tables []string `json:"tables"`
	// WriteTables are the tables it changes (subset of Tables).
	WriteTables []string `json:"write_tables"`
	Functions   []string `json:"functions"`
	HasWhere    bool     `json:"has_where"`
	HasLimit    bool     `json:"has_limit"`
	Escape      Escape   `json:"escape,omitempty"`
	// Setting is the setting a SET/RESET/set_config changes, lower-case,
	// and Value what it is set to ("" for RESET/DEFAULT).
	Setting string    `json:"setting,omitempty"`
	Value   string    `json:"value,omitempty"`
	Txn     TxnEffect `json:"-"`
	// Command names the statement in upper case, as a command tag would
	// ("SELECT", "DELETE", "LISTEN", "DISCARD ALL", "PREPARE", "EXECUTE").
	Command string `json:"command"`
	// Name is the object a statement names when the gateway must follow
	// it: the prepared statement of PREPARE / EXECUTE / DEALLOCATE, the
	// cursor of DECLARE / FETCH / CLOSE, the channel of LISTEN / UNLISTEN.
	// For PREPARE, the other facts are those of the prepared statement;
	// for EXECUTE, the classifier cannot know them and says LevelAdmin, and
	// the gateway substitutes the facts recorded at PREPARE.
	Name string `json:"name,omitempty"`
	// ArgsLevel and ArgsWhy are, for EXECUTE, the level its parameter
	// expressions need by themselves (they run too: EXECUTE p(f(x))), and
	// why; the gateway takes the higher of it and the prepared facts.
	ArgsLevel Level  `json:"-"`
	ArgsWhy   string `json:"-"`
	// Text is the statement's own text (one statement of a multi-statement
	// query).
	Text string `json:"text"`
}
