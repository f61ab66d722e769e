// Package testenv gives end-to-end tests what they need: a fresh
// PostgreSQL database with airlock's upstream roles, a running airlock on
// port 0 with a config written for that database, tokens, and connections
// made the way real clients make them. Tests talk to the real PostgreSQL
// on 127.0.0.1:5432 (SPEC §12); when it is not reachable they fail.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock/internal/access"
	"airlock/internal/config"
	"airlock/internal/server"
	"airlock/internal/store/storetest"

	"github.com/jackc/pgx/v5"
)

// PGAddr is the PostgreSQL server the tests use.
const PGAddr = "127.0.0.1:5432"

// Upstream roles created once per cluster; their passwords do not matter
// under trust authentication but are configured as a real deployment would.
const (
	RoleRO = "airlock_test_ro"
	RoleRW = "airlock_test_rw"
)

// AdminURL is a superuser connection string for database db.
func AdminURL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", PGAddr, db)
}

var rolesOnce sync.Once

// DB is a fresh upstream database.
type DB struct {
	Name string
	t    testing.TB
}

// NewDB creates a database with the upstream roles' privileges; it is
// dropped when the test ends.
func NewDB(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	admin := Connect(t, AdminURL("postgres"))
	rolesOnce.Do(func() {
		for _, r := range []string{RoleRO, RoleRW} {
			MustExec(t, admin, fmt.Sprintf(`DO $$ BEGIN CREATE ROLE %s LOGIN PASSWORD 'secret'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`, r))
		}
	})
	name := "airlock_t_" + RandHex(6)
	MustExec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL("postgres"))
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	admin.Close(ctx)
	d := &DB{Name: name, t: t}
	d.Exec(fmt.Sprintf(`
		GRANT CONNECT ON DATABASE %[1]s TO %[2]s, %[3]s;
		GRANT USAGE ON SCHEMA public TO %[2]s, %[3]s;
		ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %[2]s;
		ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %[3]s;
		ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %[3]s;
		ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO %[2]s;`, name, RoleRO, RoleRW))
	return d
}

// With returns d reporting failures to t (for use inside fuzz functions
// and subtests).
func (d *DB) With(t testing.TB) *DB { return &DB{Name: d.Name, t: t} }

// Exec runs SQL directly on the database as a superuser.
func (d *DB) Exec(sql string, args ...any) {
	d.t.Helper()
	c := Connect(d.t, AdminURL(d.Name))
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		d.t.Fatalf("exec %q: %v", sql, err)
	}
}

// QueryInt runs a query returning one integer, directly.
func (d *DB) QueryInt(sql string, args ...any) int64 {
	d.t.Helper()
	c := Connect(d.t, AdminURL(d.Name))
	defer c.Close(context.Background())
	var n int64
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		d.t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// Connect opens a pgx connection or fails the test.
func Connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", redact(url), err)
	}
	return c
}

func redact(url string) string {
	if i := strings.Index(url, "@"); i > 0 {
		if j := strings.Index(url, "://"); j > 0 && j < i {
			return url[:j+3] + "…" + url[i:]
		}
	}
	return url
}

