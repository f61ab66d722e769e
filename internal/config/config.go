// Package config loads airlock's YAML configuration strictly: unknown keys,
// bad values and inconsistent references are rejected with the file, the
// line and the reason, before anything starts. Loading also applies the
// defaults and resolves upstream passwords from the environment or files,
// so that the rest of the program sees one complete, valid Config.
package config

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"airlock"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in Go syntax ("90s", "30m", "4h"),
// at least one second.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the whole configuration file.
type Config struct {
	// Path is the file the config was read from; relative paths in the
	// config are relative to its directory.
	Path string `yaml:"-"`

	Listen        Listen        `yaml:"listen"`
	TLS           *TLS          `yaml:"tls"`
	Store         string        `yaml:"store"`
	Tokens        Tokens        `yaml:"tokens"`
	Users         []User        `yaml:"users"`
	Databases     []Database    `yaml:"databases"`
	Policies      []Policy      `yaml:"policies"`
	Guardrails    []Guardrail   `yaml:"guardrails"`
	Notifications Notifications `yaml:"notifications"`
	Audit         Audit         `yaml:"audit"`
	Requests      Requests      `yaml:"requests"`
	Alerts        []Alert       `yaml:"alerts"`
	Shutdown      Shutdown      `yaml:"shutdown"`
	Log           Log           `yaml:"log"`
	Auth          Auth          `yaml:"auth"`
	Agents        []Agent       `yaml:"agents"`
	MCP           MCP           `yaml:"mcp"`
	Limits        Limits        `yaml:"limits"`
	Metrics       Metrics       `yaml:"metrics"`
}

// Listen says where airlock accepts connections. An empty address turns the
// listener off.
type Listen struct {
	Postgres Listener `yaml:"postgres"`
	MySQL    Listener `yaml:"mysql"`
	HTTP     string   `yaml:"http"`
	// HTTPTLS serves HTTPS on listen.http with the tls block's
	// certificate.
	HTTPTLS bool `yaml:"http_tls"`
}

// Listener is a database listener: an address, written alone or as
// {address: ..., auth: scram|cleartext}.
type Listener struct {
	Address string `yaml:"address"`
	// Auth is "scram" (default) or "cleartext"; cleartext is accepted only
	// over TLS or from loopback clients.
	Auth string `yaml:"auth"`
}

func (l *Listener) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		l.Address = n.Value
		return
	}
	type plain Listener
	var p plain
	d.decodeStruct(n, reflectValue(&p).Elem(), path)
	*l = Listener(p)
}

// TLS is the server certificate for client connections.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Require refuses database clients that do not use TLS.
	Require bool `yaml:"require"`
}

// Tokens bounds token lifetimes.
type Tokens struct {
	DefaultTTL Duration `yaml:"default_ttl"`
	MaxTTL     Duration `yaml:"max_ttl"`
}

// User is a user whose source of truth is the config.
type User struct {
	Line   int      `yaml:"-"`
	Name   string   `yaml:"name"`
	Groups []string `yaml:"groups"`
	Roles  []string `yaml:"roles"`
}

// Database is a `databases` entry: the domain database (airlock.Database,
// embedded as Spec, whose fields and yaml keys it shares) and what only
// the config knows of it: where it is written, the upstream credentials,
// the credential check's strictness and the per-database limits.
type Database struct {
	Spec        `yaml:",inline"`
	Line        int                          `yaml:"-"`
	Credentials map[airlock.Level]Credential `yaml:"-"`
	RawCreds    map[string]Credential        `yaml:"credentials"`
	// Strict refuses to start when the credential check finds a problem.
	Strict bool `yaml:"strict"`
	// Limits overrides the global limits for this database; see
	// Config.LimitsFor.
	Limits *Limits `yaml:"limits"`
}

// Spec is the domain database a config entry embeds. It is an alias so
// that the embedded field has a name of its own: airlock.Database has a
// field called Database (the upstream database's name), which an embedded
// field of that name would hide.
type Spec = airlock.Database

// knownKeys lists the keys of a database entry in the order the file
// documents them, for the unknown-key error.
func (*Database) knownKeys() []string {
	return []string{"name", "engine", "address", "database", "tls", "credentials", "protected_tables",
		"max_rows_changed", "undo", "strict", "audit_parameters", "guardrails", "limits",
		"unbounded_write_max_rows", "soft_drop"}
}

// SoftDrop is the trash of a database (airlock.SoftDrop).
type SoftDrop = airlock.SoftDrop

// DatabaseGuardrails switches built-in rules off for one database
// (airlock.DatabaseGuardrails).
type DatabaseGuardrails = airlock.DatabaseGuardrails

