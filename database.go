package airlock

import (
	"slices"
	"time"
)

// Engine is the kind of upstream database and the SQL dialect its
// statements are read in.
type Engine string

// The engines airlock speaks to.
const (
	EnginePostgres Engine = "postgres"
	EngineMySQL    Engine = "mysql" // MySQL and MariaDB
)

// Engines are the known engines, in the order they are listed to people.
var Engines = []Engine{EnginePostgres, EngineMySQL}

// Valid reports whether e is a known engine.
func (e Engine) Valid() bool { return slices.Contains(Engines, e) }

// UndoMode says whether writes of a database are captured for undo, and
// what happens to a write that cannot be.
type UndoMode string

// The undo modes.
const (
	// UndoRequired denies a write whose rows cannot all be captured
	// (and DDL, which has no undo).
	UndoRequired UndoMode = "required"
	// UndoBestEffort captures what it can and lets the rest run,
	// recording why it cannot be undone.
	UndoBestEffort UndoMode = "best_effort"
	// UndoOff captures nothing.
	UndoOff UndoMode = "off"
)

// UndoModes are the known undo modes, in the order they are listed to
// people.
var UndoModes = []UndoMode{UndoRequired, UndoBestEffort, UndoOff}

// Valid reports whether m is a known undo mode.
func (m UndoMode) Valid() bool { return slices.Contains(UndoModes, m) }

// Database is an upstream database as the core sees it: where it is, what
// it speaks, and the protections airlock applies to it. The credentials
// airlock logs in with are not part of it (internal/config keeps them
// beside it). The yaml keys are those of a `databases` entry of the config
// file, which decodes into this struct directly.
type Database struct {
	Name     string `yaml:"name"`
	Engine   Engine `yaml:"engine"`
	Address  string `yaml:"address"`  // host:port
	Database string `yaml:"database"` // upstream database (schema for mysql)
	// TLSMode is the upstream TLS mode: disable, prefer, require or
	// verify-full.
	TLSMode string `yaml:"tls"`
	// ProtectedTables are schema-qualified tables nobody writes through
	// airlock.
	ProtectedTables []string `yaml:"protected_tables"`
	// MaxRowsChanged is the blast radius: the most rows one write may
	// change.
	MaxRowsChanged int64    `yaml:"max_rows_changed"`
	Undo           UndoMode `yaml:"undo"`
	// AuditParameters stores bind parameters in the audit (nil: true).
	AuditParameters *bool              `yaml:"audit_parameters"`
	Guardrails      DatabaseGuardrails `yaml:"guardrails"`
	// UnboundedWriteMaxRows is how many rows an UPDATE or DELETE without
	// WHERE may change where airlock counts the rows a write changes
	// (blast radius or undo on).
	UnboundedWriteMaxRows int64 `yaml:"unbounded_write_max_rows"`
	// SoftDrop, when set, keeps what DROP TABLE and TRUNCATE remove in a
	// trash for its retention instead of destroying it.
	SoftDrop *SoftDrop `yaml:"soft_drop"`
}

// DatabaseGuardrails switches built-in rules off for one database.
type DatabaseGuardrails struct {
	Disable []string `yaml:"disable"`
}

// SoftDrop is the trash of a database: DROP TABLE moves the table there,
// TRUNCATE copies the rows there first; items older than Retention are
// purged.
type SoftDrop struct {
	Retention time.Duration `yaml:"retention"`
}

// RuleEnabled reports whether built-in rule is on for the database.
func (db *Database) RuleEnabled(rule string) bool {
	return !slices.Contains(db.Guardrails.Disable, rule)
}

// ParamsAudited reports whether bind parameters are stored in the audit.
func (db *Database) ParamsAudited() bool { return db.AuditParameters == nil || *db.AuditParameters }