// MustExec runs sql on c or fails the test.
func MustExec(t testing.TB, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

// RandHex returns n random bytes in hex.
func RandHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Airlock is a running gateway.
type Airlock struct {
	*server.Server
	t          testing.TB
	Dir        string
	AdminToken string
	// UpstreamPassword is the password configured for the upstream roles.
	UpstreamPassword string
	logs             *logBuffer
	faults           *storetest.Faulty
}

// SetFailWrites makes every write of the server's store fail with err, as
// a full disk or a lost store would (SPEC §12); reads keep working. nil
// restores normal operation.
func (a *Airlock) SetFailWrites(err error) { a.faults.SetFailWrites(err) }

// Logs returns everything the server logged so far.
func (a *Airlock) Logs() string { return a.logs.String() }

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Options for Start.
type Options struct {
	// Extra is YAML appended to the generated config (top-level keys).
	Extra string
	// Database is the YAML of the databases list; default: one database
	// "app" on db with read and write credentials.
	Databases string
	// DatabaseExtra is YAML appended to the default database's entry
	// (indented keys such as "    max_rows_changed: 10\n").
	DatabaseExtra string
	// Users and Policies override the defaults below.
	Users, Policies string
	// LogLevel of the server: debug by default.
	LogLevel string
	// Listen is the YAML of the listen map; default: PostgreSQL and
	// HTTP on port 0 (StartMySQL adds MySQL).
	Listen string
	Now    func() time.Time
}

// SleepInRead is a database entry's YAML that lets read sessions call
// sleep functions (built-in rule resource off), for tests that need a
// statement that runs for a while.
const SleepInRead = "    guardrails: {disable: [resource]}\n"

// DefaultUsers: alice (eng, standing read), bob (sre, approver), carol
// (eng), wanda (writers: standing write).
const DefaultUsers = `users:
  - {name: alice, groups: [eng]}
  - {name: bob, groups: [sre], roles: [approver]}
  - {name: carol, groups: [eng]}
  - {name: wanda, groups: [writers]}
`

// DefaultPolicies give eng standing read (write requestable, approved by
// sre) and writers standing write.
const DefaultPolicies = `policies:
  - {name: eng, groups: [eng], databases: [app], standing: read, requestable: [write, ddl], approvers: [sre], approvals: 1, max_duration: 4h}
  - {name: writers, groups: [writers], databases: [app], standing: write}
`

// Start runs airlock with a config for db and fails the test on error.
func Start(t testing.TB, db *DB, o Options) *Airlock {
	t.Helper()
	dir := t.TempDir()
	pw := "upstream-pw-" + RandHex(8)
	dbs := o.Databases
	if dbs == "" {
		dbs = fmt.Sprintf(`databases:
  - name: app
    engine: postgres
    address: %q
    database: %s
    tls: disable
    credentials:
      read: {user: %s, password: %s}
      write: {user: %s, password: %s}
      ddl: {user: postgres, password: %s}
%s`, PGAddr, db.Name, RoleRO, pw, RoleRW, pw, pw, o.DatabaseExtra)
	}
	users, pols := o.Users, o.Policies
	if users == "" {
		users = DefaultUsers
	}
	if pols == "" {
		pols = DefaultPolicies
	}
	level := o.LogLevel
	if level == "" {
		level = "debug"
	}
	listen := o.Listen
	if listen == "" {
		listen = `{postgres: "127.0.0.1:0", http: "127.0.0.1:0"}`
	}
	yaml := fmt.Sprintf("listen: %s\nlog: {level: %s}\n%s%s%s%s", listen, level, users, dbs, pols, o.Extra)
	path := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	admin := "alk_" + RandHex(24)
	logs := &logBuffer{}
	var lvl slog.Level
	lvl.UnmarshalText([]byte(level))
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, logs), &slog.HandlerOptions{Level: lvl}))
	var faults *storetest.Faulty
	wrap := func(st server.Store) server.Store {
		faults = storetest.WithFaults(st)
		return faults
	}
	srv, err := server.Start(context.Background(), cfg, server.Options{Logger: logger, BootstrapToken: admin, Now: o.Now, WrapStore: wrap})
	if err != nil {
		t.Fatalf("start airlock: %v", err)
	}
	a := &Airlock{Server: srv, t: t, Dir: dir, AdminToken: admin, UpstreamPassword: pw, logs: logs, faults: faults}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Shutdown(ctx, time.Second)
	})
	return a
}

// testWriter sends the server's log to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { recover() }() // the test may have ended
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Token issues a token for user with ttl (0: default).
func (a *Airlock) Token(user string, ttl time.Duration) string {
	a.t.Helper()
	secret, _, err := a.Access.IssueTokenDirect(context.Background(), user, ttl, "test")
	if err != nil {
		a.t.Fatalf("issue token for %s: %v", user, err)
	}
	return secret
}

// TokenID issues a token and returns its secret and id.
func (a *Airlock) TokenID(user string, ttl time.Duration) (string, string) {
	a.t.Helper()
	secret, tok, err := a.Access.IssueTokenDirect(context.Background(), user, ttl, "test")
	if err != nil {
		a.t.Fatalf("issue token for %s: %v", user, err)
	}
	return secret, tok.ID
}

// URL is a connection string to database db through airlock.
func (a *Airlock) URL(user, token, db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", user, token, a.PostgresAddr.String(), db)
}

// Host and Port of the PostgreSQL listener.
func (a *Airlock) Host() string { h, _, _ := strings.Cut(a.PostgresAddr.String(), ":"); return h }

// Port of the PostgreSQL listener.
func (a *Airlock) Port() string { _, p, _ := strings.Cut(a.PostgresAddr.String(), ":"); return p }

// HTTPURL is the base URL of the API.
func (a *Airlock) HTTPURL() string { return "http://" + a.HTTPAddr.String() }

// Actor returns the access actor of a token (for calling services directly).
func (a *Airlock) Actor(token string) *access.Actor {
	a.t.Helper()
	act, err := a.Access.Authenticate(context.Background(), token)
	if err != nil {
		a.t.Fatal(err)
	}
	return act
}
