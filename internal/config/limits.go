package config

import (
	"strconv"
	"time"
)

// Limits bound what one statement and one unauthenticated peer can take.
// The top-level `limits` block applies to every database; a database's
// own `limits` block overrides the keys it sets.
type Limits struct {
	// MaxStatementBytes is the largest statement (query text, or one
	// protocol message carrying SQL) accepted; a longer one is refused
	// before the rest of it is read. Default 16 MiB.
	MaxStatementBytes int64 `yaml:"max_statement_bytes"`
	// StatementTimeout is the upstream statement timeout of every session
	// (PostgreSQL statement_timeout, MariaDB max_statement_time); airlock
	// also stops waiting for an upstream answer a little after it.
	// Default 5m.
	StatementTimeout Duration `yaml:"statement_timeout"`
	// AuthTimeout bounds a client's connection before it is
	// authenticated and its session open (PostgreSQL's
	// authentication_timeout). Global only; default 1m.
	AuthTimeout Duration `yaml:"auth_timeout"`
	// StatementMemory is the gateway-wide budget of statement text held
	// in memory at once; a statement that does not fit waits for room (at
	// most StatementTimeout). Global only; default 256 MiB.
	StatementMemory int64 `yaml:"statement_memory"`
}

// Defaults of the limits block.
const (
	DefaultMaxStatementBytes = 16 << 20
	DefaultStatementTimeout  = 5 * time.Minute
	DefaultAuthTimeout       = time.Minute
	DefaultStatementMemory   = 256 << 20
	DefaultMaxTextBytes      = 64 << 10
)

func (c *Config) limitDefaults() {
	if c.Limits.MaxStatementBytes == 0 {
		c.Limits.MaxStatementBytes = DefaultMaxStatementBytes
	}
	if c.Limits.StatementTimeout == 0 {
		c.Limits.StatementTimeout = Duration(DefaultStatementTimeout)
	}
	if c.Limits.AuthTimeout == 0 {
		c.Limits.AuthTimeout = Duration(DefaultAuthTimeout)
	}
	if c.Limits.StatementMemory == 0 {
		c.Limits.StatementMemory = DefaultStatementMemory
	}
	if c.Audit.MaxTextBytes == 0 {
		c.Audit.MaxTextBytes = DefaultMaxTextBytes
	}
}

func (c *Config) validateLimits(at func(line int, path, format string, args ...any)) {
	if c.Limits.MaxStatementBytes < 1024 {
		at(0, "limits.max_statement_bytes", "must be at least 1024")
	}
	if c.Limits.StatementMemory < c.Limits.MaxStatementBytes {
		at(0, "limits.statement_memory", "must be at least max_statement_bytes (%d)", c.Limits.MaxStatementBytes)
	}
	if c.Audit.MaxTextBytes < 256 {
		at(0, "audit.max_text_bytes", "must be at least 256")
	}
	for i := range c.Databases {
		db := &c.Databases[i]
		if db.Limits == nil {
			continue
		}
		if db.Limits.AuthTimeout != 0 {
			at(db.Line, "databases["+strconv.Itoa(i)+"].limits.auth_timeout", "is global only; set it in the top-level limits block")
		}
		if db.Limits.StatementMemory != 0 {
			at(db.Line, "databases["+strconv.Itoa(i)+"].limits.statement_memory", "is global only; set it in the top-level limits block")
		}
		if n := db.Limits.MaxStatementBytes; n != 0 && n < 1024 {
			at(db.Line, "databases["+strconv.Itoa(i)+"].limits.max_statement_bytes", "must be at least 1024")
		}
		if n := db.Limits.MaxStatementBytes; n > c.Limits.StatementMemory {
			at(db.Line, "databases["+strconv.Itoa(i)+"].limits.max_statement_bytes", "is above limits.statement_memory (%d)", c.Limits.StatementMemory)
		}
	}
	if c.TLS != nil && c.TLS.Require && c.Listen.Postgres.Address == "" && c.Listen.MySQL.Address == "" {
		at(0, "tls.require", "no database listener is configured")
	}
	if c.Listen.HTTPTLS && c.TLS == nil {
		at(0, "listen.http_tls", "needs the tls block (cert_file, key_file)")
	}
}

// LimitsFor returns the limits in force on database db: the global ones,
// with the keys the database's own block sets replaced.
func (c *Config) LimitsFor(db *Database) Limits {
	l := c.Limits
	if db == nil || db.Limits == nil {
		return l
	}
	if db.Limits.MaxStatementBytes != 0 {
		l.MaxStatementBytes = db.Limits.MaxStatementBytes
	}
	if db.Limits.StatementTimeout != 0 {
		l.StatementTimeout = db.Limits.StatementTimeout
	}
	return l
}