// Credential is an upstream login. Exactly one of Password, PasswordEnv and
// PasswordFile may be set; Load resolves it into Password.
type Credential struct {
	User         string `yaml:"user"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
}

// Policy is a `policies` entry: the domain policy (airlock.Policy) and
// how long a grant it gives may last.
type Policy struct {
	Line           int `yaml:"-"`
	airlock.Policy `yaml:",inline"`
	MaxDuration    Duration `yaml:"max_duration"`
}

// Guardrail is a custom rule written in CEL (airlock.Guardrail).
type Guardrail = airlock.Guardrail

// PolicySpecs returns the domain policies of the config, in order.
func (c *Config) PolicySpecs() []airlock.Policy {
	out := make([]airlock.Policy, len(c.Policies))
	for i := range c.Policies {
		out[i] = c.Policies[i].Policy
	}
	return out
}

// Notifications configures outgoing webhooks.
type Notifications struct {
	Webhooks []Webhook `yaml:"webhooks"`
	// Retries is how many times a delivery is tried (default 5, with a
	// backoff from 500ms doubling).
	Retries int `yaml:"retries"`
}

// Webhook is one receiver of event notifications.
type Webhook struct {
	Line   int      `yaml:"-"`
	URL    string   `yaml:"url"`
	Format string   `yaml:"format"` // slack | json
	Events []string `yaml:"events"` // patterns like "request.*"; empty: all
}

// Audit configures the audit log.
type Audit struct {
	// Retention is how long events are kept; 0 keeps them forever.
	Retention Duration `yaml:"retention"`
	// File is a JSON-lines file every event is appended to.
	File string `yaml:"file"`
	// HMACKeyFile keys the chain-head checkpoints.
	HMACKeyFile string `yaml:"hmac_key_file"`
	// QueueSize bounds the events waiting to be written.
	QueueSize int `yaml:"queue_size"`
	// MaxTextBytes is the most statement text an event stores whole
	// (default 64 KiB); longer text is stored truncated.
	MaxTextBytes int `yaml:"max_text_bytes"`
}

// Requests configures access requests.
type Requests struct {
	// PendingTTL is how long a request may wait for a decision.
	PendingTTL Duration `yaml:"pending_ttl"`
}

// Alert types.
var AlertTypes = []string{"denials", "rows_read", "outside_hours", "first_table_access", "new_client_address", "agent_denials", "agent_enumeration"}

// Alert is a rule over recent events that raises an alert event.
type Alert struct {
	Line int    `yaml:"-"`
	Name string `yaml:"name"`
	// Type is one of AlertTypes:
	//   denials: more than Count denials of one user within Window;
	//   rows_read: more than Count rows read in one session;
	//   outside_hours: a session opened outside Hours on Days in Timezone;
	//   first_table_access: a user touches a table for the first time;
	//   new_client_address: a write from a client address the user never wrote from;
	//   agent_denials: more than Count denials of one agent in a row;
	//   agent_enumeration: an agent touching more than Count distinct tables within Window.
	Type      string   `yaml:"type"`
	Count     int64    `yaml:"count"`
	Window    Duration `yaml:"window"`
	Hours     string   `yaml:"hours"` // "08:00-19:00"
	Days      []string `yaml:"days"`  // mon tue wed thu fri sat sun; default mon-fri
	Timezone  string   `yaml:"timezone"`
	Databases []string `yaml:"databases"` // empty: all
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	// Grace is how long open sessions may finish after SIGTERM.
	Grace Duration `yaml:"grace"`
}

// Log configures the server log.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Built-in guardrail names.
var BuiltinRules = []string{airlock.RuleUnboundedWrite, airlock.RuleProtectedTable, airlock.RuleDropTruncate, airlock.RuleBlastRadius, airlock.RuleEscape, airlock.RuleResource}

// Load reads, decodes, defaults and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// LoadWithoutSecrets is Load for tools that never connect upstream
// (`airlock policy test`, `audit verify --config`, break-glass `tokens
// issue --config`): credentials' passwords are not resolved, so
// their environment variables and files need not exist.
func LoadWithoutSecrets(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data, false)
}

// Parse is Load for a file already read; path is used in messages and to
// resolve relative paths.
func Parse(path string, data []byte) (*Config, error) { return parse(path, data, true) }

