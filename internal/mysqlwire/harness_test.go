package mysqlwire_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"airlock"
	"airlock/internal/access"
	"airlock/internal/audit"
	"airlock/internal/config"
	"airlock/internal/gateway"
	"airlock/internal/mysqlwire"
	"airlock/internal/policy"
	"airlock/internal/store/sqlite"
	"airlock/internal/testenv/mydb"
)

// The tests of this package drive the adapter with real clients against
// the real MariaDB, through a gateway wired here with a small stand-in
// classifier (so that the protocol layer is tested on its own; the
// end-to-end tests in e2e/ use the real one through server.Start).

// The MariaDB schema and accounts come from internal/testenv/mydb, which
// (unlike internal/testenv) this package can import.

// env is a running gateway with a MySQL listener.
type env struct {
	t      testing.TB
	addr   string
	gw     *gateway.Gateway
	access *access.Service
	audit  *audit.Log
	store  *verifierStore
	logs   *logBuffer
}

type envOptions struct {
	databases string // YAML; default: testenv.MyDatabases
	extra     string // YAML appended to the config
	tls       bool
	cleartext bool
}

const users = `users:
  - {name: alice, groups: [eng]}
  - {name: bob, groups: [sre], roles: [approver]}
  - {name: wanda, groups: [writers]}
policies:
  - {name: eng, groups: [eng], databases: [app], standing: read, requestable: [write, ddl], approvers: [sre], approvals: 1, max_duration: 4h}
  - {name: writers, groups: [writers], databases: [app], standing: write}
`

func startEnv(t testing.TB, db *mydb.DB, o envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	dbs := o.databases
	if dbs == "" {
		dbs = mydb.Databases(db.Name, "")
	}
	yaml := "listen: {http: \"127.0.0.1:0\"}\nstore: \"sqlite:" + filepath.Join(dir, "airlock.db") + "\"\n" + users + dbs + o.extra
	path := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	st, err := sqlite.Open(ctx, cfg.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	vs := &verifierStore{DB: st, verifiers: map[string][2][]byte{}}
	al, err := audit.Open(ctx, st, audit.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(cfg.PolicySpecs(), cfg.Guardrails)
	if err != nil {
		t.Fatal(err)
	}
	acc := access.New(vs, al, cfg, log, nil)
	if err := acc.SyncConfigUsers(ctx); err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Config: cfg, Store: vs, Audit: al, Policy: pol, Access: acc,
		Classifiers: map[airlock.Engine]gateway.Classifier{"mysql": standIn{}}, Logger: log})
	if err := acc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	opts := mysqlwire.Options{Gateway: gw, Config: cfg, Logger: log, Cleartext: o.cleartext}
	if o.tls {
		opts.TLS = selfSigned(t)
	}
	srv := mysqlwire.NewServer(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.StopAccepting()
		<-done
		gw.EndAll("test over")
		wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Wait(wctx)
		cancel()
		acc.Stop()
		al.Close(context.Background())
		st.Close()
	})
	return &env{t: t, addr: ln.Addr().String(), gw: gw, access: acc, audit: al, store: vs, logs: logs}
}