func parse(path string, data []byte, secrets bool) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config path: %w", err)
	}
	d := &decoder{file: path}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if err.Error() == "EOF" {
			return nil, fmt.Errorf("%s: the file is empty", path)
		}
		return nil, syntaxError(path, err)
	}
	c := &Config{Path: abs}
	if len(root.Content) > 0 {
		d.decode(root.Content[0], reflectValue(c).Elem(), "")
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	c.defaults()
	c.validate(d, secrets)
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// HMACKey reads audit.hmac_key_file (nil when not set). The file holds the
// key as text (trailing newline ignored) and must not be readable by others.
func (c *Config) HMACKey() ([]byte, error) {
	if c.Audit.HMACKeyFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.Audit.HMACKeyFile)
	if err != nil {
		return nil, fmt.Errorf("audit.hmac_key_file: %w", err)
	}
	key := bytes.TrimRight(b, "\r\n")
	if len(key) < 16 {
		return nil, fmt.Errorf("audit.hmac_key_file: the key must be at least 16 bytes")
	}
	return key, nil
}

// Dir is the directory of the config file.
func (c *Config) Dir() string { return filepath.Dir(c.Path) }

// Rel resolves a path written in the config against the config's directory.
func (c *Config) Rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// StorePath returns the SQLite file of a "sqlite:" store, or "" for others.
func (c *Config) StorePath() string {
	if p, ok := strings.CutPrefix(c.Store, "sqlite:"); ok {
		return c.Rel(p)
	}
	return ""
}

// PostgresStore reports whether the store is a PostgreSQL database
// (postgres:// or postgresql:// URL), shared by every gateway using it.
func (c *Config) PostgresStore() bool {
	return strings.HasPrefix(c.Store, "postgres://") || strings.HasPrefix(c.Store, "postgresql://")
}

// DB returns the database called name, or nil.
func (c *Config) DB(name string) *Database {
	for i := range c.Databases {
		if c.Databases[i].Name == name {
			return &c.Databases[i]
		}
	}
	return nil
}

// PGConnString returns the libpq connection string that reaches a
// PostgreSQL database as user (no password: callers set it on the parsed
// config). It fails when the address is not host:port.
func (db *Database) PGConnString(user string) (string, error) {
	host, port, err := net.SplitHostPort(db.Address)
	if err != nil {
		return "", fmt.Errorf("database %s address: %w", db.Name, err)
	}
	q := func(v string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'" }
	return fmt.Sprintf("host=%s port=%s dbname=%s user=%s sslmode=%s", q(host), q(port), q(db.Database), q(user), db.TLSMode), nil
}

// Levels returns the levels the database has a credential for, lowest
// first.
func (db *Database) Levels() []airlock.Level {
	levels := make([]airlock.Level, 0, len(db.Credentials))
	for l := range db.Credentials {
		levels = append(levels, l)
	}
	slices.Sort(levels)
	return levels
}

func (c *Config) defaults() {
	c.agentDefaults()
	if c.Listen.Postgres.Address == "" && c.Listen.HTTP == "" && c.Listen.MySQL.Address == "" {
		c.Listen.Postgres.Address = "127.0.0.1:15432"
		c.Listen.HTTP = "127.0.0.1:8080"
	}
	if c.Listen.Postgres.Auth == "" {
		c.Listen.Postgres.Auth = "scram"
	}
	if c.Listen.MySQL.Auth == "" {
		c.Listen.MySQL.Auth = "scram"
	}
	if c.Store == "" {
		c.Store = "sqlite:airlock.db"
	}
	if c.Tokens.DefaultTTL == 0 {
		c.Tokens.DefaultTTL = Duration(time.Hour)
	}
	if c.Tokens.MaxTTL == 0 {
		c.Tokens.MaxTTL = Duration(12 * time.Hour)
	}
	for i := range c.Databases {
		db := &c.Databases[i]
		if db.TLSMode == "" {
			db.TLSMode = "prefer"
		}
		if db.MaxRowsChanged == 0 {
			db.MaxRowsChanged = 1000
		}
		if db.UnboundedWriteMaxRows == 0 {
			db.UnboundedWriteMaxRows = 1
		}
		if db.Undo == "" {
			db.Undo = airlock.UndoBestEffort
		}
		if db.Database == "" {
			db.Database = db.Name
		}
	}
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.Approvals == 0 {
			p.Approvals = 1
		}
		if p.MaxDuration == 0 {
			p.MaxDuration = Duration(time.Hour)
		}
	}
	for i := range c.Guardrails {
		if c.Guardrails[i].Action == "" {
			c.Guardrails[i].Action = airlock.GuardrailDeny
		}
	}
	for i := range c.Notifications.Webhooks {
		if c.Notifications.Webhooks[i].Format == "" {
			c.Notifications.Webhooks[i].Format = "json"
		}
	}
	if c.Audit.QueueSize == 0 {
		c.Audit.QueueSize = 65536
	}
	if c.Requests.PendingTTL == 0 {
		c.Requests.PendingTTL = Duration(24 * time.Hour)
	}
	if c.Shutdown.Grace == 0 {
		c.Shutdown.Grace = Duration(10 * time.Second)
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	c.limitDefaults()
}