func (e *env) token(user string) string {
	e.t.Helper()
	secret, _, err := e.access.IssueTokenDirect(context.Background(), user, 0, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) dsn(user, token, params string) string {
	return mydb.DSN(user, token, e.addr, "app", params)
}

// events returns the audit's statement events of user, oldest first.
func (e *env) events(user string) []*airlock.Event {
	e.t.Helper()
	ctx := context.Background()
	if err := e.audit.Sync(ctx); err != nil {
		e.t.Fatal(err)
	}
	evs, err := e.store.ListEvents(ctx, airlock.EventFilter{User: user, Type: airlock.EventStatement, Ascending: true, Limit: 100000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// verifierStore keeps the MySQL verifiers of the tokens it creates (in
// case the store does not persist them), so that the scramble paths of
// authentication are tested, and can hide them (off) to test the paths
// that do without.
type verifierStore struct {
	*sqlite.DB
	mu        sync.Mutex
	verifiers map[string][2][]byte
	off       bool // behave like the store: no verifiers
}

func (s *verifierStore) CreateToken(ctx context.Context, t *airlock.Token) error {
	s.mu.Lock()
	s.verifiers[t.ID] = [2][]byte{t.MySQLNative, t.MySQLSHA2}
	s.mu.Unlock()
	return s.DB.CreateToken(ctx, t)
}

func (s *verifierStore) ListTokens(ctx context.Context, f airlock.TokenFilter) ([]*airlock.Token, error) {
	toks, err := s.DB.ListTokens(ctx, f)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range toks {
		if v, ok := s.verifiers[t.ID]; ok && len(t.MySQLNative) == 0 {
			t.MySQLNative, t.MySQLSHA2 = v[0], v[1]
		}
		if s.off {
			t.MySQLNative, t.MySQLSHA2 = nil, nil
		}
	}
	return toks, err
}

func (s *verifierStore) setOff(off bool) {
	s.mu.Lock()
	s.off = off
	s.mu.Unlock()
}

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

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { recover() }()
	if testing.Verbose() {
		w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// standIn is a small MySQL classifier for testing the protocol layer: it
// knows statements by their first words, which is all these tests send.
type standIn struct{}

var (
	tableAfter = regexp.MustCompile("(?i)\\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TABLES)\\s+`?([A-Za-z0-9_]+(?:\\.[A-Za-z0-9_]+)?)")
	prepareRE  = regexp.MustCompile(`(?is)^PREPARE\s+(\w+)\s+FROM\s+'(.*)'$`)
	nameAfter  = regexp.MustCompile(`(?i)^\w+(?:\s+PREPARE)?\s+(\w+)`)
)

func (c standIn) Classify(text string) ([]airlock.Statement, error) {
	var out []airlock.Statement
	for _, part := range splitSQL(text) {
		out = append(out, c.one(part))
	}
	if len(out) == 0 {
		out = append(out, airlock.Statement{Kind: airlock.KindEmpty, Level: airlock.LevelRead, Text: text})
	}
	return out, nil
}

func (c standIn) one(s string) airlock.Statement {
	up := strings.ToUpper(s)
	f := strings.Fields(up)
	st := airlock.Statement{Text: s, Command: f[0], Level: airlock.LevelRead}
	for _, m := range tableAfter.FindAllStringSubmatch(s, -1) {
		st.Tables = append(st.Tables, strings.ToLower(m[1]))
	}
	st.HasWhere = strings.Contains(up, " WHERE ")
	write := func(k airlock.Kind) {
		st.Kind, st.Level, st.Why = k, airlock.LevelWrite, f[0]+" changes rows"
		if len(st.Tables) > 0 {
			st.WriteTables = st.Tables[:1]
		}
	}
	switch f[0] {
	case "SELECT", "WITH", "VALUES":
		st.Kind = airlock.KindSelect
		if strings.Contains(up, "FOR UPDATE") || strings.Contains(up, "INTO OUTFILE") {
			st.Level, st.Why = airlock.LevelWrite, "SELECT ... FOR UPDATE locks rows"
		}
		if strings.Contains(up, "SLEEP(") || strings.Contains(up, "CONNECTION_ID(") || strings.Contains(up, "GET_LOCK(") {
			st.Functions = []string{"sleep"}
		}
	case "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "HELP":
		st.Kind = airlock.KindShow
	case "SET":
		st.Kind = airlock.KindSet
		if strings.Contains(up, "READ WRITE") || strings.Contains(up, "READ_ONLY") {
			st.Escape = airlock.EscapeReadOnly
		}
	case "USE":
		st.Kind, st.Command, st.Name = airlock.KindUtility, "USE", strings.Trim(strings.TrimSpace(s[3:]), "`")
	case "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
		st.Kind = airlock.KindTransaction
		if strings.Contains(up, "READ WRITE") {
			st.Escape = airlock.EscapeReadOnly
		}
		last := strings.ToLower(strings.Trim(f[len(f)-1], "`;"))
		switch {
		case f[0] == "BEGIN" || f[0] == "START":
			st.Txn = airlock.TxnBegin
		case f[0] == "COMMIT":
			st.Txn = airlock.TxnCommit
		case f[0] == "SAVEPOINT":
			st.Txn, st.Name = airlock.TxnSavepoint, last
		case f[0] == "RELEASE":
			st.Txn, st.Name = airlock.TxnRelease, last
		case strings.Contains(up, " TO "):
			st.Txn, st.Name = airlock.TxnRollbackTo, last
		default:
			st.Txn = airlock.TxnRollback
		}
	case "INSERT", "REPLACE":
		write(airlock.KindInsert)
	case "UPDATE":
		write(airlock.KindUpdate)
	case "DELETE":
		write(airlock.KindDelete)
	case "CALL":
		st.Kind, st.Level, st.Why = airlock.KindCall, airlock.LevelWrite, "CALL runs a procedure"
	case "LOCK":
		st.Kind, st.Level, st.Why = airlock.KindLock, airlock.LevelWrite, "LOCK TABLES"
	case "UNLOCK":
		st.Kind = airlock.KindLock
	case "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME":
		st.Kind, st.Level, st.Why = airlock.KindDDL, airlock.LevelDDL, f[0]+" changes the schema"
		if strings.Contains(up, "TEMPORARY") {
			st.Command = "CREATE TEMPORARY TABLE"
		}
	case "PREPARE":
		if m := prepareRE.FindStringSubmatch(s); m != nil {
			inner := c.one(m[2])
			inner.Command, inner.Name, inner.Text = "PREPARE", m[1], s
			return inner
		}
		st.Kind, st.Level = airlock.KindUnknown, airlock.LevelAdmin
	case "EXECUTE":
		st.Kind, st.Level, st.Command, st.Why = airlock.KindUnknown, airlock.LevelAdmin, "EXECUTE", "EXECUTE of an unknown statement"
		if m := nameAfter.FindStringSubmatch(s); m != nil {
			st.Name = m[1]
		}
	case "DEALLOCATE", "DROP PREPARE":
		st.Kind, st.Command = airlock.KindUtility, "DEALLOCATE"
		if m := nameAfter.FindStringSubmatch(s); m != nil {
			st.Name = m[1]
		}
	case "DO":
		st.Kind = airlock.KindDo
	default:
		st.Kind, st.Level, st.Why = airlock.KindUnknown, airlock.LevelAdmin, f[0]+" is not known"
	}
	return st
}

// splitSQL splits text at semicolons outside quotes.
func splitSQL(text string) []string {
	var out []string
	var q byte
	start := 0
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch {
		case q != 0 && ch == '\\':
			i++
		case q != 0 && ch == q:
			q = 0
		case q == 0 && (ch == '\'' || ch == '"' || ch == '`'):
			q = ch
		case q == 0 && ch == ';':
			if s := strings.TrimSpace(text[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// selfSigned returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1.
func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "airlock test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}
